"""Markets: which markets with a social consideration no single facilitator covers, and why."""

import numpy as np
import pandas as pd
import streamlit as st

from components import maps, state, uploads
from components.sidebar import basemap_on, current_region
from components.tables import refusal_text, report_table, show_table
from data.schemas import BUYER_TYPES, MARKET_STATUSES
from data.store.dataset import MISSING
from geo.markets import CLASS_LABELS, CLASSES, amount_steps, buyers, filter_markets, place_points
from views import fmt
from views import text as T
from views.columns import MARKETS_KEPT, MARKETS_KEPT_HELP, place_type_label
from views.palette import CLASS_COLOURS

MAP_LIMIT = 3000

ds = state.dataset()
st.title("Marchés")
state.require(ds, "communes", "facilitateurs")
region = current_region()
result = state.diagnosis(region)
layers = state.display_layers(region)

source = st.radio("Marchés analysés", ["Marchés de l'espace de travail", "Analyser un autre fichier (modèle ou DECP)"],
                  horizontal=True, key="marches.source")
marches, classified = ds.marches, result.markets
if not source.startswith("Analyser"):
    state.require(ds, "marches")
else:
    marches, classified = ds.marches.iloc[0:0], result.markets.iloc[0:0]
    st.caption("Le fichier est analysé pour cette session sans être enregistré dans l'espace de travail "
               "(pour l'enregistrer : page Données).")
    up = uploads.file_uploader("Fichier de marchés (CSV, XLSX, DECP JSON ou Parquet)",
                               type=["csv", "xlsx", "json", "parquet"], key="marches.upload",
                               help="Le modèle de marchés ou un fichier DECP tel que publié ; un fichier qui "
                                    "couvre plus que la région y est ramené.", max_mb=uploads.kind_max_mb("marches"))
    if up is None:
        st.stop()
    loaded, classified = state.uploaded_markets(region, up.file_id, up.name, up.getvalue())
    if loaded.ok:
        (st.warning if loaded.report.issues else st.success)(fmt.md(loaded.outcome(up.name)))
    else:
        st.error(refusal_text(loaded.report, "Aucun marché de ce fichier n'est analysé.", loaded.outcome(up.name)))
    if loaded.report.issues:
        report_table(loaded.report_frame(), key="marches.rapport", export_name="rapport_marches")
    if not loaded.ok:
        st.stop()
    marches = loaded.tables["marches"]

parts = [marches.reset_index(drop=True), classified.drop(columns="id_marche").reset_index(drop=True)]
# the potentiel inclusif of each market (DOMAIN.md): the inclusion structures located in its place
with_potential = ds.has("structures_inclusion")  # an uploaded file's is computed with its classes
if with_potential and not source.startswith("Analyser"):
    parts.append(result.needs().markets[["potentiel_inclusif", "potentiel_inclusif_detail"]].reset_index(drop=True))
table = pd.concat(parts, axis=1)
social = table[table["avec_consideration_sociale"]]

with st.sidebar:
    st.markdown("### Filtres des marchés")
    statuts = st.multiselect("Statut", list(MARKET_STATUSES) + sorted(set(social["statut"]) - set(MARKET_STATUSES)
                                                                      - {""}),
                             key="marches.filtre.statut", placeholder="Tous")
    known = [t for t in BUYER_TYPES if t in set(social["type_acheteur"])]
    acheteurs = st.multiselect("Type d'acheteur", known + sorted(set(social["type_acheteur"]) - set(known) - {""}),
                               key="marches.filtre.type_acheteur",
                               placeholder="Tous")
    montants = pd.to_numeric(social["montant_ht"], errors="coerce")
    montants = montants[np.isfinite(montants)]  # a value stored before amounts were checked at import
    top = float(montants.max()) if montants.notna().any() else 0.0
    # round stops written the French way: a slider's printf format has no thousands separator
    steps = amount_steps(top)
    montant = st.select_slider("Montant HT", steps, (steps[0], steps[-1]), format_func=fmt.euros,
                               key="marches.filtre.montant")
    years = sorted({d[:4] for d in social["date"].astype(str) if d[:4].isdigit()})
    annees = st.multiselect("Année", years, key="marches.filtre.annee", placeholder="Toutes")
    classes = st.multiselect("Couverture", list(CLASSES), format_func=CLASS_LABELS.get, key="marches.filtre.classe",
                             placeholder="Toutes")
    reg_choice = st.selectbox("Marchés régionaux", ["Tous", "Régionaux seulement", "Non régionaux"],
                              key="marches.filtre.regional")
