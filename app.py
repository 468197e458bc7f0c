"""Router of the app: page configuration, navigation and the shared sidebar, nothing else."""

import logging
from pathlib import Path

import streamlit as st

from components import auth, style
from components.sidebar import shared_sidebar
from data.store import workspaces

# local (an icon name would be fetched from a CDN), and served as a static file: through Streamlit's media
# route, which the guard closes before login, the login screen would show no icon
ICON = "/app/static/favicon.png"

st.set_page_config(page_title="Diagnostic des clauses sociales", page_icon=ICON,
                   layout="wide", initial_sidebar_state="expanded")



@st.cache_resource
def _startup() -> int:
    """Once per server: remove what an interrupted import left in the store's temporary folder."""
    return workspaces.cleanup()


_startup()
auth.gate()  # with a login configured (secrets.toml [auth]): nothing below runs until the person is logged in
pages = {
    "Diagnostic": [
        st.Page("app_pages/accueil.py", title="Accueil", icon=":material/home:", default=True),
        st.Page("app_pages/carte_facilitateurs.py", title="Carte des facilitateurs", icon=":material/map:"),
        st.Page("app_pages/diagnostic_couverture.py", title="Diagnostic de couverture", icon=":material/grid_on:"),
        st.Page("app_pages/comparer_facilitateurs.py", title="Comparer les facilitateurs",
                icon=":material/compare_arrows:"),
        st.Page("app_pages/marches.py", title="Marchés", icon=":material/gavel:"),
        st.Page("app_pages/acheteurs.py", title="Acheteurs", icon=":material/account_balance:"),
        st.Page("app_pages/besoins.py", title="Besoins et moyens", icon=":material/balance:"),
        st.Page("app_pages/scenarios.py", title="Scénarios", icon=":material/alt_route:"),
        st.Page("app_pages/indicateurs.py", title="Indicateurs régionaux", icon=":material/bar_chart:"),
        st.Page("app_pages/rapport.py", title="Rapport", icon=":material/description:"),
        st.Page("app_pages/presentation.py", title="Mode présentation", icon=":material/co_present:"),
    ],
    "Données": [
        st.Page("app_pages/donnees.py", title="Données", icon=":material/upload_file:"),
    ],
}
style.apply()  # language, top band, print stylesheet, projection mode (?presentation=1)
navigation = st.navigation(pages)
shared_sidebar()
try:
    navigation.run()
except Exception:  # st.stop / st.rerun are BaseException: they pass through
    # the traceback goes to the server's console, the person in front of the screen gets French
    logging.getLogger("diagnostic").exception("page %s", navigation.title)
    st.error("Erreur inattendue sur cette page : elle a été consignée dans le journal du serveur. "
             "Vos données n'ont pas été modifiées ; les autres pages restent utilisables.", icon=":material/error:")
