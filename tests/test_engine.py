"""The diagnosis on a tiny hand-made territory where every figure is known by hand.

Six square communes of 10 km in a 3 x 2 grid (EPSG:2154), région R1; a seventh, C7, in
région R2. Populations 1000, 2000, ..., 7000.

    row 1 (north):  C1 C2 C3
    row 2 (south):  C4 C5 C6        and C7 east of C6 (région R2)

dep 01: C1 C2 C4 ; dep 02: C3 C5 C6 ; dep 03: C7. EPCI E1 = C1 C2, E2 = C3 C6, E3 = C4 C5, E4 = C7.
ZE Z1 = C1 C2 C4 C5 ; Z2 = C3 C6 C7 (straddles). Postal code 01100 serves C1 and C2.

Structures: A covers EPCI E1 (C1 C2); B covers communes C2 C5; D covers département 03 (C7).
Covered in R1: C1 C2 C5 ; zones blanches C3 C4 C6 ; multi-covered C2.
"""

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as hs

from geo import engine
from geo.diagnosis import build_coverage
from geo.markets import classify_markets, naive_classify
from geo.territory import Referentiel

SIZE = 10_000.0
X0, Y0 = 600_000.0, 6_500_000.0


def square(col, row):
    return shapely.box(X0 + col * SIZE, Y0 - (row + 1) * SIZE, X0 + (col + 1) * SIZE, Y0 - row * SIZE)


def tiny_communes():
    rows = [
        ("00001", "C1", "01", "R1", "E1", 1000, "Z1", "01100", square(0, 0)),
        ("00002", "C2", "01", "R1", "E1", 2000, "Z1", "01100", square(1, 0)),
        ("00003", "C3", "02", "R1", "E2", 3000, "Z2", "02300", square(2, 0)),
        ("00004", "C4", "01", "R1", "E3", 4000, "Z1", "01400", square(0, 1)),
        ("00005", "C5", "02", "R1", "E3", 5000, "Z1", "02500", square(1, 1)),
        ("00006", "C6", "02", "R1", "E2", 6000, "Z2", "02600", square(2, 1)),
        ("00007", "C7", "03", "R2", "E4", 7000, "Z2", "03700", square(3, 1)),
    ]
    df = pd.DataFrame(rows, columns=["code_insee", "nom", "dep", "reg", "epci_siren", "population", "ze2020",
                                     "codes_postaux", "geometry"])
    df["epci_nom"] = "EPCI " + df["epci_siren"]
    df["ze2020_lib"] = "Zone " + df["ze2020"]
    return gpd.GeoDataFrame(df, geometry="geometry", crs="EPSG:2154")


def tiny_structures():
    st = pd.DataFrame({"id_structure": ["A", "B", "D"], "nom": ["Alpha", "Beta", "Delta"],
                       "type_structure": ["PLIE", "MDE", "Département"], "code_commune": ["00001", "00005", "00007"],
                       "nb_facilitateurs": [2, 1, 1], "etp": [1.5, 1.0, 0.5]})
    pe = pd.DataFrame({"id_structure": ["A", "B", "B", "D"], "type_territoire": ["epci", "commune", "commune",
                                                                                   "departement"],
                       "code_territoire": ["E1", "00002", "00005", "03"]})
    return st, pe


def tiny_qpv():
    # Q1 straddles C1/C2 half and half; Q2 inside C4 with 0.5 % of its area in C5 (ignored: < 1 %);
    # Q3 straddles C2/C3 (C3 uncovered -> partiel); Q4 has no geometry, declared in C6.
    q1 = shapely.box(X0 + SIZE - 500, Y0 - 5_500, X0 + SIZE + 500, Y0 - 4_500)
    q2 = shapely.box(X0 + SIZE - 995, Y0 - 15_500, X0 + SIZE + 5, Y0 - 14_500)
    q3 = shapely.box(X0 + 2 * SIZE - 300, Y0 - 5_300, X0 + 2 * SIZE + 300, Y0 - 4_700)
    return gpd.GeoDataFrame({"code_qp": ["Q1", "Q2", "Q3", "Q4"], "nom_qp": ["Un", "Deux", "Trois", "Quatre"],
                             "code_commune": ["00001", "00004", "00002", "00006"],
                             "population": [1500, 800, 600, 300]},
                            geometry=[q1, q2, q3, None], crs="EPSG:2154")