regional = {"Tous": None, "Régionaux seulement": True, "Non régionaux": False}[reg_choice]
if montant == (steps[0], steps[-1]):
    montant = None  # the slider untouched filters nothing (an amount beyond its stops included)
shown = filter_markets(social, statuts, acheteurs, montant, annees, classes, regional)

c = st.columns(4)
c[0].metric(MARKETS_KEPT, fmt.integer(len(table)), help=MARKETS_KEPT_HELP)
c[1].metric("Avec considération sociale", fmt.integer(len(social)), f"{fmt.integer(len(shown))} après filtres",
            delta_color="off", delta_arrow="off")
# min_count: a file without amounts or hours shows « – », not 0
c[2].metric("Montant HT (filtrés)", fmt.euros(pd.to_numeric(shown["montant_ht"], errors="coerce").sum(min_count=1)))
c[3].metric("Heures d'insertion (filtrés)", fmt.integer(pd.to_numeric(shown["heures_insertion"],
                                                                      errors="coerce").sum(min_count=1)))
counts = shown["couverture"].value_counts()
c = st.columns(len(CLASSES))
for col, cls in zip(c, CLASSES):
    col.metric(CLASS_LABELS[cls], fmt.integer(counts.get(cls, 0)))

st.divider()
gaps = shown[shown["couverture"] != "couvert"]
cols = ["id_marche", "objet", "acheteur", "type_acheteur", "montant_ht", "date", "lieu_type", "lieu_code",
        "couverture", "regional", "raison"] + (["potentiel_inclusif", "potentiel_inclusif_detail"] if with_potential
                                               else [])
gaps_view = gaps[cols].assign(couverture=gaps["couverture"].map(CLASS_LABELS),
                              lieu_type=gaps["lieu_type"].map(place_type_label))
show_table(gaps_view, key="marches.non_couverts",
           title=f"Marchés qu'aucune structure ne couvre seule ({fmt.integer(len(gaps))})",
           export_name="marches_non_couverts")
if not with_potential:
    st.caption("Potentiel inclusif (structures de l'inclusion situées dans le lieu du marché) : "
               + MISSING["structures_inclusion"][0].lower() + MISSING["structures_inclusion"][1:])
else:
    st.caption("Potentiel inclusif : " + dict(T.NEEDS_DEFINITIONS)["Potentiel inclusif d'un marché"])

st.divider()
st.markdown("#### Carte des marchés (au centre de leur lieu d'exécution)")
if layers.drawable:
    pts = place_points(result.ref, layers.commune_xy, shown)
    extra = ["potentiel_inclusif", "potentiel_inclusif_detail"] if with_potential else []
    pts = pd.concat([pts, shown[["couverture", "objet", "acheteur", "raison", *extra]]], axis=1).dropna(subset=["x", "y"])

    def _tip(d):
        pot = ([f" – potentiel inclusif : {fmt.integer(p)}" + (f" ({x})" if x else "")
                for p, x in zip(d["potentiel_inclusif"], d["potentiel_inclusif_detail"])] if with_potential
               else [""] * len(d))
        return [maps.esc(f"{o} – {a} : {r}{q}") for o, a, r, q in zip(d["objet"], d["acheteur"], d["raison"], pot)]

    pts = pts.head(MAP_LIMIT).assign(classe=lambda d: d["couverture"], texte=_tip)
    if len(shown) > MAP_LIMIT:
        st.caption(f"Les {MAP_LIMIT} premiers marchés filtrés sont placés sur la carte.")
    m = maps.points_map(layers.bounds, pts, CLASS_COLOURS, CLASS_LABELS, outline=layers.region_outline,
                        basemap=basemap_on(), title="Couverture des marchés", vintage=ds.credit())
    # the legend beside the map, never over the région nor its points (filter the classes in the side panel)
    c_map, c_legend = st.columns([3, 1], gap="medium")
    with c_map, st.container(key="marches-zone"):
        maps.show(m, key="marches.map", height=560)
    c_legend.html(maps.points_legend(CLASS_COLOURS, CLASS_LABELS, ds.credit(), title="Couverture des marchés"))
else:
    st.warning(T.NO_OUTLINES, icon=":material/map:")

st.divider()
show_table(buyers(gaps), key="marches.acheteurs", title="Acheteurs concernés", export_name="acheteurs_concernes")
