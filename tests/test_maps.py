"""Map builders, tested on the rendered document (``m.get_root().render()``)."""

import re

import numpy as np
import pytest
import shapely

from components.maps import coverage_map, legend_html, legend_items, points_map, selection_js
from geo.display import build_layers, simplify_coverage
from views.palette import PALETTE, QPV_COLOURS, structure_colours

CDN = re.compile(r"(cdn\.jsdelivr|cdnjs|unpkg\.com|code\.jquery|bootstrapcdn|netdna|fonts\.googleapis|maxcdn)")
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def layers(demo_ds, demo_result):
    r = demo_result
    return build_layers(demo_ds.communes, demo_ds.qpv, demo_ds.structures, r.coverage.membership,
                        r.coverage.structure_ids, "99", r.diagnosis.communes, r.diagnosis.qpv)


def render(layers, structures, **kw):
    colours = structure_colours(structures["id_structure"].tolist())
    return coverage_map(layers, structures, colours, **kw).get_root().render()


def test_layers_present_and_coloured(layers, demo_result):
    html = render(layers, demo_result.diagnosis.structures)
    for colour in PALETTE[:len(layers.structures)]:
        assert colour in html
    for colour in QPV_COLOURS.values():
        assert colour in html
    assert html.count('"className": "diag-host"') == len(layers.structures)  # one circle per host
    assert html.count("ze-label") >= len(layers.zones_emploi)  # zone names written on the map
    # one set of controls: the page's, no layer panel in the map; the scale in metres only
    assert "L.control.layers" not in html
    assert "L.control.scale({imperial: false" in html and "L.control.scale()" not in html
    # the legend is drawn beside the map, not over the région
    assert "diag-legend" not in html


def test_legend_beside_the_map_says_every_layer_shown(layers, demo_result):
    st = demo_result.diagnosis.structures
    colours = structure_colours(st["id_structure"].tolist())
    items, note = legend_items(layers, st, colours, vintage="démo 2026")
    labels = [label for _, label, _ in items]
    assert [label for label in labels if label in set(st["nom"])] == [
        n for s, n in zip(st["id_structure"], st["nom"]) if s in set(layers.structures["id_structure"])]
    assert "Zone blanche : commune non couverte" in labels and "QPV non couvert" in labels
    assert "Limite de zone d'emploi" in labels and "Limite d'EPCI" not in labels
    assert "démo 2026" in note
    # a wall screen with many structures: one item for the areas
    wall, _ = legend_items(layers, st, colours, show={"qpv": False}, one_per_structure=False)
    assert [label for _, label, _ in wall][0] == "Aire d'un facilitateur (une couleur par structure)"
    assert "QPV couvert" not in [label for _, label, _ in wall]
    html = legend_html([("#123456", "<b>nom</b>", "fill")], "note", title="Légende")
    assert "&lt;b&gt;nom&lt;/b&gt;" in html and "<b>" not in html


def test_selection_zooms_to_the_area_without_redrawing_the_map(layers, demo_result):
    sid = layers.structures["id_structure"].iloc[0]
    js = selection_js(layers, [sid])
    minx, miny, maxx, maxy = shapely.bounds(layers.structures.geometry.iloc[0])
    assert f"[[{miny}, {minx}], [{maxy}, {maxx}]]" in js  # fitBounds to the area, south-west first
    assert f'["{sid}"]' in js and "__diagFitMap()" in js  # fitted as the région is (FitView)
    assert "null || window.__diagRegion" in selection_js(layers, [])  # no selection: the whole région


def test_no_cdn_and_local_leaflet(layers, demo_result):
    html = render(layers, demo_result.diagnosis.structures, basemap=False)
    assert not CDN.search(html), CDN.search(html)
    assert "/app/static/vendor/leaflet/leaflet.js" in html and "/app/static/vendor/leaflet/leaflet.css" in html
    assert "tile.openstreetmap" not in html
    assert "$(" not in html  # nothing may need jQuery: it is not shipped
    assert "tile.openstreetmap" in render(layers, demo_result.diagnosis.structures, basemap=True)


