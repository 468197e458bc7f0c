"""Mode présentation: the launch meeting's screens, one message each, for a wall (fiche 3).

(1) the région at a glance → (2) facilitators and their means → (3) zones blanches and QPV →
(4) coherence with zones d'emploi → (5) markets no single structure covers → (6) needs against means (social
markets per ETP, inclusion structures in zones blanches) → (7) ABC Clauses indicators against France (a screen
after the fifth is found by its title, ``views.text.SCREENS``); and, when a scenario is chosen (``?scenario=``,
from the Scénarios page), a last screen « Proposition d'évolution du réseau »: the map of what changes and the
four key figures before and after. No sidebar, no top band; the screen is in the address (``?ecran=3``) and its
number on
screen; « Précédent » / « Suivant » answer the arrows and Page Up / Page Down of a presenter's remote.
A workspace missing a table says so on that screen (never another workspace's data).
"""

import streamlit as st

from components import maps, scenario_map, scenario_state, state, style
from components import presentation as P
from components.sidebar import basemap_on, current_region
from data.store import scenarios as scenario_store
from data.store.dataset import MISSING
from data.store.workspaces import StoreError
from views import palette
from views import proposition as PROPOSITION
from views import text as T


def _scenario() -> dict | None:
    """The scenario a link or the Scénarios page chose (``?scenario=``), when it is one of this workspace's."""
    sid = st.query_params.get("scenario")
    if not sid or not state.dataset().has("facilitateurs"):
        return None
    try:
        return scenario_store.read(state.current_workspace(), str(sid))
    except (StoreError, OSError, ValueError):
        return None


SCENARIO = _scenario()
TOTAL = len(P.SCREENS) + (1 if SCENARIO else 0)
HINT = "Importez-le sur la page « Données » ; cet écran se remplira."

style.hide_chrome()  # whatever the address says: this page is for the wall
st.html(f"<style>{P.CSS}</style>")
if st.query_params.get(style.PRESENTATION_PARAM) != "1":
    st.query_params[style.PRESENTATION_PARAM] = "1"  # the address names the mode: a copied link reopens it
n = P.screen_from_url(TOTAL)
if st.query_params.get(P.SCREEN_PARAM) != str(n):
    st.query_params[P.SCREEN_PARAM] = str(n)


def _go(step: int) -> None:
    st.query_params[P.SCREEN_PARAM] = str(min(max(P.screen_from_url(TOTAL) + step, 1), TOTAL))


def _quit() -> None:
    st.session_state["presentation.quitter"] = True


if st.session_state.pop("presentation.quitter", False):
    st.switch_page("app_pages/accueil.py", query_params={"espace": state.current_workspace()})

ds = state.dataset()
region = current_region() if ds.has("communes") else ""
region_name = ds.regions().get(region, region) if region else ""
subtitle = " · ".join(x for x in (region_name if region_name not in ds.label else "", ds.label,
                                  "millésimes : " + ds.vintages_text() if ds.vintages_text() else "") if x)

# the title and the buttons, then the workspace and its vintages across the whole width (wrapped, never cut)
with st.container(key="presentation-head", gap=None):
    c_title, c_nav = st.columns([2.4, 1.6], vertical_alignment="center")
    c_title.html(P.header(n, PROPOSITION.TITLE if SCENARIO and n == TOTAL else None))
    with c_nav, st.container(key="presentation-nav", horizontal=True, horizontal_alignment="right",
                             vertical_alignment="center", gap="small"):
        st.button("Précédent", key="presentation-precedent", on_click=_go, args=(-1,), disabled=n == 1,
                  icon=":material/chevron_left:", shortcut="Left")
        st.html(f'<div class="diag-p-count" aria-live="polite">{n} / {TOTAL}</div>', width="content")
        st.button("Suivant", key="presentation-suivant", on_click=_go, args=(1,), disabled=n == TOTAL,
                  icon=":material/chevron_right:", icon_position="right", shortcut="Right")
        st.button("Quitter", key="presentation-quitter", on_click=_quit, icon=":material/close:",
                  help="Quitter le mode présentation (retour à l'accueil)")
    st.html(P.subtitle(subtitle))
