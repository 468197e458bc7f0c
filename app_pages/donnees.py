"""Data page: import each kind of file, read the validation report, download templates."""

import streamlit as st

from components.sidebar import current_region
from components.tables import show_table
from data import cache, imports, store
from data.files import template_csv, template_xlsx
from data.readers import Upload
from data.schemas import KINDS
from data.validation import validate

MAX_MB = st.get_option("server.maxUploadSize")
ACCEPTED = {
    "communes": ["csv", "xlsx", "geojson", "json", "gpkg", "parquet", "zip"],
    "qpv": ["csv", "xlsx", "geojson", "json", "gpkg", "parquet", "zip"],
    "facilitateurs": ["xlsx", "csv"],
    "marches": ["csv", "xlsx", "json", "parquet"],
    "indicateurs": ["csv", "xlsx"],
}
HELP = {
    "communes": "Colonnes code_insee, nom, dep, reg, epci_siren, epci_nom, population, ze2020, ze2020_lib, "
                "codes_postaux ; avec ou sans contours (GeoJSON, GeoPackage, GeoParquet, Shapefile zippé).",
    "qpv": "Colonnes code_qp, nom_qp, code_commune, population ; contours conseillés (règle des 1 % de surface).",
    "facilitateurs": "Un classeur XLSX avec les feuilles « structures » et « perimetres », ou les deux fichiers "
                     "structures.csv et perimetres.csv ensemble. Les codes des périmètres sont vérifiés dans le "
                     "référentiel des communes actif : importez-le d'abord.",
    "marches": "Le tableau des marchés du modèle, ou un fichier DECP tel que publié (JSON, Parquet ou CSV consolidé).",
    "indicateurs": "Les tableaux ABC Clauses T01 à T18 au format long (annee, territoire, tableau, dimension, "
                   "modalite, mesure, valeur).",
}

st.title("Données")
ds = cache.active_dataset()
st.markdown(f"**Jeu de données actif** : {ds.label}. Les fichiers importés sont conservés sur ce poste "
            f"(dossier `{store.store_dir()}`) et retrouvés au prochain démarrage.")
st.caption(f"Taille maximale : {MAX_MB} Mo par fichier. Un fichier qui contient une erreur ne modifie rien ; "
           "un fichier qui n'a que des avertissements est importé.")

done = st.session_state.setdefault("donnees.importes", {})
tabs = st.tabs(list(KINDS.values()))
for tab, (kind, label) in zip(tabs, KINDS.items()):
    with tab:
        st.markdown(HELP[kind])
        files = st.file_uploader(f"Importer : {label}", type=ACCEPTED[kind], key=f"donnees.upload.{kind}",
                                 accept_multiple_files=(kind == "facilitateurs"))
        files = [f for f in (files if isinstance(files, list) else [files]) if f is not None]
        if files:
            ident = tuple(f.file_id for f in files)
            if done.get(kind, (None,))[0] != ident:
                uploads = [Upload(f.name, f.getvalue()) for f in files]
                loaded = validate(kind, uploads, communes=ds.communes,
                                  region_deps=set(ds.communes.loc[ds.communes["reg"] == current_region(), "dep"]))
                if loaded.ok:
                    store.save_active(imports.apply(ds, loaded, [u.name for u in uploads]))
                    cache.clear()
                done[kind] = (ident, loaded.report)
            report = done[kind][1]
            if report.ok:
                st.success(report.summary(), icon=":material/check_circle:")
            else:
                st.error(report.summary() + " Vos données actuelles n'ont pas été modifiées.",
                         icon=":material/error:")
            if report.issues:
                show_table(report.to_frame(), key=f"donnees.rapport.{kind}", title="Rapport de validation",
                           export_name=f"rapport_{kind}")
        c1, c2 = st.columns(2)
        c1.download_button("Modèle XLSX", template_xlsx(kind), file_name=f"modele_{kind}.xlsx",
                           key=f"donnees.modele.{kind}.xlsx", icon=":material/download:",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        if kind == "facilitateurs":
            c2.download_button("Modèle CSV (structures)", template_csv(kind, "structures"),
                               file_name="structures.csv", key=f"donnees.modele.{kind}.csv", mime="text/csv",
                               icon=":material/download:")
            c2.download_button("Modèle CSV (périmètres)", template_csv(kind, "perimetres"),
                               file_name="perimetres.csv", key=f"donnees.modele.{kind}.csv2", mime="text/csv",
                               icon=":material/download:")
        else:
            c2.download_button("Modèle CSV", template_csv(kind), file_name=f"modele_{kind}.csv", mime="text/csv",
                               key=f"donnees.modele.{kind}.csv", icon=":material/download:")

st.divider()
st.markdown("#### Contenu du jeu actif")
counts = ds.counts()
st.dataframe({"Table": list(counts), "Lignes": list(counts.values()),
              "Source": [ds.meta.get("sources", {}).get(k if k not in ("structures", "perimetres") else
                                                        "facilitateurs", "") for k in counts]},
             hide_index=True, key="donnees.contenu")
if not ds.is_demo:
    if st.button("Revenir aux données de démonstration", key="donnees.retour_demo", icon=":material/restart_alt:"):
        store.reset_to_demo()
        cache.clear()
        st.session_state["donnees.importes"] = {}
        st.rerun()
