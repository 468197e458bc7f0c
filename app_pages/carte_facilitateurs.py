"""Coverage map: the facilitators' areas, their hosts, zones blanches, QPV, zones d'emploi and the inclusion
structures (SIAE, GEIQ, EA, ESAT: grouped by commune at the région's zoom, a card per structure on click).

One set of controls (visible without scrolling at 1280×720): the layers above the map, the structure to
highlight above its card beside the map, both mirrored in the address (``?couches=…&structures=…``) so that a copied
link reopens the same view. The map fills the height of the screen; its legend and the structure's
card sit beside it. Selecting a structure (in the list or by a click on its area) zooms to its area
without sending the map again.
"""

import streamlit as st

from components import cards, maps, state, style
from components.sidebar import basemap_on, current_region
from data.store.dataset import MISSING
from views import palette
from views import text as T

LAYERS = list(maps.LAYER_LABELS)

ds = state.dataset()
c_title, c_link = st.columns([3, 1], vertical_alignment="bottom")
c_title.title("Carte des facilitateurs")
with c_link:
    style.copy_link_button()
state.require(ds, "communes")
territory_only = not ds.has("facilitateurs")  # the région's map before the facilitators are imported
if territory_only:
    st.info(MISSING["facilitateurs"] + " La carte montre le territoire seul.", icon=":material/info:")
region = current_region()
result = state.diagnosis(region)
layers = state.display_layers(region)
structures = result.diagnosis.structures
colours = palette.structure_colours(structures["id_structure"].tolist())
names = dict(zip(structures["id_structure"], structures["nom"]))
default_layers = maps.carte_default_layers(territory_only)

# a link opened: the layers and the structure it names
style.restore_list("carte.couches", "couches", LAYERS, default_layers)
style.restore_choice("carte.structure", "structures", list(names))


def _on_map_click() -> None:
    """A click on an area selects its structure before the page is drawn again (one run, not two)."""
    sid = maps.clicked_structure(st.session_state.get("carte.map"))
    if sid in names:
        st.session_state["carte.structure"] = sid


# the layers on one line at 1280 px, the whole width; the structure to highlight above its card, beside the map
chosen_layers = st.pills("Couches de la carte", LAYERS, selection_mode="multi", key="carte.couches",
                         format_func=lambda k: maps.LAYER_LABELS[k])
show = {k: k in chosen_layers for k in LAYERS}
inclusion = state.inclusion_points(region) if show["inclusion"] else None
if show["inclusion"] and not ds.has("structures_inclusion"):  # said, never drawn as if there were none
    st.info(MISSING["structures_inclusion"] + " La couche « Structures d'insertion » est vide.", icon=":material/info:")
share = maps.map_share(layers.bounds) if layers.drawable else 0.7  # a tall région: a narrower map, more legend
if layers.drawable:
    col_map, col_side = st.columns([share, 1 - share])
    picker = col_side
else:
    picker = st.container()
choice = picker.selectbox("Structure à mettre en avant", list(names), index=None, key="carte.structure",
                          format_func=lambda s: names.get(s, s),
                          placeholder="Aucune : toute la région (ou cliquez sur une aire)")
style.mirror({"couches": chosen_layers, "structures": [choice] if choice else None})
selected = [choice] if choice else []
if not layers.drawable:
    st.warning(T.NO_OUTLINES, icon=":material/map:")
    if selected:
        cards.structure_card(result, choice)
    st.stop()
# the map does not depend on the selection: it is built once per workspace version, région, layers and
# background, and a new selection reaches the map in the browser as a short script
basemap = basemap_on()
cache_key = maps.map_key("carte", state.stamp(), region, show, basemap)
with col_map, st.container(key="carte-zone"):
    maps.show(None, key=maps.CARTE_KEY, height=520, returned_objects=list(maps.CARTE_RETURNED),
              selection=maps.selection_js(layers, selected), on_change=_on_map_click, cache_key=cache_key,
              build=lambda: maps.coverage_map(layers, structures, colours, show=show, basemap=basemap,
                                              inclusion=inclusion))
with col_side:
    if selected:  # the picker's placeholder says how to open a card (no line of it here: room for the legend)
        cards.structure_card(result, choice, details=False)
    items, note = maps.legend_items(layers, structures, colours, show=show, vintage=ds.credit(), inclusion=inclusion)
    with st.expander("Légende", expanded=not selected):
        # many structures beside a narrow map: their names on two columns, the legend within the screen
        st.html(maps.legend_html(items, note, title=None, columns=len(items) > 10 and share <= 0.6))
    st.html(f'<div class="diag-print-only">{maps.legend_html(items, note)}</div>')  # on paper, always open
    if selected:
        cards.structure_details(result, choice)
