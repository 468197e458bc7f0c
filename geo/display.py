"""Display geometries: simplified without gaps between neighbours, dissolved areas, in EPSG:4326.

Simplification is topology-preserving on the whole coverage (``shapely.coverage_simplify``) in
Lambert-93, so that two neighbouring communes keep one shared edge; then coordinates go to
EPSG:4326 rounded to 4 decimals (about 10 m), which is all a screen needs. The communes layer is
also available as TopoJSON (:func:`topology`): each border between two communes written once,
quantised and delta-encoded, decoded in the browser by ``TOPOJSON_FEATURE_JS`` (no CDN).
"""

from __future__ import annotations

import html
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


QUANTIZATION = 100_000  # TopoJSON grid: 10^5 steps across the layer's extent (about 3 m for a région)


def _polygons(g) -> list:
    if g is None or shapely.is_empty(g):
        return []
    if g.geom_type == "Polygon":
        return [g]
    if g.geom_type in ("MultiPolygon", "GeometryCollection"):
        return [p for part in g.geoms for p in _polygons(part)]
    return []


def topology(geoms, properties: list[dict] | None = None, name: str = "layer",
             quantization: int = QUANTIZATION) -> dict:
    """Polygons (EPSG:4326) as a TopoJSON topology: each border between two neighbours is written
    once (an *arc* both refer to), coordinates are quantised on an integer grid and delta-encoded.

    A commune layer weighs about a quarter of its GeoJSON. ``properties`` (one dict per geometry) go
    to the geometries' ``properties``; ``topology_features`` (Python) and ``TOPOJSON_FEATURE_JS`` (the
    browser) read it back. Only polygons are kept (points and lines are not area layers).
    """
    geoms = list(geoms)
    properties = properties if properties is not None else [{} for _ in geoms]
    parts = [[[np.asarray(r.coords) for r in (p.exterior, *p.interiors)] for p in _polygons(g)] for g in geoms]
    rings = [r for polys in parts for poly in polys for r in poly]
    if rings:
        allc = np.concatenate(rings)
        x0, y0 = allc.min(axis=0)
        x1, y1 = allc.max(axis=0)
    else:
        x0 = y0 = 0.0
        x1 = y1 = 1.0
    kx = (x1 - x0) / (quantization - 1) or 1.0
    ky = (y1 - y0) / (quantization - 1) or 1.0

    def quantise(ring: np.ndarray) -> np.ndarray:
        q = np.c_[np.round((ring[:, 0] - x0) / kx), np.round((ring[:, 1] - y0) / ky)].astype(np.int64)
        keep = np.r_[True, (np.diff(q, axis=0) != 0).any(axis=1)]  # no repeated point after rounding
        q = q[keep]
        if len(q) > 1 and (q[0] == q[-1]).all():
            q = q[:-1]  # open ring: the closing point is implied
        return q

    qrings = [quantise(r) for r in rings]
    # junctions: points met with two different pairs of neighbours (where three areas meet, or where
    # a shared border ends); borders between the same two areas have none inside them
    keyed = [q[:, 0] * (quantization + 1) + q[:, 1] for q in qrings]
    if keyed and sum(len(k) for k in keyed):
        pts = np.concatenate(keyed)
        prev = np.concatenate([np.roll(k, 1) for k in keyed])
        nxt = np.concatenate([np.roll(k, -1) for k in keyed])
        lo, hi = np.minimum(prev, nxt), np.maximum(prev, nxt)
        pairs = pd.DataFrame({"p": pts, "lo": lo, "hi": hi}).drop_duplicates()
        counts = pairs.groupby("p").size()
        junctions = set(counts.index[counts.to_numpy() > 1].tolist())
    else:
        junctions = set()
    arcs: list[np.ndarray] = []
    index: dict[tuple, int] = {}

    def arc_id(points: np.ndarray, keys: np.ndarray) -> int:
        t = tuple(keys.tolist())
        if t in index:
            return index[t]
        r = t[::-1]
        if r in index:
            return ~index[r]
        index[t] = len(arcs)
        arcs.append(points)
        return index[t]

    def ring_arcs(q: np.ndarray, k: np.ndarray) -> list[int]:
        cut = [i for i, key in enumerate(k.tolist()) if key in junctions]
        if not cut:  # a ring alone (an island, an enclave): start at its smallest point, either way round
            start = int(np.argmin(k))
            k2, q2 = np.roll(k, -start), np.roll(q, -start, axis=0)
            fwd = np.r_[k2, k2[:1]]
            rev = fwd[::-1]
            rev_start = int(np.argmin(rev[:-1]))
            rev = np.r_[np.roll(rev[:-1], -rev_start), np.roll(rev[:-1], -rev_start)[:1]]
            if tuple(rev.tolist()) in index:
                return [~index[tuple(rev.tolist())]]
            return [arc_id(np.r_[q2, q2[:1]], fwd)]
        out = []
        n = len(k)
        for a, b in zip(cut, cut[1:] + [cut[0] + n]):
            idx = np.arange(a, b + 1) % n
            out.append(arc_id(q[idx], k[idx]))
        return out

    geometries = []
    pos = 0
    for polys, props in zip(parts, properties):
        coded = []
        for poly in polys:
            rings_ids = []
            for _ in poly:
                q, k = qrings[pos], keyed[pos]
                pos += 1
                if len(q) >= 3:
                    rings_ids.append(ring_arcs(q, k))
            if rings_ids:
                coded.append(rings_ids)
        if not coded:
            geometries.append({"type": None, "properties": props})
        elif len(coded) == 1:
            geometries.append({"type": "Polygon", "arcs": coded[0], "properties": props})
        else:
            geometries.append({"type": "MultiPolygon", "arcs": coded, "properties": props})
    encoded = []
    for a in arcs:
        d = np.r_[a[:1], np.diff(a, axis=0)]
        encoded.append(d.tolist())
    return {"type": "Topology", "transform": {"scale": [float(kx), float(ky)], "translate": [float(x0), float(y0)]},
            "arcs": encoded, "objects": {name: {"type": "GeometryCollection", "geometries": geometries}}}


