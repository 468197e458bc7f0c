"""Regional indicators: the 18 ABC Clauses tables, région against France and over time.

One table at a time (a selector), so that the page fits a wall screen and draws in well under two
seconds; the follow-up figures of fiche 3 § 6b first. What is hidden (the other tab, the closed
expander) is drawn once opened, not before.
"""

import streamlit as st

from components import state
from components.sidebar import current_region
from components.tables import export_buttons, show_frame, show_table
from data.indicators import (
    MEASURE_LABELS,
    dimension_label,
    evolution,
    followup_with_secrecy,
    measures_of,
    missing_tables,
    protect,
    table_data,
    table_order,
)
from data.schemas import INDICATOR_TABLES
from geo.codes import REGION_NAMES
from reports import figures
from views import charts, fmt
from views import text as T

# the follow-up indicators' names, short enough for a metric on a 1280 px screen (full name in the help)
SHORT = {"Sorties positives": "Emploi durable à 12 mois", "Contrats en CDI": "Contrats en CDI ou CDD",
         "Part des femmes": "Femmes", "Part des résidents": "Résidents de QPV",
         "Part des travailleurs": "Travailleurs handicapés", "Part des marchés hors BTP": "Marchés hors BTP"}


def short(label: str) -> str:
    return next((s for prefix, s in SHORT.items() if label.startswith(prefix)), label)


ds = state.dataset()
st.title("Indicateurs régionaux")
state.require(ds, "indicateurs")
ind = ds.indicateurs
regions = ds.regions()
region = current_region()
if not region:  # indicators without a référentiel: the région they describe
    others = ind.loc[ind["territoire"] != "FR", "territoire"]
    region = others.mode().iloc[0] if len(others) else ""

st.caption(f"{fmt.md(regions.get(region) or REGION_NAMES.get(region, region))} face à la France – tableaux ABC "
           "Clauses (annexe de l'instruction du 11 avril 2019). " + T.SECRET_NOTE)
source = ds.meta.get("sources", {}).get("indicateurs", "ABC Clauses")
absent = missing_tables(ind, region)
if absent:
    st.warning("Tableaux absents du fichier pour cette région : " + ", ".join(
        f"{t} ({INDICATOR_TABLES[t]})" for t in absent), icon=":material/info:")

fu, hidden = followup_with_secrecy(ind, region)  # shares of the counts as imported, then hidden where secret
# secrecy over every table of the territory and year at once (secondary suppression), then each table
ind = protect(ind[ind["territoire"].isin([region, "FR"])])
fu = fu.drop(columns="secret", errors="ignore")
if len(fu):
    latest = fu[fu["annee"] == fu["annee"].max()]
    st.markdown(f"### Suivi (fiche 3, § 6b), {int(fu['annee'].max())}")
    cols = st.columns(3)
    for i, row in enumerate(latest.itertuples(index=False)):
        gap = (f"{fmt.points(row.ecart)} par rapport à la France ({fmt.percent(row.france)})"
               if row.ecart == row.ecart else None)
        cols[i % 3].metric(short(row.indicateur), fmt.percent(row.region), gap, delta_color="off",
                           delta_arrow="off", help=row.indicateur)
    if hidden:
        st.caption(T.secret_shares(hidden))
    # drawn only once opened: a data grid the page does not show costs its first visitor a second
    suivi = st.expander("Tableau du suivi, toutes les années", key="indicateurs.suivi.ouvert", on_change="rerun")
    if suivi.open:
        with suivi:
            show_table(fu, key="indicateurs.suivi", export_name="suivi_fiche3", filterable=False)

tables = [t for t in table_order() if t not in absent and measures_of(ind, t)]
if not tables:
    st.info("Aucun tableau ABC Clauses pour cette région.", icon=":material/info:")
    st.stop()
st.markdown("### Tableaux ABC Clauses")
left, right = st.columns([3, 2], vertical_alignment="bottom")
table = left.selectbox("Tableau", tables, format_func=lambda t: f"{t} – {INDICATOR_TABLES[t]}",
                       key="indicateurs.tableau")
measures = measures_of(ind, table)
measure = measures[0]
if len(measures) > 1:
    with right:
        measure = st.segmented_control("Mesure", measures, format_func=lambda m: MEASURE_LABELS.get(m, m),
                                       default=measures[0], required=True, key=f"indicateurs.mesure.{table}")
data = table_data(ind, table, region, measure)
if data.empty:
    st.info("Ce tableau n'a pas de valeur pour cette région.", icon=":material/info:")
    st.stop()

key = f"indicateurs.{table}.{measure}"
unit = MEASURE_LABELS.get(measure, measure)
title = f"{table} – {INDICATOR_TABLES[table]}"
chart = charts.indicator_chart(data, table, title, unit, source)
st.altair_chart(chart, key=f"{key}.chart", width="stretch", theme=None)
n_secret = int(data["secret"].sum())
if n_secret:
    st.caption(T.secret_cells(n_secret))
with st.container(horizontal=True, gap="small", key=f"{key}.png_box"):
    st.download_button("Graphique en PNG", lambda c=chart: figures.to_png(c), file_name=f"{table}_{measure}.png",
                       mime="image/png", key=f"{key}.png", icon=":material/image:", on_click="ignore",
                       width="content")

cross = data["modalite_2"].ne("").any()
labels = {"modalite": dimension_label(data["dimension"].iloc[0]) or "Catégorie",
          "modalite_2": dimension_label(data["dimension_2"].iloc[0]) or "Croisement",
          "valeur": unit[:1].upper() + unit[1:]}
view = data[["annee", "territoire_lib", "modalite", "modalite_2", "valeur", "part"]]
if not cross:
    view = view.drop(columns="modalite_2")
view = view.sort_values(["annee", "territoire_lib", "part"], ascending=[False, False, False])
has_evolution = data["annee"].nunique() > 1 and table != "T18" and not cross
# only the open tab is drawn (a hidden chart and its grid cost the page's first visitor a second)
tabs = st.tabs(["Valeurs"] + (["Évolution"] if has_evolution else []), key=f"{key}.onglets", on_change="rerun")
if tabs[0].open:
    with tabs[0]:
        show_table(view, key=key, export_name=f"{table}_{measure}", height=320, filterable=False, labels=labels)
if has_evolution and tabs[1].open:
    with tabs[1]:
        st.altair_chart(charts.evolution_chart(data, unit), key=f"{key}.evolution", width="stretch", theme=None)
        evo = evolution(data)
        years = [c for c in evo.columns if c != "modalite"]
        show_frame(evo, key=f"{key}.evolution_table", labels={"modalite": labels["modalite"]},
                   kinds=dict.fromkeys(years, "pct"))
        export_buttons(evo, f"{key}.evolution", f"{table}_{measure}_evolution", {"modalite": labels["modalite"]},
                       dict.fromkeys(years, "pct"))
