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


QUANTIZATION = 100_000  # TopoJSON grid: 10^5 steps across the layers' extent (about 3 m for a région)
_HASH_BASE = np.uint64(0x9E3779B97F4A7C15)  # odd: invertible modulo 2**64
_HASH_BASE_INV = np.uint64(pow(int(_HASH_BASE), -1, 2 ** 64))


def _polygon_parts(geoms) -> tuple[np.ndarray, np.ndarray]:
    """Every polygon of ``geoms`` (multi-parts and collections opened, points and lines left out), and
    the index of the geometry each comes from."""
    arr = np.asarray(list(geoms), dtype=object)
    if not len(arr):
        return np.array([], dtype=object), np.array([], dtype=np.int64)
    present = ~shapely.is_missing(arr)
    parts, owner = arr[present], np.flatnonzero(present)
    while True:
        types = shapely.get_type_id(parts)
        multi = np.isin(types, (4, 5, 6, 7))
        if not multi.any():
            break
        sub, idx = shapely.get_parts(parts[multi], return_index=True)
        parts = np.concatenate([parts[~multi], sub])
        owner = np.concatenate([owner[~multi], owner[multi][idx]])
    keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    order = np.argsort(owner[keep], kind="stable")  # a geometry's polygons together, in their order
    return parts[keep][order], owner[keep][order]


