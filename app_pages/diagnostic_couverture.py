"""Coverage diagnosis: key figures, zones blanches, zones d'emploi coherence, structures' load."""

import streamlit as st

from components import state
from components.sidebar import current_region
from components.tables import show_table
from data.schemas import FUNDING_COLUMNS
from geo.diagnosis import funding, structure_flags, zones_blanches
from views import charts, fmt
from views.content import host_names

ds = state.dataset()
st.title("Diagnostic de couverture")
state.require(ds, "communes", "facilitateurs")
region = current_region()
result = state.diagnosis(region)
d = result.diagnosis
s = d.summary
regions = ds.regions()

st.caption(f"{fmt.md(regions.get(region, region))} – définitions : une commune est couverte quand elle est dans le "
           "périmètre déclaré d'au moins une structure ; un QPV est couvert quand toutes ses communes le sont.")
c = st.columns(4)
c[0].metric("Population non couverte", fmt.integer(s["population"]["non_couverte"]),
            f"{fmt.percent(s['population']['part_non_couverte'])} de la population", delta_color="off", delta_arrow="off")
c[1].metric("Zones blanches (communes)", fmt.integer(s["communes"]["non_couvertes"]),
            f"sur {fmt.integer(s['communes']['total'])} communes", delta_color="off", delta_arrow="off")
if ds.has("qpv"):
    c[2].metric("QPV non couverts", fmt.integer(s["qpv"]["non_couverts"]),
                f"{fmt.integer(s['qpv']['partiels'])} partiellement couverts", delta_color="off", delta_arrow="off")
    c[3].metric("Population des QPV non couverts", fmt.integer(s["qpv"]["population_non_couverte"]))
else:  # no QPV file: "0 QPV non couverts" would be a false statement on a wall
    c[2].metric("QPV non couverts", "–", "aucun fichier de QPV importé", delta_color="off", delta_arrow="off")
    c[3].metric("Population des QPV non couverts", "–")
c = st.columns(4)
c[0].metric("Structures porteuses", fmt.integer(s["structures"]["total"]))
c[1].metric("Facilitateurs (personnes)", fmt.integer(s["structures"]["personnes"]))
c[2].metric("ETP", fmt.decimal(s["structures"]["etp"]))
c[3].metric("ETP pour 100 000 habitants", fmt.decimal(s["structures"]["etp_pour_100k_hab"], 2))

st.divider()
# tables derived from the diagnosis only: made once per workspace version and région for every session
show_table(state.shared_frame("zones_blanches", region, lambda: zones_blanches(d)), key="couverture.zones_blanches",
           title="Zones blanches, par population", export_name="zones_blanches")


def _zones_emploi():
    ze = d.zones_emploi.copy()
    names = dict(zip(d.structures["id_structure"], d.structures["nom"]))
    ze["structures"] = [", ".join(names.get(x, x) for x in v.split(";") if x) for v in ze["structures"]]
    return ze


st.divider()
show_table(state.shared_frame("zones_emploi", region, _zones_emploi), key="couverture.zones_emploi",
           title="Cohérence avec les zones d'emploi", export_name="zones_emploi")
st.caption("« Déborde de la région » : la zone d'emploi compte des communes d'une autre région. Une zone "
           "partagée entre plusieurs structures est signalée par le nombre de structures.")

st.divider()
show_table(state.shared_frame("structures", region, lambda: host_names(d.structures, ds.communes).assign(
           alerte=structure_flags(d.structures))),
           key="couverture.structures", title="Structures : moyens et charge", export_name="structures")

st.divider()
fin = state.shared_frame("financement", region, lambda: funding(ds.structures, FUNDING_COLUMNS))
state.draw_once(f"chart|{fin.key}", lambda: st.altair_chart(charts.funding_chart(fin.df), key="couverture.financement",
                                                             width="stretch", theme=None))
show_table(fin, key="couverture.financement_table", export_name="financement", filterable=False)
