"""Static maps of the diagnosis for the PDF and the deck: drawn offline with matplotlib (Agg) in
Lambert-93 (EPSG:2154), no tiles, no network.

Outlines are simplified as one coverage (shared edges stay shared) to about a tenth of a
millimetre on the printed page, which keeps a real région (4,000+ communes) under a second a
map. Colours are the app's (``components.maps``), so that the report, the deck and the screen
read the same way.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import matplotlib.patheffects as pe
import numpy as np
import pandas as pd
import shapely
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path

from geo.codes import as_text
from geo.display import simplify_coverage
from views import fmt
from views.palette import BLANCHE, QPV_COLOURS, structure_colours
from views.text import agree

REGION_LINE = "#000091"
COVERED = "#DCE9F5"
BASE = "#F1F1F1"
ZE_LINE = "#6A3D9A"
DEP_LINE = "#555555"
DPI = 170
MAX_LEGEND_STRUCTURES = 16
HALO = [pe.withStroke(linewidth=3, foreground="white")]


@dataclass
class MapImage:
    """A map as PNG, with the words that go with it in a document."""

    key: str
    title: str
    png: bytes
    size: tuple[int, int]  # pixels (width, height)
    caption: str = ""
    legend: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------
# drawing helpers: shapely geometries to matplotlib paths


def _polygons(geoms) -> np.ndarray:
    arr = np.asarray([g for g in geoms if g is not None and not shapely.is_empty(g)], dtype=object)
    if not len(arr):
        return arr
    parts = shapely.get_parts(arr)
    return parts[shapely.get_type_id(parts) == 3]  # polygons only


def _compound(geoms) -> Path | None:
    """One path for many polygons (holes included): exteriors counter-clockwise, holes clockwise,
    so that matplotlib's non-zero fill leaves the holes empty."""
    polys = _polygons(geoms)
    if not len(polys):
        return None
    polys = shapely.orient_polygons(polys)
    rings = []
    for p in polys:
        rings.append(shapely.get_exterior_ring(p))
        rings.extend(shapely.get_interior_ring(p, i) for i in range(shapely.get_num_interior_rings(p)))
    coords, idx = shapely.get_coordinates(np.asarray(rings, dtype=object), return_index=True)
    codes = np.full(len(coords), Path.LINETO, dtype=np.uint8)
    starts = np.r_[0, np.flatnonzero(np.diff(idx)) + 1]
    codes[starts] = Path.MOVETO
    ends = np.r_[starts[1:] - 1, len(coords) - 1]
    codes[ends] = Path.CLOSEPOLY
    return Path(coords, codes)


def _fill(ax, geoms, colour, alpha=1.0, zorder=1, edge="none", lw=0.0, hatch=None) -> None:
    path = _compound(geoms)
    if path is not None:
        # add_artist, not add_patch: the limits are set once, and add_patch would walk every vertex to update them
        ax.add_artist(PathPatch(path, facecolor=colour, alpha=alpha, zorder=zorder, edgecolor=edge, linewidth=lw,
                                hatch=hatch))


def _lines(ax, geoms, colour, lw, zorder=3, style="solid", alpha=1.0) -> None:
    polys = _polygons(geoms)
    if not len(polys):
        return
    rings = shapely.get_parts(shapely.boundary(polys))
    coords, idx = shapely.get_coordinates(rings, return_index=True)
    if not len(coords):
        return
    cuts = np.flatnonzero(np.diff(idx)) + 1
    ax.add_collection(LineCollection(np.split(coords, cuts), colors=colour, linewidths=lw, zorder=zorder,
                                     linestyles=style, alpha=alpha, capstyle="round", joinstyle="round"))


def _candidates(geom, most: int = 12) -> list[tuple[float, float]]:
    """Where a name may be written in an area, best first: its largest part's inner point, its other parts',
    then points of a coarse grid inside the area, nearest that first point first."""
    parts = sorted(shapely.get_parts(geom), key=lambda q: -q.area) if geom is not None else []
    out = [shapely.point_on_surface(q) for q in parts[:4]]
    if parts:
        x0, y0, x1, y1 = geom.bounds
        grid = [shapely.Point(x0 + (x1 - x0) * i / 6, y0 + (y1 - y0) * j / 6) for i in range(1, 6) for j in range(1, 6)]
        inside = [q for q in grid if geom.contains(q)]
        inside.sort(key=lambda q: q.distance(out[0]))
        out += inside
    return [(q.x, q.y) for q in out[:most]]


