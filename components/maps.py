"""Folium maps of the coverage, drawn offline, legible on a wall screen.

Builders return a ``folium.Map`` (testable with ``m.get_root().render()``); ``show`` draws it
with streamlit-folium, always with ``key=`` and ``returned_objects=`` so that panning does not
rerun the script. Every text that comes from a user's file is HTML-escaped before it reaches
a tooltip, a popup or the legend: a name is text, never markup.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

import folium
import numpy as np
import pandas as pd
import shapely
import streamlit as st
from branca.element import Element, MacroElement, Template

from components.assets import LEAFLET_CSS, LEAFLET_JS
from geo.display import TOPOJSON_FEATURE_JS, DisplayLayers, topology_of
from geo.inclusion import ALL_TYPES, TYPE_LABELS
from views import fmt
from views.palette import BLANCHE, INCLUSION_COLOURS, NEEDS_COLOURS, QPV_COLOURS, structure_colours

LOCAL_JS = [("leaflet", LEAFLET_JS)]
LOCAL_CSS = [("leaflet_css", LEAFLET_CSS)]


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _offline(m: folium.Map) -> folium.Map:
    """Leaflet from the machine instead of folium's CDN defaults (no jQuery, no Bootstrap)."""
    m.default_js = LOCAL_JS
    m.default_css = LOCAL_CSS
    return m


class _RawScript(Element):
    """Text for the page as it is. branca turns the output of every element into a Jinja template of
    its own (compiled at each render: most of a région's map build, a megabyte of topology included)."""

    def __init__(self, text: str):
        super().__init__()
        self._text = text

    def render(self, **kwargs) -> str:
        return self._text


class RawRender:
    """For this module's elements: rendered as ``MacroElement.render`` does (header, html and script
    parts to the figure, then the children), without compiling each part again."""

    def render(self, **kwargs) -> None:
        figure = self.get_root()
        module = self._template.module
        for part, target in (("header", figure.header), ("html", figure.html), ("script", figure.script)):
            macro = module.__dict__.get(part)
            if macro is not None:
                target.add_child(_RawScript(macro(self, kwargs)), name=self.get_name())
        for child in self._children.values():
            child.render(**kwargs)


