"""Display geometries: simplified without gaps between neighbours, dissolved areas, in EPSG:4326.

Simplification is topology-preserving on the whole coverage (``shapely.coverage_simplify``) in
Lambert-93, so that two neighbouring communes keep one shared edge; then coordinates go to
EPSG:4326 rounded to 5 decimals (about 1 m), which is all a screen needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.codes import as_text

TO_4326 = pyproj.Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True)
DECIMALS = 4  # about 10 m: far below what a screen shows once outlines are simplified


def display_tolerance(geoms: np.ndarray) -> float:
    """Simplification tolerance in metres for a territory: about one pixel of a 1,500-pixel-wide map
    of its extent, between 100 m and 1 km."""
    present = geoms[~shapely.is_missing(geoms)]
    if not len(present):
        return 100.0
    minx, miny, maxx, maxy = shapely.total_bounds(present)
    return float(np.clip(max(maxx - minx, maxy - miny) / 1500, 100.0, 1000.0))


def simplify_coverage(geoms: np.ndarray, tolerance: float = 150.0) -> np.ndarray:
    """Simplify a polygon coverage (EPSG:2154) keeping shared edges shared.

    Falls back to per-polygon simplification if the input is not a clean coverage.
    """
    geoms = np.asarray(geoms, dtype=object)
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    out = geoms.copy()
    if not present.any():
        return out
    try:
        out[present] = shapely.coverage_simplify(geoms[present], tolerance, simplify_boundary=True)
    except Exception:  # not a valid coverage (overlaps in a user file): still draw it
        out[present] = shapely.simplify(geoms[present], tolerance, preserve_topology=True)
    return out


def to_4326(geoms: np.ndarray) -> np.ndarray:
    """Lambert-93 to WGS84 with coordinates rounded for a lighter map document."""
    def project(coords: np.ndarray) -> np.ndarray:
        x, y = TO_4326.transform(coords[:, 0], coords[:, 1])
        return np.round(np.c_[x, y], DECIMALS)

    geoms = np.asarray(geoms, dtype=object)
    out = geoms.copy()
    present = ~shapely.is_missing(geoms)
    if present.any():
        out[present] = shapely.transform(geoms[present], project)
    return out


def dissolve(geoms: np.ndarray, groups: np.ndarray) -> pd.Series:
    """Union of geometries by group label (coverage union: fast on a clean tiling)."""
    s = pd.Series(list(geoms), index=groups)
    s = s[[g is not None for g in s.to_numpy()]]
    out = {}
    for label, part in s.groupby(level=0):
        arr = np.asarray(part.to_numpy(), dtype=object)
        try:
            out[label] = shapely.coverage_union_all(arr)
        except Exception:
            out[label] = shapely.union_all(arr)
    return pd.Series(out, dtype=object)


MAX_BLANCHES = 800  # beyond this many uncovered communes, they are drawn grouped by EPCI


def zones_blanches_layer(com: pd.DataFrame, simple_c: np.ndarray, max_communes: int = MAX_BLANCHES) -> pd.DataFrame:
    """The uncovered communes to draw: one by one, or dissolved by EPCI when there are very many
    (a région with thousands of holes would otherwise weigh several megabytes on the screen)."""
    unc = ~com["couverte"].astype(bool).to_numpy()
    part = com.loc[unc, ["nom", "population", "epci_nom"]].reset_index(drop=True)
    geoms = simple_c[unc]
    if len(part) <= max_communes:
        return part.assign(geometry=to_4326(geoms))
    groups = part["epci_nom"].replace("", "Sans EPCI").to_numpy()
    merged = dissolve(geoms, groups)
    agg = part.assign(g=groups).groupby("g").agg(population=("population", "sum"), n=("nom", "size"))
    return pd.DataFrame({"nom": [f"{agg.loc[g, 'n']} commune(s) non couverte(s)" for g in merged.index],
                         "population": [int(agg.loc[g, "population"]) for g in merged.index],
                         "epci_nom": list(merged.index), "geometry": to_4326(merged.to_numpy())})


@dataclass
class DisplayLayers:
    """Everything the coverage map draws, in EPSG:4326, computed once per dataset and région."""

    region_outline: object
    communes: pd.DataFrame  # code_insee, nom, population, couverte, structures, geometry
    structures: pd.DataFrame  # id_structure, geometry (dissolved area), x, y (host)
    qpv: pd.DataFrame  # code_qp, nom_qp, population, statut, geometry
    zones_emploi: pd.DataFrame  # code, nom, geometry
    epci: pd.DataFrame  # code, nom, geometry
    bounds: tuple[float, float, float, float]  # minx, miny, maxx, maxy in 4326
    commune_xy: np.ndarray  # (n, 2) a point inside each commune of the référentiel, in 4326
    blanches: pd.DataFrame | None = None  # nom, population, epci_nom, geometry: see zones_blanches_layer

    @property
    def drawable(self) -> bool:
        """False when the région's communes came without outlines (a plain table)."""
        return self.region_outline is not None and not np.isnan(self.bounds).any()


