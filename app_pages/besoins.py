"""Needs against means (fiche 3, § 3a–b, § 4, § 5): in each facilitator's area and each zone d'emploi, the
social markets, their buyers and the inclusion structures, per ETP; the inclusion structures no facilitator
reaches; the markets with no inclusion structure in their place. The definitions (DOMAIN.md « Needs and
offer ») are this page's help, in French, as the report's definitions page."""

import pandas as pd
import streamlit as st

from components import maps, state
from components.sidebar import basemap_on, current_region
from components.tables import show_table
from data.store.dataset import MISSING
from geo.inclusion import ALL_TYPES, families_sentence
from geo.needs import ZE_CLASSES, ze_class
from views import fmt
from views import text as T
from views.palette import NEEDS_COLOURS

ds = state.dataset()
st.title("Besoins et moyens")
state.require(ds, "communes", "facilitateurs")
region = current_region()
result = state.diagnosis(region)
needs = result.needs()

with st.expander("Définitions des chiffres de cette page", icon=":material/help:", key="besoins.definitions"):
    st.markdown("\n".join(f"- **{fmt.md(term)}** : {fmt.md(text)}" for term, text in T.NEEDS_DEFINITIONS))

if not ds.has("marches"):
    st.info(MISSING["marches"] + " Les marchés sociaux par structure et par zone d'emploi seront calculés après son "
            "import.", icon=":material/info:")
inc = needs.inclusion
c = st.columns(4)
c[0].metric("Marchés à clause sociale", fmt.integer(result.market_summary["avec_consideration_sociale"])
            if ds.has("marches") else "–")
c[1].metric("Marchés sociaux par ETP (médiane)", fmt.decimal(needs.median, 1) if ds.has("marches") else "–",
            help="Médiane sur les structures qui déclarent des ETP.")
c[2].metric("Structures en alerte de charge", fmt.integer((needs.structures["alerte"] != "").sum())
            if ds.has("marches") else "–", help=dict(T.NEEDS_DEFINITIONS)["Alerte de charge"])
if inc is None:  # never 0 as if known
    c[3].metric("Structures de l'inclusion", "–", "aucun fichier importé", delta_color="off", delta_arrow="off")
else:
    c[3].metric("Structures de l'inclusion", fmt.integer(inc["total"]),
                f"dont {fmt.integer(inc['non_localisees'])} non localisées", delta_color="off", delta_arrow="off")
for note in needs.notes:
    st.warning(note, icon=":material/warning:")

st.divider()
st.markdown("#### Par structure : besoins rapportés aux ETP")
st.caption(T.NEEDS_SUM_NOTE)
cols = ["nom", "etp", "marches_sociaux", "montant_social", "heures_sociales", "acheteurs", "structures_inclusion",
        "population_couverte", "population_qpv", "marches_sociaux_par_etp", "montant_social_par_etp",
        "heures_sociales_par_etp", "acheteurs_par_etp", "structures_inclusion_par_etp", "population_par_etp",
        "population_qpv_par_etp", "alerte"]
per_structure = state.shared_frame("besoins.structures", region, lambda: needs.structures[cols].sort_values(
    ["marches_sociaux_par_etp", "nom"], ascending=[False, True], na_position="last"))
show_table(per_structure, key="besoins.structures", export_name="besoins_par_structure",
           labels={"nom": "Structure", "alerte": "Alerte de charge"})

