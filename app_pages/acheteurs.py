"""Buyers (fiche 3, § 2): who publishes markets with a social consideration, how often, for how much, which
facilitators' areas hold them, and which buyers may have to adopt a SPASER — always an estimate from the market
file, its limits written beside it. A buyer's card lists its annual amounts and its markets."""

import pandas as pd
import streamlit as st

from components import state
from components.sidebar import current_region
from components.tables import show_table
from data.schemas import BUYER_TYPES
from geo.buyers import SPASER_THRESHOLD, buyer_markets, filter_buyers
from geo.markets import CLASS_LABELS
from views import fmt
from views import text as T

ds = state.dataset()
st.title("Acheteurs")
state.require(ds, "communes", "marches")
region = current_region()
st.info(T.BUYERS_ESTIMATE, icon=":material/info:")
with st.expander("Définitions des chiffres de cette page", icon=":material/help:", key="acheteurs.definitions"):
    st.markdown("\n".join(f"- **{fmt.md(term)}** : {fmt.md(text)}" for term, text in T.NEEDS_DEFINITIONS
                          if term.startswith(("Acheteur", "Montant annuel", "Marché social"))))

with st.sidebar:
    st.markdown("### Filtres des acheteurs")
    million = st.number_input("Seuil SPASER (M€ HT par an)", min_value=1.0, max_value=10_000.0,
                              value=SPASER_THRESHOLD / 1e6, step=5.0, format="%g", key="acheteurs.seuil",
                              help="50 M€ HT depuis le 1er janvier 2023 (décret n° 2022-767) ; 100 M€ HT dans la "
                                   "loi de 2014 que cite l'instruction.")
threshold = float(million) * 1e6
table = state.buyers(region, threshold)
with st.sidebar:
    known = [t for t in BUYER_TYPES if t in set(table["type_acheteur"])]
    types = st.multiselect("Type d'acheteur", known + sorted(set(table["type_acheteur"]) - set(known) - {""}),
                           key="acheteurs.filtre.type", placeholder="Tous")
    above = st.checkbox("Seulement au-dessus du seuil SPASER", key="acheteurs.filtre.seuil")
    share = st.slider("Part sociale du montant, au moins", 0, 100, 0, step=5, format="%d %%",
                      key="acheteurs.filtre.part")
shown = filter_buyers(table, types, above, share / 100 if share else None)

c = st.columns(4)
c[0].metric("Acheteurs", fmt.integer(len(table)), f"{fmt.integer(len(shown))} après filtres", delta_color="off",
            delta_arrow="off")
c[1].metric("Au-dessus du seuil SPASER", fmt.integer(int(table["spaser"].sum())),
            f"estimation, seuil : {fmt.euros(threshold)} HT par an", delta_color="off", delta_arrow="off")
total = pd.to_numeric(shown["montant_ht"], errors="coerce").sum(min_count=1)
social = pd.to_numeric(shown["montant_ht_social"], errors="coerce").sum(min_count=1)
c[2].metric("Montant HT (filtrés)", fmt.euros(total))
c[3].metric("Part sociale du montant (filtrés)", fmt.percent(social / total) if total and total == total else "–")

view = shown.assign(nom=[x if x else "(sans nom dans le fichier)" for x in shown["nom"]],
                    siret=[x or "" for x in shown["siret"]])  # no SIRET in the file: an empty cell
cols = ["nom", "siret", "type_acheteur", "marches", "marches_sociaux", "montant_ht", "montant_ht_social",
        "part_sociale", "heures_insertion", "annees", "montant_annuel_max", "annee_montant_max", "spaser",
        "structures"]
show_table(view[cols], key="acheteurs.table", title=f"Acheteurs ({fmt.integer(len(shown))})",
           export_name="acheteurs", labels={"nom": "Acheteur", "structures": "Structures dont l'aire porte ses marchés"})

st.divider()
st.markdown("#### Fiche d'un acheteur")
keys = shown["cle"].tolist()
labels = dict(zip(shown["cle"], view["nom"] + [f" ({s})" if s else "" for s in shown["siret"]]))
choice = st.selectbox("Acheteur", keys, index=None, format_func=lambda k: labels.get(k, k), key="acheteurs.fiche",
                      placeholder="Choisissez un acheteur")
if choice:
    row = table.set_index("cle").loc[choice]
    c = st.columns(4)
    c[0].metric("Marchés", fmt.integer(row["marches"]), f"dont {fmt.integer(row['marches_sociaux'])} sociaux",
                delta_color="off", delta_arrow="off")
    c[1].metric("Montant HT", fmt.euros(row["montant_ht"]))
    c[2].metric("Montant annuel maximal", fmt.euros(row["montant_annuel_max"]),
                str(row["annee_montant_max"] or ""), delta_color="off", delta_arrow="off")
    c[3].metric("Seuil SPASER (estimation)", "au-dessus" if row["spaser"] else "en dessous")
    annual = pd.DataFrame([{"annee": y, "montant_ht": v, "spaser": v >= threshold}
                           for y, v in sorted(row["montants_annuels"].items())])
    if len(annual):
        show_table(annual, key="acheteurs.fiche.annees", title="Montant annuel (année civile de notification)",
                   export_name="acheteur_montants_annuels", filterable=False,
                   labels={"spaser": "Au-dessus du seuil"})
    result = state.diagnosis(region)
    marches = ds.marches.reset_index(drop=True)
    classified = result.markets.reset_index(drop=True)
    mine = buyer_markets(marches, choice)
    table_m = mine.assign(couverture=classified["couverture"].reindex(mine.index).map(CLASS_LABELS).fillna(""))
    show_table(table_m[["id_marche", "objet", "montant_ht", "date", "considerations_sociales", "lieu_type", "lieu_code",
                        "couverture"]], key="acheteurs.fiche.marches", title=f"Ses marchés ({fmt.integer(len(mine))})",
               export_name="acheteur_marches")
