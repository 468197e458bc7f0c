"""Report: the PDF report, the PowerPoint deck and the XLSX workbook of the diagnosis, built in one click."""

import tempfile

import streamlit as st

import reports
from components import state
from components.sidebar import current_region
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
of = f"{state.stamp()}|{region}"

st.markdown(f"**{fmt.md(regions.get(region, region))}** · espace de travail : {fmt.md(ds.label)}"
            + (f" · millésimes : {fmt.md(ds.vintages_text())}" if ds.vintages_text() else ""))
st.markdown("Trois documents du diagnostic de cette région, pour la réunion et pour le bilan (fiche 3, § 6) :\n"
            "- **le rapport PDF** : chiffres clés, cartes, zones blanches, structures, zones d'emploi, "
            "chevauchements, marchés, indicateurs ABC Clauses, bilan des facilitateurs et définitions ;\n"
            "- **la présentation PowerPoint** : les six écrans de la réunion, modifiables ;\n"
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
            paths = reports.build(ds, result, region, tmp, workspace_label=ds.label)
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