def _place_labels(fig, ax, labels: list[tuple[str, list[tuple[float, float]], dict]],
                  obstacles: list[tuple[float, float, float]] = ()) -> int:
    """Write each (text, candidate points, text options) at its first candidate where it overlaps neither a name
    already written nor an obstacle (x, y, radius in points: a host's circle), nor runs off the map; a name with
    no such place is left out. Returns how many were written."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.transforms import Bbox

    FigureCanvasAgg(fig)
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    px = fig.dpi / 72
    kept = []
    for x, y, radius in obstacles:
        cx, cy = ax.transData.transform((x, y))
        r = radius * px
        kept.append(Bbox.from_extents(cx - r, cy - r, cx + r, cy + r))
    written = 0
    for text, points, options in labels:
        artist = ax.text(0, 0, text, **options)
        for x, y in points:
            artist.set_position((x, y))
            box = artist.get_window_extent(renderer).expanded(1.0, 1.0).padded(2 * px)
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
            if inside and not any(box.overlaps(k) for k in kept):
                kept.append(box)
                written += 1
                break
        else:
            artist.remove()
    return written


def _png(fig: Figure) -> tuple[bytes, tuple[int, int]]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", pad_inches=0.08, facecolor="white")
    data = buf.getvalue()
    return data, png_size(data)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, read from its header."""
    import struct

    return struct.unpack(">II", data[16:24])


# ------------------------------------------------------------------------------------------------
# the région's geometry, once for all maps


@dataclass
class Geometry:
    communes: np.ndarray  # simplified outlines of the région's communes (diagnosis order), EPSG:2154
    covered: np.ndarray
    outline: object
    deps: pd.Series  # département -> outline
    zes: pd.Series  # zone d'emploi -> outline (its communes in the région)
    bounds: tuple[float, float, float, float]
    membership: np.ndarray  # structures x communes of the région
    structure_ids: list[str]
    points: np.ndarray  # a point inside each commune (original outline)
    codes: list[str]


def _to_2154(gdf):
    if gdf.crs is not None and gdf.crs.to_epsg() != 2154:
        return gdf.to_crs("EPSG:2154")
    return gdf


def prepare(ds, result, region: str) -> Geometry | None:
    """The région's outlines in Lambert-93, simplified; ``None`` when the communes have none."""
    d = result.diagnosis
    com = _to_2154(ds.communes)
    if "geometry" not in com or com.geometry.isna().all():
        return None
    codes = as_text(com["code_insee"]).to_numpy()
    pos = pd.Series(np.arange(len(codes)), index=codes)
    pos = pos[~pos.index.duplicated()]
    wanted = d.communes["code_insee"].astype(str).to_numpy()
    rows = pos.reindex(wanted).to_numpy()
    if np.isnan(rows.astype(float)).any():
        return None
    rows = rows.astype(int)
    geoms = com.geometry.to_numpy()[rows]
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    if not present.any():
        return None
    minx, miny, maxx, maxy = shapely.total_bounds(geoms[present])
    tolerance = float(np.clip(max(maxx - minx, maxy - miny) / 2500, 20.0, 600.0))
    simple = simplify_coverage(geoms, tolerance)
    outline = shapely.coverage_union_all(simple[present])
    deps = _dissolve(simple, d.communes["dep"].astype(str).to_numpy())
    zes = _dissolve(simple, d.communes["ze2020"].astype(str).to_numpy())
    ref_pos = pd.Series(np.arange(len(result.ref.codes)), index=result.ref.codes)
    ref_pos = ref_pos[~ref_pos.index.duplicated()]
    m = result.coverage.membership[:, ref_pos.reindex(wanted).to_numpy().astype(int)]
    points = shapely.point_on_surface(np.where(present, geoms, None))
    return Geometry(simple, d.communes["couverte"].astype(bool).to_numpy(), outline, deps, zes,
                    (minx, miny, maxx, maxy), m, list(result.coverage.structure_ids), points, list(wanted))


def _dissolve(geoms: np.ndarray, groups: np.ndarray) -> pd.Series:
    out = {}
    s = pd.Series(np.arange(len(geoms)), index=groups)
    for g, idx in s.groupby(level=0):
        if g in ("", "nan"):
            continue
        parts = geoms[idx.to_numpy()]
        parts = parts[~shapely.is_missing(parts)]
        if not len(parts):
            continue
        try:
            out[g] = shapely.coverage_union_all(parts)
        except Exception:  # not a clean tiling
            out[g] = shapely.union_all(parts)
    return pd.Series(out, dtype=object)