class DeclutterLabels(RawRender, MacroElement):
    """Names written on the map never pile up, nor sit on a host's circle, a quarter's dot or the map's controls,
    nor run off the map's edge: after each zoom or resize, each name (larger zones first, ``data-rank``) is
    written where it is, else just below, above, beside it or pulled inside the frame, where it overlaps nothing
    already there; with no such place it is hidden until there is room for it."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function (map) {
  function declutter() {
    var frame = map.getContainer().getBoundingClientRect(), pad = 4;
    var els = Array.prototype.slice.call(document.querySelectorAll('.ze-label'));
    els.sort(function (a, b) { return (+a.dataset.rank) - (+b.dataset.rank); });
    els.forEach(function (el) { el.style.visibility = 'visible'; el.style.marginLeft = '0px'; el.style.marginTop = '0px'; });
    // the hosts' circles, the quarters' dots and the map's own controls (zoom, scale, credit) are obstacles
    var kept = Array.prototype.slice.call(document.querySelectorAll('.diag-host, .diag-small-shape, .leaflet-control'))
      .map(function (h) { return h.getBoundingClientRect(); });
    function free(r) {
      if (r.left < frame.left + pad || r.right > frame.right - pad || r.top < frame.top + pad ||
          r.bottom > frame.bottom - pad) return false;
      return !kept.some(function (k) {
        return !(r.right + 4 < k.left || r.left - 4 > k.right || r.bottom < k.top || r.top > k.bottom); });
    }
    els.forEach(function (el) {
      var r0 = el.getBoundingClientRect(), w = r0.width, h = r0.height;
      // where it is, then just below, above, right or left of it, then pulled inside the frame's edge
      var moves = [[0, 0], [0, h + 2], [0, -h - 2], [w / 2 + 10, 0], [-w / 2 - 10, 0]];
      var dx = 0, dy = 0;
      if (r0.left < frame.left + pad) dx = frame.left + pad - r0.left;
      else if (r0.right > frame.right - pad) dx = frame.right - pad - r0.right;
      if (r0.top < frame.top + pad) dy = frame.top + pad - r0.top;
      else if (r0.bottom > frame.bottom - pad) dy = frame.bottom - pad - r0.bottom;
      if (dx || dy) moves.push([dx, dy]);
      var placed = moves.some(function (m) {
        var r = {left: r0.left + m[0], right: r0.right + m[0], top: r0.top + m[1], bottom: r0.bottom + m[1]};
        if (!free(r)) return false;
        el.style.marginLeft = m[0] + 'px'; el.style.marginTop = m[1] + 'px';
        kept.push(r);
        return true;
      });
      if (!placed) el.style.visibility = 'hidden';
    });
  }
  // once the map has finished moving and its names have their places (Leaflet places them after the events)
  var pending = null;
  function later() { clearTimeout(pending); pending = setTimeout(function () { requestAnimationFrame(declutter); }, 80); }
  map.on('zoomend moveend resize', later);
  later();
  if (window.ResizeObserver) { new ResizeObserver(later).observe(map.getContainer()); }
  if (document.fonts && document.fonts.ready) { document.fonts.ready.then(later); }  // a name's width
})({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self):
        super().__init__()
        self._name = "DeclutterLabels"


class SmallShapeMarkers(RawRender, MacroElement):
    """A dot for each shape too small to be seen at the map's zoom (a quarter is a few hundred metres: a speck
    on a région's map): at its point, in its colour, with its tooltip; shown while the shape's box is smaller
    than ``min_px`` on the screen, hidden once the shape itself is large enough to read. ``items``: (lat, lng,
    colour, tooltip HTML already escaped, [south, west, north, east])."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function (map) {
  var group = L.layerGroup().addTo(map), items = {{ this.items|tojson }}, minPx = {{ this.min_px }};
  var dots = items.map(function (it) {
    var m = L.circleMarker([it[0], it[1]], {radius: {{ this.radius }}, color: '#000000', weight: 1.5,
      fillColor: it[2], fillOpacity: 0.95, className: 'diag-small-shape'});
    m.bindTooltip(it[3], {sticky: true});
    return m;
  });
  function refresh() {
    dots.forEach(function (m, i) {
      var b = items[i][4], p1 = map.latLngToContainerPoint([b[0], b[1]]), p2 = map.latLngToContainerPoint([b[2], b[3]]);
      var size = Math.max(Math.abs(p2.x - p1.x), Math.abs(p2.y - p1.y));
      if (size < minPx) { if (!group.hasLayer(m)) group.addLayer(m); }
      else if (group.hasLayer(m)) { group.removeLayer(m); }
    });
  }
  map.on('zoomend resize', refresh);
  refresh();
  map.whenReady(refresh);
})({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self, items: list, min_px: int = 16, radius: int = 7):
        super().__init__()
        self._name = "SmallShapeMarkers"
        self.items = items
        self.min_px = int(min_px)
        self.radius = int(radius)


class ZoneLabels(RawRender, MacroElement):
    """Names written on the map (a wall screen has no mouse to hover with), one element for all of them:
    ``labels`` are (lat, lng, name, rank) with the larger zones ranked first (see ``DeclutterLabels``).
    Names are escaped here and passed as JSON strings."""

    _template = Template("""
{% macro script(this, kwargs) %}
{{ this.labels|tojson }}.forEach(function (l) {
  L.marker([l[0], l[1]], {interactive: false, icon: L.divIcon({className: "ze-label-icon", iconSize: [1, 1],
    iconAnchor: [0, 0], html: l[2]})}).addTo({{ this._parent.get_name() }});
});
{% endmacro %}
""")

    def __init__(self, labels: list[tuple[float, float, str, int]]):
        super().__init__()
        self._name = "ZoneLabels"
        self.labels = [[float(lat), float(lng), f'<div class="ze-label" data-rank="{int(rank)}">{esc(name)}</div>']
                       for lat, lng, name, rank in labels]


class MetricScale(RawRender, MacroElement):
    """The scale bar in metres and kilometres only (folium's ``control_scale`` adds miles)."""

    _template = Template("""
{% macro script(this, kwargs) %}
L.control.scale({imperial: false, metric: true, maxWidth: 160}).addTo({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self):
        super().__init__()
        self._name = "MetricScale"


class FitView(RawRender, MacroElement):
    """Fit the map to ``bounds`` ([[south, west], [north, east]]), and again whenever its frame changes
    size (a page laid out for another screen, a window resized, printing): the whole région, or the
    selected areas (``window.__diagFit``, set by :func:`selection_js`), always in view."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function (map) {
  var opts = {paddingTopLeft: [{{ this.padding }}, {{ this.padding }}],
              paddingBottomRight: [{{ this.pad_right }}, {{ this.padding }}], animate: false};
  window.__diagRegion = {{ this.bounds|tojson }};
  window.__diagFit = window.__diagRegion;
  window.__diagFitOpts = opts;
  function fit() {  // a frame not laid out yet (a hidden tab) has no size to fit into
    var size = map.getSize();
    if (size.x > {{ this.padding }} + {{ this.pad_right }} + 20 && size.y > 2 * {{ this.padding }} + 20) {
      map.fitBounds(window.__diagFit, opts);
    }
  }
  window.__diagFitMap = fit;
  fit();
  map.on('resize', fit);
  if (window.matchMedia) {
    window.matchMedia('print').addEventListener('change', function () { map.invalidateSize(false); fit(); });
  }
})({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self, bounds, padding: int = 16, pad_right: int | None = None):
        super().__init__()
        self._name = "FitView"
        self.bounds = [[float(bounds[1]), float(bounds[0])], [float(bounds[3]), float(bounds[2])]]
        self.padding = int(padding)
        self.pad_right = int(padding if pad_right is None else pad_right)


# The map fills its frame, whatever height the page gives the frame (CSS of components.style):
# streamlit-folium sets the map's height in pixels, this makes it follow the frame instead.
FILL_FRAME_CSS = ("<style>html,body{margin:0;padding:0;overflow:hidden;height:100%}"
                  "#map_div{height:100vh !important}"
                  # a click on an area drew the browser's focus box around it (a black rectangle); the
                  # keyboard's focus stays visible
                  ".leaflet-interactive:focus:not(:focus-visible){outline:none}"
                  ".leaflet-container{background:#F6F6F6;font-size:16px}"
                  ".ze-label{position:absolute;left:0;top:0;transform:translate(-50%,-50%);white-space:nowrap;"
                  "font:bold 15px 'Source Sans Pro','DejaVu Sans',Arial,sans-serif;color:#4B2480;"
                  "text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 3px #fff;pointer-events:none}"
                  ".diag-tip th{text-align:left;padding-right:10px;font-weight:600}.diag-tip td{font-weight:400}"
                  ".leaflet-tooltip{font-size:16px}.leaflet-control-layers{font-size:16px}"
                  ".leaflet-control-scale-line{font-size:14px}</style>")


WALL_CSS = "<style>.ze-label{font-size:20px}.leaflet-tooltip{font-size:20px}</style>"
class ForwardKeys(RawRender, MacroElement):
    """In projection mode a click on the map must not take the presenter's keys (arrows, Page Up /
    Page Down): they go on to the page, whose buttons answer them."""

    _template = Template("""
{% macro script(this, kwargs) %}
document.addEventListener('keydown', function (e) {
  if (['ArrowLeft', 'ArrowRight', 'PageUp', 'PageDown'].indexOf(e.key) < 0) return;
  e.preventDefault(); e.stopPropagation();
  try {
    // the page keeps the keys from now on: this map is replaced by the next screen's
    window.parent.focus();
    window.parent.document.dispatchEvent(new KeyboardEvent('keydown', {key: e.key, code: e.code, bubbles: true}));
  } catch (err) { /* a page of another origin: nothing to forward to */ }
}, true);
{% endmacro %}
""")

    def __init__(self):
        super().__init__()
        self._name = "ForwardKeys"


def base_map(bounds, basemap: bool = False, height: str = "100%", fit=None, pad_right: int | None = None,
             wall: bool = False) -> folium.Map:
    """An offline map of ``bounds`` (minx, miny, maxx, maxy in EPSG:4326); ``fit``: other bounds to show
    first (selected areas), the région's by default. ``wall``: the projection mode's map (larger names,
    the arrows and Page Up / Page Down go to the presentation, not to panning)."""
    minx, miny, maxx, maxy = bounds
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=8, tiles=None,
                   control_scale=False, height=height, zoom_snap=0.25, zoom_delta=0.5, keyboard=not wall)
    _offline(m)
    if basemap:
        folium.TileLayer("OpenStreetMap", name="Fond OpenStreetMap", attr="© OpenStreetMap", control=True,
                         overlay=False).add_to(m)
    m.get_root().header.add_child(folium.Element(FILL_FRAME_CSS))
    MetricScale().add_to(m)
    if wall:
        m.get_root().header.add_child(folium.Element(WALL_CSS))
        ForwardKeys().add_to(m)
    FitView(fit if fit is not None else bounds, pad_right=pad_right).add_to(m)
    return m