sub_lines = P.subtitle_lines(subtitle)
st.html(f"<style>{P.map_height_css(sub_lines)}</style>")
# a presenter's remote sends Page Up / Page Down: the same two buttons, not shown
with st.container(key="diag-scripts-telecommande"):
    st.button("Écran précédent", key="presentation-page-precedente", on_click=_go, args=(-1,), shortcut="PageUp")
    st.button("Écran suivant", key="presentation-page-suivante", on_click=_go, args=(1,), shortcut="PageDown")

if not ds.has("communes"):
    st.html(P.message(MISSING["communes"], HINT))
    st.stop()

result = state.diagnosis(region)
content = P.content(region)
layers = state.display_layers(region)
structures = result.diagnosis.structures
colours = palette.structure_colours(structures["id_structure"].tolist())
basemap = basemap_on()

def map_screen(figs: list, note: str = "") -> None:
    show = P.MAP_SCREENS[n]
    c_map, c_side = st.columns([2.25, 1], gap="medium")
    with c_map:
        if layers.drawable:
            key = maps.map_key("presentation", state.stamp(), region, show, basemap, screen=n)
            with st.container(key="presentation-carte"):
                maps.show(None, key=f"presentation.carte.{n}", height=600, cache_key=key,
                          build=lambda: maps.coverage_map(layers, structures, colours, show=show, basemap=basemap,
                                                          wall=True))
        else:
            st.html(P.message(T.NO_OUTLINES))
    with c_side:
        st.html(P.figures(figs))
        items, _ = maps.legend_items(layers, structures, colours, show=show, one_per_structure=False, short=True)
        st.html(maps.legend_html(items, note or "", title=None, css_class="diag-p-legend"))


def visual_screen(figs: list, visual_html: str) -> None:
    c_vis, c_side = st.columns([2.25, 1], gap="medium")
    c_vis.html(visual_html)
    c_side.html(P.figures(figs))


if SCENARIO and n == TOTAL:
    comparison = scenario_state.proposition(SCENARIO, region)
    c_map, c_side = st.columns([2.25, 1], gap="medium")
    with c_map:
        if layers.drawable:
            with st.container(key="presentation-carte"):
                maps.show(None, key="presentation.carte.proposition", height=600,
                          cache_key="|".join(["scenarios.base.mur", state.stamp(), region, str(basemap)]),
                          build=lambda: scenario_map.base(layers, basemap=basemap, wall=True),
                          selection=scenario_map.change_paint(comparison.communes, comparison.b.diagnosis.communes))
        else:
            st.html(P.message(T.NO_OUTLINES))
    with c_side:
        st.html(P.figures(PROPOSITION.key_figures(comparison)))
        st.html(maps.legend_html(scenario_map.change_legend(comparison.communes, False), title=None,
                                 css_class="diag-p-legend"))
elif n == 1:
    map_screen(P.glance_figures(content),
               "" if ds.has("facilitateurs") else MISSING["facilitateurs"] + " La carte montre le territoire seul.")
elif n == 2:
    if not ds.has("facilitateurs"):
        st.html(P.message(MISSING["facilitateurs"], HINT))
    else:
        visual_screen(P.means_figures(content), P.means_chart(content, colours, P.wall_room(sub_lines)))
elif n == 3:
    map_screen(P.gaps_figures(content), "" if ds.has("qpv") else MISSING["qpv"])
elif n == 4:
    map_screen(P.employment_figures(content))
elif n == 5:
    if not ds.has("marches"):
        st.html(P.message(MISSING["marches"], HINT))
    else:
        visual_screen(P.markets_figures(content), P.markets_chart(content))
elif P.SCREENS[n - 1] == T.SCREEN_NEEDS:
    if not ds.has("facilitateurs"):
        st.html(P.message(MISSING["facilitateurs"], HINT))
    elif not ds.has("marches"):
        st.html(P.message(MISSING["marches"], HINT))
    else:
        visual_screen(P.needs_figures(content), P.needs_chart(content, colours, P.wall_room(sub_lines)))
elif P.SCREENS[n - 1] == T.SCREEN_INDICATORS:
    if not ds.has("indicateurs"):
        st.html(P.message(MISSING["indicateurs"], HINT))
    elif content.followup.empty:
        st.html(P.message("Le fichier d'indicateurs ne contient pas les tableaux du suivi (T03, T06 à T09, T18).",
                          HINT))
    else:
        items, note = P.indicator_figures(content)
        st.html(P.figures(items, grid=True) + f'<div class="diag-p-source">{P.e(note)}</div>')