def tiny_markets():
    return pd.DataFrame({
        "id_marche": ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"],
        "lieu_type": ["commune", "commune", "commune", "commune", "code_postal", "departement", "commune",
                      "commune", "region"],
        "lieu_code": ["00001", "00001;00002;00005", "00002;00003", "00004", "01100", "02", "99999", "00001",
                      "R1"],
        "considerations_sociales": ["Clause sociale"] * 7 + ["Pas de considération sociale", "Marché réservé"],
    })


@pytest.fixture()
def tiny():
    c = tiny_communes()
    st, pe = tiny_structures()
    return engine.run(c, tiny_qpv(), st, pe, tiny_markets(), "R1")


def test_communes_and_population(tiny):
    s = tiny.diagnosis.summary
    assert s["communes"] == {"total": 6, "couvertes": 3, "non_couvertes": 3, "multi_couvertes": 1}
    assert s["population"]["totale"] == 21_000
    assert s["population"]["non_couverte"] == 3000 + 4000 + 6000
    assert s["population"]["part_non_couverte"] == pytest.approx(13 / 21)


def test_qpv_status_uses_the_one_percent_rule(tiny):
    q = tiny.diagnosis.qpv.set_index("code_qp")
    assert q.loc["Q1", "communes"] == "00001;00002" and q.loc["Q1", "statut"] == "couvert"
    assert q.loc["Q2", "communes"] == "00004" and q.loc["Q2", "statut"] == "non couvert"
    assert q.loc["Q3", "communes"] == "00002;00003" and q.loc["Q3", "statut"] == "partiel"
    assert q.loc["Q4", "communes"] == "00006" and q.loc["Q4", "statut"] == "non couvert"
    s = tiny.diagnosis.summary["qpv"]
    assert s == {"total": 4, "couverts": 1, "partiels": 1, "non_couverts": 2, "population_non_couverte": 1100}


def test_zones_emploi(tiny):
    ze = tiny.diagnosis.zones_emploi.set_index("code")
    assert ze.loc["Z1", "population"] == 12_000
    assert ze.loc["Z1", "part_couverte"] == pytest.approx(8000 / 12_000)
    assert ze.loc["Z1", "nb_structures"] == 2
    # Z2 in R1 = C3 + C6 only; D covers C7 (R2) but not a commune of C: not counted
    assert ze.loc["Z2", "population"] == 9000 and ze.loc["Z2", "part_couverte"] == 0
    assert ze.loc["Z2", "nb_structures"] == 0
    assert bool(ze.loc["Z2", "chevauche_region"]) and not bool(ze.loc["Z1", "chevauche_region"])


def test_structures(tiny):
    st = tiny.diagnosis.structures.set_index("id_structure")
    assert st.loc["A", "population_couverte"] == 3000
    assert st.loc["A", "etp_pour_100k_hab"] == pytest.approx(1.5 / 3000 * 100_000)
    assert st.loc["A", "ze_dominante"] == "Z1" and st.loc["A", "part_ze_dominante"] == 1.0
    assert st.loc["A", "population_qpv"] == 1500 + 600  # Q1 (C1, C2) and Q3 (C2)
    assert st.loc["A", "etp_pour_10k_hab_qpv"] == pytest.approx(1.5 / 2100 * 10_000)
    assert st.loc["B", "population_couverte"] == 7000 and st.loc["B", "nb_ze"] == 1
    # D covers only a commune outside the région: no denominator, no ratio
    assert st.loc["D", "population_couverte"] == 0
    assert pd.isna(st.loc["D", "etp_pour_100k_hab"]) and pd.isna(st.loc["D", "ze_dominante"])


def test_overlaps(tiny):
    ov = tiny.diagnosis.overlaps
    assert len(ov) == 1
    row = ov.iloc[0]
    assert (row["id_a"], row["id_b"], row["communes_partagees"], row["population_partagee"]) == ("A", "B", 1, 2000)
    assert row["qpv_partages"] == 2  # Q1 and Q3 both lie in C2


