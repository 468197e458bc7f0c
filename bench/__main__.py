"""Benchmark of the diagnosis engine and of the maps, on a France-sized synthetic set.

    python -m bench [--json FILE] [--quick] [--sans-charge] [--sans-navigateur]

Times are medians of several runs, in seconds, on this machine; each ratio compares two
methods measured in the same run (baseline / ours). Sizes are in bytes. After the load of a
meeting (:mod:`bench.load`), the pages as a person waits for them in Debian's Chromium
(:mod:`bench.browser`: the map drawn cold, warm from the navigation and as a new person's page load,
its communes layer, a click on an area, the indicators' charts; page loads also against Streamlit's
blank page, the baseline), unless ``--sans-navigateur`` is given or
/usr/bin/chromium is missing. Needs and offer (:mod:`bench.inclusion`): a national inclusion structures file
imported and cut (``inclusion_import_s``, in its own process), buyers of a national market file cut to a
région (``buyers_s``), needs per ETP on the France-sized set (``needs_s``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench import peak_rss_mb, print_figures

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(fn, runs: int = 5) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def naive_map_bytes(communes, qpv, res, region: str) -> int:
    """The same default layers drawn the naive way: raw geometries, no simplification, no rounding
    (the région's communes, each structure's area, the QPV and the zones d'emploi)."""
    import folium
    import shapely

    c = communes.to_crs("EPSG:4326")
    in_c = (c["reg"] == region).to_numpy()
    m = folium.Map(tiles=None)
    folium.GeoJson(c[in_c][["nom", "geometry"]].__geo_interface__).add_to(m)
    for k in range(len(res.coverage.structure_ids)):
        area = shapely.union_all(c.geometry.to_numpy()[res.coverage.membership[k]])
        folium.GeoJson(shapely.to_geojson(area)).add_to(m)
    folium.GeoJson(qpv.to_crs("EPSG:4326")[["nom_qp", "geometry"]].__geo_interface__).add_to(m)
    ze = c[c["ze2020"].isin(set(c.loc[in_c, "ze2020"]))].dissolve("ze2020")
    folium.GeoJson(ze[["geometry"]].__geo_interface__).add_to(m)
    return len(m.get_root().render().encode())


def map_bytes(ds, res, layers, show) -> int:
    from components.maps import coverage_map
    from views.palette import structure_colours

    colours = structure_colours(res.diagnosis.structures["id_structure"].tolist())
    m = coverage_map(layers, res.diagnosis.structures, colours, show=show, vintage="banc d'essai")
    return len(m.get_root().render().encode())


def synthetic_region(ds, target: int = 4_500) -> str:
    """Relabel the départements nearest to one point as région "RX" until it holds ``target`` communes."""
    import shapely

    c = ds.communes
    cent = shapely.centroid(c.geometry.to_numpy())
    x, y = shapely.get_x(cent), shapely.get_y(cent)
    by_dep = c.assign(x=x, y=y).groupby("dep")[["x", "y"]].mean()
    x0, y0 = by_dep.iloc[0]
    order = ((by_dep["x"] - x0) ** 2 + (by_dep["y"] - y0) ** 2).sort_values().index
    sizes = c["dep"].value_counts()
    chosen, n = [], 0
    for d in order:
        chosen.append(d)
        n += sizes[d]
        if n >= target:
            break
    ds.communes.loc[c["dep"].isin(chosen), "reg"] = "RX"
    return "RX"


def workspace_figures() -> dict[str, float]:
    """The workspace store and the shipped référentiel, in a temporary store.

    ``referentiel_region_s``: creating the workspace of the largest régions (Occitanie, Grand Est) from
    the shipped référentiel; ``workspace_read_s``: reading a 4,500-commune région's workspace (its
    référentiel, facilitators and markets), against ``workspace_read_geojson_ratio`` (reading the same
    communes from a GeoJSON file, divided by ours); ``import_version_bytes``: what one facilitator
    import adds to the store (the référentiel is not copied).
    """
    from bench import temporary_store
    from data import referentiel
    from data.store import imports, workspaces
    from data.validation import validate

    out: dict[str, float] = {}
    if not referentiel.available():
        return out
    out["referentiel_bytes"] = sum(f.stat().st_size for f in referentiel.ref_dir().iterdir() if f.is_file())
    with temporary_store() as tmp:
        times = []
        for reg in ("76", "44"):
            t = time.perf_counter()
            slug = workspaces.create_from_referentiel(f"Banc {reg}", reg)
            times.append(time.perf_counter() - t)
        out["referentiel_region_s"] = max(times)
        slug = workspaces.find("Banc 76")
        ds = workspaces.load(slug)
        epci = ds.communes.groupby("epci_siren")["population"].sum().sort_values(ascending=False).index[:12]
        st = pd.DataFrame({"id_structure": [f"S{i}" for i in range(12)], "nom": [f"Structure {i}" for i in range(12)],
                           "type_structure": "PLIE", "code_commune": "31555", "nb_facilitateurs": 2, "etp": 1.5})
        pe = pd.DataFrame({"id_structure": st["id_structure"], "type_territoire": "epci",
                           "code_territoire": list(epci)})
        folder = Path(tmp) / "f"
        folder.mkdir()
        st.to_csv(folder / "structures.csv", sep=";", index=False)
        pe.to_csv(folder / "perimetres.csv", sep=";", index=False)
        loaded = validate("facilitateurs", [folder], communes=ds.communes)
        before = workspaces.size_bytes(slug)
        new, record = imports.apply(ds, loaded, ["structures.csv", "perimetres.csv"])
        workspaces.import_tables(slug, new, "facilitateurs", record)
        out["import_version_bytes"] = workspaces.size_bytes(slug) - before
        out["workspace_communes"] = len(ds.communes)
        out["workspace_read_s"], _ = timed(lambda: workspaces.load(slug), runs=5)
        geojson = Path(tmp) / "communes.geojson"
        ds.communes.to_file(geojson, driver="GeoJSON")
        import geopandas as gpd

        geojson_s, _ = timed(lambda: gpd.read_file(geojson), runs=3)
        out["workspace_read_geojson_ratio"] = geojson_s / out["workspace_read_s"]
        out["store_bytes_workspace"] = workspaces.size_bytes(slug)
        import reports
        from geo import engine

        ds = workspaces.load(slug)
        t = time.perf_counter()
        result = engine.run(ds.communes, ds.qpv, ds.structures, ds.perimetres, ds.marches, "76")
        reports.build(ds, result, "76", Path(tmp) / "rapport")
        out["report_s"] = time.perf_counter() - t  # the PDF, the deck and the XLSX of a real région
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench")
    p.add_argument("--json", help="write the figures to this JSON file")
    p.add_argument("--quick", action="store_true", help="smaller set (a tenth), for a smoke run")
    p.add_argument("--sans-charge", dest="no_load", action="store_true",
                   help="skip the load of a meeting (30 simultaneous sessions on a local server, about a minute)")
    p.add_argument("--sans-navigateur", dest="no_browser", action="store_true",
                   help="skip the pages timed in Chromium (a local server and /usr/bin/chromium, about a minute)")
    args = p.parse_args(argv)
    scale = 10 if args.quick else 1

    from data import demo
    from geo import engine
    from geo.diagnosis import build_coverage, diagnose
    from geo.display import build_layers
    from geo.markets import classify_markets, naive_classify

    out: dict[str, float] = {}
    t = time.perf_counter()
    ds = demo.generate(scale="france", n_communes=35_000 // scale, n_qpv=1_600 // scale,
                       n_structures=300 // scale, n_markets=1_000_000 // scale)
    out["france_build_s"] = time.perf_counter() - t
    out["france_communes"], out["france_markets"] = len(ds.communes), len(ds.marches)

    t = time.perf_counter()
    prep = engine.prepare(ds.communes, ds.qpv, ds.structures, ds.perimetres)
    out["prepare_france_s"] = time.perf_counter() - t  # référentiel index + QPV x commune overlay, once

    def whole():
        cov = build_coverage(prep.ref, ds.structures, ds.perimetres)
        return diagnose(prep.ref, ds.communes, cov, ds.structures, ds.qpv, prep.qpv_links, None)

    out["diagnose_france_s"], _ = timed(whole, runs=7)
    out["markets_1m_s"], classified = timed(lambda: classify_markets(prep.ref, prep.coverage, ds.marches), runs=3)
    # naive baseline on a random sample, scaled to the whole set (it is linear in the markets)
    rng = np.random.default_rng(0)
    sample = ds.marches.iloc[np.sort(rng.choice(len(ds.marches), 5_000 // scale * 2, replace=False))]
    t = time.perf_counter()
    naive = naive_classify(prep.ref, prep.coverage, sample)
    naive_s = (time.perf_counter() - t) * len(ds.marches) / len(sample)
    assert naive == classified.loc[sample.index, "couverture"].tolist(), "naive and fast classifications differ"
    out["markets_naive_s_extrapolated"] = naive_s
    out["markets_naive_ratio"] = naive_s / out["markets_1m_s"]

    # needs and offer (issue 20): inclusion structures imported and cut, buyers, needs per ETP
    from bench import inclusion as needs_bench

    out.update(needs_bench.needs_figures(ds, scale))
    out.update(needs_bench.inclusion_import(scale))
    out.update(needs_bench.buyers_figures(scale))

    # maps: demo région (default layers) and a synthetic région of 4,500 communes (every layer)
    demo_ds = demo.generate()
    res = engine.run(demo_ds.communes, demo_ds.qpv, demo_ds.structures, demo_ds.perimetres, demo_ds.marches, "99")
    t = time.perf_counter()
    layers = build_layers(demo_ds.communes, demo_ds.qpv, demo_ds.structures, res.coverage.membership,
                          res.coverage.structure_ids, "99", res.diagnosis.communes, res.diagnosis.qpv)
    out["map_layers_cold_s"] = time.perf_counter() - t
    out["map_payload_bytes_demo"] = map_bytes(demo_ds, res, layers, None)
    out["map_build_warm_s"], _ = timed(lambda: map_bytes(demo_ds, res, layers, None), runs=5)
    out["map_payload_bytes_naive_demo"] = naive_map_bytes(demo_ds.communes, demo_ds.qpv, res, "99")
    out["map_payload_ratio"] = out["map_payload_bytes_naive_demo"] / out["map_payload_bytes_demo"]

    region = synthetic_region(ds, 4_500 // scale)
    rres = engine.run(ds.communes, ds.qpv, ds.structures, ds.perimetres, ds.marches.head(0), region)
    rlayers = build_layers(ds.communes, ds.qpv, ds.structures, rres.coverage.membership,
                           rres.coverage.structure_ids, region, rres.diagnosis.communes, rres.diagnosis.qpv)
    out["france_region_communes"] = int((ds.communes["reg"] == region).sum())
    every = {k: True for k in ("zones_blanches", "qpv", "zones_emploi", "epci", "communes")}
    out["map_payload_bytes_france_region"] = map_bytes(ds, rres, rlayers, every)

    # informational: a real région (Occitanie, 4,446 communes) when ../shared/realdata is beside the project
    real = ROOT.parent / "shared" / "realdata"
    if real.exists():
        from data.validation import validate

        c = validate("communes", [real / "communes_geom/communes_occitanie_cog2026_from_adminexpress2018.geojson"])
        q = validate("qpv", [real / "qpv/qpv2015_occitanie_polygones_hackaviz2021.geojson"])
        if c.ok and q.ok:
            c, q = c.tables["communes"], q.tables["qpv"]
            epci = c.groupby("epci_siren")["population"].sum().sort_values(ascending=False).index[:12]
            st = pd.DataFrame({"id_structure": [f"S{i}" for i in range(12)], "nom": [f"S{i}" for i in range(12)],
                               "type_structure": "PLIE", "code_commune": "31555", "nb_facilitateurs": 2, "etp": 1.5})
            pe = pd.DataFrame({"id_structure": st["id_structure"], "type_territoire": "epci",
                               "code_territoire": list(epci)})
            ores = engine.run(c, q, st, pe, ds.marches.head(0), "76")
            olayers = build_layers(c, q, st, ores.coverage.membership, ores.coverage.structure_ids, "76",
                                   ores.diagnosis.communes, ores.diagnosis.qpv)
            out["map_payload_bytes_occitanie_default"] = map_bytes(None, ores, olayers, None)
            out["map_payload_ratio_occitanie"] = (naive_map_bytes(c, q, ores, "76")
                                                  / out["map_payload_bytes_occitanie_default"])
            # every layer of the real Occitanie communes (communes and EPCI included) on one map
            every_layer = {k: True for k in ("zones_blanches", "qpv", "zones_emploi", "epci", "communes")}
            out["map_payload_bytes_occitanie_all"] = map_bytes(None, ores, olayers, every_layer)
            # the communes layer alone as TopoJSON (geo.display.topology), for the maps that draw it so
            out["map_communes_topojson_bytes_occitanie"] = len(json.dumps(
                olayers.communes_topology(), separators=(",", ":"), ensure_ascii=False).encode())

    out.update(workspace_figures())
    from bench import scenarios

    out.update(scenarios.run())
    if not args.no_load:
        from bench import load

        out.update(load.run(sessions=30 // (3 if args.quick else 1)))
    from bench import browser

    if not args.no_browser and browser.CHROMIUM.exists():
        out.update(browser.run())

    out["peak_rss_mb"] = peak_rss_mb()
    targets = {"diagnose_france_s": ("<", 1.0), "markets_1m_s": ("<", 5.0), "markets_naive_ratio": (">", 10),
               "peak_rss_mb": ("<", 2000), "map_payload_bytes_demo": ("<", 1.5e6),
               "map_payload_bytes_france_region": ("<", 4e6), "map_build_warm_s": ("<", 0.3),
               "map_payload_bytes_occitanie_all": ("<", 2e6),
               "workspace_read_s": ("<", 0.5), "load_p95_s": ("<", 5.0), "load_errors": ("<", 1),
               "referentiel_region_s": ("<", 3.0), "referentiel_bytes": ("<", 25e6), "report_s": ("<", 30.0),
               "map_draw_cold_s": ("<", 3.0), "map_draw_warm_s": ("<", 1.0),
               "map_page_load_warm_beyond_blank_s": ("<", 1.0), "map_communes_layer_s": ("<", 2.0),
               "indicators_draw_warm_s": ("<", 2.0), "indicators_page_load_warm_beyond_blank_s": ("<", 2.0),
               "map_click_card_s": ("<", 1.0), "scenario_recompute_s": ("<", 0.2), "suggest_s": ("<", 2.0),
               "suggest_naive_ratio": (">", 20), "compare_s": ("<", 1.0), **needs_bench.TARGETS}
    print_figures(out, args.json, targets)
    if args.quick:
        print("(--quick : jeu dix fois plus petit, les cibles ne s'appliquent pas)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
