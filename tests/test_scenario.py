"""Scenarios, comparisons and suggestions on the tiny hand-made territory of ``test_engine`` (six communes of
région R1 and one of R2), where every area is known by hand.

    row 1 (north):  C1 C2 C3
    row 2 (south):  C4 C5 C6        and C7 east of C6 (région R2)

dep 01: C1 C2 C4 ; dep 02: C3 C5 C6 ; dep 03: C7. EPCI E1 = C1 C2, E2 = C3 C6, E3 = C4 C5, E4 = C7.
Structures: A covers E1 (C1 C2), 2 persons 1.5 ETP; B covers C2 C5, 1 person 1.0 ETP; D covers dep 03 (C7).
"""

import numpy as np
import pandas as pd
import pytest

from geo import engine, scenario, suggest
from geo.comparison import compare, figure_values
from geo.scenario import ScenarioError
from tests.test_engine import tiny_communes, tiny_markets, tiny_qpv, tiny_structures


@pytest.fixture(scope="module")
def tiny():
    communes, qpv, markets = tiny_communes(), tiny_qpv(), tiny_markets()
    st, pe = tiny_structures()
    prepared = engine.prepare(communes, qpv, st, pe)
    net = scenario.network(prepared.ref, st, pe)
    return communes, qpv, markets, prepared, net


def codes(prepared, net, sid):
    return sorted(prepared.ref.codes[net.area(sid)].tolist())


# one valid example per operation: the operation, then the structure whose area or posts are checked
VALID = [
    ({"action": "ajouter", "structure": "A", "territoires": ["COM:00004", "EPCI:E2"]},
     {"A": ["00001", "00002", "00003", "00004", "00006"]}),
    ({"action": "retirer", "structure": "A", "territoires": ["COM:00002"]}, {"A": ["00001"]}),
    ({"action": "transferer", "de": "B", "vers": "A", "territoires": ["COM:00005"]},
     {"A": ["00001", "00002", "00005"], "B": ["00002"]}),
    ({"action": "creer", "structure": "R", "nom": "Coordination régionale", "type_structure": "Région",
      "code_commune": "00001", "nb_facilitateurs": 1, "etp": 1.0, "territoires": ["REG:R1"]},
     {"R": ["00001", "00002", "00003", "00004", "00005", "00006"]}),
    ({"action": "supprimer", "structure": "D"}, {"D": []}),
    ({"action": "fusionner", "structures": ["A", "B"]}, {"A": ["00001", "00002", "00005"], "B": []}),
    ({"action": "ajouter", "structure": "B", "territoires": ["DEP:1"]},  # an Excel-mangled département
     {"B": ["00001", "00002", "00004", "00005"]}),
]


@pytest.mark.parametrize("op, expected", VALID, ids=[v[0]["action"] + str(i) for i, v in enumerate(VALID)])
def test_each_operation(tiny, op, expected):
    _, _, _, prepared, net = tiny
    after = scenario.apply(prepared.ref, net, op, 1)
    for sid, want in expected.items():
        assert codes(prepared, after, sid) == want, sid
        assert (sid in after.ids) == bool(want)
    assert codes(prepared, net, "A") == ["00001", "00002"]  # the base network never changes


def test_modify_and_merge_posts(tiny):
    _, _, _, prepared, net = tiny
    st = net.structures.assign(fin_fse=[50.0, 10.0, np.nan])
    net = scenario.Network(st, net.areas)
    after = scenario.apply(prepared.ref, net, {"action": "modifier", "structure": "B", "etp": "0,8",
                                               "nb_facilitateurs": 2, "nom": "Bêta"}, 1)
    row = after.structures.set_index("id_structure").loc["B"]
    assert (row["etp"], row["nb_facilitateurs"], row["nom"]) == (0.8, 2, "Bêta")
    merged = scenario.apply(prepared.ref, net, {"action": "fusionner", "structures": ["A", "B"]}, 1)
    a = merged.structures.set_index("id_structure").loc["A"]
    assert (a["nb_facilitateurs"], a["etp"]) == (3, 2.5)
    assert a["fin_fse"] == pytest.approx((50 * 1.5 + 10 * 1.0) / 2.5)  # the FSE-funded ETP are kept