class SafePopup(RawRender, MacroElement):
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


class SafeTooltip(RawRender, MacroElement):
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


class Legend(RawRender, MacroElement):
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


class SharedTopology(RawRender, MacroElement):
    """The map's polygon layers as one TopoJSON topology (``geo.display.topology_of``), written once in
    the map's own script with its decoder (``TOPOJSON_FEATURE_JS``: streamlit-folium does not run header
    scripts, and nothing comes from a CDN). A border that bounds a commune, its EPCI, its zone d'emploi
    and a facilitator's area is sent once for all of them."""

    _template = Template("""
{% macro script(this, kwargs) %}
{{ this.decoder }}
var {{ this.get_name() }} = {{ this.compact }};
{% endmacro %}
""")

    def __init__(self, topo: dict):
        super().__init__()
        self._name = "SharedTopology"
        self.topo = topo
        self.decoder = TOPOJSON_FEATURE_JS
        self.compact = json.dumps(topo, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")


class TopoLayer(RawRender, folium.TopoJson):
    """One object of the map's :class:`SharedTopology` (or one geometry of it, ``index``) drawn as a
    Leaflet GeoJSON layer: one style for all its features, or a style by the value of a property
    (``style_by``: property name and ``{value: style}``); an optional ``highlight`` on hover that returns to
    the layer's style (the selection's, once ``selection_js`` has set it); a ``tooltip`` of (property,
    label) rows. Properties must already be HTML-escaped text (:func:`esc`): they are written as they are."""

    default_js: list = []
    _template = Template("""
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.geoJson(
    topojson.feature({{ this.shared.get_name() }}, {{ this.selection }}),
    {style: {{ this.style_js }}, interactive: {{ this.interactive_js }}
     {%- if this.highlight or this.tooltip %}, onEachFeature: function (f, layer) {
       {%- if this.highlight %} layer.on({
       mouseover: function (e) { e.target.setStyle({{ this.highlight }}); },
       mouseout: function (e) { {{ this.get_name() }}.resetStyle(e.target); }});{% endif %}
       {%- if this.tooltip %}
       layer.bindTooltip(function () {
         var p = f.properties || {};
         return '<table class="diag-tip">' + {{ this.tooltip }}.map(function (r) {
           return '<tr><th>' + r[1] + '</th><td>' + (p[r[0]] == null ? '' : p[r[0]]) + '</td></tr>'; }).join('') +
           '</table>'; }, {sticky: true});{% endif %} }{% endif %}}
).addTo({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self, shared: SharedTopology, name: str, style: dict, index: int | None = None,
                 style_by: tuple[str, dict] | None = None, highlight: dict | None = None,
                 interactive: bool = True, tooltip: list[tuple[str, str]] | None = None,
                 layer_name: str | None = None):
        super().__init__(shared.topo, f"objects.{name}", name=layer_name or name)
        self.shared = shared
        path = f"{shared.get_name()}.objects[{json.dumps(name)}]"
        self.selection = (path if index is None else
                          f'{{type: "GeometryCollection", geometries: [{path}.geometries[{int(index)}]]}}')
        if style_by is None:
            self.style_js = json.dumps(style)
        else:
            prop, styles = style_by
            self.style_js = (f"function (f) {{ var s = {json.dumps(styles)}[f.properties[{json.dumps(prop)}]]; "
                             f"return s || {json.dumps(style)}; }}")
        self.highlight = json.dumps(highlight) if highlight else None
        self.interactive_js = "true" if interactive else "false"
        self.tooltip = (json.dumps([[field, esc(label)] for field, label in tooltip]).replace("</", "<\\/")
                        if tooltip else None)

    def style_data(self) -> None:  # styles are given to L.geoJson, never copied into every feature
        pass

    def get_bounds(self):
        """The topology's box ([[south, west], [north, east]]), not a walk through every arc."""
        x0, y0, x1, y1 = self.shared.topo.get("bbox", (None,) * 4)
        return [[y0, x0], [y1, x1]]


class InclusionMarkers(RawRender, MacroElement):
    """The inclusion structures (SIAE, GEIQ, EA/EATT, ESAT): at the zoom the map opens at (fitted to the
    région), grouped on a grid of ``cell`` pixels, one circle with the number of structures per cell; zoomed
    in by ``step`` levels or more, a dot per place coloured by type. A click opens the cards of the structures
    there. Plain Leaflet (folium's MarkerCluster plugin loads its script from a CDN): the data once, as JSON,
    every text already escaped; the groups and the cards are made by the browser."""

    _template = Template("""
{% macro script(this, kwargs) %}
(function (map) {
  var d = {{ this.data|tojson }}, grouped = L.layerGroup(), single = L.layerGroup(), cell = {{ this.cell }};
  function cards(ids) {
    var shown = ids.slice(0, 15).map(function (i) {
      var s = d.s[i];
      return '<div class="diag-inc-card"><b>' + s[3] + '</b><br>' + d.labels[s[2]] +
        (s[4] ? '<br>SIRET : ' + s[4] : '') + (s[5] ? '<br>' + s[5] : '') + (s[6] ? '<br>Secteurs : ' + s[6] : '') +
        '</div>';
    });
    var more = ids.length > 15 ? '<div>… et ' + (ids.length - 15) + ' autres (tableaux de la page « Besoins et ' +
      'moyens »)</div>' : '';
    return '<div class="diag-inc-cards">' + shown.join('') + more + '</div>';
  }
  function colour(ids) {
    var first = d.s[ids[0]][2];
    return ids.every(function (i) { return d.s[i][2] === first; }) ? d.colours[first] : '#000091';
  }
  function group(z) {  // one circle per cell of the grid at zoom z, at the mean position of its structures
    grouped.clearLayers();
    var cells = {};
    d.s.forEach(function (s, i) {
      var p = map.project([s[0], s[1]], z), key = Math.floor(p.x / cell) + ':' + Math.floor(p.y / cell);
      (cells[key] = cells[key] || []).push(i);
    });
    Object.keys(cells).forEach(function (key) {
      var ids = cells[key], lat = 0, lng = 0;
      ids.forEach(function (i) { lat += d.s[i][0]; lng += d.s[i][1]; });
      var n = ids.length, words = n > 1 ? ' structures' : ' structure';
      L.marker([lat / n, lng / n], {title: n + words, icon: L.divIcon({className: 'diag-inc-group',
        html: '<div class="diag-inc-n" style="background:' + colour(ids) + '">' + n + '</div>',
        iconSize: [30, 30], iconAnchor: [15, 15]})})
        .bindPopup(function () { return '<b>' + n + words + '</b>' + cards(ids); }, {maxWidth: 360, maxHeight: 320})
        .addTo(grouped);
    });
  }
  d.p.forEach(function (p) {
    L.circleMarker([p[0], p[1]], {radius: 7, color: '#000', weight: 1, fillColor: colour(p[2]), fillOpacity: 0.95})
      .bindPopup(function () { return cards(p[2]); }, {maxWidth: 360, maxHeight: 320}).addTo(single);
  });
  var z0 = null;
  function update() {
    if (z0 === null) return;
    var detail = map.getZoom() >= z0 + {{ this.step }};
    if (detail) { map.removeLayer(grouped); single.addTo(map); } else { map.removeLayer(single); grouped.addTo(map); }
  }
  // the zoom the map opens at (fitted to the région, again when its frame is resized): the grid's
  function opened() { setTimeout(function () { z0 = map.getZoom(); group(z0); update(); }, 0); }
  map.whenReady(opened);
  map.on('resize', opened);
  map.on('zoomend', update);
})({{ this._parent.get_name() }});
{% endmacro %}
""")

    def __init__(self, data: dict, step: float = 1.5, cell: int = 44):
        super().__init__()
        self._name = "InclusionMarkers"
        self.data = data
        self.step = float(step)
        self.cell = int(cell)


INCLUSION_CSS = ("<style>.diag-inc-group .diag-inc-n{width:30px;height:30px;border-radius:50%;border:2px solid #fff;"
                 "box-shadow:0 0 0 1.5px #000;color:#fff;font:bold 14px 'Source Sans Pro','DejaVu Sans',Arial,"
                 "sans-serif;display:flex;align-items:center;justify-content:center}"
                 ".diag-inc-card{padding:4px 0;border-bottom:1px solid #ddd}</style>")


def inclusion_data(points: pd.DataFrame) -> dict:
    """What :class:`InclusionMarkers` draws from the located structures (``x``, ``y`` in EPSG:4326, ``type``,
    ``nom``, ``siret``, ``adresse``, ``secteurs``): the structures once, and the places (structures at the
    same point), each naming its structures by their rank; the colours and French names of the types."""
    types = list(ALL_TYPES)
    pos = {t: i for i, t in enumerate(types)}
    pts = points.reset_index(drop=True)
    s = [[round(float(r.y), 5), round(float(r.x), 5), pos.get(r.type, len(types) - 1), esc(r.nom), esc(r.siret),
          esc(r.adresse), esc(r.secteurs)] for r in pts.itertuples(index=False)]
    places = [[round(float(grp["y"].iloc[0]), 5), round(float(grp["x"].iloc[0]), 5), grp.index.tolist()]
              for _, grp in pts.groupby([pts["y"].round(5), pts["x"].round(5)], sort=True)]
    return {"s": s, "p": places, "labels": [esc(TYPE_LABELS[t]) for t in types],
            "colours": [INCLUSION_COLOURS[t] for t in types]}


def inclusion_legend(points: pd.DataFrame | None, unlocated: int = 0, short: bool = False) -> list[tuple[str, str, str]]:
    """The legend's items of the inclusion layer: one per type present, and the grouped circles."""
    if points is None:
        return []
    present = set(points["type"])
    items = [(INCLUSION_COLOURS[t], t if short else TYPE_LABELS[t], "dot") for t in ALL_TYPES if t in present]
    items.append(("#000091", "Plusieurs types (cercle : nombre de structures proches)", "dot"))
    return items


def needs_map(layers: DisplayLayers, ze: pd.DataFrame, basemap: bool = False) -> folium.Map:
    """The zones d'emploi coloured by social markets per ETP present (``ze``: ``code``, ``classe``, ``nom``,
    ``texte`` already in French), the région's outline above them; the legend is drawn by the page."""
    m = base_map(layers.bounds, basemap)
    z = layers.zones_emploi
    info = ze.set_index("code")
    props = [{"nom": esc(n), "classe": str(info.loc[c, "classe"]) if c in info.index else "sans_etp",
              "texte": esc(info.loc[c, "texte"]) if c in info.index else "–"} for n, c in zip(z["nom"], z["code"])]
    objects = {"zones": (z.geometry.to_numpy(), props)}
    if layers.region_outline is not None:
        objects["region"] = ([layers.region_outline], None)
    topo = SharedTopology(topology_of(objects))
    topo.add_to(m)
    base = {"color": "#555555", "weight": 1.5, "fillOpacity": 0.75, "fillColor": NEEDS_COLOURS["sans_etp"]}
    TopoLayer(topo, "zones", base, style_by=("classe", {k: {**base, "fillColor": v} for k, v in NEEDS_COLOURS.items()}),
              highlight={"weight": 3}, tooltip=[("nom", "Zone d'emploi"), ("texte", "Marchés sociaux par ETP")],
              layer_name="Zones d'emploi").add_to(m)
    if "region" in objects:
        TopoLayer(topo, "region", {"color": "#000091", "weight": 4, "fill": False}, interactive=False,
                  layer_name="Contour de la région").add_to(m)
    return m


QPV_MIN_PX = 16  # a quarter drawn smaller than this on the screen gets a dot


def qpv_dots(qpv, radius: int = 6) -> SmallShapeMarkers | None:
    """The dots that stand for the quarters too small to be seen at the map's zoom, in their status's colour."""
    items = []
    for row in qpv.itertuples(index=False):
        g = row.geometry
        if g is None or shapely.is_empty(g):
            continue
        p = shapely.point_on_surface(g)
        x0, y0, x1, y1 = shapely.bounds(g)
        tip = (f'<table class="diag-tip"><tr><th>QPV</th><td>{esc(row.nom_qp)}</td></tr>'
               f'<tr><th>Code</th><td>{esc(row.code_qp)}</td></tr>'
               f'<tr><th>Population</th><td>{fmt.integer(row.population)}</td></tr>'
               f'<tr><th>Couverture</th><td>{esc(row.statut)}</td></tr></table>')
        items.append([float(p.y), float(p.x), QPV_COLOURS.get(row.statut, "#333"), tip,
                      [float(y0), float(x0), float(y1), float(x1)]])
    return SmallShapeMarkers(items, QPV_MIN_PX, radius) if items else None


def coverage_map(layers: DisplayLayers, structures: pd.DataFrame, colours: dict[str, str],
                 selected: list[str] | None = None, show: dict[str, bool] | None = None,
                 vintage: str = "", basemap: bool = False, shared=None, fit_selected: bool = False,
                 legend_inside: bool = False, wall: bool = False, inclusion: pd.DataFrame | None = None
                 ) -> folium.Map:
    """The coverage map: région outline, structure areas, hosts, zones blanches, QPV, ZE, EPCI.

    ``show`` switches optional layers on: ``zones_blanches``, ``qpv``, ``zones_emploi``, ``epci``,
    ``communes``. ``selected`` structures are highlighted (others fade); with ``fit_selected`` the map
    opens on their areas instead of the whole région. ``shared`` (a geometry in EPSG:4326) draws the
    part two selected areas share.

    The layers are chosen by the page (one set of controls: no layer panel in the map) and the legend
    is drawn by the page beside the map (:func:`legend_items`, :func:`legend_html`), where it never
    hides the région; ``legend_inside`` draws it in the map instead (a map shown alone).
    """
    show = {**DEFAULT_LAYERS, **(show or {})}
    selected = [s for s in (selected or []) if s in colours]
    fit = selected_bounds(layers, selected) if fit_selected else None
    m = base_map(layers.bounds, basemap, fit=fit, wall=wall)
    info = structures.set_index(structures["id_structure"].astype(str))

    def label(sid):
        return esc(info.loc[sid, "nom"]) if sid in info.index else esc(sid)

    # every polygon layer shown, as one topology: a border shared by several layers is sent once
    objects: dict[str, tuple] = {}
    if layers.region_outline is not None:
        objects["region"] = ([layers.region_outline], None)
    if show["communes"] and len(layers.communes):
        com = layers.communes
        objects["communes"] = (com.geometry.to_numpy(), [
            {"nom": esc(n), "code": esc(c), "pop": fmt.integer(p)}
            for n, c, p in zip(com["nom"], com["code_insee"], com["population"])])
    drawn_areas = [row for row in layers.structures.itertuples(index=False)
                   if row.geometry is not None and not shapely.is_empty(row.geometry)]
    objects["aires"] = ([row.geometry for row in drawn_areas], [
        {"id_structure": esc(row.id_structure), "nom": label(row.id_structure),
         "type": esc(info.loc[row.id_structure, "type_structure"]) if row.id_structure in info.index else ""}
        for row in drawn_areas])
    blanches = layers.blanches if show["zones_blanches"] and layers.blanches is not None else None
    if blanches is not None and len(blanches):
        objects["blanches"] = (blanches.geometry.to_numpy(), [
            {"nom": esc(n), "pop": fmt.integer(p), "epci": esc(e)}
            for n, p, e in zip(blanches["nom"], blanches["population"], blanches["epci_nom"])])
    if show["epci"] and len(layers.epci):
        objects["epci"] = (layers.epci.geometry.to_numpy(), [{"nom": esc(n)} for n in layers.epci["nom"]])
    if show["zones_emploi"] and len(layers.zones_emploi):
        ze = layers.zones_emploi
        objects["zones_emploi"] = (ze.geometry.to_numpy(), [{"nom": esc(n), "code": esc(c)}
                                                            for n, c in zip(ze["nom"], ze["code"])])
    if show["qpv"] and len(layers.qpv):  # an empty layer would fail (no field for its tooltip)
        qpv = layers.qpv
        objects["qpv"] = (qpv.geometry.to_numpy(), [
            {"nom": esc(n), "code": esc(c), "pop": fmt.integer(p), "statut": esc(s)}
            for n, c, p, s in zip(qpv["nom_qp"], qpv["code_qp"], qpv["population"], qpv["statut"])])
    topo = SharedTopology(topology_of(objects))
    topo.add_to(m)

    if "region" in objects:
        TopoLayer(topo, "region", {"color": "#000091", "weight": 4, "fill": False}, interactive=False,
                  layer_name="Contour de la région").add_to(m)

    if "communes" in objects:
        TopoLayer(topo, "communes", {"color": "#888", "weight": 0.6, "fill": False}, layer_name="Communes",
                  tooltip=[("nom", "Commune"), ("code", "Code"), ("pop", "Population")],
                  ).add_to(m)

    areas = folium.FeatureGroup(name="Aires des facilitateurs", show=True)
    for i, row in enumerate(drawn_areas):
        sid = row.id_structure
        colour = colours.get(sid, "#777")
        faded = bool(selected) and sid not in selected
        style = {"color": colour, "weight": 4 if sid in selected else 2.5, "fillColor": colour,
                 "fillOpacity": 0.06 if faded else (0.45 if sid in selected else 0.22),
                 "opacity": 0.35 if faded else 1.0}
        TopoLayer(topo, "aires", style, index=i, highlight={"weight": 5, "fillOpacity": 0.5},
                  tooltip=[("nom", "Structure"), ("type", "Type")]).add_to(areas)
    areas.add_to(m)

    if shared is not None and not shapely.is_empty(shared):
        folium.GeoJson(json.loads(shapely.to_geojson(shared)), name="Partie partagée",
                       style_function=lambda f: {"color": "#000000", "weight": 3, "dashArray": "6 4",
                                                 "fillColor": "#000000", "fillOpacity": 0.35}).add_to(m)

    if "blanches" in objects:
        TopoLayer(topo, "blanches", {"color": "#000000", "weight": 1, "fillColor": BLANCHE, "fillOpacity": 0.6},
                  layer_name="Zones blanches (communes non couvertes)",
                  tooltip=[("nom", "Zone blanche"), ("pop", "Population"), ("epci", "EPCI")],
                  ).add_to(m)

    if "epci" in objects:
        TopoLayer(topo, "epci", {"color": "#555555", "weight": 1.5, "fill": False, "dashArray": "2 4"},
                  layer_name="EPCI", tooltip=[("nom", "EPCI")]).add_to(m)

    if show["zones_emploi"]:
        ze_group = folium.FeatureGroup(name="Zones d'emploi", show=True)
        if "zones_emploi" in objects:
            TopoLayer(topo, "zones_emploi", {"color": "#6A3D9A", "weight": 3, "fill": False, "dashArray": "8 6"},
                      tooltip=[("nom", "Zone d'emploi"), ("code", "Code")]
                      ).add_to(ze_group)
        # names written on the map: a wall screen has no mouse to hover with; the larger zones' names
        # first, a name that would overlap one already written is hidden (DeclutterLabels)
        ze = layers.zones_emploi
        geoms = ze.geometry.to_numpy() if len(ze) else np.array([], dtype=object)
        present = ~shapely.is_missing(geoms) if len(geoms) else np.zeros(0, bool)
        area = np.where(present, shapely.area(np.where(present, geoms, None)), 0.0) if len(geoms) else geoms
        labels = []
        for rank, i in enumerate(np.argsort(-np.asarray(area, dtype=float), kind="stable")):
            row = ze.iloc[int(i)]
            if row.geometry is None or shapely.is_empty(row.geometry):
                continue
            p = shapely.point_on_surface(row.geometry)
            labels.append((p.y, p.x, row.nom, rank))
        ZoneLabels(labels).add_to(ze_group)
        ze_group.add_to(m)
        DeclutterLabels().add_to(m)

    dots = None
    if "qpv" in objects:
        TopoLayer(topo, "qpv", {"color": "#000000", "weight": 2, "fillColor": "#333", "fillOpacity": 0.85},
                  style_by=("statut", {k: {"color": "#000000", "weight": 2, "fillColor": v, "fillOpacity": 0.85}
                                       for k, v in QPV_COLOURS.items()}),
                  layer_name="Quartiers prioritaires (QPV)",
                  tooltip=[("nom", "QPV"), ("code", "Code"), ("pop", "Population"), ("statut", "Couverture")]).add_to(m)
        # a quarter is a few pixels on a région's map: a dot of its colour stands for it until it can be seen
        dots = qpv_dots(layers.qpv, radius=8 if wall else 6)
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
                                     fill=True, fill_color=colours.get(sid, "#777"), fill_opacity=0.95,
                                     class_name="diag-host")
        marker.add_child(SafeTooltip(text)).add_child(SafePopup(text)).add_to(hosts)
    hosts.add_to(m)
    if dots is not None:
        dots.add_to(m)  # above the hosts: the quarters are this screen's message
    if show.get("inclusion") and inclusion is not None and len(inclusion):
        m.get_root().header.add_child(folium.Element(INCLUSION_CSS))
        InclusionMarkers(inclusion_data(inclusion)).add_to(m)

    if legend_inside:
        items, note = legend_items(layers, structures, colours, selected, show, vintage, shared)
        Legend("Légende", items, note).add_to(m)
    return m


DEFAULT_LAYERS = {"zones_blanches": True, "qpv": True, "zones_emploi": True, "epci": False, "communes": False,
                  "inclusion": False}
LAYER_LABELS = {"zones_blanches": "Zones blanches", "qpv": "QPV par couverture", "zones_emploi": "Zones d'emploi",
                "epci": "EPCI", "communes": "Communes", "inclusion": "Structures d'insertion"}


def legend_items(layers: DisplayLayers, structures: pd.DataFrame, colours: dict[str, str],
                 selected: list[str] | None = None, show: dict[str, bool] | None = None, vintage: str = "",
                 shared=None, one_per_structure: bool = True, areas: bool = True, short: bool = False,
                 inclusion: pd.DataFrame | None = None) -> tuple[list[tuple[str, str, str]], str]:
    """What the coverage map shows, as (colour, label, kind) items and a footnote; kind is ``fill``,
    ``line`` or ``dot``. With ``one_per_structure=False`` the areas are one item (a wall screen with
    many structures); without ``areas`` they are left out (cards beside the map show their colours);
    ``short`` labels for a wall, where they are written large."""
    show = {**DEFAULT_LAYERS, **(show or {})}
    selected = [s for s in (selected or []) if s in colours]
    info = structures.set_index(structures["id_structure"].astype(str))
    drawn = set(layers.structures["id_structure"])  # only the structures whose area reaches the région
    shown = [s for s in colours if s in drawn and (not selected or s in selected)]
    if not areas:
        items = []
    elif one_per_structure:
        items = [(colours[s], info.loc[s, "nom"] if s in info.index else s, "fill") for s in shown]
    else:
        items = [(colours[s], "", "fill") for s in shown[:6]]
        items = [("multi:" + ",".join(c for c, _, _ in items), "Aire d'un facilitateur" if short else
                  "Aire d'un facilitateur (une couleur par structure)", "fill")] if items else []
    if shared is not None and not shapely.is_empty(shared):
        items.append(("#000000", "Partie partagée (en noir, contour tireté)", "fill"))
    if show["zones_blanches"] and layers.blanches is not None and len(layers.blanches):
        items.append((BLANCHE, "Zone blanche (non couverte)" if short else "Zone blanche : commune non couverte",
                      "fill"))
    if show["qpv"] and len(layers.qpv):
        items += [(QPV_COLOURS["couvert"], "QPV couvert", "fill"),
                  (QPV_COLOURS["partiel"], "QPV partiellement couvert", "fill"),
                  (QPV_COLOURS["non couvert"], "QPV non couvert", "fill")]
    if show["zones_emploi"] and len(layers.zones_emploi):
        items.append(("#6A3D9A", "Limite de zone d'emploi", "line"))
    if show["epci"] and len(layers.epci):
        items.append(("#555555", "Limite d'EPCI", "line"))
    if shown and areas:
        items.append(("#777777", "Structure porteuse (taille : ETP)" if short else
                      "Structure porteuse (taille selon les ETP)", "dot"))
    if show.get("inclusion") and inclusion is not None:
        items += inclusion_legend(inclusion, short=short)
    note = (f"Données : {vintage}. " if vintage else "") + ("Aires superposées : les couleurs se mélangent. "
                                                             if len(shown) > 1 else "")
    if show["qpv"] and len(layers.qpv):  # the dots of SmallShapeMarkers
        note += "Un QPV trop petit pour être vu à cette échelle est marqué d'un point de sa couleur."
    return items, note.strip()


def legend_html(items: list[tuple[str, str, str]], note: str = "", title: str | None = "Légende",
                columns: bool = False, css_class: str = "") -> str:
    """The legend as HTML for the page (``st.html``), outside the map; every label is escaped."""
    rows = []
    for colour, label, kind in items:
        if colour.startswith("multi:"):
            cols = colour[len("multi:"):].split(",")
            stops = ",".join(f"{c} {100 * i / len(cols):.0f}% {100 * (i + 1) / len(cols):.0f}%"
                             for i, c in enumerate(cols))
            style = f"background:linear-gradient(90deg,{stops});opacity:.8"
        elif kind == "line":
            style = f"border-top-color:{esc(colour)}"
        else:
            style = f"background:{esc(colour)}" + (";opacity:.8" if kind == "fill" else "")
        rows.append(f'<div class="diag-legend-item"><span class="diag-swatch {esc(kind)}" style="{style}"></span>'
                    f"<span>{esc(label)}</span></div>")
    classes = " ".join(c for c in ("diag-legend", "columns" if columns else "", css_class) if c)
    head = f'<div class="diag-legend-title">{esc(title)}</div>' if title else ""
    return (f'<div class="{classes}" role="group" aria-label="{esc(title or "Légende")}">'
            f'{head}<div class="diag-legend-items">{"".join(rows)}</div>'
            + (f'<div class="diag-legend-note">{esc(note)}</div>' if note else "") + "</div>")


def selected_bounds(layers: DisplayLayers, selected: list[str]):
    """The bounds (minx, miny, maxx, maxy) of the selected structures' areas, ``None`` without any."""
    if not selected or not len(layers.structures):
        return None
    geoms = layers.structures.loc[layers.structures["id_structure"].isin(selected), "geometry"].to_numpy()
    geoms = geoms[~shapely.is_missing(geoms)] if len(geoms) else geoms
    if not len(geoms):
        return None
    b = shapely.total_bounds(geoms)
    return None if np.isnan(b).any() else tuple(float(v) for v in b)


SELECTION_JS = """
(function (map) {
  if (!map) return;
  var sel = %(ids)s;
  map.eachLayer(function (l) {
    if (!(l instanceof L.GeoJSON)) return;
    var sid = null;
    l.eachLayer(function (f) {
      var p = f.feature && f.feature.properties;
      if (p && p.id_structure !== undefined) sid = p.id_structure;
    });
    if (sid === null) return;
    if (!l.__diagBase) l.__diagBase = l.options.style;
    var base = l.__diagBase, on = sel.indexOf(sid) >= 0, any = sel.length > 0;
    l.options.style = function (f) {
      var s = Object.assign({}, typeof base === 'function' ? base(f) : (base || {}));
      if (any && on) { s.weight = 4; s.fillOpacity = 0.45; s.opacity = 1; }
      else if (any) { s.fillOpacity = 0.06; s.opacity = 0.35; }
      return s;
    };
    l.setStyle(l.options.style);
  });
  window.__diagFit = %(fit)s || window.__diagRegion;
  if (window.__diagFit && window.__diagFitMap) window.__diagFitMap();
})(window.map);
"""


def selection_js(layers: DisplayLayers, selected: list[str]) -> str:
    """What changes with the selection, as a script for the map already in the browser: the selected
    areas highlighted, the others faded, the view fitted to them (the whole région without any).

    No geometry and no new map: the map's own script, hence its frame, stays the same, so a click on
    an area opens its card at once. The areas' style function is wrapped, so that the hover highlight
    returns to the selection's style."""
    fit = selected_bounds(layers, selected)
    fit_js = "null" if fit is None else json.dumps([[fit[1], fit[0]], [fit[3], fit[2]]])
    return SELECTION_JS % {"ids": json.dumps([esc(i) for i in selected]), "fit": fit_js}


def points_map(bounds, points: pd.DataFrame, colour_of: dict[str, str], labels: dict[str, str],
               outline=None, basemap: bool = False, title: str = "Légende", vintage: str = "",
               legend_inside: bool = False) -> folium.Map:
    """Points (``x``, ``y``, ``classe``, ``texte``) coloured by class, e.g. markets by coverage.

    ``texte`` is HTML: the caller escapes the user text in it (``esc``). The legend is the page's, beside the
    map (:func:`points_legend`), where it never covers the région nor its points; ``legend_inside`` draws it in
    the map instead (a map shown alone)."""
    m = base_map(bounds, basemap, pad_right=300 if legend_inside else None)
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
    if legend_inside:
        Legend(title, [(colour_of[c], labels.get(c, c), "dot") for c in colour_of], f"Données : {vintage}").add_to(m)
    return m


def points_legend(colour_of: dict[str, str], labels: dict[str, str], vintage: str = "",
                  title: str | None = "Légende") -> str:
    """The legend of :func:`points_map`, for the page beside the map."""
    return legend_html([(colour_of[c], labels.get(c, c), "dot") for c in colour_of],
                       f"Données : {vintage}" if vintage else "", title=title)


@dataclass(frozen=True)
class MapParts:
    """What streamlit-folium sends to the browser for a map, computed once per map and kept."""

    script: str
    header: str
    html: str
    map_id: str
    css_links: tuple
    js_links: tuple
    defaults: str  # JSON
    hash_key: str


def _parts(m: folium.Map, widget_key: str, returned_objects: tuple) -> MapParts:
    """As ``streamlit_folium.st_folium`` prepares a map (0.27.4): rendered scripts, links and the
    component's key (a hash of the script: the same map keeps its frame from one run to the next)."""
    import streamlit_folium as sf

    m.get_root().render()
    m.render()
    html_text = sf._get_html(m)
    header = sf._get_header(m)
    script = sf._get_map_string(m)
    css, js = [], []

    def walk(el):
        yield el
        for child in getattr(el, "_children", {}).values():
            yield from walk(child)

    for el in walk(m):
        css.extend(href for _, href in getattr(el, "default_css", []) or [])
        js.extend(src for _, src in getattr(el, "default_js", []) or [])
    s_ = w_ = n_ = e_ = None
    if "bounds" in returned_objects:  # folium walks every coordinate of the map for it
        try:
            (s_, w_), (n_, e_) = m.get_bounds()
        except (AttributeError, TypeError, ValueError):
            pass
    defaults = {"last_clicked": None, "last_object_clicked": None, "last_object_clicked_tooltip": None,
                "last_active_drawing": None,
                "bounds": {"_southWest": {"lat": s_, "lng": w_}, "_northEast": {"lat": n_, "lng": e_}},
                "zoom": m.options.get("zoom") if hasattr(m, "options") else {}}
    defaults = {k: v for k, v in defaults.items() if k in returned_objects}
    return MapParts(script, header, html_text, sf.get_full_id(m), tuple(dict.fromkeys(css)), tuple(dict.fromkeys(js)),
                    json.dumps(defaults), sf.generate_js_hash(script, widget_key, False))


@st.cache_resource(max_entries=24, show_spinner="Préparation de la carte…")
def _cached_parts(cache_key: str, widget_key: str, returned_objects: tuple, _build) -> MapParts:
    return _parts(_build(), widget_key, returned_objects)


# The coverage map page at 1280×720 with the side panel open: the main column's width and the map's height
# (``.st-key-carte-zone`` in components.style), in pixels; the map takes the width the région needs at that
# height, within these shares of the column, the legend and the card the rest
PAGE_WIDTH_PX, MAP_HEIGHT_PX, FIT_PADDING_PX = 896, 504, 32
MAP_SHARE = (0.5, 0.72)


def mercator_aspect(bounds) -> float:
    """Width over height of ``bounds`` (minx, miny, maxx, maxy in degrees) as a web map draws them."""
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    y = lambda lat: np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))  # noqa: E731
    height = y(maxy) - y(miny)
    return float(np.radians(maxx - minx) / height) if height > 0 else 1.0


