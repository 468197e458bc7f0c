"""Compare facilitators: cards side by side, their areas with the shared part, overlaps, QPV and ZE."""

import streamlit as st

from components import cards, maps, state
from components.sidebar import basemap_on, current_region
from components.tables import show_table
from geo.compare import coverage_matrix, overlaps_between, shared_communes

ds = state.dataset()
st.title("Comparer les facilitateurs")
state.require(ds, "communes", "facilitateurs")
region = current_region()
result = state.diagnosis(region)
layers = state.display_layers(region)
d = result.diagnosis
names = dict(zip(d.structures["id_structure"], d.structures["nom"]))
colours = maps.structure_colours(d.structures["id_structure"].tolist())

default = d.overlaps.sort_values("population_partagee", ascending=False)[["id_a", "id_b"]].head(1).values.ravel()
chosen = st.multiselect("Structures à comparer (deux ou plus)", list(names), default=list(default)[:2],
                        format_func=lambda s: names.get(s, s), key="comparer.structures",
                        placeholder="Choisissez des structures")
if len(chosen) < 2:
    st.info("Choisissez au moins deux structures.")
    st.stop()

cols = st.columns(len(chosen))
for col, sid in zip(cols, chosen):
    with col:
        cards.structure_card(result, sid, key=f"comparer.fiche.{sid}")

if layers.drawable:
    shared_geom = maps.dissolve_codes(layers, shared_communes(result, chosen))
    m = maps.coverage_map(layers, d.structures, {s: colours[s] for s in chosen}, selected=chosen,
                          show={"zones_blanches": False, "qpv": True, "zones_emploi": True},
                          vintage=ds.credit(),
                          basemap=basemap_on(), shared=shared_geom)
    st.markdown("#### Les aires et leur partie commune (en noir, tiretée)")
    maps.show(m, key="comparer.map", height=640)
else:
    st.warning(maps.NO_OUTLINES, icon=":material/map:")

show_table(overlaps_between(d.overlaps, chosen, names), key="comparer.chevauchements",
           title="Ce que les structures partagent", export_name="chevauchements", filterable=False)
qpv_m, ze_m = coverage_matrix(d, chosen, names)
show_table(qpv_m, key="comparer.qpv", title="Qui couvre quels QPV", export_name="qpv_par_structure")
show_table(ze_m, key="comparer.ze", title="Qui couvre quelles zones d'emploi", export_name="ze_par_structure")
