"""Needs against means, buyers and the potentiel inclusif (issue 20, items 3 to 5), on a territory small enough
to compute every figure by hand: six communes, three structures (one with 0 ETP), seven markets of every
place type, five inclusion structures. The expected values below are worked out from DOMAIN.md's definitions
(« Needs and offer »), not by the code under test."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo import engine
from geo.buyers import aggregate
from geo.markets import has_social_consideration

X = "21000000000011"  # a buyer's SIRET


@pytest.fixture(scope="module")
def territory():
    codes = ["01001", "01002", "01003", "01004", "01005", "01006"]
    communes = gpd.GeoDataFrame({
        "code_insee": codes, "nom": ["A", "B", "C", "D", "E", "F"], "dep": ["01"] * 4 + ["02"] * 2,
        "reg": "99", "reg_nom": "Test", "epci_siren": "200000001", "epci_nom": "CC", "population": [100, 200, 300, 400,
                                                                                                      500, 600],
        "ze2020": ["Z001"] * 3 + ["Z002"] * 3, "ze2020_lib": ["Zone 1"] * 3 + ["Zone 2"] * 3,
        "codes_postaux": ["01100", "01100", "01300", "01400", "02500", "02600"]},
        geometry=[shapely.box(i * 1000, 0, (i + 1) * 1000, 1000) for i in range(6)], crs="EPSG:2154")
    qpv = gpd.GeoDataFrame({"code_qp": pd.Series(dtype=object), "nom_qp": pd.Series(dtype=object),
                            "population": pd.Series(dtype="int64"), "code_commune": pd.Series(dtype=object)},
                           geometry=gpd.GeoSeries([], crs="EPSG:2154"), crs="EPSG:2154")
    structures = pd.DataFrame({"id_structure": ["S1", "S2", "S3"], "nom": ["Un", "Deux", "Trois"],
                               "type_structure": "PLIE", "code_commune": ["01001", "01003", "01005"],
                               "nb_facilitateurs": [1, 2, 1], "etp": [1.0, 2.0, 0.0]})
    perimetres = pd.DataFrame({"id_structure": ["S1", "S1", "S1", "S2", "S2", "S3"],
                               "type_territoire": "commune",
                               "code_territoire": ["01001", "01002", "01003", "01003", "01004", "01005"]})
    social = "Clause sociale"
    marches = pd.DataFrame([
        ("m1", "commune", "01001", social, 100.0, 10.0, "Métropole X", X, "2024-03-01"),
        ("m2", "commune", "01003", social, 200.0, np.nan, "Ville de Foo", "", "2024-05-01"),
        ("m3", "code_postal", "01100", social, 300.0, 30.0, "VILLE  DE FOO", "", "2025-01-01"),
        ("m4", "departement", "01", social, 400.0, np.nan, "METROPOLE X", X, "2025-02-01"),
        ("m5", "commune", "01006", social, 500.0, np.nan, "Bar", "123", "2025-03-01"),
        ("m6", "commune", "01001", "Pas de considération sociale", 50.0, np.nan, "Y", "", "2025-04-01"),
        ("m7", "commune", "99999", social, 70.0, np.nan, "", "", ""),
    ], columns=["id_marche", "lieu_type", "lieu_code", "considerations_sociales", "montant_ht", "heures_insertion",
                "acheteur", "acheteur_siret", "date"])
    inclusion = pd.DataFrame({"code_commune": ["01001", "01001", "01006", "01004", ""],
                              "type": ["ACI", "EI", "ESAT", "EA", "AI"], "nom": list("PQRST"), "siret": "",
                              "raison": ["", "", "", "", "ni code commune, ni coordonnées, ni code postal"]})
    return communes, qpv, structures, perimetres, marches, inclusion


def run(territory, with_inclusion=True):
    communes, qpv, structures, perimetres, marches, inclusion = territory
    return engine.run(communes, qpv, structures, perimetres, marches, "99",
                      inclusion=inclusion if with_inclusion else None)


def test_needs_per_structure_with_a_structure_of_zero_etp(territory):
    n = run(territory).needs()
    st = n.structures.set_index("id_structure")
    # S1 covers 01001-01003: m1, m2, m3 (postal code of 01001-01002) and m4 (département 01) touch it
    assert st.loc["S1", "marches_sociaux"] == 4 and st.loc["S1", "montant_social"] == 1000
    assert st.loc["S1", "heures_sociales"] == 40  # known hours only
    assert st.loc["S1", "acheteurs"] == 2  # X (by SIRET) and « Ville de Foo » (by its name, however written)
    # S2 covers 01003-01004: m2 and m4
    assert st.loc["S2", "marches_sociaux"] == 2 and st.loc["S2", "acheteurs"] == 2
    assert np.isnan(st.loc["S2", "heures_sociales"])  # no hours known for its markets: unknown, not 0
    assert st.loc["S1", "structures_inclusion"] == 2 and st.loc["S2", "structures_inclusion"] == 1
    assert st.loc["S1", "marches_sociaux_par_etp"] == 4 and st.loc["S2", "marches_sociaux_par_etp"] == 1
    assert st.loc["S1", "population_par_etp"] == 600 and st.loc["S2", "population_par_etp"] == 350
    # S3 declares 0 ETP: no division by zero, « – » and a warning naming it
    assert st.loc["S3", "marches_sociaux"] == 0
    for col in ("marches_sociaux_par_etp", "population_par_etp", "acheteurs_par_etp"):
        assert np.isnan(st.loc["S3", col])
    assert any("Trois" in note and "ETP" in note for note in n.notes)
    # median over the structures with ETP: (4 + 1) / 2 = 2,5; S2 (1) is below half of it, S1 (4) not above twice
    assert n.median == 2.5
    assert st.loc["S1", "alerte"] == "" and st.loc["S3", "alerte"] == ""
    assert st.loc["S2", "alerte"] == "1,0 marchés sociaux par ETP : moins de la moitié de la médiane régionale (2,5)"


def test_needs_per_zone_d_emploi(territory):
    ze = run(territory).needs().zones_emploi.set_index("code")
    # ETP present: S1 wholly in Z001 (1); S2 2 ETP × 300/700 in Z001 and × 400/700 in Z002; S3 0 ETP
    assert ze.loc["Z001", "etp_present"] == pytest.approx(1 + 2 * 300 / 700)
    assert ze.loc["Z002", "etp_present"] == pytest.approx(2 * 400 / 700)
    assert ze.loc["Z001", "marches_sociaux"] == 4 and ze.loc["Z002", "marches_sociaux"] == 2  # m4 and m5
    assert ze.loc["Z001", "structures_inclusion"] == 2 and ze.loc["Z002", "structures_inclusion"] == 2
    assert ze.loc["Z002", "marches_sociaux_par_etp"] == pytest.approx(2 / (800 / 700))


def test_potentiel_inclusif_of_a_commune_a_postal_code_and_a_departement(territory):
    n = run(territory).needs()
    pot = n.markets.set_index("id_marche")
    assert pot.loc["m1", "potentiel_inclusif"] == 2 and pot.loc["m1", "potentiel_inclusif_detail"] == "1 EI, 1 ACI"
    assert pot.loc["m3", "potentiel_inclusif"] == 2  # postal code 01100: communes 01001 and 01002
    assert pot.loc["m4", "potentiel_inclusif"] == 3 and pot.loc["m4", "inclusion_EA"] == 1  # département 01
    assert pot.loc["m2", "potentiel_inclusif"] == 0 and pot.loc["m5", "inclusion_ESAT"] == 1
    assert np.isnan(pot.loc["m7", "potentiel_inclusif"])  # a place that designates nothing: unknown
    # the région's inclusion structures: four located (one in a zone blanche), one unlocated (kept, counted)
    inc = n.inclusion
    assert inc["total"] == 5 and inc["non_localisees"] == 1 and inc["par_type"]["AI"] == 1
    assert inc["dans_zones_blanches"]["ESAT"] == 1 and sum(inc["dans_zones_blanches"].values()) == 1
    assert n.unlocated["nom"].tolist() == ["T"]



def test_potentiel_of_a_file_analysed_alone_equals_the_workspace_s(territory):
    """The Marchés page's « analyse another file » path uses the same figure as the stored markets."""
    from geo.needs import market_potential

    result = run(territory)
    communes, qpv, structures, perimetres, marches, inclusion = territory
    alone = market_potential(result.ref, marches.iloc[::-1], inclusion).set_index("id_marche")
    stored = result.needs().markets.set_index("id_marche")
    cols = ["potentiel_inclusif", "inclusion_ACI", "potentiel_inclusif_detail"]
    pd.testing.assert_frame_equal(alone.loc[stored.index, cols], stored[cols])
    assert market_potential(result.ref, marches, None)["potentiel_inclusif"].isna().all()  # unknown, not 0