def test_names_are_text_never_markup(layers, demo_result):
    st = demo_result.diagnosis.structures.copy()
    st.loc[0, "nom"] = XSS
    html = render(layers, st, selected=[st.loc[0, "id_structure"]])
    assert XSS not in html
    # escaped in the tooltips' data (the map's topology), and in the legend beside the map
    assert '"nom":"&lt;img src=x onerror=alert(1)&gt;"' in html
    items, _ = legend_items(layers, st, structure_colours(st["id_structure"].tolist()))
    legend = legend_html(items)
    assert XSS not in legend and "&lt;img src=x onerror=alert(1)&gt;" in legend


def test_selection_highlights_and_fades(layers, demo_result):
    st = demo_result.diagnosis.structures
    sid = st["id_structure"].iloc[0]
    html = render(layers, st, selected=[sid])
    assert '"fillOpacity": 0.45' in html and '"fillOpacity": 0.06' in html


def test_every_layer_switchable(layers, demo_result):
    st = demo_result.diagnosis.structures
    html = render(layers, st, show={"zones_blanches": False, "qpv": False, "zones_emploi": False, "epci": True,
                                    "communes": True})
    assert "Zone blanche" not in html and QPV_COLOURS["partiel"] not in html and "data-rank" not in html
    assert "EPCI" in html and html.count("Commune") > 0
    default = render(layers, st)
    assert "Zone blanche" in default and "Commune\\u0022" not in default


def test_simplification_keeps_neighbours_together(demo_ds):
    geoms = demo_ds.communes.geometry.to_numpy()
    simple = simplify_coverage(geoms, 300.0)
    assert shapely.coverage_is_valid(simple)
    before = sum(len(shapely.get_coordinates(g)) for g in geoms)
    after = sum(len(shapely.get_coordinates(g)) for g in simple)
    assert after < before
    assert abs(shapely.union_all(simple).area - shapely.union_all(geoms).area) < 0.01 * shapely.union_all(geoms).area


def test_layers_in_wgs84_with_rounded_coordinates(layers):
    coords = shapely.get_coordinates(layers.communes.geometry.to_numpy())
    assert (-10 < coords[:, 0]).all() and (coords[:, 0] < 15).all() and (40 < coords[:, 1]).all()
    assert np.allclose(coords, np.round(coords, 4))
    minx, miny, maxx, maxy = layers.bounds
    assert minx < maxx and miny < maxy


def test_points_map_escapes_and_colours():
    import pandas as pd

    pts = pd.DataFrame({"x": [1.0, 1.1], "y": [45.0, 45.1], "classe": ["couvert", "hors_couverture"],
                        "texte": ["&lt;b&gt;", "ok"]})
    html = points_map((0.9, 44.9, 1.2, 45.2), pts, {"couvert": "#0072B2", "hors_couverture": "#B2182B"},
                      {"couvert": "Couvert", "hors_couverture": "Hors couverture"},
                      legend_inside=True).get_root().render()
    assert "#0072B2" in html and "#B2182B" in html and "<b>" not in html.split("</head>")[1].replace("<b>Légende", "")


def test_many_zones_blanches_are_grouped_by_epci(layers, demo_ds):
    from geo.display import zones_blanches_layer

    com = layers.communes
    simple = demo_ds.communes.loc[demo_ds.communes["reg"] == "99"].geometry.to_numpy()
    n_unc = int((~com["couverte"]).sum())
    one_by_one = zones_blanches_layer(com, simple, max_communes=n_unc)
    assert len(one_by_one) == n_unc
    grouped = zones_blanches_layer(com, simple, max_communes=n_unc - 1)
    assert len(grouped) == com.loc[~com["couverte"], "epci_nom"].nunique()
    assert grouped["population"].sum() == com.loc[~com["couverte"], "population"].sum()
    assert abs(shapely.area(grouped.geometry.to_numpy()).sum() - shapely.area(one_by_one.geometry.to_numpy()).sum()) \
        < 1e-6 * shapely.area(one_by_one.geometry.to_numpy()).sum() + 1e-9


