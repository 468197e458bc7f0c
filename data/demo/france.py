"""A France-sized synthetic dataset for the benchmarks (35,000 communes, 1,600 QPV, 300 structures,
1,000,000 markets by default). Fictitious, deterministic, shaped like the real orders of magnitude.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data.demo.indicators import build_indicators
from data.demo.shapes import blob, tile
from data.store.dataset import Dataset

CRS = "EPSG:2154"
CENTRE = np.array([650_000.0, 6_600_000.0])


def _nearest(points: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Index of the nearest seed for each point (STRtree, no quadratic memory)."""
    tree = shapely.STRtree(shapely.points(seeds))
    idx = tree.query_nearest(shapely.points(points), all_matches=False)
    out = np.empty(len(points), dtype=np.int64)
    out[idx[0]] = idx[1]
    return out


def generate_france(seed: int = 2019, n_communes: int = 35_000, n_qpv: int = 1_600, n_structures: int = 300,
                    n_markets: int = 1_000_000) -> Dataset:
    rng = np.random.default_rng(seed)
    outline = blob(CENTRE, 480_000, 0.9, n=256)
    minx, miny, maxx, maxy = outline.bounds
    pts = np.empty((0, 2))
    while len(pts) < n_communes:
        cand = np.c_[rng.uniform(minx, maxx, n_communes), rng.uniform(miny, maxy, n_communes)]
        pts = np.vstack([pts, cand[shapely.contains_xy(outline, cand[:, 0], cand[:, 1])]])
    pts = pts[:n_communes]
    geoms = tile(pts, outline)
    # 13 régions, 95 départements (each inside one région), 1,250 EPCI, 290 zones d'emploi
    reg_seeds = pts[rng.choice(n_communes, 13, replace=False)]
    dep_seeds = pts[rng.choice(n_communes, 95, replace=False)]
    dep_of = _nearest(pts, dep_seeds)
    reg_of_dep = _nearest(dep_seeds, reg_seeds)
    reg_codes = np.array([f"{r:02d}" for r in (11, 24, 27, 28, 32, 44, 52, 53, 75, 76, 84, 93, 94)])
    dep_codes = np.array([f"{d:02d}" for d in range(1, 97) if d != 20])[:95]
    dep = dep_codes[dep_of]
    reg = reg_codes[reg_of_dep[dep_of]]
    codes = np.empty(n_communes, dtype=object)
    epci = np.empty(n_communes, dtype=object)
    for k, d in enumerate(dep_codes):
        idx = np.flatnonzero(dep_of == k)
        for j, i in enumerate(idx, start=1):
            codes[i] = f"{d}{j:03d}"
        n_e = max(1, round(len(idx) / 28))
        seeds = pts[idx[rng.choice(len(idx), n_e, replace=False)]]
        lab = _nearest(pts[idx], seeds)
        epci[idx] = [f"2{d}{k:02d}{e:04d}"[:9].ljust(9, "0") for e in lab]
    ze_seeds = pts[rng.choice(n_communes, 290, replace=False)]
    ze_of = _nearest(pts, ze_seeds)
    ze_reg = reg_codes[reg_of_dep[_nearest(ze_seeds, dep_seeds)]]
    ze = np.array([f"{r}{z % 100:02d}" for r, z in zip(ze_reg, range(290))], dtype=object)[ze_of]
    pop = np.round(rng.lognormal(6.2, 1.3, n_communes)).astype(np.int64)
    big = rng.choice(n_communes, 60, replace=False)
    pop[big] = rng.integers(50_000, 800_000, 60)
    cp = np.array([f"{d}{(i % 97) * 10:03d}" for d, i in zip(dep, range(n_communes))], dtype=object)
    communes = gpd.GeoDataFrame({
        "code_insee": codes.astype(str), "nom": [f"Commune {c}" for c in codes], "dep": dep,
        "dep_nom": [f"Département {d}" for d in dep], "reg": reg, "reg_nom": [f"Région {r}" for r in reg],
        "epci_siren": epci.astype(str), "epci_nom": [f"EPCI {e}" for e in epci], "population": pop,
        "ze2020": ze.astype(str), "ze2020_lib": [f"Zone {z}" for z in ze], "codes_postaux": cp.astype(str),
    }, geometry=geoms, crs=CRS)
    # QPV: small squares in populous communes (some straddle a border)
    host = rng.choice(n_communes, n_qpv, p=pop / pop.sum())
    centres = shapely.point_on_surface(geoms[host])
    x, y = shapely.get_x(centres) + rng.normal(0, 400, n_qpv), shapely.get_y(centres) + rng.normal(0, 400, n_qpv)
    half = rng.uniform(200, 600, n_qpv)
    qpv = gpd.GeoDataFrame({"code_qp": [f"QN{dep[h]:0>3}{i % 100:02d}{chr(65 + i // 100 % 26)}" for i, h in
                                        enumerate(host)],
                            "nom_qp": [f"Quartier {i}" for i in range(n_qpv)], "code_commune": codes[host].astype(str),
                            "population": rng.integers(1_000, 9_000, n_qpv)},
                           geometry=shapely.box(x - half, y - half, x + half, y + half), crs=CRS)
    qpv["code_qp"] = [f"{c[:-1]}{i:04d}" for i, c in enumerate(qpv["code_qp"])]  # unique
    # structures and perimeters
    uniq_epci = np.unique(epci)
    st_rows, pe_rows = [], []
    for s in range(n_structures):
        sid = f"S{s:03d}"
        h = int(rng.integers(n_communes))
        kind = rng.choice(["epci", "commune", "departement", "ze"], p=[0.6, 0.25, 0.1, 0.05])
        if kind == "epci":
            same_dep = uniq_epci[[e[1:3] == dep[h] for e in uniq_epci]]
            chosen = rng.choice(same_dep, min(len(same_dep), int(rng.integers(1, 4))), replace=False)
        elif kind == "commune":
            near = np.flatnonzero(dep == dep[h])
            chosen = codes[rng.choice(near, min(len(near), int(rng.integers(5, 30))), replace=False)]
        elif kind == "departement":
            chosen = [dep[h]]
        else:
            chosen = [ze[h]]
        pers = int(rng.integers(1, 6))
        st_rows.append({"id_structure": sid, "nom": f"Structure {s}", "type_structure": "PLIE",
                        "code_commune": codes[h], "nb_facilitateurs": pers,
                        "etp": float(round(pers * rng.uniform(0.5, 1.0), 1))})
        pe_rows += [{"id_structure": sid, "type_territoire": kind, "code_territoire": str(c)} for c in chosen]
    structures = pd.DataFrame(st_rows)
    perimetres = pd.DataFrame(pe_rows).drop_duplicates().reset_index(drop=True)
    marches = synthetic_markets(rng, codes.astype(str), dep_codes, reg_codes, np.unique(cp), n_markets)
    indicateurs = build_indicators(rng, "76")
    meta = {"demo": True, "label": "Jeu synthétique France (banc d'essai)", "region": "76", "seed": seed}
    return Dataset(communes, qpv, structures, perimetres, marches, indicateurs, meta)