def test_markets(tiny):
    m = tiny.markets.set_index("id_marche")
    assert m.loc["m1", "couverture"] == "couvert" and m.loc["m1", "structure"] == "A"
    assert m.loc["m2", "couverture"] == "multi_facilitateurs"
    assert m.loc["m2", "raison"] == "s'étend sur 2 aires de facilitateurs"
    assert m.loc["m3", "couverture"] == "partiellement_couvert"
    assert m.loc["m4", "couverture"] == "hors_couverture" and m.loc["m4", "raison"] == "commune hors de toute aire"
    assert m.loc["m5", "couverture"] == "couvert"  # postal code 01100 = C1 + C2, both in A
    assert m.loc["m6", "couverture"] == "partiellement_couvert" and m.loc["m6", "regional"]
    assert m.loc["m7", "couverture"] == "non_localisable" and "commune inconnue" in m.loc["m7", "raison"]
    assert not m.loc["m8", "avec_consideration_sociale"] and m.loc["m8", "couverture"] == ""
    assert m.loc["m9", "regional"] and m.loc["m9", "couverture"] == "partiellement_couvert"
    assert m.loc["m2", "regional"]  # spans départements 01 and 02
    assert not m.loc["m1", "regional"]
    s = tiny.market_summary
    assert s["total"] == 9 and s["avec_consideration_sociale"] == 8
    assert (s["couvert"], s["multi_facilitateurs"], s["partiellement_couvert"], s["hors_couverture"],
            s["non_localisable"]) == (2, 1, 3, 1, 1)


def test_naive_baseline_agrees(tiny):
    c = tiny_communes()
    ref = Referentiel.from_communes(c)
    st, pe = tiny_structures()
    cov = build_coverage(ref, st, pe)
    fast = classify_markets(ref, cov, tiny_markets())["couverture"].tolist()
    assert naive_classify(ref, cov, tiny_markets()) == fast


def test_unresolved_perimeter_code_is_reported_not_dropped():
    c = tiny_communes()
    ref = Referentiel.from_communes(c)
    st, pe = tiny_structures()
    pe = pd.concat([pe, pd.DataFrame({"id_structure": ["A"], "type_territoire": ["epci"],
                                      "code_territoire": ["999999999"]})], ignore_index=True)
    cov = build_coverage(ref, st, pe)
    assert cov.unresolved[["ligne", "code_territoire"]].values.tolist() == [[6, "999999999"]]


def test_expansion_of_every_key_type():
    ref = Referentiel.from_communes(tiny_communes())
    codes = lambda idx: ref.codes[idx].tolist()  # noqa: E731
    assert codes(ref.expand("commune", "00003")) == ["00003"]
    assert codes(ref.expand("epci", "E3")) == ["00004", "00005"]
    assert codes(ref.expand("departement", "02")) == ["00003", "00005", "00006"]
    assert codes(ref.expand("region", "R2")) == ["00007"]
    assert codes(ref.expand("ze", "Z2")) == ["00003", "00006", "00007"]
    assert codes(ref.expand("code_postal", "01100")) == ["00001", "00002"]
    assert len(ref.expand("pays", "FR")) == 7
    assert ref.expand("commune", "12345") is None
    assert ref.expand("code_postal", "99999") is None


def test_municipal_arrondissements_map_to_their_commune():
    c = pd.DataFrame({"code_insee": ["75056", "13055"], "nom": ["Paris", "Marseille"], "dep": ["75", "13"],
                      "reg": ["11", "93"], "epci_siren": ["", ""], "population": [2_000_000, 870_000],
                      "ze2020": ["1109", "9312"], "codes_postaux": ["75001", "13001"]})
    ref = Referentiel.from_communes(c)
    assert ref.codes[ref.expand("commune", "75112")].tolist() == ["75056"]
    assert ref.codes[ref.expand("commune", "13203")].tolist() == ["13055"]


def test_qpv_without_any_commune_is_not_counted_and_noted():
    c = tiny_communes()
    st, pe = tiny_structures()
    q = tiny_qpv()
    q.loc[3, "code_commune"] = ""
    res = engine.run(c, q, st, pe, tiny_markets(), "R1")
    assert res.diagnosis.summary["qpv"]["total"] == 3
    assert any("Q4" in n and "hors du référentiel" in n for n in res.diagnosis.notes)


