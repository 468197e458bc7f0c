"""Home page: what is loaded, and what each page answers."""

import streamlit as st

from components import state
from components.sidebar import current_region
from views import fmt
from views.columns import MARKETS_KEPT, MARKETS_KEPT_HELP

ds = state.dataset()
st.title("Diagnostic territorial des clauses sociales")
st.markdown(f"**Espace de travail** : {fmt.md(ds.label)}"
            + (f" · millésimes : {fmt.md(ds.vintages_text())}" if ds.vintages_text() else ""))
if not ds.has("communes"):
    st.info("Cet espace de travail est vide pour l'instant. Importez le référentiel des communes de votre région, "
            "vos facilitateurs, vos QPV, vos marchés et vos indicateurs sur la page « Données ».",
            icon=":material/info:")
    st.page_link(state.DATA_PAGE, label="Aller à la page Données", icon=":material/upload_file:")
    st.stop()
region = current_region()
result = state.diagnosis(region)
summary = result.diagnosis.summary
regions = ds.regions()

c_region, c_wall = st.columns([3, 1], vertical_alignment="center")
c_region.markdown(f"## {fmt.md(regions.get(region, region))}")
c_wall.page_link("app_pages/presentation.py", label="Mode présentation",
                 icon=":material/co_present:",
                 query_params={"espace": state.current_workspace(), "region": region, "presentation": "1", "ecran": "1"},
                 help="Les écrans de la réunion de lancement (fiche 3), en plein écran : flèches ou télécommande "
                      "pour passer d'un écran à l'autre.")
missing = [k for k in ("qpv", "facilitateurs", "marches", "indicateurs", "structures_inclusion") if not ds.has(k)]
if missing:
    st.info("Pas encore importé dans cet espace : " + ", ".join(
        {"qpv": "les QPV", "facilitateurs": "les facilitateurs", "marches": "les marchés",
         "indicateurs": "les indicateurs ABC Clauses",
         "structures_inclusion": "les structures de l'inclusion"}[k] for k in missing) + " (page « Données »).",
            icon=":material/info:")
if ds.is_demo:
    st.info("**Région de démonstration – données fictives.** Toutes les communes, structures et marchés sont "
            "inventés pour préparer une réunion ; importez vos fichiers sur la page « Données ».",
            icon=":material/science:")

c = st.columns(4)
c[0].metric("Communes", fmt.integer(summary["communes"]["total"]))
c[1].metric("Population", fmt.integer(summary["population"]["totale"]))
c[2].metric("Quartiers prioritaires (QPV)", fmt.integer(summary["qpv"]["total"]))
c[3].metric("Zones d'emploi", fmt.integer(len(result.diagnosis.zones_emploi)))
c = st.columns(4)
c[0].metric("Structures porteuses", fmt.integer(summary["structures"]["total"]))
c[1].metric("Facilitateurs (personnes)", fmt.integer(summary["structures"]["personnes"]))
c[2].metric("ETP", fmt.decimal(summary["structures"]["etp"]))
c[3].metric(MARKETS_KEPT, fmt.integer(result.market_summary["total"]) if ds.has("marches") else "–",
            help=MARKETS_KEPT_HELP)

st.caption("Sources – " + " ; ".join(f"{label} : {fmt.md(text)}" for label, text in ds.sources()))

st.markdown("""
### Ce que chaque page permet de répondre
- **Carte des facilitateurs** : qui couvre quoi ? Les aires d'intervention, leurs chevauchements, les zones blanches,
  les QPV et les zones d'emploi (fiche 3, § 3a de l'instruction du 11 avril 2019).
- **Diagnostic de couverture** : quelle population, quelles communes et quels QPV ne sont couverts par aucun
  facilitateur ? Les aires sont-elles cohérentes avec les zones d'emploi ? Quelle charge par facilitateur ?
- **Comparer les facilitateurs** : que partagent deux structures voisines (communes, population, QPV) ?
- **Marchés** : quels marchés à clause sociale dépassent l'aire d'un facilitateur (fiche 3, § 3b) ?
- **Acheteurs** : qui publie des marchés avec une considération sociale, combien, pour quel montant, et quels
  acheteurs dépassent peut-être le seuil du SPASER (fiche 3, § 2 ; estimation à partir du fichier de marchés) ?
- **Besoins et moyens** : dans l'aire de chaque facilitateur et dans chaque zone d'emploi, combien de marchés
  sociaux, d'acheteurs et de structures de l'inclusion pour un ETP ; quelles structures de l'inclusion
  aucun facilitateur n'atteint (fiche 3, § 3a, § 3b, § 4 et § 5) ?
- **Indicateurs régionaux** : le panorama ABC Clauses de la région face à la France (fiche 3, § 1b et § 6b).
- **Données** : importer vos fichiers, lire le rapport de validation, télécharger les modèles.
- **Mode présentation** : les écrans de la réunion de lancement, lisibles au fond d'une salle (flèches ou
  télécommande pour passer d'un écran à l'autre). Le lien de chaque vue de carte se copie par le bouton « Copier le
  lien de cette vue » ; toute page s'imprime (menu du navigateur) sans panneau latéral, la carte sur une page.
""")
for note in result.diagnosis.notes:
    st.warning(note, icon=":material/warning:")