# one refused example per rule: the operation, and words the French message must hold
REFUSED = [
    ({"action": "ajouter", "structure": "A", "territoires": ["EPCI:999999999"]}, ["territoires", "EPCI inconnu", "EPCI:999999999"]),
    ({"action": "ajouter", "structure": "A", "territoires": ["CP:01100"]}, ["territoires", "zones d'emploi"]),
    ({"action": "ajouter", "structure": "A", "territoires": "E1"}, ["TYPE:CODE"]),
    ({"action": "ajouter", "structure": "Z", "territoires": ["COM:00001"]}, ["structure", "« Z »"]),
    ({"action": "ajouter", "structure": "A"}, ["territoires", "absente"]),
    ({"action": "retirer", "structure": "A", "territoires": ["EPCI:E1"]}, ["plus aucun territoire", "Alpha"]),
    ({"action": "transferer", "de": "B", "vers": "A", "territoires": ["COM:00002", "COM:00005"]},
     ["plus aucun territoire"]),
    ({"action": "transferer", "de": "A", "vers": "A", "territoires": ["COM:00002"]}, ["même structure"]),
    ({"action": "modifier", "structure": "B", "etp": 2.5}, ["etp", "dépasser le nombre de personnes"]),
    ({"action": "modifier", "structure": "B", "etp": -1}, ["etp", "négative"]),
    ({"action": "modifier", "structure": "B", "couleur": "rouge"}, ["couleur"]),
    ({"action": "modifier", "structure": "B", "code_commune": "99999"}, ["code_commune", "inconnue"]),
    ({"action": "modifier", "structure": "B", "fin_fse": 80, "fin_etat": 40}, ["plus de 100"]),
    ({"action": "creer", "structure": "A", "nom": "x", "nb_facilitateurs": 1, "etp": 1, "territoires": ["COM:00003"]},
     ["existe déjà"]),
    ({"action": "creer", "structure": "N", "nom": "Nouvelle", "nb_facilitateurs": 1, "etp": 1}, ["territoires"]),
    ({"action": "supprimer", "structure": "X"}, ["« X »"]),
    ({"action": "fusionner", "structures": ["A"]}, ["deux structures"]),
    ({"action": "renommer", "structure": "A"}, ["action inconnue"]),
]


@pytest.mark.parametrize("op, words", REFUSED, ids=[f"{v[0]['action']}{i}" for i, v in enumerate(REFUSED)])
def test_each_refusal_names_the_operation_and_the_key(tiny, op, words):
    _, _, _, prepared, net = tiny
    with pytest.raises(ScenarioError) as exc:
        scenario.apply_all(prepared.ref, net, [op])
    message = str(exc.value)
    assert message.startswith("Opération 1"), message
    for word in words:
        assert word in message, (word, message)


def test_a_changes_list_with_an_error_stops_at_its_number(tiny):
    _, _, _, prepared, net = tiny
    ops = [{"action": "ajouter", "structure": "A", "territoires": ["COM:00004"]},
           {"action": "supprimer", "structure": "inconnue"}]
    with pytest.raises(ScenarioError) as exc:
        scenario.apply_all(prepared.ref, net, ops)
    assert exc.value.number == 2 and exc.value.key == "structure"


def test_compact_writing():
    """A département minus an EPCI is written as the département's other EPCI and communes."""
    communes = tiny_communes()
    ref = engine.prepare(communes, tiny_qpv(), *tiny_structures()).ref
    dep01_minus_e3 = scenario.parse_key(ref, "DEP:01")[~np.isin(ref.codes[scenario.parse_key(ref, "DEP:01")],
                                                                 ["00004"])]
    assert scenario.compact(ref, dep01_minus_e3) == [("epci", "E1")]
    whole = scenario.parse_keys(ref, ["DEP:01", "COM:00005", "COM:00003"])
    assert scenario.compact(ref, whole) == [("departement", "01"), ("epci", "E3"), ("commune", "00003")]
    region = scenario.parse_key(ref, "REG:R1")
    assert scenario.compact(ref, region) == [("departement", "01"), ("departement", "02")]