def _segment_min(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    return np.minimum.reduceat(values, starts) if len(values) else values


def topology(geoms, properties: list[dict] | None = None, name: str = "layer",
             quantization: int = QUANTIZATION) -> dict:
    """Polygons (EPSG:4326) as a TopoJSON topology of one object ``name``; see :func:`topology_of`."""
    return topology_of({name: (geoms, properties)}, quantization)


def topology_of(objects: dict[str, tuple], quantization: int = QUANTIZATION) -> dict:
    """Several polygon layers (EPSG:4326) as one TopoJSON topology: each border is written once, as an
    *arc* that every area it bounds refers to (two neighbouring communes, and the EPCI, the zone
    d'emploi or the zone blanche whose outline follows it), coordinates quantised on an integer grid
    and delta-encoded.

    ``objects`` maps an object's name to ``(geometries, properties)`` (one dict per geometry, or
    ``None``); each becomes ``objects[name]``, a GeometryCollection in the same order (a geometry with
    no polygon is ``{"type": None}``). Only polygons are kept. ``topology_features`` (Python) and
    ``TOPOJSON_FEATURE_JS`` (the browser) read it back. Vectorised: a région's layers take a fraction
    of a second.
    """
    names = list(objects)
    polys, owners, obj_of = [], [], []
    counts = []
    for k, name in enumerate(names):
        geoms = list(objects[name][0])
        counts.append(len(geoms))
        p, o = _polygon_parts(geoms)
        polys.append(p)
        owners.append(o)
        obj_of.append(np.full(len(p), k, dtype=np.int64))
    polys_a = np.concatenate(polys) if polys else np.array([], dtype=object)
    poly_geom = np.concatenate(owners) if owners else np.array([], dtype=np.int64)
    poly_obj = np.concatenate(obj_of) if obj_of else np.array([], dtype=np.int64)
    rings, ring_poly = shapely.get_rings(polys_a, return_index=True) if len(polys_a) else (polys_a, poly_geom)
    coords, ring_of = (shapely.get_coordinates(rings, return_index=True) if len(rings)
                       else (np.zeros((0, 2)), np.zeros(0, dtype=np.int64)))
    if len(coords):
        x0, y0 = coords.min(axis=0)
        x1, y1 = coords.max(axis=0)
    else:
        x0 = y0 = 0.0
        x1 = y1 = 1.0
    kx = float((x1 - x0) / (quantization - 1)) or 1.0
    ky = float((y1 - y0) / (quantization - 1)) or 1.0
    q = np.c_[np.round((coords[:, 0] - x0) / kx), np.round((coords[:, 1] - y0) / ky)].astype(np.int64)
    key = q[:, 0] * (quantization + 1) + q[:, 1]
    # no repeated point after rounding; rings open (the closing point is implied); at least 3 points
    keep = np.ones(len(key), bool)
    keep[1:] = (key[1:] != key[:-1]) | (ring_of[1:] != ring_of[:-1])
    q, key, ring_of = q[keep], key[keep], ring_of[keep]
    if len(key):
        last = np.r_[ring_of[1:] != ring_of[:-1], True]
        first_pos = np.r_[0, np.flatnonzero(last[:-1]) + 1]
        closing = np.zeros(len(key), bool)
        closing[last] = key[last] == key[first_pos]
        closing &= ~np.r_[True, ring_of[1:] != ring_of[:-1]]  # a one-point ring keeps its point
        q, key, ring_of = q[~closing], key[~closing], ring_of[~closing]
    ring_ids, starts, sizes = np.unique(ring_of, return_index=True, return_counts=True)
    good = sizes >= 3
    keep = np.repeat(good, sizes)
    q, key, ring_of = q[keep], key[keep], ring_of[keep]
    ring_ids, starts, sizes = ring_ids[good], np.r_[0, np.cumsum(sizes[good])[:-1]].astype(np.int64), sizes[good]
    n_pts, n_rings = len(key), len(ring_ids)
    local = np.repeat(np.arange(n_rings), sizes)  # ring rank of each point
    pos = np.arange(n_pts) - starts[local]
    n_of = sizes[local]
    prev = np.where(pos > 0, np.arange(n_pts) - 1, np.arange(n_pts) + n_of - 1)
    nxt = np.where(pos < n_of - 1, np.arange(n_pts) + 1, np.arange(n_pts) - n_of + 1)
    # junctions: points met with two different pairs of neighbours (where three areas meet, where a
    # shared border ends); a border between the same two areas has none inside it
    if n_pts:
        lo, hi = np.minimum(key[prev], key[nxt]), np.maximum(key[prev], key[nxt])
        order = np.lexsort((hi, lo, key))
        ks, ls, hs = key[order], lo[order], hi[order]
        new = np.r_[True, (ks[1:] != ks[:-1]) | (ls[1:] != ls[:-1]) | (hs[1:] != hs[:-1])]
        uk, n_pairs = np.unique(ks[new], return_counts=True)
        junction = np.isin(key, uk[n_pairs > 1])
    else:
        junction = np.zeros(0, bool)
    # each ring starts at its first junction (or, alone, at its smallest point: a ring shared whole by
    # two areas, an island, starts at the same point either way round)
    big = np.iinfo(np.int64).max
    first_j = _segment_min(np.where(junction, pos, big), starts)
    by_key = np.lexsort((key, local))
    smallest = pos[by_key[starts]] if n_pts else pos
    offset = np.where(first_j < big, first_j, smallest) if n_rings else first_j
    # the rings again, rotated and closed: E holds point indices, one ring after the other
    ext_start = starts + np.arange(n_rings)
    ext = np.empty(n_pts + n_rings, dtype=np.int64)
    ext[ext_start[local] + (pos - offset[local]) % n_of] = np.arange(n_pts)
    ext[ext_start + sizes] = ext[ext_start] if n_rings else ext[:0]
    ext_ring = np.repeat(np.arange(n_rings), sizes + 1)
    cut = junction[ext] if len(ext) else np.zeros(0, bool)
    if n_rings:
        cut[ext_start] = True
        cut[ext_start + sizes] = True
    cuts = np.flatnonzero(cut)
    same = ext_ring[cuts[:-1]] == ext_ring[cuts[1:]] if len(cuts) else np.zeros(0, bool)
    a_start, a_end = cuts[:-1][same], cuts[1:][same]  # inclusive
    a_ring = ext_ring[a_start]
    # one arc per border: an arc and its reverse recognised by hashes of their point sequences
    k_ext = key[ext].astype(np.uint64) + np.uint64(1)
    with np.errstate(over="ignore"):
        w = np.cumprod(np.full(len(ext), _HASH_BASE, dtype=np.uint64)) if len(ext) else k_ext
        iw = np.cumprod(np.full(len(ext), _HASH_BASE_INV, dtype=np.uint64)) if len(ext) else k_ext
        c1 = np.r_[np.uint64(0), np.cumsum(k_ext * w, dtype=np.uint64)]
        c2 = np.r_[np.uint64(0), np.cumsum(k_ext * iw, dtype=np.uint64)]
        fwd = (c1[a_end + 1] - c1[a_start]) * iw[a_start]
        rev = (c2[a_end + 1] - c2[a_start]) * w[a_end]
    length = a_end - a_start + 1
    canon = np.minimum(fwd, rev)
    table = np.stack([canon, length.astype(np.uint64), np.minimum(k_ext[a_start], k_ext[a_end])], axis=1)
    if len(table):
        _, first, inverse = np.unique(table, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.ravel()
        # numbered in order of first use, for a stable and readable output
        rank = np.empty(len(first), dtype=np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(len(first))
        arc_of = rank[inverse]
        first = np.sort(first)
    else:
        first, arc_of = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    # each arc is written the way round its hash is smallest; a ring that goes the other way refers
    # to it reversed (~index)
    ref_fwd = fwd <= rev
    refs = np.where(ref_fwd, arc_of, ~arc_of)
    stored_fwd = ref_fwd[first]
    # the arcs' points, quantised and delta-encoded
    lens = length[first]
    offs = np.r_[0, np.cumsum(lens)[:-1]].astype(np.int64)
    step = np.arange(int(lens.sum())) - np.repeat(offs, lens)
    src = np.where(np.repeat(stored_fwd, lens), np.repeat(a_start[first], lens) + step,
                   np.repeat(a_end[first], lens) - step)
    pts = q[ext[src]] if len(src) else np.zeros((0, 2), dtype=np.int64)
    delta = pts.copy()
    delta[1:] -= pts[:-1]
    delta[offs] = pts[offs]
    flat = delta.tolist()
    arcs = [flat[o:o + n] for o, n in zip(offs.tolist(), lens.tolist())]
    # geometries: rings of arcs, polygons of rings, per object
    ring_refs: dict[int, list[int]] = {}
    bounds = np.r_[0, np.flatnonzero(np.diff(a_ring)) + 1, len(a_ring)] if len(a_ring) else np.zeros(1, np.int64)
    refs_l = refs.tolist()
    for b0, b1 in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        ring_refs[int(ring_ids[a_ring[b0]])] = refs_l[b0:b1]
    ring_first = np.r_[True, ring_poly[1:] != ring_poly[:-1]] if len(ring_poly) else np.zeros(0, bool)
    poly_rings: dict[int, list[list[int]]] = {}
    dropped: set[int] = set()
    for r, (p, is_ext) in enumerate(zip(ring_poly.tolist(), ring_first.tolist())):
        if p in dropped:
            continue
        arcs_r = ring_refs.get(r)
        if arcs_r is None:
            if is_ext:
                dropped.add(p)  # an outline too small to draw: its holes go with it
            continue
        poly_rings.setdefault(p, []).append(arcs_r)
    per_geom: dict[tuple[int, int], list] = {}
    for p, (o, g) in enumerate(zip(poly_obj.tolist(), poly_geom.tolist())):
        if p in poly_rings:
            per_geom.setdefault((o, g), []).append(poly_rings[p])
    out_objects = {}
    for k, name in enumerate(names):
        props = objects[name][1]
        props = props if props is not None else [{} for _ in range(counts[k])]
        geometries = []
        for g, pr in zip(range(counts[k]), props):
            coded = per_geom.get((k, g))
            if not coded:
                geometries.append({"type": None, "properties": pr})
            elif len(coded) == 1:
                geometries.append({"type": "Polygon", "arcs": coded[0], "properties": pr})
            else:
                geometries.append({"type": "MultiPolygon", "arcs": coded, "properties": pr})
        out_objects[name] = {"type": "GeometryCollection", "geometries": geometries}
    return {"type": "Topology", "bbox": [float(x0), float(y0), float(x1), float(y1)],
            "transform": {"scale": [kx, ky], "translate": [float(x0), float(y0)]},
            "arcs": arcs, "objects": out_objects}


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
    return pd.DataFrame({"nom": [(f"{agg.loc[g, 'n']} communes non couvertes" if agg.loc[g, 'n'] >= 2 else f"{agg.loc[g, 'n']} commune non couverte") for g in merged.index],
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


def inclusion_points(ref, table: pd.DataFrame, commune_xy: np.ndarray, commune_names: np.ndarray,
                     region: str) -> pd.DataFrame:
    """The inclusion structures located in the région's communes, placed for the map (EPSG:4326): at their own
    coordinates when the file gave them, else at their commune's point (``x``, ``y``), with their commune's
    point (``cx``, ``cy``) for the grouped circles. The unlocated ones are not drawn (their tables list them)."""
    from geo.needs import index_inclusion

    cols = ["x", "y", "cx", "cy", "code_commune", "commune_nom", "type", "nom", "siret", "adresse", "secteurs"]
    if table is None or not len(table):
        return pd.DataFrame(columns=cols)
    ii = index_inclusion(ref, table)
    ok = ii.located >= 0
    if region:
        ok &= np.asarray(ref.reg, dtype=object)[np.maximum(ii.located, 0)] == str(region)
    t = table[ok]
    loc = ii.located[ok]
    lat = pd.to_numeric(t["latitude"], errors="coerce").to_numpy(dtype=float) if "latitude" in t else np.full(len(t), np.nan)
    lon = pd.to_numeric(t["longitude"], errors="coerce").to_numpy(dtype=float) if "longitude" in t else np.full(len(t), np.nan)
    cxy = commune_xy[loc] if len(loc) else np.zeros((0, 2))
    own = ~np.isnan(lat) & ~np.isnan(lon)

    def text(col):
        return as_text(t[col]).to_numpy(dtype=object) if col in t.columns else np.full(len(t), "", dtype=object)

    addr = [" ".join(x for x in parts if x) for parts in zip(text("adresse"), text("code_postal"), text("commune"))]
    return pd.DataFrame({"x": np.where(own, lon, cxy[:, 0]), "y": np.where(own, lat, cxy[:, 1]), "cx": cxy[:, 0],
                         "cy": cxy[:, 1], "code_commune": ref.codes[loc], "commune_nom": np.asarray(commune_names,
                                                                                                   dtype=object)[loc],
                         "type": text("type"), "nom": text("nom"), "siret": text("siret"), "adresse": addr,
                         "secteurs": text("secteurs")}, columns=cols).dropna(subset=["x", "y"]).reset_index(drop=True)