def test_json_contract(tiny):
    out = engine.to_json(tiny)
    assert list(out) == ["region", "communes", "population", "qpv", "zones_emploi", "structures", "marches",
                         "marches_detail"]
    # issue 20 added keys (needs against means), never changed one; without inclusion structures: null
    assert set(out["structures"][0]) == {"id_structure", "nb_facilitateurs", "etp", "population_couverte",
                                         "etp_pour_100k_hab", "ze_dominante", "part_ze_dominante", "nb_ze",
                                         "marches_sociaux", "acheteurs", "structures_inclusion"}
    assert all(s["structures_inclusion"] is None for s in out["structures"])
    assert set(out["zones_emploi"][0]) == {"code", "nom", "population", "part_couverte", "nb_structures"}
    assert len(out["marches_detail"]) == out["marches"]["avec_consideration_sociale"] == 8
    d = {s["id_structure"]: s for s in out["structures"]}
    assert d["D"]["etp_pour_100k_hab"] is None


# ------------------------------------------------------------------ property-based invariants

def grid_communes(n_cols: int, n_rows: int, pops: list[int]) -> gpd.GeoDataFrame:
    rows = []
    for k in range(n_cols * n_rows):
        col, row = k % n_cols, k // n_cols
        rows.append({"code_insee": f"01{k:03d}", "nom": f"C{k}", "dep": "01" if col < n_cols / 2 else "02",
                     "reg": "R1", "epci_siren": f"E{k // 3}", "population": pops[k % len(pops)],
                     "ze2020": f"Z{row % 2}", "codes_postaux": f"01{k // 2:03d}", "epci_nom": "",
                     "ze2020_lib": "", "geometry": square(col, row)})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:2154")


@hs.composite
def territories(draw):
    n_cols, n_rows = draw(hs.integers(2, 5)), draw(hs.integers(1, 4))
    n = n_cols * n_rows
    pops = draw(hs.lists(hs.integers(0, 50_000), min_size=n, max_size=n))
    c = grid_communes(n_cols, n_rows, pops)
    n_s = draw(hs.integers(1, 4))
    st_rows, pe_rows = [], []
    for s in range(n_s):
        members = draw(hs.lists(hs.integers(0, n - 1), min_size=1, max_size=n, unique=True))
        st_rows.append({"id_structure": f"S{s}", "nom": f"S{s}", "type_structure": "PLIE",
                        "code_commune": c["code_insee"].iloc[members[0]], "nb_facilitateurs": 1, "etp": 1.0})
        pe_rows += [{"id_structure": f"S{s}", "type_territoire": "commune",
                     "code_territoire": c["code_insee"].iloc[m]} for m in members]
    markets = []
    for k in range(draw(hs.integers(1, 12))):
        kind = draw(hs.sampled_from(["commune", "code_postal", "departement"]))
        if kind == "commune":
            idx = draw(hs.lists(hs.integers(0, n - 1), min_size=1, max_size=4, unique=True))
            code = ";".join(c["code_insee"].iloc[i] for i in idx)
        elif kind == "code_postal":
            code = f"01{draw(hs.integers(0, n)) // 2:03d}"
        else:
            code = draw(hs.sampled_from(["01", "02", "03"]))
        markets.append({"id_marche": f"m{k}", "lieu_type": kind, "lieu_code": code,
                        "considerations_sociales": "Clause sociale"})
    # QPV: small squares centred on random grid points (they may straddle up to four communes)
    qpv = []
    for k in range(draw(hs.integers(0, 4))):
        gx, gy = draw(hs.integers(0, n_cols)), draw(hs.integers(0, n_rows))
        x, y = X0 + gx * SIZE, Y0 - gy * SIZE
        qpv.append({"code_qp": f"Q{k}", "nom_qp": f"Q{k}", "code_commune": "", "population": 100 * (k + 1),
                    "geometry": shapely.box(x - 400, y - 400, x + 400, y + 400)})
    qpv = gpd.GeoDataFrame(qpv, geometry="geometry", crs="EPSG:2154") if qpv else \
        gpd.GeoDataFrame({"code_qp": [], "nom_qp": [], "code_commune": [], "population": []},
                         geometry=gpd.GeoSeries([], crs="EPSG:2154"))
    return c, qpv, pd.DataFrame(st_rows), pd.DataFrame(pe_rows), pd.DataFrame(markets)


