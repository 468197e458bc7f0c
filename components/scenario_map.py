"""The maps of the Scénarios page and of the « Proposition » screen: the région's communes drawn once, painted by
a small script as the scenario changes.

A région's communes weigh about a megabyte once drawn: the map itself (outline, communes, EPCI borders) is built
and rendered once per workspace version and région (``components.maps.show`` with a cache key), and what changes
with each edit — which commune is in the selected structure's area, which is a zone blanche, which gains or loses
its coverage, which market becomes covered by one structure — is a script applied to the map already in the browser
(:func:`paint_js`, streamlit-folium's feature-group channel): no new frame, no wait, and a click on a commune answers
at once. Every text from a user's file is escaped (``components.maps.esc``).
"""

from __future__ import annotations

import html
import json

import folium
import numpy as np

from components.maps import SharedTopology, TopoLayer, base_map, esc
from geo.display import DisplayLayers, topology_of
from views import fmt
from views.palette import BLANCHE
from views.proposition import CHANGE_COLOURS, CHANGE_LEGEND

RETURNED = ("last_active_drawing", "last_clicked")
AREA_OPACITY = 0.55
OTHER_COLOUR = "#8FA3BF"  # communes covered by another structure than the one being edited
MARKET_COLOUR = "#0072B2"
COVERED_AFTER = "#9DB7D5"

PAINT_JS = """
(function (map) {
  if (!map) return;
  var paint = %(paint)s;
  function style(f) {
    var c = paint.fill[f.properties.code];
    if (!c) return {color: '#8a8a8a', weight: 0.5, fillOpacity: 0, fill: true};
    return {color: c[2] || '#8a8a8a', weight: c[2] ? 1.2 : 0.5, fillColor: c[0], fillOpacity: c[1], fill: true};
  }
  map.eachLayer(function (l) {
    if (!(l instanceof L.GeoJSON)) return;
    if (l.__diagCommunes === undefined) {
      var found = false;
      l.eachLayer(function (f) { var p = f.feature && f.feature.properties; if (p && p.kind === 'commune') found = true; });
      l.__diagCommunes = found;
    }
    if (!l.__diagCommunes) return;
    l.options.style = style;  // the hover's highlight returns to the painting
    l.setStyle(style);
  });
  if (window.__diagScenarioPoints) { map.removeLayer(window.__diagScenarioPoints); }
  var group = L.layerGroup();
  paint.points.forEach(function (p) {
    L.circleMarker([p[0], p[1]], {radius: 8, color: '#000', weight: 1.5, fillColor: p[2], fillOpacity: 0.95})
      .bindTooltip(p[3], {sticky: true}).addTo(group);
  });
  group.addTo(map);
  window.__diagScenarioPoints = group;
})(window.map);
"""


def base(layers: DisplayLayers, basemap: bool = False, wall: bool = False) -> folium.Map:
    """The map every painting is applied to: the région's outline, its communes (a click on one sends its code
    back, a tooltip names it) and its EPCI borders."""
    m = base_map(layers.bounds, basemap, wall=wall)
    com = layers.communes
    objects = {"region": ([layers.region_outline], None),
               "communes": (com.geometry.to_numpy(), [
                   {"kind": "commune", "nom": esc(n), "code": esc(c), "pop": fmt.integer(p), "epci": esc(e)}
                   for n, c, p, e in zip(com["nom"], com["code_insee"], com["population"], com["epci_nom"])])}
    if len(layers.epci):
        objects["epci"] = (layers.epci.geometry.to_numpy(), [{"nom": esc(n)} for n in layers.epci["nom"]])
    topo = SharedTopology(topology_of(objects))
    topo.add_to(m)
    TopoLayer(topo, "communes", {"color": "#8a8a8a", "weight": 0.5, "fillOpacity": 0, "fill": True},
              layer_name="Communes", highlight={"weight": 3, "color": "#000000"},
              tooltip=[("nom", "Commune"), ("code", "Code"), ("pop", "Population"), ("epci", "EPCI")]).add_to(m)
    if "epci" in objects:
        TopoLayer(topo, "epci", {"color": "#3a3a3a", "weight": 1.6, "fill": False, "dashArray": "3 4"},
                  interactive=False, layer_name="EPCI").add_to(m)
    TopoLayer(topo, "region", {"color": "#000091", "weight": 4, "fill": False}, interactive=False,
              layer_name="Contour de la région").add_to(m)
    return m


def paint_js(fill: dict[str, tuple], points: list[tuple] | None = None) -> str:
    """The script that paints the map already in the browser: ``fill`` maps a commune code to (colour, opacity,
    outline colour or ""); ``points`` are (lat, lng, colour, tooltip HTML, already escaped)."""
    payload = {"fill": {esc(k): list(v) for k, v in fill.items()}, "points": [list(p) for p in (points or [])]}
    return PAINT_JS % {"paint": json.dumps(payload, ensure_ascii=False).replace("</", "<\\/")}


def edit_paint(codes: np.ndarray, counts: np.ndarray, selected_area: np.ndarray, colour: str) -> str:
    """The editing view: the selected structure's area in its colour, the other covered communes in grey-blue,
    the zones blanches dark (``codes``, ``counts`` and ``selected_area`` are the région's communes in order)."""
    fill = {}
    for code, n, own in zip(codes, counts, selected_area):
        if own:
            fill[code] = (colour, AREA_OPACITY, "")
        elif n > 0:
            fill[code] = (OTHER_COLOUR, 0.28, "")
        else:
            fill[code] = (BLANCHE, 0.6, "")
    return paint_js(fill)


def change_paint(changes, after=None, market_points=None) -> str:
    """The change view: each commune whose coverage changes in its change's colour (``views.proposition``), the
    others light when covered after the change and dark when they stay zones blanches (``after``: the diagnosis'
    communes after), and the markets that become covered by a single structure as dots."""
    fill = {}
    if after is not None:
        fill = {code: ((COVERED_AFTER, 0.35, "") if covered else (BLANCHE, 0.55, ""))
                for code, covered in zip(after["code_insee"], after["couverte"])}
    fill.update({code: (CHANGE_COLOURS[kind], 0.8, "#333333") for code, kind in zip(changes["code_insee"],
                                                                                     changes["changement"])})
    return paint_js(fill, market_points)


def edit_legend(colour: str, name: str) -> list[tuple[str, str, str]]:
    return [(colour, f"Aire de « {name} »", "fill"), (OTHER_COLOUR, "Commune couverte par une autre structure", "fill"),
            (BLANCHE, "Zone blanche (commune non couverte)", "fill")]


def change_legend(changes, with_markets: bool, after: bool = True) -> list[tuple[str, str, str]]:
    present = set(changes["changement"]) if len(changes) else set()
    items = [(CHANGE_COLOURS[k], CHANGE_LEGEND[k], "fill") for k in CHANGE_COLOURS if k in present]
    if after:
        items.append((BLANCHE, "Zone blanche après le changement", "fill"))
    if with_markets:
        items.append((MARKET_COLOUR, "Marché désormais couvert par une seule structure", "dot"))
    return items


def clicked_commune(returned) -> str | None:
    """The code of the commune clicked, from streamlit-folium's ``last_active_drawing``."""
    feature = (returned or {}).get("last_active_drawing") or {}
    props = feature.get("properties") or {}
    code = props.get("code") if props.get("kind") == "commune" else None
    return html.unescape(code) if code else None