def test_json_adds_keys_and_says_null_without_inclusion(territory):
    with_inc = engine.to_json(run(territory))
    without = engine.to_json(run(territory, with_inclusion=False))
    base = set(without) - {"structures_inclusion"}
    assert "structures_inclusion" not in without and with_inc["structures_inclusion"]["total"] == 5
    assert set(with_inc) - {"structures_inclusion"} == base
    s1 = next(s for s in with_inc["structures"] if s["id_structure"] == "S1")
    assert (s1["marches_sociaux"], s1["acheteurs"], s1["structures_inclusion"]) == (4, 2, 2)
    assert all(s["structures_inclusion"] is None for s in without["structures"])
    json.dumps(with_inc)  # JSON-safe


def test_buyers_with_and_without_siret(territory):
    table = engine.buyers(run(territory)).set_index("cle")
    x = table.loc[f"S:{X}"]
    assert x["siret"] == X and x["nom"] == "Métropole X"  # as first written (each spelling once)
    assert (x["marches"], x["marches_sociaux"], x["montant_ht"]) == (2, 2, 500)
    assert x["structures"].split("; ") == ["Un", "Deux"]  # S1 holds both, S2 the département's
    foo = table.loc["N:villedefoo"]  # no SIRET: the name, whatever its case and spaces
    assert foo["siret"] is None and foo["marches"] == 2 and foo["heures_insertion"] == 30
    assert foo["annees"] == "2024–2025" and foo["montants_annuels"] == {2024: 200.0, 2025: 300.0}
    bar = table.loc["N:bar"]  # a SIRET of 3 digits is not one: identified by its name
    assert bar["siret"] is None and bar["marches"] == 1
    y = table.loc["N:y"]
    assert y["marches_sociaux"] == 0 and y["montant_ht_social"] == 0 and y["part_sociale"] == 0
    nobody = table.loc["?"]  # a market whose file names no buyer is counted too
    assert nobody["siret"] is None and nobody["nom"] is None and nobody["marches"] == 1
    assert table["marches"].sum() == 7
    out = engine.buyers_json(engine.buyers(run(territory)))
    assert {"siret", "nom", "marches", "marches_sociaux", "montant_ht", "montant_ht_social", "montant_annuel_max",
            "spaser"} <= set(out[0])