@settings(max_examples=40, deadline=None)
@given(territories())
def test_invariants(t):
    c, qpv, st, pe, markets = t
    res = engine.run(c, qpv, st, pe, markets, "R1")
    d = res.diagnosis
    s = d.summary
    assert s["communes"]["couvertes"] + s["communes"]["non_couvertes"] == s["communes"]["total"] == len(c)
    covered_pop = int(d.communes.loc[d.communes["couverte"], "population"].sum())
    assert covered_pop + s["population"]["non_couverte"] == s["population"]["totale"] == int(c["population"].sum())
    assert d.zones_emploi["population"].sum() == s["population"]["totale"]
    # a "couvert" market lies inside the perimeter of the structure named
    members = pe.groupby("id_structure")["code_territoire"].apply(set)
    ref = res.ref
    for row in res.markets.itertuples():
        place = markets.set_index("id_marche").loc[row.id_marche]
        idx, _ = ref.expand_many(place.lieu_type, place.lieu_code.split(";"))
        communes = set(ref.codes[idx])
        if row.couverture == "couvert":
            assert communes <= members[row.structure]
        elif row.couverture == "multi_facilitateurs":
            assert not any(communes <= m for m in members)
    # a QPV's status agrees with its communes
    couverte = dict(zip(d.communes["code_insee"], d.communes["couverte"]))
    for q in d.qpv.itertuples():
        flags = [couverte[x] for x in q.communes.split(";")]
        expected = "couvert" if all(flags) else ("partiel" if any(flags) else "non couvert")
        assert q.statut == expected
    assert s["qpv"]["couverts"] + s["qpv"]["partiels"] + s["qpv"]["non_couverts"] == s["qpv"]["total"]
    # the naive baseline of the benchmark gives the same classes
    fast = res.markets["couverture"].tolist()
    assert naive_classify(res.ref, res.coverage, markets) == fast


def test_buyers_summary():
    from geo.markets import buyers

    m = pd.DataFrame({"id_marche": ["a", "b", "c"], "acheteur": ["Ville", "Ville", "État"],
                      "type_acheteur": ["Collectivité territoriale"] * 2 + ["État"],
                      "montant_ht": [100.0, 50.0, 10.0], "heures_insertion": [10.0, None, 1.0]})
    out = buyers(m)
    assert out[["acheteur", "marches", "montant_ht", "heures_insertion"]].values.tolist() == [
        ["Ville", 2, 150.0, 10.0], ["État", 1, 10.0, 1.0]]


def test_filter_markets():
    from geo.markets import filter_markets

    m = pd.DataFrame({"statut": ["en cours", "terminé", "en cours"], "type_acheteur": ["État", "État", "Autre"],
                      "montant_ht": [10.0, 500.0, None], "date": ["2024-01-01", "2025-02-02", "2024-03-03"],
                      "couverture": ["couvert", "hors_couverture", "couvert"], "regional": [True, False, False]})
    assert len(filter_markets(m)) == 3
    assert filter_markets(m, statuts=["en cours"]).index.tolist() == [0, 2]
    assert filter_markets(m, montant=(0, 100)).index.tolist() == [0, 2]  # unknown amounts are kept
    assert filter_markets(m, annees=["2025"]).index.tolist() == [1]
    assert filter_markets(m, classes=["couvert"], regional=False).index.tolist() == [2]
    assert filter_markets(m, types_acheteur=["État"], regional=True).index.tolist() == [0]


def test_qpv_declared_on_several_communes_without_geometry():
    c = tiny_communes()
    st, pe = tiny_structures()
    q = tiny_qpv().iloc[[3]].copy()
    q["code_commune"] = "00002;00003"
    res = engine.run(c, q, st, pe, tiny_markets(), "R1")
    row = res.diagnosis.qpv.iloc[0]
    assert row["communes"] == "00002;00003" and row["statut"] == "partiel"


def test_comparison_columns_keep_structures_of_the_same_name_apart(demo_result):
    from geo.compare import coverage_matrix

    ids = list(demo_result.diagnosis.structures["id_structure"][:2])
    qpv, ze = coverage_matrix(demo_result.diagnosis, ids, {s: "PLIE" for s in ids})
    assert [c for c in ze.columns if c.startswith("PLIE")] == [f"PLIE ({s})" for s in ids]


@pytest.mark.parametrize("top,last,count", [(0, 1_000, 2), (1_000, 1_000, 2), (8_984_835, 10_000_000, 14),
                                            (123_456, 200_000, 9)])
def test_amount_steps_round_and_reach_the_largest_market(top, last, count):
    from geo.markets import amount_steps

    steps = amount_steps(top)
    assert steps[0] == 0 and steps[-1] == last and len(steps) == count
    assert steps == sorted(set(steps)) and steps[-1] >= top and (len(steps) < 3 or steps[-2] < top)