# ------------------------------------------------------------------------------------------------
# the maps


def _figure(g: Geometry) -> tuple[Figure, object, str]:
    """A figure holding the map alone; the legend goes outside it (see :func:`_legend`), on the right
    of a tall or square région, under a wide one, and the saved image is cropped around both."""
    minx, miny, maxx, maxy = g.bounds
    w, h = maxx - minx, maxy - miny
    aspect = w / h if h else 1.0
    if aspect >= 1.2:
        map_w, place = 8.0, "below"
        map_h = float(max(map_w / aspect, 3.5))
    else:
        map_h, place = 5.0, "right"  # inches: small enough that the legend stays legible on a slide
        map_w = float(np.clip(map_h * aspect, 3.4, 7.5))
    fig = Figure(figsize=(map_w, map_h))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_aspect("equal")
    pad = 0.02 * max(w, h)
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_axis_off()
    _scale_bar(ax, g.bounds)
    return fig, ax, place


def _scale_bar(ax, bounds) -> None:
    minx, miny, maxx, maxy = bounds
    span = (maxx - minx) / 5
    km = [1, 2, 5, 10, 20, 25, 50, 100, 200]
    length = max([k for k in km if k * 1000 <= span] or [1]) * 1000
    x0, y0 = minx, miny
    ax.plot([x0, x0 + length], [y0, y0], color="#222222", linewidth=3, solid_capstyle="butt", zorder=9)
    ax.text(x0 + length / 2, y0 + 0.012 * (maxy - miny), f"{length // 1000:.0f} km", ha="center", va="bottom",
            fontsize=9, zorder=9, path_effects=HALO)


def _legend(fig, place: str, handles, labels, title, fontsize=14.0) -> None:
    # under a wide région, a long legend takes three columns: short enough that the map keeps the page's width
    below = 3 if len(handles) > 8 else 2
    anchor = {"right": ("upper left", (1.01, 1.0), 1), "below": ("upper left", (0.0, -0.01), below)}[place]
    fig.legend(handles, labels, loc=anchor[0], bbox_to_anchor=anchor[1], ncols=anchor[2], frameon=False,
               fontsize=fontsize, title=title, title_fontproperties={"weight": "bold", "size": fontsize + 0.5},
               alignment="left", handlelength=1.6, handleheight=1.1, labelspacing=0.55, columnspacing=1.5,
               borderaxespad=0.2)


def _wrap(text: str, width: int = 25) -> str:
    """A label wrapped in lines of ``width`` characters, never inside « MDE / 2 » nor between a word and the
    short number that names it (« EPCI 7 », « Conseil départemental 45 »)."""
    import re
    import textwrap

    text = str(text)
    glued = re.sub(r"\s+/\s+", "\u00a0/\u00a0", text)
    glued = re.sub(r"\s+(\d{1,3})(?=\s|$|[,.;)])", "\u00a0\\1", glued)
    # textwrap breaks at ordinary spaces only: the no-break spaces hold those words together
    return "\n".join(textwrap.wrap(glued, width, break_long_words=False, break_on_hyphens=False)) or text


def _frame(ax, g: Geometry) -> None:
    _lines(ax, list(g.deps.to_numpy()), DEP_LINE, 0.8, zorder=6, alpha=0.9)
    _lines(ax, [g.outline], REGION_LINE, 2.0, zorder=7)