def test_export_then_import_gives_the_same_diagnosis(tiny):
    communes, qpv, markets, prepared, net = tiny
    ops = [{"action": "ajouter", "structure": "A", "territoires": ["EPCI:E3"]},
           {"action": "creer", "structure": "R", "nom": "Coordination", "nb_facilitateurs": 1, "etp": 1,
            "territoires": ["REG:R1"]},
           {"action": "retirer", "structure": "R", "territoires": ["COM:00003"]}]
    after = scenario.apply_all(prepared.ref, net, ops)
    res = scenario.run(prepared, communes, qpv, after, markets, "R1")
    st, pe = scenario.tables(prepared.ref, after)
    assert len(pe) < sum(len(after.area(s)) for s in after.ids)  # compact: fewer lines than communes
    again = engine.run(communes, qpv, st, pe, markets, "R1")
    assert engine.to_json(again) == engine.to_json(res)
    assert figure_values(again) == figure_values(res)
    pd.testing.assert_frame_equal(again.diagnosis.structures, res.diagnosis.structures)
    pd.testing.assert_frame_equal(again.diagnosis.overlaps, res.diagnosis.overlaps)


def test_a_comparison_equals_the_two_diagnoses(tiny):
    communes, qpv, markets, prepared, net = tiny
    a = scenario.run(prepared, communes, qpv, net, markets, "R1")
    after = scenario.apply_all(prepared.ref, net, [
        {"action": "ajouter", "structure": "B", "territoires": ["EPCI:E2"]},
        {"action": "supprimer", "structure": "D"},
        {"action": "creer", "structure": "N", "nom": "Nouvelle", "nb_facilitateurs": 2, "etp": 1.2,
         "territoires": ["COM:00004"]}])
    b = scenario.run(prepared, communes, qpv, after, markets, "R1")
    c = compare(net, a, after, b)
    va, vb = figure_values(a), figure_values(b)
    for row in c.figures.itertuples():
        assert (row.avant, row.apres) == (va[row.cle], vb[row.cle])
    st = c.structures.set_index("id_structure")
    assert st.loc["N", "statut"] == "créée" and st.loc["D", "statut"] == "supprimée"
    assert st.loc["A", "statut"] == "inchangée" and st.loc["B", "statut"] == "modifiée"
    assert (st.loc["B", "communes_ajoutees"], st.loc["B", "population_ajoutee"]) == (2, 3000 + 6000)
    assert st.loc["N", "etp_apres"] == 1.2 and pd.isna(st.loc["N", "etp_avant"])
    assert set(c.communes["code_insee"]) == {"00003", "00004", "00006"}
    assert set(c.communes["changement"]) == {"gagne"}
    assert c.figure("communes.non_couvertes") == (3, 0, -3)


def test_suggestions_gains_equal_the_diagnosis_difference_once_applied(tiny):
    communes, qpv, markets, prepared, net = tiny
    res = scenario.run(prepared, communes, qpv, net, markets, "R1")
    ctx = suggest.context(prepared.ref, communes, net, res, markets)
    pairs = suggest.candidates(ctx)
    # E2 (C3 C6) and E3 (C4 C5) have uncovered communes; every structure touches them (borders or zones)
    assert {e for e, _ in pairs} == {"E2", "E3"} and ("E2", "A") in pairs
    fast = suggest.suggest(ctx, "population")
    slow = suggest.naive(ctx, prepared, communes, qpv, markets, pairs).set_index(["epci_siren", "id_structure"])
    assert len(fast) == len(pairs)
    for row in fast.itertuples():
        ref_row = slow.loc[(row.epci_siren, row.id_structure)]
        assert row.population_gagnee == ref_row["population_gagnee"]
        assert row.qpv_ameliores == ref_row["qpv_ameliores"]
        assert row.marches_couverts == ref_row["marches_couverts"]
        assert row.etp_pour_100k_hab_apres == pytest.approx(ref_row["etp_pour_100k_hab_apres"])
    assert fast["population_gagnee"].is_monotonic_decreasing  # ranked by the chosen criterion
    by_load = suggest.suggest(ctx, "charge")
    assert by_load["etp_pour_100k_hab_apres"].dropna().is_monotonic_decreasing
    applied = scenario.apply(prepared.ref, net, suggest.operation(fast.iloc[0]))
    gained = scenario.run(prepared, communes, qpv, applied, markets, "R1")
    assert (res.diagnosis.summary["population"]["non_couverte"] - gained.diagnosis.summary["population"]["non_couverte"]
            == fast.iloc[0]["population_gagnee"])
