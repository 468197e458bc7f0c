"""Router of the app: page configuration, navigation and the shared sidebar, nothing else."""

import streamlit as st

from components.sidebar import shared_sidebar

st.set_page_config(page_title="Diagnostic des clauses sociales", page_icon=":material/handshake:",
                   layout="wide", initial_sidebar_state="expanded")

pages = {
    "Diagnostic": [
        st.Page("pages/accueil.py", title="Accueil", icon=":material/home:", default=True),
        st.Page("pages/carte_facilitateurs.py", title="Carte des facilitateurs", icon=":material/map:"),
        st.Page("pages/diagnostic_couverture.py", title="Diagnostic de couverture", icon=":material/grid_on:"),
        st.Page("pages/comparer_facilitateurs.py", title="Comparer les facilitateurs",
                icon=":material/compare_arrows:"),
        st.Page("pages/marches.py", title="Marchés", icon=":material/gavel:"),
        st.Page("pages/indicateurs.py", title="Indicateurs régionaux", icon=":material/bar_chart:"),
    ],
    "Données": [
        st.Page("pages/donnees.py", title="Données", icon=":material/upload_file:"),
    ],
}
navigation = st.navigation(pages)
shared_sidebar()
navigation.run()