def test_communes_as_topojson_share_borders_and_read_back(layers):
    """TopoJSON of the communes: each border between two neighbours is one arc that both use, the
    coordinates are quantised, and decoding gives the same outlines back (to a few metres)."""
    import json

    from geo.display import topology_features

    topo = layers.communes_topology()
    geoms = topo["objects"]["communes"]["geometries"]
    assert len(geoms) == len(layers.communes)
    used: dict[int, int] = {}
    for g in geoms:
        polys = g["arcs"] if g["type"] == "MultiPolygon" else [g["arcs"]]
        for poly in polys:
            for ring in poly:
                for a in ring:
                    used[a if a >= 0 else ~a] = used.get(a if a >= 0 else ~a, 0) + 1
    assert sum(1 for n in used.values() if n == 2) > len(layers.communes)  # shared borders, written once
    points = sum(len(a) for a in topo["arcs"])
    vertices = len(shapely.get_coordinates(layers.communes.geometry.to_numpy()))
    assert points < vertices  # (a real région: 63,556 points for 102,928 vertices in Occitanie)
    assert all(isinstance(v, int) for a in topo["arcs"][:50] for p in a for v in p)  # quantised, delta-encoded
    back = topology_features(topo, "communes")
    for original, (decoded, props) in zip(layers.communes.geometry.to_numpy()[:80], back[:80]):
        assert shapely.hausdorff_distance(original, decoded) < 1e-4
    assert back[0][1]["code"] == layers.communes["code_insee"].iloc[0]
    geojson = sum(len(shapely.to_geojson(g)) for g in layers.communes.geometry.to_numpy())
    assert len(json.dumps(topo["arcs"], separators=(",", ":"))) < 0.6 * geojson


def test_communes_topology_names_are_text(demo_ds, demo_result):
    com = demo_result.diagnosis.communes.copy()
    com.loc[0, "nom"] = XSS
    r = demo_result
    own = build_layers(demo_ds.communes, demo_ds.qpv, demo_ds.structures, r.coverage.membership,
                       r.coverage.structure_ids, "99", com, r.diagnosis.qpv)
    props = own.communes_topology()["objects"]["communes"]["geometries"][0]["properties"]
    assert props["nom"] == "&lt;img src=x onerror=alert(1)&gt;"


def test_streamlit_folium_internals_the_cached_map_relies_on():
    """components.maps.show sends a map rendered once through streamlit-folium's component (0.27.4):
    an upgrade that renames these fails here, not on a wall screen."""
    import streamlit_folium as sf

    for name in ("_component_func", "_get_html", "_get_header", "_get_map_string", "get_full_id",
                 "generate_js_hash"):
        assert callable(getattr(sf, name, None)), name


def test_communes_layer_goes_as_topojson_decoded_locally(layers, demo_result):
    html = render(layers, demo_result.diagnosis.structures,
                  show={"zones_blanches": False, "qpv": False, "zones_emploi": False, "epci": False, "communes": True})
    assert '.objects["communes"]' in html and "window.topojson" in html  # the decoder is in the map's own script
    assert not CDN.search(html), CDN.search(html)
    assert html.count('"type":"Topology"') == 1  # one topology for every polygon layer of the map
    default = render(layers, demo_result.diagnosis.structures)
    assert '.objects["communes"]' not in default and '.objects["blanches"]' in default