def map_share(bounds) -> float:
    """The share of the page's width the coverage map takes: as wide as the région drawn at the map's height
    (a tall région left half of a wide map empty), the rest for its legend and a structure's card."""
    need = mercator_aspect(bounds) * (MAP_HEIGHT_PX - FIT_PADDING_PX) + FIT_PADDING_PX
    lo, hi = MAP_SHARE
    return float(min(max(need / PAGE_WIDTH_PX, lo), hi))


CARTE_KEY = "carte.map"  # the coverage map page's widget, and what a click on it sends back
CARTE_RETURNED = ("last_active_drawing",)


def carte_default_layers(territory_only: bool) -> list[str]:
    """The layers the coverage map page opens with; before the facilitators are imported (the
    territory alone), the communes instead of the zones blanches (everything would be one)."""
    out = [k for k in LAYER_LABELS if DEFAULT_LAYERS[k] and not (territory_only and k == "zones_blanches")]
    return out + (["communes"] if territory_only else [])


def map_key(page: str, stamp: str, region: str, show: dict[str, bool] | None = None, basemap: bool = False,
            screen: int | None = None) -> str:
    """The cache key of a page's map (``show``: the layers it draws), the same for every session and for
    ``components.warmup`` (which draws the usual maps before anybody asks)."""
    layers = ",".join(k for k in LAYER_LABELS if (show or {}).get(k))
    return "|".join(str(p) for p in (page, screen if screen is not None else "", stamp, region, layers, basemap))