def topology_features(topo: dict, name: str = "layer") -> list[tuple[object, dict]]:
    """The (geometry, properties) pairs of a topology's object, decoded as a browser would."""
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    arcs = []
    for a in topo["arcs"]:
        q = np.cumsum(np.asarray(a, dtype=np.int64), axis=0)
        arcs.append(np.c_[q[:, 0] * sx + tx, q[:, 1] * sy + ty])

    def ring(ids):
        pts = []
        for i in ids:
            a = arcs[i] if i >= 0 else arcs[~i][::-1]
            pts.extend(a.tolist() if not pts else a[1:].tolist())
        return pts

    out = []
    for g in topo["objects"][name]["geometries"]:
        if g["type"] == "Polygon":
            rs = [ring(r) for r in g["arcs"]]
            geom = shapely.Polygon(rs[0], rs[1:])
        elif g["type"] == "MultiPolygon":
            geom = shapely.MultiPolygon([shapely.Polygon(ring(p[0]), [ring(r) for r in p[1:]]) for p in g["arcs"]])
        else:
            geom = None
        out.append((geom, g.get("properties", {})))
    return out


# ``topojson.feature(topology, object)`` for the browser (the subset a polygon layer needs: transform,
# delta-encoded arcs, Polygon, MultiPolygon, empty geometries), so that no script comes from a CDN
TOPOJSON_FEATURE_JS = """
window.topojson = window.topojson || {feature: function (topology, o) {
  var t = topology.transform, sx = t ? t.scale[0] : 1, sy = t ? t.scale[1] : 1,
      tx = t ? t.translate[0] : 0, ty = t ? t.translate[1] : 0, cache = [];
  function arc(i) {
    var j = i < 0 ? ~i : i, a = cache[j];
    if (!a) {
      var x = 0, y = 0, src = topology.arcs[j]; a = new Array(src.length);
      for (var k = 0; k < src.length; k++) {
        if (t) { x += src[k][0]; y += src[k][1]; a[k] = [x * sx + tx, y * sy + ty]; } else { a[k] = src[k]; }
      }
      cache[j] = a;
    }
    return i < 0 ? a.slice().reverse() : a;
  }
  function ring(ids) {
    var pts = [];
    for (var k = 0; k < ids.length; k++) {
      var a = arc(ids[k]);
      for (var m = pts.length ? 1 : 0; m < a.length; m++) pts.push(a[m]);
    }
    return pts;
  }
  function geometry(g) {
    if (g.type === "Polygon") return {type: "Polygon", coordinates: g.arcs.map(ring)};
    if (g.type === "MultiPolygon") return {type: "MultiPolygon", coordinates: g.arcs.map(function (p) { return p.map(ring); })};
    return null;
  }
  function feature(g) { return {type: "Feature", id: g.id, properties: g.properties || {}, geometry: geometry(g)}; }
  return o.type === "GeometryCollection"
    ? {type: "FeatureCollection", features: o.geometries.map(feature)} : feature(o);
}};
"""


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

    def communes_topology(self) -> dict:
        """The communes layer as TopoJSON, object ``communes``: each border once, quantised (about a
        quarter of the GeoJSON's weight once drawn). Properties ``nom``, ``code`` (HTML-escaped text, for
        a tooltip) and ``pop`` (French: ``12 345``). Computed once, then kept with the layers."""
        cached = self.__dict__.get("_communes_topology")
        if cached is None:
            com = self.communes
            props = [{"nom": html.escape(str(n), quote=True), "code": html.escape(str(c), quote=True),
                      "pop": "–" if pd.isna(p) else f"{int(p):,}".replace(",", "\u202f")}
                     for n, c, p in zip(com["nom"], com["code_insee"], com["population"])]
            cached = topology(com.geometry.to_numpy(), props, "communes")
            self.__dict__["_communes_topology"] = cached
        return cached


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