def test_every_polygon_layer_shares_the_borders_of_the_communes(layers):
    """One topology for the map: the outline of an EPCI, of the région and of a zone blanche follows
    commune borders, so each of their arcs is one the communes already use (sent once)."""
    from geo.display import topology_features, topology_of

    com = layers.communes
    topo = topology_of({"communes": (com.geometry.to_numpy(), None),
                        "epci": (layers.epci.geometry.to_numpy(), None),
                        "region": ([layers.region_outline], None),
                        "blanches": (layers.blanches.geometry.to_numpy(), None)})

    def arcs_of(name):
        out = set()
        for g in topo["objects"][name]["geometries"]:
            polys = g["arcs"] if g["type"] == "MultiPolygon" else [g["arcs"]] if g["type"] else []
            out |= {a if a >= 0 else ~a for poly in polys for ring in poly for a in ring}
        return out

    communes = arcs_of("communes")
    for name in ("epci", "region", "blanches"):
        assert arcs_of(name) <= communes, name
    alone = topology_of({"communes": (com.geometry.to_numpy(), None)})
    assert len(topo["arcs"]) == len(alone["arcs"])  # the EPCI, the région and the holes add no arc
    for name, geoms in (("epci", layers.epci.geometry), ("region", [layers.region_outline]),
                        ("blanches", layers.blanches.geometry)):
        for original, (decoded, _) in zip(list(geoms), topology_features(topo, name)):
            assert shapely.hausdorff_distance(original, decoded) < 1e-4, name


def test_topology_reads_back_any_polygons():
    """Shapes that are not a tiling (holes, islands, a multipolygon, an empty geometry, a point, two
    identical squares, a square drawn the other way round) come back as they went, to the grid's step."""
    from geo.display import topology_features, topology_of

    square = shapely.box(0, 0, 1, 1)
    holed = shapely.Polygon([(2, 0), (5, 0), (5, 3), (2, 3)], [[(3, 1), (4, 1), (4, 2), (3, 2)]])
    multi = shapely.MultiPolygon([shapely.box(6, 0, 7, 1), shapely.box(8, 0, 9, 1)])
    reversed_square = shapely.Polygon(list(square.exterior.coords)[::-1])
    neighbour = shapely.box(1, 0, 2, 1)
    geoms = [square, holed, multi, None, shapely.Point(0, 0), square, reversed_square, neighbour,
             shapely.Polygon()]
    topo = topology_of({"a": (geoms, [{"i": i} for i in range(len(geoms))])}, quantization=1001)
    back = topology_features(topo, "a")
    assert [p["i"] for _, p in back] == list(range(len(geoms)))
    for original, (decoded, _) in zip(geoms, back):
        if original is None or original.geom_type == "Point" or original.is_empty:
            assert decoded is None
        else:
            assert shapely.equals_exact(shapely.normalize(original), shapely.normalize(decoded), tolerance=0.01)
    # the square, its copy and its reverse are one ring; its border with the neighbour one arc
    assert topo["objects"]["a"]["geometries"][5]["arcs"] == topo["objects"]["a"]["geometries"][0]["arcs"]


def test_small_quarters_get_a_dot_of_their_colour_until_they_can_be_seen(layers):
    """Issue 21: a quarter is a speck on a région's map; a dot of its status's colour stands for it while its
    outline is smaller than a few pixels on the screen, on every coverage map (the wall's and the page's)."""
    from components.maps import QPV_MIN_PX, qpv_dots

    dots = qpv_dots(layers.qpv)
    assert len(dots.items) == len(layers.qpv) and dots.min_px == QPV_MIN_PX >= 10
    for item, statut in zip(dots.items, layers.qpv["statut"]):
        lat, lng, colour, tip, (south, west, north, east) = item
        assert colour == QPV_COLOURS[statut] and south <= lat <= north and west <= lng <= east
    html = render(layers, layers.structures.assign(nom="x", type_structure="PLIE", nb_facilitateurs=1, etp=1.0,
                                                   population_couverte=1, etp_pour_100k_hab=1.0),
                  show={"qpv": True})
    assert "diag-small-shape" in html and "latLngToContainerPoint" in html
