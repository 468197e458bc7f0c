"""The shared sidebar: the session's workspace, the territory picker, the data's vintages and the account.

It also settles the session's workspace: a link to a workspace the user may not see stops the page
here with a French message (nothing of that workspace is read).
"""

from __future__ import annotations

import streamlit as st

from components import auth, state
from views import fmt

REGION_KEY = "sidebar.region"
BASEMAP_KEY = "sidebar.fond_de_carte"


def current_region() -> str:
    """The région chosen in the sidebar, or the workspace's default when none is (still) valid."""
    ds = state.dataset()
    regions = ds.regions()
    chosen = st.session_state.get(REGION_KEY)
    return chosen if chosen in regions else ds.default_region


def _on_workspace_change() -> None:
    state.use_workspace(st.session_state[state.WORKSPACE_KEY])
    st.session_state.pop(REGION_KEY, None)  # the new workspace's own région
    st.query_params.pop("region", None)


def _on_region_change() -> None:
    st.query_params["region"] = st.session_state[REGION_KEY]  # before the rerun reads the address


def shared_sidebar() -> None:
    state.resolve_workspace()
    spaces = {w.slug: w for w in state.visible_workspaces()}
    ds = state.dataset()
    regions = ds.regions()
    with st.sidebar:
        st.markdown("### Espace de travail")
        st.selectbox("Espace de travail", options=list(spaces), key=state.WORKSPACE_KEY,
                     format_func=lambda s: spaces[s].name if s in spaces else s, on_change=_on_workspace_change,
                     label_visibility="collapsed")
        if ds.is_demo:
            st.info("Données fictives de démonstration", icon=":material/science:")
        st.markdown("### Territoire")
        if not regions:
            st.warning("Cet espace ne contient pas encore de référentiel des communes : importez-le sur la page "
                       "Données.", icon=":material/info:")
        else:
            asked = st.query_params.get("region")
            if asked in regions and asked != st.session_state.get(REGION_KEY):
                st.session_state[REGION_KEY] = asked  # a link names its région
            if st.session_state.get(REGION_KEY) not in regions:
                st.session_state[REGION_KEY] = ds.default_region
            st.selectbox("Région", options=list(regions), key=REGION_KEY, on_change=_on_region_change,
                         format_func=lambda code: f"{regions[code]} ({code})")
            if not state.denied() and st.query_params.get("region") != st.session_state[REGION_KEY]:
                st.query_params["region"] = st.session_state[REGION_KEY]  # a copied link reopens this région
        if ds.vintages_text():
            st.caption("Millésimes : " + fmt.md(ds.vintages_text()))
        if ds.sources_note():
            st.caption(ds.sources_note())  # our own référentiel's credit, not user text
        if regions and st.button("Mode présentation", key="sidebar.presentation", icon=":material/co_present:",
                                 help="Les écrans de la réunion de lancement (fiche 3), en plein écran ; "
                                      "« Quitter » pour revenir."):
            params = {"espace": state.current_workspace(), "region": current_region(), "presentation": "1",
                      "ecran": "1"}
            if st.query_params.get("scenario"):  # from the Scénarios page: its proposition closes the meeting
                params["scenario"] = st.query_params.get("scenario")
            st.switch_page("app_pages/presentation.py", query_params=params)
        st.toggle("Fond de carte OpenStreetMap (nécessite internet)", value=False, key=BASEMAP_KEY,
                  help="Sans internet, les cartes s'affichent sur fond uni : toutes les couches restent visibles.")
        auth.sidebar_account()
    state.sync_url()
    refused = state.denied()
    if refused:
        _refusal(refused, spaces.get(state.current_workspace()))


def _refusal(slug: str, fallback) -> None:
    """The page of a link to a workspace that does not exist or that the user may not see: a message,
    nothing of that workspace (not even whether it exists), and a way back."""
    st.title("Espace de travail inaccessible")
    st.error(f"L'espace de travail « {fmt.md(slug)} » n'existe pas ou ne vous est pas accessible. Si vous pensez "
             "devoir y accéder, demandez à l'un de ses administrateurs de vous ajouter à ses membres.",
             icon=":material/block:")
    if fallback is not None and st.button(f"Ouvrir l'espace « {fmt.md(fallback.name)} »", key="acces.retour",
                                          icon=":material/arrow_back:"):
        state.use_workspace(fallback.slug)
        st.rerun()
    st.stop()


def basemap_on() -> bool:
    return bool(st.session_state.get(BASEMAP_KEY, False))
