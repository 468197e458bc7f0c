"""Folium maps of the coverage, drawn offline, legible on a wall screen.

Builders return a ``folium.Map`` (testable with ``m.get_root().render()``); ``show`` draws it
with streamlit-folium, always with ``key=`` and ``returned_objects=`` so that panning does not
rerun the script. Every text that comes from a user's file is HTML-escaped before it reaches
a tooltip, a popup or the legend: a name is text, never markup.
"""

from __future__ import annotations

import html
import json

import folium
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement, Template

from components import fmt
from components.assets import LEAFLET_CSS, LEAFLET_JS
from geo.display import DisplayLayers

# Colour-blind-safe palettes for the areas: Okabe-Ito, then Paul Tol's "muted" (yellows left out:
# they are the QPV's). QPV statuses differ by lightness too: white, yellow, dark red, black outline.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
           "#332288", "#117733", "#882255", "#44AA99", "#999933", "#AA4499", "#88CCEE"]
QPV_COLOURS = {"couvert": "#FFFFFF", "partiel": "#FFD400", "non couvert": "#B2182B"}
BLANCHE = "#3A3A3A"
LOCAL_JS = [("leaflet", LEAFLET_JS)]
LOCAL_CSS = [("leaflet_css", LEAFLET_CSS)]


def structure_colours(ids: list[str]) -> dict[str, str]:
    return {sid: PALETTE[i % len(PALETTE)] for i, sid in enumerate(ids)}


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _features(df: pd.DataFrame, props: dict) -> dict:
    """A FeatureCollection; ``props`` maps output names to functions of a row (escaped text)."""
    feats = []
    for row in df.itertuples(index=False):
        g = getattr(row, "geometry")
        if g is None or shapely.is_empty(g):
            continue
        feats.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(g)),
                      "properties": {k: f(row) for k, f in props.items()}})
    return {"type": "FeatureCollection", "features": feats}


def _offline(m: folium.Map) -> folium.Map:
    """Leaflet from the machine instead of folium's CDN defaults (no jQuery, no Bootstrap)."""
    m.default_js = LOCAL_JS
    m.default_css = LOCAL_CSS
    return m


def base_map(bounds, basemap: bool = False, height: str = "100%") -> folium.Map:
    minx, miny, maxx, maxy = bounds
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=8, tiles=None,
                   control_scale=True, height=height, zoom_snap=0.25, zoom_delta=0.5)
    _offline(m)
    if basemap:
        folium.TileLayer("OpenStreetMap", name="Fond OpenStreetMap", attr="© OpenStreetMap", control=True,
                         overlay=False).add_to(m)
    m.get_root().header.add_child(folium.Element(
        "<style>.leaflet-container{background:#F6F6F6;font-size:16px}"
        ".ze-label{font:bold 15px 'Source Sans Pro','DejaVu Sans',Arial,sans-serif;color:#4B2480;text-align:center;"
        "white-space:nowrap;text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 3px #fff}"
        ".leaflet-tooltip{font-size:16px}.leaflet-control-layers{font-size:16px}</style>"))
    # room on the right for the legend, which would otherwise hide the east of the région
    m.fit_bounds([[miny, minx], [maxy, maxx]], padding_top_left=(20, 20), padding_bottom_right=(360, 20))
    return m


class SafePopup(MacroElement):
    """A popup bound with plain Leaflet (folium.Popup needs jQuery, which is not shipped).

    ``html`` must already be escaped where it holds user text; it is passed as a JSON string.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
{{ this._parent.get_name() }}.bindPopup({{ this.html|tojson }}, {"maxWidth": 360});
{% endmacro %}
""")

    def __init__(self, html_text: str):
        super().__init__()
        self._name = "SafePopup"
        self.html = html_text


class SafeTooltip(MacroElement):
    """A tooltip whose HTML is passed as a JSON string.

    ``folium.Tooltip`` pastes its text into a JavaScript template literal, where a backtick or
    ``${…}`` in a name (HTML escaping leaves both alone) would run as code. ``html`` must already
    be escaped where it holds user text.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
{{ this._parent.get_name() }}.bindTooltip({{ this.html|tojson }}, {{ this.options|tojson }});
{% endmacro %}
""")

    def __init__(self, html_text: str, sticky: bool = True):
        super().__init__()
        self._name = "SafeTooltip"
        self.html = str(html_text)
        self.options = {"sticky": sticky}


