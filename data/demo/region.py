"""Deterministic generator of the demo région ("Région de démonstration – données fictives").

Same seed, same data. The région is drawn in Lambert-93 (EPSG:2154): commune polygons are the
Voronoi cells of sampled points clipped to a common outline, so they tile the territory with no
gap and no overlap. Everything is fictitious but shaped like the real thing: a metropolis, its
suburbs, two towns and rural areas; EPCI and zones d'emploi built from the communes (one zone
straddles the border with a neighbouring région); QPV in the towns, some across two communes;
facilitator structures with deliberate holes and overlaps; markets of every place type; and
the 18 ABC Clauses tables for two years, région and France.

The France-sized synthetic set of the benchmarks is in ``data.demo.france``.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data import schemas as S
from data.demo.indicators import build_indicators
from data.demo.shapes import blob, tile
from data.store.dataset import DEMO_LABEL, Dataset
from data.store.imports import vintage

GENERATOR_VERSION = 5
SEED = 2019
REGION = "99"
NEIGHBOUR = "98"
CRS = "EPSG:2154"
CENTRE = np.array([700_000.0, 6_480_000.0])  # somewhere in Lambert-93, fictitious anyway

ROOTS = ["Aub", "Bel", "Mont", "Val", "Roch", "Font", "Cast", "Lav", "Mir", "Sauv", "Pradel", "Cazal",
         "Berg", "Ment", "Vern", "Lun", "Sorb", "Tarn", "Garr", "Esp", "Rou", "Bram", "Carl", "Dour",
         "Ferr", "Gaill", "Lern", "Murv", "Ners", "Olon", "Peyr", "Quint", "Rab", "Salv", "Tour", "Ussel"]
SUFFIXES = ["ac", "argues", "ville", "court", "anges", "ens", "ières", "ouse", "at", "ès", "elle", "on",
            "eilles", "oux", "ade", "ignan"]
COMPLEMENTS = ["", "", "", "", "-sur-Lère", "-le-Haut", "-la-Forêt", "-de-Vaux", "-en-Val", "-les-Bains"]
PREFIXES = ["", "", "", "", "Saint-", "Sainte-", "Le ", "La ", "Les "]


def _names(rng: np.random.Generator, n: int) -> list[str]:
    seen: set[str] = set()
    out = []
    while len(out) < n:
        name = (rng.choice(PREFIXES) + rng.choice(ROOTS) + rng.choice(SUFFIXES) + rng.choice(COMPLEMENTS))
        name = name[0].upper() + name[1:]
        if name in seen:
            name = f"{name}-{len(out)}"
        seen.add(name)
        out.append(name)
    return out


def _poisson_filter(points: np.ndarray, min_dist: np.ndarray) -> np.ndarray:
    """Greedy thinning: keep a point only if no kept point lies closer than its ``min_dist``."""
    cell = float(min_dist.min())
    grid: dict[tuple[int, int], list[int]] = {}
    kept: list[int] = []
    span = int(math.ceil(float(min_dist.max()) / cell))
    for i, (x, y) in enumerate(points):
        gx, gy = int(x // cell), int(y // cell)
        ok = True
        for dx in range(-span, span + 1):
            for dy in range(-span, span + 1):
                for j in grid.get((gx + dx, gy + dy), ()):
                    if (points[j, 0] - x) ** 2 + (points[j, 1] - y) ** 2 < min_dist[i] ** 2:
                        ok = False
                        break
                if not ok:
                    break
            if not ok:
                break
        if ok:
            kept.append(i)
            grid.setdefault((gx, gy), []).append(i)
    return np.array(kept, dtype=int)


def _nearest(points: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    d = ((points[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2)
    return d.argmin(axis=1)


def _build_communes(rng: np.random.Generator, n_main: int, n_neigh: int,
                    towns: list[tuple]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points, polygons and région codes of the communes of the demo région and of a strip of its neighbour."""
    main = blob(CENTRE, 95_000, 0.3)
    neigh_full = blob(CENTRE + np.array([150_000, -20_000]), 80_000, 1.7)
    neigh = shapely.difference(neigh_full, main)
    outline = shapely.union(main, neigh)
    minx, miny, maxx, maxy = outline.bounds
    # candidates: denser near towns
    pts = [np.c_[rng.normal(c[0], s, k), rng.normal(c[1], s, k)] for c, s, k in
           [(CENTRE + np.array(t[0]), t[1], t[2]) for t in towns]]
    pts.append(np.c_[rng.uniform(minx, maxx, 6000), rng.uniform(miny, maxy, 6000)])
    cand = np.vstack(pts)
    inside = shapely.contains_xy(outline, cand[:, 0], cand[:, 1])
    cand = cand[inside]
    # minimal spacing smaller near towns (small urban communes), larger in the countryside
    d_town = np.min([np.hypot(*(cand - (CENTRE + np.array(t[0]))).T) for t in towns], axis=0)
    min_dist = np.clip(2_000 + d_town * 0.12, 2_000, 8_000)
    kept = cand[_poisson_filter(cand, min_dist)]
    in_main = shapely.contains_xy(main, kept[:, 0], kept[:, 1])
    order_main = np.flatnonzero(in_main)[:n_main]
    order_neigh = np.flatnonzero(~in_main)[:n_neigh]
    pts = np.vstack([kept[order_main], kept[order_neigh]])
    geoms = tile(pts, outline)
    reg = np.array([REGION] * len(order_main) + [NEIGHBOUR] * len(order_neigh))
    return pts, geoms, reg


