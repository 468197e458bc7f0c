"""The shared sidebar: the active dataset and the territory picker (every page reads it)."""

from __future__ import annotations

import streamlit as st

from data import cache

REGION_KEY = "sidebar.region"
BASEMAP_KEY = "sidebar.fond_de_carte"


def current_region() -> str:
    """The région chosen in the sidebar, or the dataset's default when none is (still) valid."""
    ds = cache.active_dataset()
    regions = ds.regions()
    chosen = st.session_state.get(REGION_KEY)
    return chosen if chosen in regions else ds.default_region


def shared_sidebar() -> None:
    ds = cache.active_dataset()
    regions = ds.regions()
    with st.sidebar:
        st.markdown("### Territoire")
        if not regions:
            st.warning("Le référentiel des communes ne contient aucune région.")
            return
        if st.session_state.get(REGION_KEY) not in regions:
            st.session_state[REGION_KEY] = ds.default_region
        st.selectbox("Région", options=list(regions), key=REGION_KEY,
                     format_func=lambda code: f"{regions[code]} ({code})")
        st.markdown("### Données actives")
        if ds.is_demo:
            st.info("Région de démonstration – données fictives", icon=":material/science:")
        else:
            st.success(ds.label, icon=":material/database:")
        st.caption(f"Millésime : {ds.meta.get('millesime', 'non précisé')}")
        st.toggle("Fond de carte OpenStreetMap (nécessite internet)", value=False, key=BASEMAP_KEY,
                  help="Sans internet, les cartes s'affichent sur fond uni : toutes les couches restent visibles.")


def basemap_on() -> bool:
    return bool(st.session_state.get(BASEMAP_KEY, False))