def coverage_map(g: Geometry, content) -> MapImage:
    """Each structure's area (its communes in the région), the zones blanches and the hosts."""
    fig, ax, place = _figure(g)
    _fill(ax, g.communes, BASE, zorder=1)
    colours = structure_colours(g.structure_ids)
    st = content.structures.set_index("id_structure")
    handles, labels = [], []
    drawn = []
    for k, sid in enumerate(g.structure_ids):
        members = g.membership[k]
        if not members.any():
            continue
        parts = g.communes[members]
        _fill(ax, parts, colours[sid], alpha=0.38, zorder=2)
        area = shapely.coverage_union_all(parts[~shapely.is_missing(parts)])
        _lines(ax, [area], colours[sid], 1.3, zorder=4)
        drawn.append((sid, area))
    _fill(ax, g.communes[~g.covered], BLANCHE, alpha=0.55, zorder=3)
    _lines(ax, g.communes, "#FFFFFF", 0.15, zorder=2.5, alpha=0.8)
    _frame(ax, g)
    # hosts, sized by FTE
    code_pos = {c: i for i, c in enumerate(g.codes)}
    hosts = []
    for sid, _ in drawn:
        host = str(st.loc[sid, "code_commune"]) if sid in st.index else ""
        i = code_pos.get(host)
        if i is None or g.points[i] is None:
            continue
        etp = float(st.loc[sid, "etp"] or 0)
        size = 30 + 50 * np.sqrt(max(etp, 0))
        ax.scatter([g.points[i].x], [g.points[i].y], s=size, color=colours[sid], edgecolor="black", linewidth=1.0,
                   zorder=9)
        hosts.append((g.points[i].x, g.points[i].y, np.sqrt(size) / 2 + 1))
    # each area's identifier where it fits: never over another, nor over a host
    _place_labels(fig, ax, [(sid, _candidates(area), dict(fontsize=10.5, color="#111111", ha="center", va="center",
                                                          fontweight="bold", zorder=10, path_effects=HALO))
                            for sid, area in drawn if area is not None], hosts)
    shown = drawn[:MAX_LEGEND_STRUCTURES]
    narrow = place == "below" and len(shown) + 4 > 8  # three columns of the legend (see _legend)
    for sid, _ in shown:
        handles.append(Patch(facecolor=colours[sid], alpha=0.6, edgecolor=colours[sid]))
        labels.append(_wrap(f"{sid} – {st.loc[sid, 'nom'] if sid in st.index else sid}", 22 if narrow else 25))
    if len(drawn) > MAX_LEGEND_STRUCTURES:
        handles.append(Patch(facecolor="white", edgecolor="white"))
        labels.append(f"… et {len(drawn) - MAX_LEGEND_STRUCTURES} autres structures")
    handles += [Patch(facecolor=BLANCHE, alpha=0.55), Line2D([], [], marker="o", color="white",
                                                                markerfacecolor="#999999", markeredgecolor="black",
                                                                markersize=10),
                Line2D([], [], color=DEP_LINE, linewidth=1), Line2D([], [], color=REGION_LINE, linewidth=2)]
    labels += ["Zone blanche\n(commune non couverte)" if narrow else "Zone blanche (commune non couverte)",
               "Structure porteuse\n(taille selon les ETP)",
               "Limite de département", "Limite de la région"]
    _legend(fig, place, handles, labels, "Aires d'intervention", fontsize=11.5 if len(drawn) > 10 else 13.0)
    png, size = _png(fig)
    n = len(drawn)
    return MapImage("couverture", "Couverture par structure", png, size,
                    f"{fmt.integer(n)} {agree(n, 'structure', 'structures')} dont l'aire touche la région ; aires "
                    "limitées aux communes de la région. Aires superposées : les couleurs se mélangent.")


def zones_blanches_map(g: Geometry, content) -> MapImage:
    fig, ax, place = _figure(g)
    _fill(ax, g.communes[g.covered], COVERED, zorder=1)
    _fill(ax, g.communes[~g.covered], BLANCHE, alpha=0.85, zorder=2)
    _lines(ax, g.communes, "#FFFFFF", 0.15, zorder=2.5, alpha=0.8)
    _frame(ax, g)
    # the most populous zones blanches named, none written over another
    code_pos = {c: i for i, c in enumerate(g.codes)}
    span = max(g.bounds[2] - g.bounds[0], g.bounds[3] - g.bounds[1])
    placed: list[tuple[float, float]] = []
    for code, nom in zip(content.zones_blanches["code_insee"].head(40), content.zones_blanches["nom"].head(40)):
        i = code_pos.get(str(code))
        if i is None or g.points[i] is None:
            continue
        x, y = g.points[i].x, g.points[i].y
        if any(abs(x - px) < 0.22 * span and abs(y - py) < 0.06 * span for px, py in placed):
            continue
        placed.append((x, y))
        ax.scatter([x], [y], s=14, color="white", edgecolor="black", linewidth=0.8, zorder=8)
        ax.annotate(nom, (x, y), xytext=(5, 5), textcoords="offset points", fontsize=10.5, fontweight="bold",
                    zorder=9, path_effects=HALO)
        if len(placed) == 6:
            break
    s = content.summary
    handles = [Patch(facecolor=COVERED, edgecolor="#9DB7D5"), Patch(facecolor=BLANCHE, alpha=0.85),
               Line2D([], [], color=DEP_LINE, linewidth=1), Line2D([], [], color=REGION_LINE, linewidth=2)]
    labels = [f"Commune couverte ({fmt.integer(s['communes']['couvertes'])})",
              _wrap(f"Zone blanche : commune non couverte ({fmt.integer(s['communes']['non_couvertes'])}, "
                    f"{fmt.integer(s['population']['non_couverte'])} hab.)"),
              "Limite de département", "Limite de la région"]
    _legend(fig, place, handles, labels, "Zones blanches")
    png, size = _png(fig)
    return MapImage("zones_blanches", "Zones blanches", png, size,
                    "Noms : quelques-unes des zones blanches les plus peuplées.")


