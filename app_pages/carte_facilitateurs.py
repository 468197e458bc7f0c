"""Coverage map: the facilitators' areas, their hosts, zones blanches, QPV and zones d'emploi."""

import streamlit as st

from components import cards, maps, state
from components.sidebar import basemap_on, current_region
from data.store.dataset import MISSING

ds = state.dataset()
st.title("Carte des facilitateurs")
state.require(ds, "communes")
territory_only = not ds.has("facilitateurs")  # the région's map before the facilitators are imported
if territory_only:
    st.info(MISSING["facilitateurs"] + " La carte montre le territoire seul.", icon=":material/info:")
region = current_region()
result = state.diagnosis(region)
layers = state.display_layers(region)
structures = result.diagnosis.structures
colours = maps.structure_colours(structures["id_structure"].tolist())
names = dict(zip(structures["id_structure"], structures["nom"]))

# a click on an area (previous run) selects its structure before the selector is drawn
pending = st.session_state.pop("carte.clic_en_attente", None)
if pending in names:
    st.session_state["carte.structure"] = pending
with st.sidebar:
    st.markdown("### Couches de la carte")
    show = {
        "zones_blanches": st.toggle("Zones blanches", value=not territory_only, key="carte.couche.zones_blanches"),
        "qpv": st.toggle("QPV par couverture", value=True, key="carte.couche.qpv"),
        "zones_emploi": st.toggle("Zones d'emploi", value=True, key="carte.couche.zones_emploi"),
        "epci": st.toggle("EPCI", value=False, key="carte.couche.epci"),
        "communes": st.toggle("Communes", value=territory_only, key="carte.couche.communes"),
    }
    choice = st.selectbox("Structure à mettre en avant", ["(aucune)"] + list(names), key="carte.structure",
                          format_func=lambda s: names.get(s, s))

selected = [] if choice == "(aucune)" else [choice]
if not layers.drawable:
    st.warning(maps.NO_OUTLINES, icon=":material/map:")
    if selected:
        cards.structure_card(result, choice)
    st.stop()
m = maps.coverage_map(layers, structures, colours, selected=selected, show=show,
                      vintage=ds.credit(),
                      basemap=basemap_on())

col_map, col_card = st.columns([3, 1]) if selected else (st.container(), None)
with col_map:
    out = maps.show(m, key="carte.map", returned_objects=["last_active_drawing"])
if col_card is not None:
    with col_card:
        cards.structure_card(result, choice)
else:
    st.caption("Cliquez sur une aire, ou choisissez une structure dans le panneau latéral, pour afficher sa fiche "
               "et ses voisins.")
clicked = maps.clicked_structure(out)
if clicked in names and clicked != choice and clicked != st.session_state.get("carte.dernier_clic"):
    st.session_state["carte.dernier_clic"] = clicked
    st.session_state["carte.clic_en_attente"] = clicked
    st.rerun()