def synthetic_markets(rng, codes, deps, regs, cps, n: int) -> pd.DataFrame:
    """Markets drawn vectorially: mostly single communes, as in real DECP data."""
    kinds = rng.choice(6, n, p=[0.62, 0.05, 0.15, 0.1, 0.05, 0.03])
    lieu_type = np.array(["commune", "commune", "code_postal", "departement", "region", "pays"])[kinds]
    lieu_code = np.empty(n, dtype=object)
    k0 = kinds == 0
    lieu_code[k0] = codes[rng.integers(len(codes), size=int(k0.sum()))]
    k1 = np.flatnonzero(kinds == 1)
    a = rng.integers(len(codes) - 3, size=len(k1))
    lieu_code[k1] = [f"{codes[i]};{codes[i + 1]};{codes[i + 3]}" for i in a]
    k2 = kinds == 2
    lieu_code[k2] = cps[rng.integers(len(cps), size=int(k2.sum()))]
    k3 = kinds == 3
    lieu_code[k3] = deps[rng.integers(len(deps), size=int(k3.sum()))]
    k4 = kinds == 4
    lieu_code[k4] = regs[rng.integers(len(regs), size=int(k4.sum()))]
    lieu_code[kinds == 5] = "FR"
    social = np.array(["Clause sociale", "Critère social", "Marché réservé", "Pas de considération sociale"])[
        rng.choice(4, n, p=[0.2, 0.05, 0.03, 0.72])]
    return pd.DataFrame({"id_marche": np.char.add("M", np.arange(n).astype(str)), "lieu_type": lieu_type,
                         "lieu_code": lieu_code, "considerations_sociales": social,
                         "montant_ht": np.round(rng.lognormal(11.5, 1.5, n), -2)})
