"""Compare facilitators on one screen: two to four structures' cards beside the map of their areas with
the part they share, then what they share (communes, population, QPV, zones d'emploi).

The structures chosen are mirrored in the address (``?structures=S01,S03``): a copied link reopens the
same comparison.
"""

import streamlit as st

from components import cards, maps, state, style
from components.sidebar import basemap_on, current_region
from geo.compare import coverage_matrix, overlaps_between, shared_communes
from views import fmt, palette
from views import text as T

ds = state.dataset()
c_title, c_link = st.columns([3, 1], vertical_alignment="bottom")
c_title.title("Comparer les facilitateurs")
with c_link:
    style.copy_link_button()
state.require(ds, "communes", "facilitateurs")
region = current_region()
result = state.diagnosis(region)
layers = state.display_layers(region)
d = result.diagnosis
names = dict(zip(d.structures["id_structure"], d.structures["nom"]))
colours = palette.structure_colours(d.structures["id_structure"].tolist())

# by default the two structures that share the most population; a link names its own
default = d.overlaps.sort_values("population_partagee", ascending=False)[["id_a", "id_b"]].head(1).values.ravel()
style.restore_list("comparer.structures", "structures", list(names), list(default)[:2])
# the cards and the map on one screen: the choice and the cards on the left, the map beside them
many = len(st.session_state.get("comparer.structures") or []) > 2  # cards two by two: a wider column
col_cards, col_map = st.columns([1.2, 1] if many else [1, 1.25], gap="medium")
with col_cards:
    chosen = st.multiselect("Structures à comparer (de deux à quatre)", list(names),
                            format_func=lambda s: names.get(s, s), key="comparer.structures",
                            placeholder="Choisissez des structures", max_selections=4, select_all=False)
style.mirror({"structures": chosen or None})
if len(chosen) < 2:
    col_cards.info("Choisissez au moins deux structures.")
    st.stop()

shared_codes = shared_communes(result, chosen)
shared_geom = maps.dissolve_codes(layers, shared_codes) if layers.drawable else None
show = {"zones_blanches": False, "qpv": True, "zones_emploi": True}
with col_cards:
    st.html(cards.compact_cards(result, chosen, colours))
    items, note = maps.legend_items(layers, d.structures, {s: colours[s] for s in chosen}, selected=chosen,
                                    show=show, shared=shared_geom, areas=False)
    st.html(maps.legend_html(items, title=None, css_class="inline"))
with col_map:
    if layers.drawable:
        basemap = basemap_on()
        key = "|".join(["comparer", state.stamp(), region, ",".join(chosen), str(basemap)])
        with st.container(key="comparer-zone"):
            maps.show(None, key="comparer.map", height=520, cache_key=key, build=lambda: maps.coverage_map(
                layers, d.structures, {s: colours[s] for s in chosen}, selected=chosen, show=show, basemap=basemap,
                shared=shared_geom, fit_selected=True))
    else:
        st.warning(T.NO_OUTLINES, icon=":material/map:")

st.caption(f"Données : {fmt.md(ds.credit())}")
# tables printable in full (a data grid prints only its visible rows)
style.printable_table(overlaps_between(d.overlaps, chosen, names), key="comparer.chevauchements",
                      title="Ce que les structures partagent", export_name="chevauchements", filterable=False)
qpv_m, ze_m = coverage_matrix(d, chosen, names)
style.printable_table(qpv_m, key="comparer.qpv", title="Qui couvre quels QPV", export_name="qpv_par_structure")
style.printable_table(ze_m, key="comparer.ze", title="Qui couvre quelles zones d'emploi", export_name="ze_par_structure")