def qpv_map(g: Geometry, content, qpv_geoms: dict) -> MapImage:
    fig, ax, place = _figure(g)
    _fill(ax, g.communes[g.covered], COVERED, zorder=1)
    _fill(ax, g.communes[~g.covered], BLANCHE, alpha=0.55, zorder=1)
    _lines(ax, g.communes, "#FFFFFF", 0.15, zorder=2.5, alpha=0.8)
    _frame(ax, g)
    q = content.qpv
    code_pos = {c: i for i, c in enumerate(g.codes)}
    order = {"couvert": 0, "partiel": 1, "non couvert": 2}
    q = q.assign(_o=q["statut"].map(order)).sort_values(["_o", "population"], ascending=[True, False])
    pops = pd.to_numeric(q["population"], errors="coerce").fillna(0).to_numpy()
    for (code, statut, communes), pop in zip(zip(q["code_qp"], q["statut"], q["communes"]), pops):
        geom = qpv_geoms.get(str(code))
        if geom is not None and not shapely.is_empty(geom):
            _fill(ax, [geom], QPV_COLOURS.get(statut, "#333333"), zorder=7, edge="black", lw=0.6)
            p = shapely.point_on_surface(geom)
        else:
            first = str(communes).split(";")[0]
            i = code_pos.get(first)
            p = g.points[i] if i is not None else None
        if p is None:
            continue
        ax.scatter([p.x], [p.y], s=25 + 0.012 * pop, color=QPV_COLOURS.get(statut, "#333333"), edgecolor="black",
                   linewidth=1.0, zorder=8 + order.get(statut, 0) * 0.1, alpha=0.95)
    s = content.summary["qpv"]
    handles = [Line2D([], [], marker="o", color="white", markerfacecolor=QPV_COLOURS[k], markeredgecolor="black",
                      markersize=11) for k in ("couvert", "partiel", "non couvert")]
    labels = [f"QPV couvert ({fmt.integer(s['couverts'])})", f"QPV partiellement couvert ({fmt.integer(s['partiels'])})",
              f"QPV non couvert ({fmt.integer(s['non_couverts'])})"]
    handles += [Patch(facecolor=COVERED, edgecolor="#9DB7D5"), Patch(facecolor=BLANCHE, alpha=0.55),
                Line2D([], [], color=REGION_LINE, linewidth=2)]
    labels += ["Commune couverte", "Zone blanche", "Limite de la région"]
    _legend(fig, place, handles, labels, "Quartiers prioritaires\n(taille selon la population)")
    png, size = _png(fig)
    return MapImage("qpv", "Quartiers prioritaires par statut de couverture", png, size,
                    "Un QPV est couvert quand toutes ses communes le sont (voir les définitions).")