class Legend(MacroElement):
    """A French legend drawn inside the map, large enough to read from the back of a room."""

    _template = Template("""
{% macro html(this, kwargs) %}
<div class="diag-legend" style="position:absolute;bottom:28px;right:12px;z-index:1000;background:white;
 padding:12px 16px;border:1px solid #999;border-radius:6px;font-size:17px;line-height:1.5;max-width:360px;
 font-family:'Source Sans Pro','Source Sans 3','DejaVu Sans',Arial,sans-serif;
 max-height:70%;overflow:auto;box-shadow:0 1px 4px rgba(0,0,0,.3)">
<div style="font-weight:bold;margin-bottom:4px">{{ this.title }}</div>
{% for colour, label, kind in this.items %}
<div><span style="display:inline-block;width:22px;height:14px;margin-right:8px;vertical-align:middle;
{% if kind == 'line' %}border-top:3px dashed {{ colour }};height:0{% elif kind == 'dot' %}background:{{ colour }};border-radius:50%;width:14px{% else %}background:{{ colour }};opacity:.75;border:1px solid #333{% endif %}"></span>{{ label }}</div>
{% endfor %}
<div style="font-size:13px;color:#444;margin-top:6px">{{ this.footnote }}</div>
</div>
{% endmacro %}
""")

    def __init__(self, title: str, items: list[tuple[str, str, str]], footnote: str = ""):
        super().__init__()
        self._name = "Legend"
        self.title = esc(title)
        self.items = [(c, esc(label), kind) for c, label, kind in items]
        self.footnote = esc(footnote)


