"""The demo région: deterministic, and realistic enough to rehearse a launch meeting."""

import numpy as np
import pandas as pd
import shapely

from data import demo
from data.schemas import INDICATOR_TABLES, STRUCTURE_TYPES
from geo.diagnosis import qpv_communes
from geo.territory import Referentiel


def test_same_seed_same_data(demo_ds):
    again = demo.generate()
    for name in ("communes", "qpv", "structures", "perimetres", "marches", "indicateurs"):
        a, b = getattr(demo_ds, name), getattr(again, name)
        pd.testing.assert_frame_equal(pd.DataFrame(a.drop(columns="geometry", errors="ignore")),
                                      pd.DataFrame(b.drop(columns="geometry", errors="ignore")))
    assert all(shapely.equals_exact(demo_ds.communes.geometry.to_numpy(), again.communes.geometry.to_numpy(), 0))


def test_communes_tile_the_region_without_gap_or_overlap(demo_ds):
    c = demo_ds.communes
    region = c[c["reg"] == demo.REGION]
    assert len(region) >= 400
    assert region["dep"].nunique() >= 3 and region["epci_siren"].nunique() >= 15
    geoms = c.geometry.to_numpy()
    assert shapely.is_valid(geoms).all()
    union = shapely.union_all(geoms)
    assert abs(union.area - shapely.area(geoms).sum()) < 1e-6 * union.area  # no overlap
    assert shapely.get_num_interior_rings(union) == 0 and union.geom_type == "Polygon"  # no gap
    assert shapely.coverage_is_valid(geoms)


def test_populations_are_plausible(demo_ds):
    c = demo_ds.communes[demo_ds.communes["reg"] == demo.REGION]
    pop = c["population"].sort_values(ascending=False).to_numpy()
    assert pop[0] > 300_000  # a big city
    assert 5_000 < np.median(pop[1:40]) < 50_000  # suburbs and towns
    assert np.median(pop) < 2_000  # rural communes
    assert 1_000_000 < pop.sum() < 3_000_000


def test_zones_emploi_one_straddling(demo_ds):
    c = demo_ds.communes
    in_region = set(c.loc[c["reg"] == demo.REGION, "ze2020"])
    assert len(in_region) >= 8
    straddling = [z for z in in_region if c.loc[c["ze2020"] == z, "reg"].nunique() > 1]
    assert straddling == ["0099"]


def test_qpv(demo_ds):
    q = demo_ds.qpv
    assert len(q) >= 25 and q["code_qp"].is_unique
    ref = Referentiel.from_communes(demo_ds.communes)
    links = qpv_communes(q, demo_ds.communes, ref)
    assert sum(len(x) >= 2 for x in links) >= 3  # some straddle two communes
    assert all(len(x) >= 1 for x in links)


def test_facilitators_with_holes_and_overlaps(demo_ds, demo_result):
    st, pe = demo_ds.structures, demo_ds.perimetres
    assert len(st) >= 8 and st["type_structure"].nunique() >= 4
    assert set(st["type_structure"]) <= set(STRUCTURE_TYPES)
    assert {"commune", "epci", "departement"} <= set(pe["type_territoire"])
    assert (st["etp"] <= st["nb_facilitateurs"]).all()
    funding = st[["fin_collectivites", "fin_fse", "fin_etat", "fin_prive", "fin_autres"]].sum(axis=1)
    assert np.allclose(funding, 100)
    s = demo_result.diagnosis.summary
    assert s["communes"]["non_couvertes"] > 0 and s["communes"]["multi_couvertes"] > 0
    assert s["qpv"]["couverts"] > 0 and s["qpv"]["partiels"] > 0 and s["qpv"]["non_couverts"] > 0
    assert demo_result.diagnosis.unresolved.empty


def test_markets_use_every_place_type(demo_ds, demo_result):
    m = demo_ds.marches
    assert len(m) >= 300 and m["id_marche"].is_unique
    assert {"commune", "code_postal", "departement", "region", "pays"} <= set(m["lieu_type"])
    assert (m["lieu_code"].str.contains(";")).any()
    summary = demo_result.market_summary
    for cls in ("couvert", "multi_facilitateurs", "partiellement_couvert", "hors_couverture", "non_localisable"):
        assert summary[cls] > 0, cls


def test_indicators_two_years_region_and_france(demo_ds):
    ind = demo_ds.indicateurs
    assert set(ind["tableau"]) == set(INDICATOR_TABLES)
    assert set(ind["territoire"]) == {demo.REGION, "FR"} and ind["annee"].nunique() == 2
    fr = ind[(ind["territoire"] == "FR") & (ind["annee"] == ind["annee"].min())]
    ben = fr[(fr["tableau"] == "T06")]["valeur"].sum()
    assert 30_000 < ben < 38_000  # 34,000 beneficiaries nationally
    hours = fr[(fr["tableau"] == "T01")]["valeur"].sum()
    assert 12e6 < hours < 14e6  # 13 M insertion hours
    sex = fr[(fr["tableau"] == "T08") & (fr["mesure"] == "beneficiaires")].set_index("modalite")["valeur"]
    assert 0.12 < sex["Femmes"] / sex.sum() < 0.20  # 16 % women
    jobs = fr[fr["tableau"] == "T16"].set_index("modalite")["valeur"]
    assert 0.42 < jobs.filter(like="Construction").sum() / jobs.sum() < 0.56  # 49 % in construction


def test_france_scale_generator_shape():
    ds = demo.generate(scale="france", n_markets=2_000, n_communes=3_000, n_qpv=160, n_structures=30)
    assert len(ds.communes) == 3_000 and len(ds.qpv) == 160 and len(ds.structures) == 30
    assert len(ds.marches) == 2_000 and ds.communes["reg"].nunique() >= 10