@pytest.mark.parametrize("amounts,flagged", [
    ([30_000_000, 20_000_000], True),  # exactly the threshold in one year
    ([30_000_000, 19_999_999.99], False),  # a cent below
    ([50_000_000.01], True),
])
def test_spaser_threshold_at_its_edges(amounts, flagged):
    m = pd.DataFrame({"acheteur": "A", "acheteur_siret": X, "montant_ht": amounts,
                      "date": ["2024-01-15"] * len(amounts), "considerations_sociales": "Clause sociale",
                      "heures_insertion": np.nan, "type_acheteur": "Région"})
    row = aggregate(m, has_social_consideration(m["considerations_sociales"])).iloc[0]
    assert bool(row["spaser"]) is flagged


def test_spaser_counts_each_calendar_year_alone():
    m = pd.DataFrame({"acheteur": "A", "montant_ht": [40e6, 40e6], "date": ["2023-12-31", "2024-01-01"],
                      "considerations_sociales": ""})
    row = aggregate(m, np.zeros(2, bool), threshold=50e6).iloc[0]
    assert not row["spaser"] and row["montant_annuel_max"] == 40e6 and row["montant_ht"] == 80e6
    assert not aggregate(m, np.zeros(2, bool), threshold=80e6)["spaser"].iloc[0]
    assert aggregate(m, np.zeros(2, bool), threshold=40e6)["spaser"].iloc[0]


def test_a_market_counts_once_with_its_current_amount(tmp_path):
    """DECP consolidated: one row per market x holder x modification; the row marked donneesActuelles is the
    market's current state. DECP JSON: the amount of its last modification."""
    from data.validation import validate

    rows = pd.DataFrame({
        "uid": ["U1", "U1", "U1", "U2", "U2"], "acheteur_id": [X] * 5, "acheteur_nom": "Métropole X",
        "montant": [100.0, 100.0, 150.0, 80.0, 80.0], "donneesActuelles": [False, False, True, False, False],
        "dateNotification": "2025-01-15", "lieuExecution_code": "01001", "lieuExecution_typeCode": "Code commune",
        "considerationsSociales": "Clause sociale", "titulaire_id": ["A", "B", "B", "A", "C"]})
    rows.to_parquet(tmp_path / "decp.parquet", index=False)
    loaded = validate("marches", [tmp_path / "decp.parquet"])
    m = loaded.tables["marches"].set_index("id_marche")
    assert m.loc["U1", "montant_ht"] == 150 and m.loc["U2", "montant_ht"] == 80 and len(m) == 2
    assert m.loc["U1", "acheteur_siret"] == X
    doc = {"marches": {"marche": [{"id": "J1", "acheteur": {"id": X}, "montant": 575000,
                                   "modifications": [{"modification": {"id": 1, "montant": 123457.87}}],
                                   "lieuExecution": {"code": "01001", "typeCode": "Code commune"},
                                   "considerationsSociales": {"considerationSociale": ["Clause sociale"]},
                                   "dateNotification": "2024-05-15"}]}}
    (tmp_path / "decp.json").write_text(json.dumps(doc), encoding="utf-8")
    m = validate("marches", [tmp_path / "decp.json"]).tables["marches"]
    assert m["montant_ht"].tolist() == [123457.87] and m["acheteur_siret"].tolist() == [X]


def test_a_buyer_siret_that_is_not_14_digits_is_kept_with_one_warning():
    from data.formats.upload import Upload
    from data.validation import validate

    rows = ["id_marche;lieu_type;lieu_code;acheteur;acheteur_siret;considerations_sociales"]
    rows += [f"M{k};commune;31555;Ville;{'123' if k < 3 else X};Clause sociale" for k in range(5)]
    loaded = validate("marches", [Upload("m.csv", "\n".join(rows).encode())])
    assert loaded.ok and loaded.tables["marches"]["acheteur_siret"].tolist() == ["123"] * 3 + [X] * 2
    warnings = [i.message for i in loaded.report.warnings if i.column == "acheteur_siret"]
    assert len(warnings) == 1 and warnings[0].startswith("3 SIRET d'acheteurs n'ont pas 14 chiffres")