def coverage_map(layers: DisplayLayers, structures: pd.DataFrame, colours: dict[str, str],
                 selected: list[str] | None = None, show: dict[str, bool] | None = None,
                 vintage: str = "", basemap: bool = False, shared=None) -> folium.Map:
    """The coverage map: région outline, structure areas, hosts, zones blanches, QPV, ZE, EPCI.

    ``show`` switches optional layers on: ``zones_blanches``, ``qpv``, ``zones_emploi``, ``epci``,
    ``communes``. ``selected`` structures are highlighted (others fade). ``shared`` (a geometry
    in EPSG:4326) draws the part two selected areas share.
    """
    show = {"zones_blanches": True, "qpv": True, "zones_emploi": True, "epci": False, "communes": False,
            **(show or {})}
    selected = [s for s in (selected or []) if s in colours]
    m = base_map(layers.bounds, basemap)
    info = structures.set_index(structures["id_structure"].astype(str))

    if layers.region_outline is not None:
        folium.GeoJson(json.loads(shapely.to_geojson(layers.region_outline)), name="Contour de la région",
                       style_function=lambda f: {"color": "#000091", "weight": 4, "fill": False},
                       interactive=False, control=False).add_to(m)

    if show["communes"] and len(layers.communes):
        folium.GeoJson(_features(layers.communes, {"nom": lambda r: esc(r.nom), "code": lambda r: esc(r.code_insee),
                                                    "pop": lambda r: fmt.integer(r.population)}),
                       name="Communes", style_function=lambda f: {"color": "#888", "weight": 0.6, "fill": False},
                       tooltip=folium.GeoJsonTooltip(["nom", "code", "pop"], aliases=["Commune", "Code", "Population"]),
                       ).add_to(m)

    def label(sid):
        return esc(info.loc[sid, "nom"]) if sid in info.index else esc(sid)

    areas = folium.FeatureGroup(name="Aires des facilitateurs", show=True)
    for row in layers.structures.itertuples(index=False):
        if row.geometry is None or shapely.is_empty(row.geometry):
            continue
        sid = row.id_structure
        colour = colours.get(sid, "#777")
        faded = bool(selected) and sid not in selected
        style = {"color": colour, "weight": 4 if sid in selected else 2.5, "fillColor": colour,
                 "fillOpacity": 0.06 if faded else (0.45 if sid in selected else 0.22),
                 "opacity": 0.35 if faded else 1.0}
        feat = {"type": "Feature", "geometry": json.loads(shapely.to_geojson(row.geometry)),
                "properties": {"id_structure": esc(sid), "nom": label(sid),
                               "type": esc(info.loc[sid, "type_structure"]) if sid in info.index else ""}}
        folium.GeoJson(feat, style_function=lambda f, s=style: s,
                       highlight_function=lambda f: {"weight": 5, "fillOpacity": 0.5},
                       tooltip=folium.GeoJsonTooltip(["nom", "type"], aliases=["Structure", "Type"])
                       ).add_to(areas)
    areas.add_to(m)

    if shared is not None and not shapely.is_empty(shared):
        folium.GeoJson(json.loads(shapely.to_geojson(shared)), name="Partie partagée",
                       style_function=lambda f: {"color": "#000000", "weight": 3, "dashArray": "6 4",
                                                 "fillColor": "#000000", "fillOpacity": 0.35}).add_to(m)

    if show["zones_blanches"] and len(layers.blanches):
        blanches = layers.blanches
        folium.GeoJson(_features(blanches, {"nom": lambda r: esc(r.nom), "pop": lambda r: fmt.integer(r.population),
                                             "epci": lambda r: esc(r.epci_nom)}),
                       name="Zones blanches (communes non couvertes)",
                       style_function=lambda f: {"color": "#000000", "weight": 1, "fillColor": BLANCHE,
                                                 "fillOpacity": 0.6},
                       tooltip=folium.GeoJsonTooltip(["nom", "pop", "epci"],
                                                     aliases=["Zone blanche", "Population", "EPCI"])).add_to(m)

    if show["epci"] and len(layers.epci):
        folium.GeoJson(_features(layers.epci, {"nom": lambda r: esc(r.nom)}), name="EPCI",
                       style_function=lambda f: {"color": "#555555", "weight": 1.5, "fill": False,
                                                 "dashArray": "2 4"},
                       tooltip=folium.GeoJsonTooltip(["nom"], aliases=["EPCI"])).add_to(m)

    if show["zones_emploi"]:
        ze_group = folium.FeatureGroup(name="Zones d'emploi", show=True)
        folium.GeoJson(_features(layers.zones_emploi, {"nom": lambda r: esc(r.nom), "code": lambda r: esc(r.code)}),
                       style_function=lambda f: {"color": "#6A3D9A", "weight": 3, "fill": False, "dashArray": "8 6"},
                       tooltip=folium.GeoJsonTooltip(["nom", "code"], aliases=["Zone d'emploi", "Code"])
                       ).add_to(ze_group)
        # names written on the map: a wall screen has no mouse to hover with
        for row in layers.zones_emploi.itertuples(index=False):
            if row.geometry is None or shapely.is_empty(row.geometry):
                continue
            p = shapely.point_on_surface(row.geometry)
            folium.Marker([p.y, p.x], icon=folium.DivIcon(
                html=f'<div class="ze-label">{esc(row.nom)}</div>', icon_size=(160, 24), icon_anchor=(80, 12),
                class_name="ze-label-icon"), interactive=False).add_to(ze_group)
        ze_group.add_to(m)

    if show["qpv"] and len(layers.qpv):  # an empty layer would fail (no field for its tooltip)
        folium.GeoJson(_features(layers.qpv, {"nom": lambda r: esc(r.nom_qp), "code": lambda r: esc(r.code_qp),
                                               "pop": lambda r: fmt.integer(r.population),
                                               "statut": lambda r: esc(r.statut)}),
                       name="Quartiers prioritaires (QPV)",
                       style_function=lambda f: {"color": "#000000", "weight": 2, "fillColor": QPV_COLOURS.get(
                                                     f["properties"]["statut"], "#333"), "fillOpacity": 0.85},
                       tooltip=folium.GeoJsonTooltip(["nom", "code", "pop", "statut"],
                                                     aliases=["QPV", "Code", "Population", "Couverture"])).add_to(m)

    hosts = folium.FeatureGroup(name="Structures porteuses (taille = ETP)", show=True)
    for row in layers.structures.itertuples(index=False):
        sid = row.id_structure
        if sid not in info.index or np.isnan(row.x):
            continue
        s = info.loc[sid]
        etp = float(s["etp"])
        text = (f"<b>{esc(s['nom'])}</b><br>Type : {esc(s['type_structure'])}<br>"
                f"Personnes : {fmt.integer(s['nb_facilitateurs'])} – ETP : {fmt.decimal(etp)}<br>"
                f"Population couverte : {fmt.integer(s.get('population_couverte'))}<br>"
                f"ETP pour 100 000 hab. : {fmt.decimal(s.get('etp_pour_100k_hab'), 2)}")
        marker = folium.CircleMarker([row.y, row.x], radius=6 + 6 * np.sqrt(max(etp, 0)), color="#000000", weight=2,
                                     fill=True, fill_color=colours.get(sid, "#777"), fill_opacity=0.95)
        marker.add_child(SafeTooltip(text)).add_child(SafePopup(text)).add_to(hosts)
    hosts.add_to(m)

    drawn = set(layers.structures["id_structure"])  # only the structures whose area reaches the région
    items = [(colours[s], info.loc[s, "nom"] if s in info.index else s, "fill") for s in colours
             if s in drawn and (not selected or s in selected)]
    if show["zones_blanches"] and len(layers.blanches):
        items.append((BLANCHE, "Zone blanche : commune non couverte", "fill"))
    if show["qpv"] and len(layers.qpv):
        items += [(QPV_COLOURS["couvert"], "QPV couvert", "fill"), (QPV_COLOURS["partiel"], "QPV partiellement couvert",
                                                                    "fill"),
                  (QPV_COLOURS["non couvert"], "QPV non couvert", "fill")]
    if show["zones_emploi"]:
        items.append(("#6A3D9A", "Limite de zone d'emploi", "line"))
    if show["epci"]:
        items.append(("#555555", "Limite d'EPCI", "line"))
    items.append(("#777777", "Structure porteuse (taille selon les ETP)", "dot"))
    Legend("Légende", items, f"Données : {vintage}. Aires superposées : les couleurs se mélangent."
           ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def points_map(bounds, points: pd.DataFrame, colour_of: dict[str, str], labels: dict[str, str],
               outline=None, basemap: bool = False, title: str = "Légende", vintage: str = "") -> folium.Map:
    """Points (``x``, ``y``, ``classe``, ``texte``) coloured by class, e.g. markets by coverage.

    ``texte`` is HTML: the caller escapes the user text in it (``esc``)."""
    m = base_map(bounds, basemap)
    if outline is not None:
        folium.GeoJson(json.loads(shapely.to_geojson(outline)), name="Contour de la région",
                       style_function=lambda f: {"color": "#000091", "weight": 3, "fill": False},
                       interactive=False, control=False).add_to(m)
    for cls, grp in points.groupby("classe"):
        fg = folium.FeatureGroup(name=esc(labels.get(cls, cls)), show=True)
        for row in grp.itertuples(index=False):
            folium.CircleMarker([row.y, row.x], radius=7, color="#000000", weight=1, fill=True,
                                fill_color=colour_of.get(cls, "#777"), fill_opacity=0.9,
                                ).add_child(SafeTooltip(row.texte)).add_to(fg)
        fg.add_to(m)
    Legend(title, [(colour_of[c], labels.get(c, c), "dot") for c in colour_of], f"Données : {vintage}").add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


NO_OUTLINES = ("Le référentiel des communes chargé n'a pas de contours : la carte ne peut pas être dessinée. "
               "Importez les communes avec leurs géométries (GeoJSON, GeoPackage, GeoParquet ou Shapefile zippé) "
               "sur la page « Données ». Les tableaux restent exacts : ils ne dépendent que des codes.")


def show(m: folium.Map, key: str, height: int = 760, returned_objects: list[str] | None = None):
    """Draw with streamlit-folium; by default nothing comes back, so panning never reruns."""
    from streamlit_folium import st_folium

    from components.assets import ensure_leaflet

    ensure_leaflet()
    return st_folium(m, key=key, height=height, use_container_width=True,
                     returned_objects=returned_objects if returned_objects is not None else [])


def clicked_structure(returned) -> str | None:
    """The structure whose area was clicked, from st_folium's ``last_active_drawing``."""
    feature = (returned or {}).get("last_active_drawing") or {}
    sid = (feature.get("properties") or {}).get("id_structure")
    return html.unescape(sid) if sid else None


def dissolve_codes(layers: DisplayLayers, codes: list[str]):
    """The union of some of the région's communes (EPSG:4326), ``None`` when empty."""
    if not codes:
        return None
    part = layers.communes[layers.communes["code_insee"].isin(codes)].geometry.to_numpy()
    part = part[~shapely.is_missing(part)]
    return shapely.union_all(part) if len(part) else None