def cached_parts(cache_key: str, widget_key: str, returned_objects: tuple, build) -> MapParts:
    """The map of ``cache_key``, built and rendered once (see :func:`show`)."""
    return _cached_parts(cache_key, widget_key, tuple(returned_objects), build)


FEATURE_GROUP_JS = """
var feature_group_feature_group_0 = L.featureGroup({});
map_div.addLayer(feature_group_feature_group_0);
window.feature_group = window.feature_group || [];
window.feature_group.push(feature_group_feature_group_0);
%s
"""


def _ensure_registered(component) -> None:
    """Register streamlit-folium's component with the server when it is not yet.

    ``declare_component`` registers a component only when its module is imported inside a session;
    imported first by a thread without one (``components.warmup`` rendering maps at start), it is
    never registered, and the browser gets a 404 for the map's frame: every map stays blank."""
    from streamlit import runtime

    if runtime.exists():
        registry = runtime.get_instance().component_registry
        if registry.get_component(component.name) is None:
            registry.register_component(component)


def show(m: folium.Map | None, key: str, height: int = 760, returned_objects: list[str] | None = None,
         selection: str | None = None, on_change=None, cache_key: str | None = None, build=None):
    """Draw a map with streamlit-folium's component; by default nothing comes back, so panning never
    reruns.

    With ``cache_key`` and ``build`` (a function returning the map), the map is built and rendered
    once for that key and kept (a région's map weighs a megabyte: rendering it again at every click
    took seconds); ``m`` is then ignored. ``selection`` (:func:`selection_js`) is applied to the map
    already in the browser without drawing it again. The frame's height follows the page's CSS when
    the map sits in a keyed container (components.style); ``height`` is the fallback.
    """
    import streamlit_folium as sf

    from components.assets import ensure_leaflet

    ensure_leaflet()
    _ensure_registered(sf._component_func)
    returned = tuple(returned_objects or ())
    parts = (_cached_parts(cache_key, key, returned, build) if cache_key is not None
             else _parts(m, key, returned))

    def _on_change():
        st.session_state[key] = st.session_state.get(parts.hash_key, {})
        if on_change is not None:
            on_change()

    return sf._component_func(
        script=parts.script, header=parts.header, html=parts.html, id=parts.map_id, key=parts.hash_key,
        height=height, width=None, returned_objects=list(returned), default=json.loads(parts.defaults), zoom=None,
        center=None, feature_group=FEATURE_GROUP_JS % (selection or ""), return_on_hover=False, layer_control=None,
        pixelated=False, css_links=list(parts.css_links), js_links=list(parts.js_links), on_change=_on_change,
        wrap_longitude=False)


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