def zones_emploi_map(g: Geometry, content) -> MapImage:
    fig, ax, place = _figure(g)
    _fill(ax, g.communes, BASE, zorder=1)
    colours = structure_colours(g.structure_ids)
    n = 0
    for k, sid in enumerate(g.structure_ids):
        members = g.membership[k]
        if not members.any():
            continue
        parts = g.communes[members]
        _fill(ax, parts, colours[sid], alpha=0.25, zorder=2)
        _lines(ax, [shapely.coverage_union_all(parts[~shapely.is_missing(parts)])], colours[sid], 1.2, zorder=3)
        n += 1
    _fill(ax, g.communes[~g.covered], BLANCHE, alpha=0.35, zorder=2)
    _lines(ax, list(g.zes.to_numpy()), ZE_LINE, 2.0, zorder=6, style=(0, (4, 2)))
    _lines(ax, [g.outline], REGION_LINE, 2.0, zorder=7)
    names = dict(zip(content.zones_emploi["code"], content.zones_emploi["nom"]))
    # the larger zones' names first, each where it fits, never over another
    zes = sorted(((code, geom) for code, geom in g.zes.items() if geom is not None and not shapely.is_empty(geom)),
                 key=lambda kv: -kv[1].area)
    _place_labels(fig, ax, [(_wrap(names.get(code, code), 16), _candidates(geom),
                             dict(fontsize=9, color=ZE_LINE, ha="center", va="center", fontweight="bold", zorder=9,
                                  path_effects=HALO)) for code, geom in zes])
    handles = [Line2D([], [], color=ZE_LINE, linewidth=2, linestyle=(0, (4, 2))),
               Patch(facecolor="#7FA7CF", alpha=0.5, edgecolor="#0072B2"), Patch(facecolor=BLANCHE, alpha=0.35),
               Line2D([], [], color=REGION_LINE, linewidth=2)]
    labels = ["Limite de zone d'emploi", f"Aire d'une structure ({n}),\ncouleurs de la carte des aires",
              "Zone blanche", "Limite de la région"]
    _legend(fig, place, handles, labels, "Zones d'emploi")
    png, size = _png(fig)
    return MapImage("zones_emploi", "Zones d'emploi et aires des structures", png, size,
                    "Zones d'emploi INSEE 2020 limitées à leurs communes de la région.")


def change_map(g: Geometry | None, comparison) -> MapImage | None:
    """The proposition's map (fiche 3, § 3b): each commune whose coverage changes in the colour of its change, the
    other communes covered or not after the change; ``g`` is prepared from the state after (B)."""
    from views.proposition import CHANGE_COLOURS, CHANGE_LEGEND

    if g is None:
        return None
    fig, ax, place = _figure(g)
    _fill(ax, g.communes[g.covered], COVERED, zorder=1)
    _fill(ax, g.communes[~g.covered], BLANCHE, alpha=0.55, zorder=1)
    code_pos = {c: i for i, c in enumerate(g.codes)}
    ch = comparison.communes
    handles, labels = [], []
    for kind, colour in CHANGE_COLOURS.items():
        rows = [code_pos[c] for c, k in zip(ch["code_insee"], ch["changement"]) if k == kind and c in code_pos]
        if not rows:
            continue
        _fill(ax, g.communes[np.array(rows)], colour, alpha=0.85, zorder=3)
        handles.append(Patch(facecolor=colour, alpha=0.85))
        labels.append(_wrap(f"{CHANGE_LEGEND[kind]} ({fmt.integer(len(rows))})", 30))
    _lines(ax, g.communes, "#FFFFFF", 0.15, zorder=2.5, alpha=0.8)
    _frame(ax, g)
    handles += [Patch(facecolor=COVERED, edgecolor="#9DB7D5"), Patch(facecolor=BLANCHE, alpha=0.55),
                Line2D([], [], color=REGION_LINE, linewidth=2)]
    labels += ["Commune couverte après", "Zone blanche après", "Limite de la région"]
    _legend(fig, place, handles, labels, "Ce qui change")
    png, size = _png(fig)
    n = len(ch)
    return MapImage("proposition", "La proposition sur la carte", png, size,
                    f"{fmt.integer(n)} {agree(n, 'commune change', 'communes changent')} de couverture : "
                    f"{comparison.label_a} → {comparison.label_b}.")


def render(ds, result, region: str, content) -> dict[str, MapImage]:
    """The four maps as PNG; an empty dict when the référentiel has no outlines."""
    g = prepare(ds, result, region)
    if g is None:
        return {}
    qpv = _to_2154(ds.qpv)
    qpv_geoms = {}
    if len(qpv) and "geometry" in qpv:
        wanted = set(content.qpv["code_qp"].astype(str))
        for code, geom in zip(as_text(qpv["code_qp"]), qpv.geometry.to_numpy()):
            if code in wanted and geom is not None:
                qpv_geoms[code] = geom
    return {"couverture": coverage_map(g, content), "zones_blanches": zones_blanches_map(g, content),
            "qpv": qpv_map(g, content, qpv_geoms), "zones_emploi": zones_emploi_map(g, content)}