def _epci_names(rng, n):
    kinds = ["CC du Pays de ", "CC des Coteaux de ", "CA de ", "CC de la Vallée de ", "CC des Monts de "]
    roots = _names(rng, n)
    return [kinds[i % len(kinds)] + r for i, r in enumerate(roots)]


def generate_region(seed: int = SEED, n_markets: int | None = None) -> Dataset:
    """Build the demo région's dataset."""
    rng = np.random.default_rng(seed)
    # towns: (offset from centre, spread, number of candidate points), population at centre
    towns = [((0, 0), 9_000, 500, 430_000, "Valbourg"),
             ((-55_000, 35_000), 6_000, 120, 62_000, "Mirandol"),
             ((45_000, -50_000), 5_000, 90, 38_000, "Castelnau-d'Orbe"),
             ((-30_000, -60_000), 4_000, 60, 21_000, "Lunac")]
    pts, geoms, reg = _build_communes(rng, 440, 45, [t[:3] for t in towns])
    n = len(pts)
    names = _names(rng, n)
    # départements: nearest of three seeds in the main région; one for the neighbour
    dep_seeds = CENTRE + np.array([[-45_000, 25_000], [20_000, 30_000], [10_000, -55_000]])
    dep = np.array(["91", "92", "93"])[_nearest(pts, dep_seeds)]
    dep[reg == NEIGHBOUR] = "94"
    # population: rural base + urban gradient around each town
    pop = rng.lognormal(mean=6.0, sigma=0.8, size=n)
    for (off, spread, _, p_centre, town_name) in towns:
        d = np.hypot(*(pts - (CENTRE + np.array(off))).T)
        i0 = int(d.argmin())
        pop += p_centre * 0.06 * np.exp(-d / (spread * 1.3))
        pop[i0] = p_centre
        names[i0] = town_name
    pop = np.round(pop).astype(int)
    # commune codes: département + 3 digits, numbered north to south
    codes = np.empty(n, dtype=object)
    for d_ in np.unique(dep):
        idx = np.flatnonzero(dep == d_)
        idx = idx[np.lexsort((pts[idx, 0], -pts[idx, 1]))]
        for k, i in enumerate(idx, start=1):
            codes[i] = f"{d_}{k:03d}"
    # EPCI: nearest seed among those of the same département; the metropolis is one EPCI
    epci = np.empty(n, dtype=object)
    epci_nom = np.empty(n, dtype=object)
    counts = {"91": 6, "92": 6, "93": 5, "94": 3}
    enames = _epci_names(rng, sum(counts.values()))
    k_global = 0
    for d_, k in counts.items():
        idx = np.flatnonzero(dep == d_)
        seeds = pts[idx][rng.choice(len(idx), size=k, replace=False)]
        lab = _nearest(pts[idx], seeds)
        for j in range(k):
            siren = f"2{d_}{k_global + 1:06d}"
            epci[idx[lab == j]] = siren
            epci_nom[idx[lab == j]] = enames[k_global]
            k_global += 1
    d_metro = np.hypot(*(pts - CENTRE).T)
    metro = (d_metro < 17_000) & (reg == REGION)
    epci[metro] = "200099001"
    epci_nom[metro] = "Valbourg Métropole"
    # the other towns name their EPCI
    for (off, _, _, _, town_name) in towns[1:]:
        i0 = int(np.hypot(*(pts - (CENTRE + np.array(off))).T).argmin())
        epci_nom[epci == epci[i0]] = f"CA de {town_name}"
    # zones d'emploi: nearest of ten seeds over everything; one seed on the border straddles
    ze_seeds = CENTRE + np.array([[0, 0], [-55_000, 35_000], [45_000, -50_000], [-30_000, -60_000],
                                  [-70_000, -10_000], [30_000, 55_000], [-20_000, 75_000], [60_000, 10_000],
                                  [-80_000, 50_000], [98_000, -20_000], [170_000, -10_000]])
    ze_codes = ["9901", "9902", "9903", "9904", "9905", "9906", "9907", "9908", "9909", "0099", "9801"]
    ze_libs = ["Valbourg", "Mirandol", "Castelnau-d'Orbe", "Lunac", "Haut-Pradel", "Berges de la Lère",
               "Monts du Nord", "Vallée de l'Est", "Pays d'Olon", "Confins de l'Orbe", "Plaine voisine"]
    ze_idx = _nearest(pts, ze_seeds)
    # only one zone straddles the border (INSEE codes such zones 00xx): the neighbour's communes
    # drawn to a zone of the demo région join it, and so do the région's communes drawn to it
    ze_idx[(reg == NEIGHBOUR) & (ze_idx < 9)] = 9
    ze = np.array(ze_codes, dtype=object)[ze_idx]
    ze_lib = np.array(ze_libs, dtype=object)[ze_idx]
    # postal codes: one per delivery office (groups of rural communes), several for big towns
    cps = np.empty(n, dtype=object)
    for d_ in np.unique(dep):
        idx = np.flatnonzero(dep == d_)
        k = max(4, len(idx) // 4)
        offices = pts[idx][rng.choice(len(idx), size=k, replace=False)]
        lab = _nearest(pts[idx], offices)
        for i, l_ in zip(idx, lab):
            cps[i] = f"{d_}{(l_ + 1) * 10:03d}"
    for (off, _, _, p_centre, _) in towns:
        i0 = int(np.hypot(*(pts - (CENTRE + np.array(off))).T).argmin())
        n_cp = max(1, p_centre // 100_000)
        base = cps[i0]
        cps[i0] = ";".join([base] + [f"{dep[i0]}{900 + 10 * j:03d}" for j in range(1, n_cp)])
    dep_names = {"91": "Département du Nord (fictif)", "92": "Département du Centre (fictif)",
                 "93": "Département du Sud (fictif)", "94": "Département voisin (fictif)"}
    communes = gpd.GeoDataFrame({
        "code_insee": codes.astype(str), "nom": names, "dep": dep,
        "dep_nom": [dep_names[d_] for d_ in dep], "reg": reg,
        "reg_nom": np.where(reg == REGION, "Région de démonstration", "Région voisine (fictive)"),
        "epci_siren": epci.astype(str), "epci_nom": epci_nom.astype(str), "population": pop.astype("int64"),
        "ze2020": ze.astype(str), "ze2020_lib": ze_lib.astype(str), "codes_postaux": cps.astype(str),
    }, geometry=geoms, crs=CRS)
    communes = communes.sort_values("code_insee").reset_index(drop=True)
    # a small industrial town left without facilitator: its QPV are the "non couvert" ones
    hole = _ranked_free_epci(communes, towns)["92"][2]
    i_hole = communes.loc[communes["epci_siren"] == hole, "population"].idxmax()
    communes.loc[i_hole, "population"] = 24_000
    communes.loc[i_hole, "nom"] = "Sorbiac-les-Forges"
    qpv, beside_hole = _build_qpv(rng, communes, towns, i_hole)
    structures, perimetres = _build_facilitators(rng, communes, towns, beside_hole)
    marches = _build_markets(rng, communes, n_markets or 420)
    indicateurs = build_indicators(rng, REGION, years=(2023, 2024), region_weight=0.045)
    inclusion = _build_inclusion(np.random.default_rng(seed + 7), communes)  # its own draws: the rest unchanged
    tables = {"communes": communes, "qpv": qpv, "structures": structures, "perimetres": perimetres,
              "marches": marches, "indicateurs": indicateurs, "structures_inclusion": inclusion}
    vintages = {k: vintage(k, tables, []) for k in S.KINDS}
    vintages["communes"] = "fictif"
    meta = {"demo": True, "label": DEMO_LABEL, "region": REGION, "generator": GENERATOR_VERSION, "seed": seed,
            "vintages": vintages, "sources": {k: "générateur de démonstration" for k in S.KINDS}}
    return Dataset(communes, qpv, structures, perimetres, marches, indicateurs, meta,
                   structures_inclusion=inclusion)


def _town_commune(communes: gpd.GeoDataFrame, off) -> int:
    c = shapely.centroid(communes.geometry.to_numpy())
    p = CENTRE + np.array(off)
    return int(np.hypot(shapely.get_x(c) - p[0], shapely.get_y(c) - p[1]).argmin())


def _qpv_shape(rng, x, y, radius) -> shapely.Polygon:
    t = np.sort(rng.uniform(0, 2 * np.pi, 9))
    r = radius * rng.uniform(0.6, 1.0, 9)
    return shapely.Polygon(np.c_[x + r * np.cos(t), y + r * np.sin(t)]).buffer(0)


def _build_qpv(rng, communes: gpd.GeoDataFrame, towns, i_hole: int) -> tuple[gpd.GeoDataFrame, str]:
    """QPV in the towns; some centred on a border between two communes (they straddle it).

    Also returns the commune beside the uncovered town that the straddling QPV reaches into.
    """
    geoms_c = communes.geometry.to_numpy()
    main = communes["reg"].to_numpy() == REGION
    rows = []
    plan = [(towns[0], 12, 4), (towns[1], 5, 1), (towns[2], 4, 1), (towns[3], 3, 1)]
    for (off, spread, _, _, town_name), k_inside, k_border in plan:
        i0 = _town_commune(communes, off)
        g0 = geoms_c[i0]
        for _ in range(k_inside):
            for _try in range(50):
                minx, miny, maxx, maxy = g0.bounds
                x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
                shape = _qpv_shape(rng, x, y, rng.uniform(250, 550))
                if g0.contains(shape):
                    break
            rows.append((shape, communes.loc[i0, "code_insee"], i0))
        # straddling: on the border with a neighbouring commune
        touching = np.flatnonzero(shapely.touches(geoms_c, g0) & main)
        for j in rng.choice(touching, size=min(k_border, len(touching)), replace=False):
            edge = shapely.intersection(g0.boundary, geoms_c[j].boundary)
            p = shapely.line_interpolate_point(shapely.line_merge(edge), 0.5, normalized=True) \
                if edge.geom_type in ("LineString", "MultiLineString") else shapely.centroid(edge)
            if p.is_empty:
                p = shapely.centroid(edge)
            rows.append((_qpv_shape(rng, p.x, p.y, 500), communes.loc[i0, "code_insee"], i0))
    # QPV of a town whose EPCI no facilitator covers (see _build_facilitators), one across its border
    i1 = int(i_hole)
    touching = np.flatnonzero(shapely.touches(geoms_c, geoms_c[i1]) & main)
    j = touching[np.argmax(communes["population"].to_numpy()[touching])]
    edge = shapely.line_merge(shapely.intersection(geoms_c[i1].boundary, geoms_c[j].boundary))
    p = shapely.line_interpolate_point(edge, 0.5, normalized=True)
    rows.append((_qpv_shape(rng, p.x, p.y, 450), communes.loc[i1, "code_insee"], i1))
    for _ in range(2):
        g1 = geoms_c[i1]
        for _try in range(50):
            minx, miny, maxx, maxy = g1.bounds
            shape = _qpv_shape(rng, rng.uniform(minx, maxx), rng.uniform(miny, maxy), 300)
            if g1.contains(shape):
                break
        rows.append((shape, communes.loc[i1, "code_insee"], i1))
    names = ["Les Tilleuls", "La Roseraie", "Le Grand Champ", "Les Hauts de Ville", "La Fontaine",
             "Le Mail", "Les Érables", "Bellevue", "La Gare", "Le Parc", "Les Cèdres", "La Source",
             "Les Acacias", "Le Moulin", "Saint-Roch", "La Croix-Blanche", "Les Pins", "Le Ruisseau",
             "Les Peupliers", "Le Plateau", "La Cité Jardin", "Les Lilas", "Le Verger", "La Butte",
             "Les Jardins", "Le Clos", "Les Remparts", "Les Chênes", "La Prairie", "Le Canal", "Les Sables"]
    qrows = []
    counter: dict[str, int] = {}
    qpv_pop_by_commune: dict[int, int] = {}
    for k, (shape, code_commune, ic) in enumerate(rows):
        d_ = code_commune[:2]
        counter[d_] = counter.get(d_, 0) + 1
        code = f"QN0{d_}{counter[d_]:02d}{'ABCDEFGHJK'[k % 10]}"
        p = int(rng.integers(1_200, 9_000))
        cap = int(communes.loc[ic, "population"]) // 3 - qpv_pop_by_commune.get(ic, 0)
        p = max(1_000, min(p, cap)) if cap > 1_000 else 1_000
        qpv_pop_by_commune[ic] = qpv_pop_by_commune.get(ic, 0) + p
        qrows.append({"code_qp": code, "nom_qp": f"{names[k % len(names)]} – {communes.loc[ic, 'nom']}",
                      "code_commune": code_commune, "population": p, "geometry": shape})
    return gpd.GeoDataFrame(qrows, geometry="geometry", crs=CRS), communes.loc[j, "code_insee"]


def _funding(rng) -> dict[str, float]:
    base = np.array([43, 29, 21, 4, 3], dtype=float)
    shares = rng.dirichlet(base * 0.8) * 100
    shares = np.round(shares, 0)
    shares[0] += 100 - shares.sum()
    return dict(zip(S.FUNDING_COLUMNS, shares.tolist()))


def _epci_ranking(c: pd.DataFrame) -> dict[str, list[str]]:
    """EPCI of the main région by département, most populated first (deterministic choices)."""
    epcis = (c[c["reg"] == REGION].groupby("epci_siren")
             .agg(pop=("code_insee", "size"), dep=("dep", "first")).sort_values(["pop", "dep"], ascending=False))
    return {d: list(epcis.index[epcis["dep"] == d]) for d in ("91", "92", "93")}


def _ranked_free_epci(c: pd.DataFrame, towns) -> dict[str, list[str]]:
    """EPCI that host neither the metropolis nor a town, by département."""
    epci_of = dict(zip(c["code_insee"], c["epci_siren"]))
    used = {"200099001", *(epci_of[c.loc[_town_commune(c, t[0]), "code_insee"]] for t in towns)}
    return {d: [e for e in lst if e not in used] for d, lst in _epci_ranking(c).items()}


def _build_facilitators(rng, communes: gpd.GeoDataFrame, towns, beside_hole: str):
    c = communes
    main = c["reg"] == REGION
    town_codes = [c.loc[_town_commune(c, t[0]), "code_insee"] for t in towns]
    epci_of = dict(zip(c["code_insee"], c["epci_siren"]))
    by_dep = _epci_ranking(c)
    metro = "200099001"
    town_epci = [epci_of[t] for t in town_codes]
    free = _ranked_free_epci(c, towns)
    # hosting communes
    def host(epci_code):
        sub = c[c["epci_siren"] == epci_code]
        return sub.sort_values("population", ascending=False)["code_insee"].iloc[0]

    metro_communes = c[(c["epci_siren"] == metro)].sort_values("population")["code_insee"].tolist()
    dep93_communes_north = c[(c["dep"] == "93")].sort_values("code_insee")["code_insee"].tolist()[:14]
    dep91_border = c[(c["dep"] == "91")].sort_values("code_insee")["code_insee"].tolist()[-12:]
    ze_main = c[main].groupby("ze2020")["population"].sum().sort_values().index.tolist()
    structs = [
        ("S01", "PLIE de Valbourg Métropole", "PLIE", town_codes[0], 6, 5.0, [("epci", metro)]),
        ("S02", "Maison de l'emploi de Mirandol", "MDE", town_codes[1], 3, 2.5,
         [("epci", town_epci[1])] + [("epci", e) for e in free[epci_dep(c, town_epci[1])][:1]]),
        ("S03", "Département du Sud – service insertion", "Département", host(by_dep["93"][0]), 2, 1.5,
         [("departement", "93")]),
        ("S04", "Association Clauses & Territoires", "Association", dep93_communes_north[0], 2, 1.2,
         [("commune", x) for x in dep93_communes_north + dep91_border]),
        ("S05", "Communauté de communes – facilitation", "EPCI", host(free["91"][-1]), 1, 0.5,
         [("epci", free["91"][-1])]),
        ("S06", "PLIE des Coteaux", "PLIE", host(free["92"][0]), 2, 1.6,
         [("epci", free["92"][0]), ("epci", free["92"][1]), ("commune", beside_hole)]
         + [("commune", x) for x in metro_communes[:6]]),
        ("S07", f"Maison de l'emploi de {towns[2][4]}", "MDE", town_codes[2], 2, 1.8,
         [("epci", town_epci[2])]),
        ("S08", "Groupement d'employeurs Insertion", "Autre", host(by_dep["91"][-1]), 1, 0.8,
         [("ze", ze_main[0])]),
        ("S09", "Association Ouest Emploi", "Association", host(free["91"][0]), 2, 1.0,
         [("epci", free["91"][0]), ("epci", free["91"][-1])]),
        ("S10", "Facilitateur régional (coordination)", "Région", town_codes[0], 1, 0.6,
         [("commune", town_codes[0]), ("commune", town_codes[1])]),
    ]
    srows, prows = [], []
    for sid, nom, typ, com, pers, etp, per in structs:
        srows.append({"id_structure": sid, "nom": nom, "type_structure": typ, "code_commune": com,
                      "nb_facilitateurs": pers, "etp": etp, "annee": 2024,
                      "adresse": f"{int(rng.integers(1, 80))} rue de la République", **_funding(rng)})
        for t, code in per:
            prows.append({"id_structure": sid, "type_territoire": t, "code_territoire": code})
    st = pd.DataFrame(srows)
    st["nb_facilitateurs"] = st["nb_facilitateurs"].astype("Int64")
    st["annee"] = st["annee"].astype("Int64")
    pe = pd.DataFrame(prows).drop_duplicates().reset_index(drop=True)
    return st, pe


def epci_dep(c: pd.DataFrame, epci_code: str) -> str:
    return c.loc[c["epci_siren"] == epci_code, "dep"].iloc[0]


BUYERS = [("Préfecture de région (fictive)", "État et services déconcentrés"),
          ("Direction interdépartementale des routes", "État et services déconcentrés"),
          ("Rectorat de l'académie", "État et services déconcentrés"), ("Région de démonstration", "Région"),
          ("Département du Nord (fictif)", "Département"), ("Département du Centre (fictif)", "Département"),
          ("Département du Sud (fictif)", "Département"),
          ("Ville de Valbourg", "Commune, EPCI et établissement public local"),
          ("Valbourg Métropole", "Commune, EPCI et établissement public local"),
          ("Ville de Mirandol", "Commune, EPCI et établissement public local"),
          ("Ville de Lunac", "Commune, EPCI et établissement public local"), ("Habitat Valbourg", "Bailleur social"),
          ("Office public de l'habitat du Sud", "Bailleur social"), ("Logis des Coteaux", "Bailleur social"),
          ("Centre hospitalier universitaire", "Commune, EPCI et établissement public local"),
          ("Université de Valbourg", "Établissement public national"),
          ("Société d'aménagement de Valbourg", "Société d'économie mixte"),
          ("Caisse primaire d'assurance maladie", "Organisme de sécurité sociale"),
          ("Syndicat des eaux", "Commune, EPCI et établissement public local"),
          ("Chambre de commerce", "Autre")]
CPV = [("45214200-2", "Construction de bâtiments scolaires"), ("45233140-2", "Travaux routiers"),
       ("45453000-7", "Travaux de remise en état et de remise à neuf"), ("90911200-8", "Nettoyage de bâtiments"),
       ("77310000-6", "Entretien des espaces verts"), ("55523100-3", "Restauration scolaire"),
       ("90511000-2", "Collecte des ordures ménagères"), ("45331000-6", "Installation de chauffage"),
       ("79713000-5", "Gardiennage"), ("60130000-8", "Transport de personnes")]


# fictitious SIRET of most buyers (a few are known by their name only, as in many real files)
BUYER_SIRET = {name: f"2{99000000 + 137 * k:08d}0001{k % 10}" for k, (name, _) in enumerate(BUYERS) if k % 4 != 3}
INCLUSION_TYPES = ["ACI", "EI", "AI", "ETTI", "EITI", "GEIQ", "EA", "EATT", "ESAT"]
INCLUSION_WEIGHTS = [0.30, 0.20, 0.12, 0.08, 0.03, 0.05, 0.10, 0.02, 0.10]
INCLUSION_WORDS = {"ACI": "Atelier", "EI": "Entreprise d'insertion", "AI": "Association intermédiaire",
                   "ETTI": "Intérim d'insertion", "EITI": "Coopérative d'indépendants", "GEIQ": "GEIQ",
                   "EA": "Entreprise adaptée", "EATT": "Intérim adapté", "ESAT": "ESAT"}
INCLUSION_SECTORS = ["Espaces verts", "Bâtiment", "Nettoyage", "Restauration", "Recyclage", "Logistique",
                     "Blanchisserie", "Maraîchage"]


def _build_inclusion(rng, communes: gpd.GeoDataFrame, n: int = 96) -> pd.DataFrame:
    """The région's inclusion structures (SIAE, GEIQ, EA/EATT, ESAT), as an import would keep them: located
    in a commune (a point inside it), the towns holding most; two left unlocated, one of another type."""
    from pyproj import Transformer

    to_4326 = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
    c = communes[communes["reg"] == REGION]
    weights = c["population"].to_numpy(dtype=float) ** 0.8
    weights /= weights.sum()
    rows = []
    for k in range(n):
        i = int(rng.choice(len(c), p=weights))
        geom = c.geometry.iloc[i]
        minx, miny, maxx, maxy = geom.bounds
        for _ in range(50):
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            if geom.contains(shapely.Point(x, y)):
                break
        else:
            p = geom.representative_point()
            x, y = p.x, p.y
        lon, lat = to_4326.transform(x, y)
        kind = str(rng.choice(INCLUSION_TYPES, p=INCLUSION_WEIGHTS))
        town = str(c["nom"].iloc[i])
        sectors = " ; ".join(sorted(set(rng.choice(INCLUSION_SECTORS, size=int(rng.integers(1, 3))))))
        rows.append({"siret": f"8{int(rng.integers(10**12, 10**13 - 1)):013d}", "nom": f"{INCLUSION_WORDS[kind]} "
                     f"{_names(rng, 1)[0]}", "type": kind, "code_commune": str(c["code_insee"].iloc[i]),
                     "latitude": round(lat, 5), "longitude": round(lon, 5), "secteurs": sectors,
                     "code_postal": str(c["codes_postaux"].iloc[i]).split(";")[0], "commune": town,
                     "adresse": f"{int(rng.integers(1, 90))} rue des Artisans", "type_ecrit": kind,
                     "localisation": "code commune", "raison": "", "date_maj": "2026-09-15",
                     "source": "générateur de démonstration", "id_source": f"demo--{k + 1:03d}"})
    rows[5]["type"], rows[5]["type_ecrit"] = "Autre", "SEP"  # a type the instruction does not name: « Autre »
    for j in (11, 40):  # structures whose file gave neither a commune nor coordinates: kept, unlocated
        rows[j].update(code_commune="", latitude=np.nan, longitude=np.nan, code_postal="", commune="",
                       localisation="", raison="ni code commune, ni coordonnées, ni code postal")
    return pd.DataFrame(rows)


def _build_markets(rng, communes: gpd.GeoDataFrame, n: int) -> pd.DataFrame:
    c = communes[communes["reg"] == REGION]
    codes = c["code_insee"].tolist()
    weights = c["population"].to_numpy(dtype=float) ** 0.7
    weights /= weights.sum()
    cps = sorted({cp for v in c["codes_postaux"] for cp in v.split(";")})
    kinds = ["commune", "communes", "code_postal", "departement", "region", "pays", "inconnu"]
    p = [0.45, 0.12, 0.14, 0.12, 0.08, 0.03, 0.06]
    rows = []
    for k in range(n):
        kind = rng.choice(kinds, p=p)
        if kind == "commune":
            lt, lc = "commune", rng.choice(codes, p=weights)
        elif kind == "communes":
            lt, lc = "commune", ";".join(sorted(set(rng.choice(codes, size=int(rng.integers(2, 5)), p=weights))))
        elif kind == "code_postal":
            lt, lc = "code_postal", rng.choice(cps)
        elif kind == "departement":
            lt, lc = "departement", rng.choice(["91", "92", "93"])
        elif kind == "region":
            lt, lc = "region", REGION
        elif kind == "pays":
            lt, lc = "pays", "FR"
        else:  # codes nobody can resolve: a typo, a postal code that does not exist
            lt, lc = rng.choice([("commune", "92999"), ("code_postal", "93999"), ("commune", "99999")])
        buyer, btype = BUYERS[int(rng.integers(len(BUYERS)))]
        cpv, objet = CPV[int(rng.integers(len(CPV)))]
        montant = float(np.round(np.exp(rng.normal(12.3, 1.3)), -2))
        social = rng.choice(["Clause sociale", "Clause sociale", "Clause sociale;Critère social", "Critère social",
                             "Marché réservé", "Pas de considération sociale"], p=[0.45, 0.1, 0.12, 0.08, 0.08, 0.17])
        year = int(rng.integers(2023, 2027))
        statut = "programmé" if year == 2026 else rng.choice(["en cours", "terminé"])
        heures = float(np.round(montant * rng.uniform(0.002, 0.006))) if social != "Pas de considération sociale" else np.nan
        rows.append({"id_marche": f"{year}-{k + 1:04d}", "objet": f"{objet} – lot {int(rng.integers(1, 6))}",
                     "acheteur": buyer, "type_acheteur": btype, "montant_ht": montant,
                     "date": f"{year}-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 29)):02d}",
                     "statut": statut, "lieu_type": lt, "lieu_code": str(lc), "considerations_sociales": social,
                     "heures_insertion": heures, "cpv": cpv, "acheteur_siret": BUYER_SIRET.get(buyer, "")})
    return pd.DataFrame(rows)
