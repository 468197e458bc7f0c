"""Scénarios: propose an evolution of the facilitators' network and see every figure change (fiche 3, § 3b), compare
any two states — two versions, a version and a scenario, two scenarios (§ 6c). A scenario never changes the imported
data; adopting one makes it a new version of the workspace. The address holds the scenario (``?scenario=``) and the
comparison (``?comparer=2~scenario:x``): a copied link reopens them.
"""

import streamlit as st

from components import auth, scenarios, state, style
from components.sidebar import current_region
from data import access
from data.store import scenarios as store
from data.store import workspaces
from reports import comparison

ds = state.dataset()
c_title, c_link = st.columns([3, 1], vertical_alignment="bottom")
c_title.title("Scénarios", help="Proposer une évolution des aires d'intervention et du réseau des facilitateurs "
              "(fiche 3, § 3b), voir chaque chiffre du diagnostic changer, comparer deux états (§ 6c). Un scénario "
              "ne modifie jamais les données importées.")
with c_link:
    style.copy_link_button()
state.require(ds, "communes", "facilitateurs")
region = current_region()
slug = state.current_workspace()
can_edit = access.can(auth.current_user(), slug, "scenarios")
prepared = state.prepared()
scenarios.show_flash()
col_choice, col_actions = st.columns([0.8, 1.5], vertical_alignment="bottom")
with col_choice:
    record = scenarios.choose(slug, store.list_all(slug))
with col_actions:
    scenarios.manage(slug, record, can_edit, prepared)
tabs = ["Modifier", "Avant / après", "Suggestions", "Comparer deux états", "Opérations et export"]
# a link holding a comparison (?comparer=) opens on it
edit, diff, ideas, versus, ops = st.tabs(tabs, key="scenarios.onglets", on_change="rerun",
                                         default="Comparer deux états" if st.query_params.get(scenarios.COMPARE_PARAM)
                                         else None)
if record is None:
    for tab in (edit, diff, ops):
        with tab:
            st.info("Aucun scénario dans cet espace : créez-en un (« Nouveau scénario ») à partir des facilitateurs "
                    "d'une version.", icon=":material/info:")
with edit:
    if record is not None and edit.open:
        scenarios.editor(slug, record, region, prepared, can_edit)
with diff:
    if record is not None and diff.open:
        scenarios.before_after(record, region, prepared, comparison.workbook)
with ideas:
    if ideas.open:
        scenarios.suggestions_view(slug, record, region, prepared, can_edit)
with versus:
    if versus.open:
        scenarios.comparator(slug, region, prepared, comparison.workbook, record)
    elif scenarios.COMPARE_PARAM in st.query_params:
        del st.query_params[scenarios.COMPARE_PARAM]  # the address names the comparison only while it is shown
with ops:
    if record is not None and ops.open:
        scenarios.operations_and_export(slug, record, prepared, can_edit, workspaces.info(slug).read_only)