def build_layers(communes, qpv, structures, membership: np.ndarray, structure_ids: list[str],
                 region: str, diag_communes: pd.DataFrame, diag_qpv: pd.DataFrame,
                 tolerance: float | None = None) -> DisplayLayers:
    """Prepare the map's layers for ``region`` from the référentiel (EPSG:2154) and the diagnosis."""
    reg = as_text(communes["reg"]).to_numpy()
    in_c = reg == str(region)
    geoms = communes.geometry.to_numpy()
    tolerance = tolerance or display_tolerance(geoms[in_c])
    # simplify the whole référentiel as one coverage: shared edges stay shared
    simple = simplify_coverage(geoms, tolerance)
    simple_c = simple[in_c]
    drawn = simple_c[~shapely.is_missing(simple_c)]
    outline = shapely.coverage_union_all(drawn) if len(drawn) else None
    com = diag_communes[["code_insee", "nom", "population", "couverte", "structures", "epci_nom",
                         "ze2020_lib"]].copy()
    com["geometry"] = to_4326(simple_c)
    # structure areas: their communes (région and beyond) dissolved
    rows = []
    centroids = shapely.point_on_surface(geoms)
    code_pos = {c: i for i, c in enumerate(as_text(communes["code_insee"]))}
    hosts = structures.set_index(as_text(structures["id_structure"]))["code_commune"].astype(str)
    for k, sid in enumerate(structure_ids):
        if not (membership[k] & in_c).any():
            continue  # a structure whose area misses the région is not drawn on its map
        idx = np.flatnonzero(membership[k])
        parts = simple[idx]
        parts = parts[~shapely.is_missing(parts)]
        area = shapely.coverage_union_all(parts) if len(parts) else None
        hpos = code_pos.get(hosts.get(sid, ""))
        if hpos is not None and centroids[hpos] is not None:
            x, y = TO_4326.transform(shapely.get_x(centroids[hpos]), shapely.get_y(centroids[hpos]))
        elif area is not None:
            p = shapely.point_on_surface(area)
            x, y = TO_4326.transform(shapely.get_x(p), shapely.get_y(p))
        else:
            x = y = np.nan
        rows.append({"id_structure": sid, "geometry": area, "x": round(float(x), DECIMALS),
                     "y": round(float(y), DECIMALS)})
    st = pd.DataFrame(rows, columns=["id_structure", "geometry", "x", "y"])
    if len(st):
        st["geometry"] = to_4326(st["geometry"].to_numpy())
    # QPV of the région with their status
    q = diag_qpv[["code_qp", "nom_qp", "population", "statut", "structures"]].copy()
    qgeom = dict(zip(as_text(qpv["code_qp"]), qpv.geometry.to_numpy()))
    q_geoms = np.array([qgeom.get(c) for c in q["code_qp"]], dtype=object)
    q_present = ~shapely.is_missing(q_geoms) if len(q_geoms) else np.zeros(0, bool)
    if q_present.any():
        q_geoms[q_present] = shapely.simplify(q_geoms[q_present], 10, preserve_topology=True)
    q["geometry"] = to_4326(q_geoms)
    # zones d'emploi and EPCI touching the région, dissolved from the communes (whole zones)
    ze_codes = set(as_text(communes["ze2020"]).to_numpy()[in_c]) - {"", "nan"}
    ze_mask = as_text(communes["ze2020"]).isin(ze_codes).to_numpy()
    ze = dissolve(simple[ze_mask], as_text(communes["ze2020"]).to_numpy()[ze_mask])
    ze_names = dict(zip(as_text(communes["ze2020"]), as_text(communes["ze2020_lib"])))
    ze_df = pd.DataFrame({"code": ze.index, "nom": [ze_names.get(z, "") for z in ze.index],
                          "geometry": to_4326(ze.to_numpy())})
    epci_codes = as_text(communes["epci_siren"]).to_numpy()[in_c]
    ep = dissolve(simple_c, epci_codes)
    ep = ep[[c not in ("", "nan") for c in ep.index]]
    epci_names = dict(zip(as_text(communes["epci_siren"]), as_text(communes["epci_nom"])))
    ep_df = pd.DataFrame({"code": ep.index, "nom": [epci_names.get(e, "") for e in ep.index],
                          "geometry": to_4326(ep.to_numpy())})
    outline4326 = to_4326(np.array([outline], dtype=object))[0] if outline is not None else None
    bounds = tuple(shapely.bounds(outline4326)) if outline4326 is not None else (np.nan,) * 4
    blanches = zones_blanches_layer(com, simple_c)
    present = ~shapely.is_missing(centroids)
    xy = np.full((len(centroids), 2), np.nan)
    if present.any():
        px, py = TO_4326.transform(shapely.get_x(centroids[present]), shapely.get_y(centroids[present]))
        xy[present] = np.c_[px, py]
    return DisplayLayers(outline4326, com, st, q, ze_df, ep_df, bounds, xy, blanches)
