"""Regional indicators: the 18 ABC Clauses tables, région against France and over time."""

import streamlit as st

from components import charts, fmt, state
from components.sidebar import current_region
from components.tables import show_table
from data.indicators import (MEASURE_LABELS, SECRET_THRESHOLD, evolution, followup, measures_of, missing_tables,
                             table_data, table_order)
from data.schemas import INDICATOR_TABLES
from geo.codes import REGION_NAMES

ds = state.dataset()
st.title("Indicateurs régionaux")
state.require(ds, "indicateurs")
ind = ds.indicateurs
regions = ds.regions()
region = current_region()
if not region:  # indicators without a référentiel: the région they describe
    others = ind.loc[ind["territoire"] != "FR", "territoire"]
    region = others.mode().iloc[0] if len(others) else ""

st.caption(f"{fmt.md(regions.get(region) or REGION_NAMES.get(region, region))} face à la France – tableaux ABC Clauses (annexe de l'instruction "
           f"du 11 avril 2019). Les effectifs de bénéficiaires inférieurs à {SECRET_THRESHOLD} ne sont pas affichés "
           "(secret statistique).")
source = ds.meta.get("sources", {}).get("indicateurs", "ABC Clauses")
absent = missing_tables(ind, region)
if absent:
    st.warning("Tableaux absents du fichier pour cette région : " + ", ".join(
        f"{t} ({INDICATOR_TABLES[t]})" for t in absent), icon=":material/info:")

st.markdown("### Suivi (fiche 3, § 6b)")
fu = followup(ind, region)
if len(fu):
    latest = fu[fu["annee"] == fu["annee"].max()]
    cols = st.columns(3)
    for i, row in enumerate(latest.itertuples(index=False)):
        gap = (("+" if row.ecart >= 0 else "") + fmt.decimal(100 * row.ecart, 1)
               + f" pt par rapport à la France ({fmt.percent(row.france)})") if row.ecart == row.ecart else None
        cols[i % 3].metric(row.indicateur, fmt.percent(row.region), gap, delta_color="off")
    show_table(fu, key="indicateurs.suivi", export_name="suivi_fiche3", filterable=False)

for table in table_order():
    if table in absent:
        continue
    for measure in measures_of(ind, table):
        data = table_data(ind, table, region, measure)
        if data.empty:
            continue
        key = f"indicateurs.{table}.{measure}"
        unit = MEASURE_LABELS.get(measure, measure)
        title = f"{table} – {INDICATOR_TABLES[table]}"
        st.divider()
        chart = charts.indicator_chart(data, table, title, unit, source)
        left, right = st.columns([3, 2])
        with left:
            st.altair_chart(chart, key=f"{key}.chart", width="stretch")
            n_secret = int(data["secret"].sum())
            if n_secret:
                st.caption(f"{n_secret} case(s) de moins de {SECRET_THRESHOLD} bénéficiaires masquée(s) "
                           "(secret statistique).")
            st.download_button("Graphique en PNG", lambda c=chart: charts.to_png(c), file_name=f"{table}_{measure}.png",
                               mime="image/png", key=f"{key}.png", icon=":material/image:")
        with right:
            view = data[["annee", "territoire_lib", "modalite", "modalite_2", "valeur", "part"]]
            if not data["modalite_2"].ne("").any():
                view = view.drop(columns="modalite_2")
            show_table(view.rename(columns={"annee": "Année", "territoire_lib": "Territoire", "modalite": "Catégorie",
                                            "modalite_2": "Croisement", "valeur": unit.capitalize()}),
                       key=key, export_name=f"{table}_{measure}", height=300, filterable=False)
        if data["annee"].nunique() > 1 and table not in ("T18",) and not data["modalite_2"].ne("").any():
            with st.expander(f"Évolution entre {data['annee'].min()} et {data['annee'].max()}"):
                st.altair_chart(charts.evolution_chart(data, unit), key=f"{key}.evolution", width="stretch")
                st.dataframe(evolution(data), key=f"{key}.evolution_table")