st.divider()
st.markdown("#### Par zone d'emploi")
ze = needs.zones_emploi.assign(classe=[ze_class(v, needs.median) for v in needs.zones_emploi["marches_sociaux_par_etp"]])
layers = state.display_layers(region)
if layers.drawable and ds.has("marches"):
    c_map, c_side = st.columns([2.3, 1])
    zz = ze.assign(texte=[fmt.decimal(v, 1) for v in ze["marches_sociaux_par_etp"]])
    basemap = basemap_on()
    with c_map:
        maps.show(None, key="besoins.carte", height=480, cache_key=f"besoins|{state.stamp()}|{region}|{basemap}",
                  build=lambda: maps.needs_map(layers, zz, basemap=basemap))
    items = [(NEEDS_COLOURS[k], T.NEEDS_CLASS_LABELS[k], "fill") for k in ZE_CLASSES if (ze["classe"] == k).any()]
    c_side.html(maps.legend_html(items, f"Marchés sociaux par ETP présent dans la zone ; médiane des structures : "
                                        f"{fmt.decimal(needs.median, 1)}. Données : {ds.credit()}.",
                                 title="Marchés sociaux par ETP présent"))
elif not layers.drawable:
    st.warning(T.NO_OUTLINES, icon=":material/map:")
show_table(state.shared_frame("besoins.ze", region, lambda: ze.drop(columns="classe")), key="besoins.ze",
           export_name="besoins_par_zone_emploi", filterable=False, labels={"nom": "Zone d'emploi"})

st.divider()
st.markdown("#### Structures de l'inclusion (SIAE, GEIQ, EA, ESAT)")
if inc is None:
    st.info(MISSING["structures_inclusion"] + " Le fichier national de data·inclusion (data.gouv.fr) ou la liste du "
            "marché de l'inclusion s'importent tels quels sur la page « Données ».", icon=":material/info:")
    st.page_link(state.DATA_PAGE, label="Importer les fichiers sur la page Données", icon=":material/upload_file:")
else:
    sentence = families_sentence(inc["dans_zones_blanches"], "dans des communes qu'aucun facilitateur ne couvre")
    st.markdown(f"**{fmt.md(sentence[0].upper() + sentence[1:])}.**")
    present = [t for t in ALL_TYPES if inc["par_type"].get(t)]
    by_type = pd.DataFrame([{"type": t, "nombre": inc["par_type"][t], "zone_blanche": inc["dans_zones_blanches"][t]}
                            for t in present])
    show_table(by_type, key="besoins.inclusion.types", title="Par type, dans la région et en zone blanche",
               export_name="structures_inclusion_par_type", filterable=False,
               labels={"nombre": "Structures", "zone_blanche": "Dont en zone blanche"})
    keep = ["id_structure", "nom", *present, "total"]
    show_table(state.shared_frame("besoins.inclusion.aires", region,
                                  lambda: needs.inclusion_by_structure[keep].drop(columns="id_structure")),
               key="besoins.inclusion.aires", title="Par aire de facilitateur",
               export_name="structures_inclusion_par_aire", labels={"nom": "Structure"})
    if needs.inclusion_by_ze is not None:
        show_table(state.shared_frame("besoins.inclusion.ze", region,
                                      lambda: needs.inclusion_by_ze[["code", "nom", *present, "total"]]),
                   key="besoins.inclusion.ze", title="Par zone d'emploi", export_name="structures_inclusion_par_ze",
                   labels={"nom": "Zone d'emploi"})
    if len(needs.unlocated):
        show_table(needs.unlocated[["nom", "type", "siret", "code_commune", "code_postal", "commune", "raison"]],
                   key="besoins.inclusion.non_localisees",
                   title=f"Structures non localisées ({fmt.integer(len(needs.unlocated))}) : gardées, hors des "
                         "comptes par aire", export_name="structures_inclusion_non_localisees",
                   labels={"code_commune": "Code commune", "commune": "Ville", "raison": "Pourquoi"})
    if ds.has("marches"):
        pot = needs.markets
        base = ds.marches.reset_index(drop=True)
        without = base[(pot["avec_consideration_sociale"] & (pot["potentiel_inclusif"] == 0)).to_numpy()]
        show_table(without[["id_marche", "objet", "acheteur", "montant_ht", "date", "lieu_type", "lieu_code"]],
                   key="besoins.sans_inclusion",
                   title=f"Marchés à clause sociale sans structure de l'inclusion dans leur lieu "
                         f"({fmt.integer(len(without))})", export_name="marches_sans_structure_inclusion")
