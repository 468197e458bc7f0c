"""Report: the PDF report, the PowerPoint deck and the XLSX workbook of the diagnosis, built in one click."""

import tempfile

import streamlit as st

import reports
from components import scenario_state, state
from components.sidebar import current_region
from data.store import scenarios as scenario_store
from views import fmt

FILES = "rapport.fichiers"  # the files built in this session, with the workspace version and région they are of
MIME = {"pdf": "application/pdf",
        "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}

ds = state.dataset()
st.title("Rapport")
state.require(ds, "communes")
region = current_region()
regions = ds.regions()
# a scenario's proposition (fiche 3, § 3b) closes the deck and the report when one is chosen
choices = scenario_store.list_all(state.current_workspace()) if ds.has("facilitateurs") else []
names = {c["slug"]: c["nom"] for c in choices}
asked = st.query_params.get("scenario")
if asked in names and "rapport.scenario" not in st.session_state:
    st.session_state["rapport.scenario"] = asked
chosen = None
if names:
    chosen = st.selectbox("Proposition d'un scénario (facultatif)", [None] + list(names), key="rapport.scenario",
                          format_func=lambda s: "Aucune" if s is None else f"Scénario « {names[s]} »",
                          help="Ajoute la section « Proposition d'évolution du réseau » au rapport, la diapositive "
                               "de même nom à la présentation et ses feuilles au classeur.")
record = scenario_store.read(state.current_workspace(), chosen) if chosen else None
of = f"{state.stamp()}|{region}|{scenario_state.revision(record) if record else ''}"

st.markdown(f"**{fmt.md(regions.get(region, region))}** · espace de travail : {fmt.md(ds.label)}"
            + (f" · millésimes : {fmt.md(ds.vintages_text())}" if ds.vintages_text() else ""))
st.markdown("Trois documents du diagnostic de cette région, pour la réunion et pour le bilan (fiche 3, § 6) :\n"
            "- **le rapport PDF** : chiffres clés, cartes, zones blanches, structures, zones d'emploi, "
            "chevauchements, marchés, indicateurs ABC Clauses, bilan des facilitateurs et définitions ;\n"
            "- **la présentation PowerPoint** : les écrans de la réunion, modifiables ;\n"
            "- **le classeur XLSX** : tous les tableaux du diagnostic.")
missing = [k for k in ("qpv", "facilitateurs", "marches", "indicateurs") if not ds.has(k)]
if missing:
    st.info("Pas encore importé dans cet espace, les parties correspondantes le diront : " + ", ".join(
        {"qpv": "les QPV", "facilitateurs": "les facilitateurs", "marches": "les marchés",
         "indicateurs": "les indicateurs ABC Clauses"}[k] for k in missing) + ".", icon=":material/info:")

if st.button("Préparer le rapport", key="rapport.preparer", type="primary", icon=":material/description:"):
    with st.spinner("Préparation des trois documents (cartes, graphiques, tableaux)…"):
        result = state.diagnosis(region)
        with tempfile.TemporaryDirectory(prefix="rapport-") as tmp:
            proposition = scenario_state.proposition(record, region) if record else None
            paths = reports.build(ds, result, region, tmp, workspace_label=ds.label, proposition=proposition)
            st.session_state[FILES] = {"de": of, "fichiers": {k: (p.name, p.read_bytes()) for k, p in paths.items()}}

built = st.session_state.get(FILES)
if not built:
    st.caption("Cliquez sur « Préparer le rapport » : les boutons de téléchargement apparaissent ensuite.")
elif built["de"] != of:
    st.warning("Les documents préparés portent sur une autre région ou une autre version des données : "
               "préparez-les de nouveau.", icon=":material/warning:")
else:
    files = built["fichiers"]
    cols = st.columns(3)
    labels = {"pdf": ("Rapport PDF", ":material/picture_as_pdf:"),
              "pptx": ("Présentation PowerPoint", ":material/slideshow:"),
              "xlsx": ("Classeur XLSX", ":material/table_view:")}
    for col, kind in zip(cols, ("pdf", "pptx", "xlsx")):
        name, data = files[kind]
        label, icon = labels[kind]
        col.download_button(label, data, file_name=name, mime=MIME[kind], key=f"rapport.telecharger.{kind}",
                            icon=icon, width="stretch", on_click="ignore")
    st.caption("Les effectifs de bénéficiaires inférieurs à 5 ne sont affichés dans aucun des trois documents "
               "(secret statistique).")
