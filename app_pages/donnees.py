"""Data page: workspaces, imports with their validation report, history of versions, members, journal,
bin, templates. What is shown depends on the user's role in the workspace (``data.access``)."""

import datetime as dt

import pandas as pd
import streamlit as st

from components import auth, state, uploads
from components.sidebar import current_region
from components.tables import refusal_text, report_table, show_table
from data import access, referentiel
from data.formats.limits import limits_text
from data.formats.upload import Upload
from data.formats.writers import template_csv, template_xlsx
from data.schemas import KINDS
from data.store import imports, journal, workspaces
from data.store.workspaces import StoreError
from data.validation import validate
from views import fmt
from views.columns import history_frame
from views.text import agree

ACCEPTED = {
    "communes": ["csv", "xlsx", "geojson", "json", "gpkg", "parquet", "zip"],
    "qpv": ["csv", "xlsx", "geojson", "json", "gpkg", "parquet", "zip"],
    "facilitateurs": ["xlsx", "csv"],
    "marches": ["csv", "xlsx", "json", "parquet"],
    "indicateurs": ["csv", "xlsx"],
    "structures_inclusion": ["csv", "xlsx", "json", "geojson", "parquet", "xls"],
}
HELP = {
    "communes": "Colonnes code_insee, nom, dep, reg, epci_siren, epci_nom, population, ze2020, ze2020_lib, "
                "codes_postaux ; avec ou sans contours (GeoJSON, GeoPackage, GeoParquet, Shapefile zippé).",
    "qpv": "Colonnes code_qp, nom_qp, code_commune, population ; contours conseillés (règle des 1 % de surface). "
           "Les contours officiels des QPV 2024 sont publiés par l'ANCT sur data.gouv.fr (fichier "
           "QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson) : importez-le tel quel, pour toute la France, "
           "seuls les QPV de votre région sont gardés.",
    "facilitateurs": "Un classeur XLSX avec les feuilles « structures » et « perimetres », ou les deux fichiers "
                     "structures.csv et perimetres.csv ensemble. Les codes des périmètres sont vérifiés dans le "
                     "référentiel des communes de l'espace.",
    "marches": "Le tableau des marchés du modèle, ou un fichier DECP tel que publié (JSON, Parquet ou CSV consolidé). "
               "Un fichier national est ramené à la région choisie : les marchés situés ailleurs sont écartés et "
               "comptés dans le rapport.",
    "indicateurs": "Les tableaux ABC Clauses T01 à T18 au format long (annee, territoire, tableau, dimension, "
                   "modalite, mesure, valeur).",
    "structures_inclusion": "Les SIAE (EI, ETTI, AI, ACI, EITI), GEIQ, EA, EATT et ESAT : le fichier national "
                            "« structures » de data·inclusion tel que publié sur data.gouv.fr (CSV, XLSX, JSON, "
                            "GeoJSON ou Parquet ; seules les structures de votre région sont gardées, les autres "
                            "comptées), la liste des prestataires du marché de l'inclusion telle que téléchargée "
                            "(choisissez le format CSV : l'ancien format Excel .xls n'est pas lu), ou le modèle "
                            "(siret, nom, type, code_commune ; latitude, longitude et secteurs facultatifs).",
}

def help_text(kind: str) -> str:
    """What a tab asks for; the facilitators' tab asks for the référentiel first only when it is missing."""
    text = HELP[kind]
    if kind == "facilitateurs" and not ds.has("communes"):
        text += " Importez-le d'abord (onglet « Référentiel des communes »)."
    return text


def already_loaded(kind: str) -> str:
    """What the workspace already holds of a kind, in one sentence (empty when nothing)."""
    if not ds.has(kind):
        return ""
    vintage = ds.vintages.get(kind, "")
    if kind == "communes" and ds.meta.get("referentiel_officiel"):
        n = len(ds.communes)
        return (f"Le référentiel officiel des communes de la région est déjà chargé ({fmt.integer(n)} "
                f"{'communes' if n >= 2 else 'commune'}{', COG ' + vintage if vintage else ''}) : vous n'avez rien à "
                "importer ici, sauf pour le remplacer par le vôtre.")
    table = {"communes": "communes", "qpv": "qpv", "facilitateurs": "structures", "marches": "marches",
             "indicateurs": "indicateurs", "structures_inclusion": "structures_inclusion"}[kind]
    n = len(getattr(ds, table))
    words = {"communes": ("commune", "communes"), "qpv": ("QPV", "QPV"),
             "facilitateurs": ("structure", "structures"), "marches": ("marché", "marchés"),
             "indicateurs": ("ligne d'indicateurs", "lignes d'indicateurs"),
             "structures_inclusion": ("structure de l'inclusion", "structures de l'inclusion")}[kind]
    return (f"Déjà importé : {fmt.integer(n)} {words[0] if n < 2 else words[1]}"
            + (f" (millésime {vintage})" if vintage else "") + ". Un nouveau fichier les remplace (une nouvelle "
            "version est créée, l'ancienne reste restaurable).")


st.title("Données")
slug = state.current_workspace()
space = workspaces.info(slug)
ds = state.dataset()
user = auth.current_user()  # None: no login configured, everything allowed
who = user or ""  # what the history and the journal record
role = access.role(user, slug)


def allowed(action: str) -> bool:
    return not space.read_only and access.can(user, slug, action)


def create_form(expanded: bool) -> None:
    if not access.can_create(user):
        return
    official = referentiel.regions() if referentiel.available() else {}
    with st.expander("Créer un espace de travail", expanded=expanded, icon=":material/add:"):
        st.caption("Un espace de travail réunit les fichiers d'une région ou d'une étude (par exemple "
                   "« Hauts-de-France 2026 ») : ce que vous y importez n'apparaît dans aucun autre espace. "
                   "Choisissez votre région : l'espace contient alors déjà son référentiel officiel des communes "
                   "(population, EPCI, zones d'emploi, codes postaux, contours) ; vous n'apportez que vos "
                   "facilitateurs, vos QPV, vos marchés et vos indicateurs.")
        with st.form("donnees.creer", border=False):
            name = st.text_input("Nom de l'espace", key="donnees.creer.nom", placeholder="Hauts-de-France 2026",
                                 max_chars=workspaces.NAME_MAX)
            region = st.selectbox("Région", [""] + list(official), key="donnees.creer.region",
                                  format_func=lambda c: f"{official[c]} ({c})" if c else
                                  "Aucune : j'importerai mon propre référentiel des communes")
            if official:
                st.caption(fmt.md(referentiel.sources_label()))
            if st.form_submit_button("Créer l'espace", icon=":material/add:"):
                try:
                    access.check_can_create(user)  # the createurs list, and the bound per person
                    new = (workspaces.create_from_referentiel(name or official.get(region, ""), region, user=who)
                           if region else workspaces.create(name, user=who))
                    access.on_created(new, user)  # its creator becomes its admin
                except (StoreError, access.AccessError, OSError) as exc:
                    st.error(str(exc).capitalize())
                else:
                    state.use_workspace(new)
                    st.session_state.pop("sidebar.region", None)
                    st.rerun()


st.markdown(f"**Espace de travail** : {fmt.md(space.name)} · version {space.version}"
            + (f" · millésimes : {fmt.md(ds.vintages_text())}" if ds.vintages_text() else "")
            + (f" · votre rôle : {access.ROLE_LABELS[role]}" if user is not None and role else ""))
if space.read_only:
    st.info("L'espace de démonstration est en lecture seule : créez votre espace de travail pour y importer vos "
            "fichiers. La démonstration reste disponible à tout moment dans le panneau latéral.",
            icon=":material/science:")
create_form(expanded=space.read_only)

# ---------------------------------------------------------------------------------------------
# Imports

if not space.read_only and not allowed("importer"):
    st.info("Vous consultez cet espace en lecture (rôle lecteur) : l'import de fichiers et le retour à une version "
            "sont réservés à ses éditeurs et administrateurs.", icon=":material/visibility:")
if allowed("importer"):
    st.markdown("#### Importer vos fichiers")
    st.caption("Chaque type de fichier a ses limites, indiquées dans son onglet. Un fichier qui contient une erreur "
               "ne modifie rien ; un fichier qui n'a que des avertissements est importé et crée une nouvelle version "
               "de l'espace.")
    done = st.session_state.setdefault("donnees.importes", {})
    # the first tab: the first kind this workspace still lacks (its référentiel may already be loaded)
    first = st.session_state.setdefault(f"donnees.onglet_initial.{slug}", next(
        (KINDS[k] for k in KINDS if not ds.has(k)), KINDS["communes"]))
    tabs = st.tabs(list(KINDS.values()), default=first, key=f"donnees.onglets.{slug}")
    for tab, (kind, label) in zip(tabs, KINDS.items()):
        with tab:
            loaded_note = already_loaded(kind)
            if loaded_note:
                st.info(loaded_note, icon=":material/check_circle:")
            st.markdown(help_text(kind))
            st.caption(limits_text(kind))
            declared = ""
            if kind == "communes":
                year = st.number_input("Millésime du COG (année), s'il n'est pas dans le nom du fichier", 2000,
                                       2100, value=None, step=1, key="donnees.millesime_cog", placeholder="ex. 2026")
                declared = str(int(year)) if year else ""
            elif kind == "facilitateurs":
                # never « non précisé » on a wall: the facilitators' year is asked, the import's by default
                year = st.number_input("Année des données des facilitateurs (celle de la colonne « annee » du fichier "
                                       "prévaut si elle est remplie)", 2000, 2100, value=dt.date.today().year, step=1,
                                       key="donnees.millesime_facilitateurs")
                declared = str(int(year)) if year else str(dt.date.today().year)
            files = uploads.file_uploader(f"Importer : {label}", type=ACCEPTED[kind], key=f"donnees.upload.{slug}.{kind}",
                                          accept_multiple_files=(kind == "facilitateurs"),
                                          max_mb=uploads.kind_max_mb(kind))
            files = [f for f in (files if isinstance(files, list) else [files]) if f is not None]
            if files:
                layer_key = f"donnees.couche.{slug}.{kind}"  # a GeoPackage of several layers: which one
                layer = st.session_state.get(layer_key)
                ident = (slug, tuple(f.file_id for f in files), layer)
                if done.get(kind, (None,))[0] != ident:
                    sent = [Upload(f.name, f.getvalue()) for f in files]
                    loaded = validate(kind, sent, communes=ds.communes if ds.has("communes") else None,
                                      region=current_region() or None, layer=layer)
                    if loaded.ok and kind == "facilitateurs" and not ds.has("communes"):
                        loaded.report.warning(", ".join(u.name for u in sent),
                                              "codes des périmètres non vérifiés : l'espace n'a pas encore de "
                                              "référentiel des communes.")
                    version = None
                    if loaded.ok:
                        new, record = imports.apply(ds, loaded, [u.name for u in sent], declared)
                        record["files"] = [journal.file_entry(u.name, u.data) for u in sent]
                        try:
                            version = workspaces.import_tables(slug, new, kind, record, user=who)
                        except StoreError as exc:
                            loaded.report.error(", ".join(u.name for u in sent), str(exc))
                    done[kind] = (ident, loaded, [u.name for u in sent], version)
                    if version:
                        st.rerun()  # every part of the page, and the sidebar, shows the new version
                loaded, names, version = done[kind][1], done[kind][2], done[kind][3]
                layers = loaded.layers
                if layers:
                    st.selectbox(f"Ce fichier contient {len(layers)} couches : laquelle importer ?", layers,
                                 index=None, key=layer_key, placeholder="Choisissez une couche")
                if loaded.ok:
                    st.success(fmt.md(loaded.outcome(names)) + (f" Version {version} de l'espace." if version else ""),
                               icon=":material/check_circle:")
                else:
                    st.error(refusal_text(loaded.report, "Vos données actuelles n'ont pas été modifiées.",
                                          loaded.outcome(names)), icon=":material/error:")
                if loaded.report.issues:
                    report_table(loaded.report_frame(), key=f"donnees.rapport.{kind}", export_name=f"rapport_{kind}")
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

# ---------------------------------------------------------------------------------------------
# Content and history

st.divider()
st.markdown("#### Contenu de l'espace")
counts = ds.counts()
kind_of = {"communes": "communes", "qpv": "qpv", "structures": "facilitateurs", "perimetres": "facilitateurs",
           "marches": "marches", "indicateurs": "indicateurs", "structures_inclusion": "structures_inclusion"}
TABLE_LABELS = {"communes": "Communes", "qpv": "QPV", "structures": "Structures porteuses",
                "perimetres": "Périmètres d'intervention", "marches": "Marchés", "indicateurs": "Indicateurs",
                "structures_inclusion": "Structures de l'inclusion"}
content = pd.DataFrame({
    "Table": [TABLE_LABELS.get(t, t) for t in counts],
    "Lignes": [fmt.integer(n) if ds.has(t) else "non importée" for t, n in counts.items()],
    "Millésime": [ds.vintages.get(kind_of[t], "") for t in counts],
    "Fichier": [ds.meta.get("sources", {}).get(kind_of[t], "") for t in counts],
})
st.dataframe(content, hide_index=True, key="donnees.contenu", column_config={  # the sources whole at 1280 px
    "Table": st.column_config.TextColumn(width=170), "Lignes": st.column_config.TextColumn(width=90),
    "Millésime": st.column_config.TextColumn(width=150), "Fichier": st.column_config.TextColumn(width=480)})

hist = workspaces.history(slug)
st.markdown("#### Historique des versions")
if not hist:
    st.caption("Aucune version : rien n'a encore été importé dans cet espace.")
else:
    rows = history_frame(hist)
    # rows of two lines (a grid wraps its text past 4 rem): every column within 1280 px, nothing cut
    st.dataframe(rows, hide_index=True, key="donnees.historique", row_height=66, column_config={
        "Version": st.column_config.NumberColumn(width=64), "Date": st.column_config.TextColumn(width=96),
        "Action": st.column_config.TextColumn(width=120), "Fichier": st.column_config.TextColumn(width=190),
        "Lignes": st.column_config.TextColumn(width=250), "Millésime": st.column_config.TextColumn(width=110)})
    if allowed("restaurer") and len(hist) > 1:
        c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
        back = c1.selectbox("Revenir à une version (une nouvelle version est créée, rien n'est effacé)",
                            [h["version"] for h in reversed(hist) if h["version"] != space.version],
                            # a key per current version: after an import, the choice starts again
                            # from the version just before, not from the one chosen earlier
                            key=f"donnees.restaurer.version.{space.version}", format_func=lambda v: f"version {v}")
        if c2.button("Restaurer cette version", key="donnees.restaurer", icon=":material/history:"):
            try:
                workspaces.restore(slug, int(back), user=who)
            except StoreError as exc:
                st.error(str(exc).capitalize())
            else:
                st.session_state["donnees.importes"] = {}
                st.rerun()

# ---------------------------------------------------------------------------------------------
# Members and journal (the workspace's admins)


def members_form() -> None:
    with st.expander("Membres et droits d'accès", icon=":material/group:"):
        st.caption("Une entrée par ligne : une adresse (`prenom.nom@dreets.gouv.fr`), toutes les adresses d'un "
                   "domaine (`@dreets.gouv.fr`) ou `*` (toute personne connectée). Lecteur : voit l'espace ; éditeur : "
                   "importe des fichiers et revient à une version ; administrateur : gère les membres, lit le "
                   "journal et supprime l'espace. Les règles sont gardées dans le fichier acces.toml du dossier "
                   "des données.")
        current = access.members(slug)
        with st.form("donnees.membres", border=False):
            texts = {r: st.text_area(access.ROLE_LABELS[r].capitalize() + "s", value="\n".join(current[r]),
                                     key=f"donnees.membres.{r}", height=100) for r in access.ROLES}
            if st.form_submit_button("Enregistrer les membres", icon=":material/save:"):
                try:
                    access.set_members(slug, {r: t.splitlines() for r, t in texts.items()}, by=user)
                except (access.AccessError, OSError) as exc:
                    st.error(str(exc).capitalize(), icon=":material/error:")
                else:
                    st.success("Membres enregistrés (inscrit au journal).", icon=":material/check_circle:")
        admins = access.read().admins
        if admins:
            st.caption("Administrateurs de tous les espaces (fichier acces.toml) : " + fmt.md(", ".join(admins)))


def journal_section() -> None:
    with st.expander("Journal des actions", icon=":material/receipt_long:"):
        st.caption("Chaque import (fichier et empreinte SHA-256), retour à une version, suppression et "
                   "modification des droits, avec sa date et son auteur. Le journal ne peut pas être modifié "
                   "depuis l'application.")
        log = journal.read(slug)
        if log.unreadable:
            n = log.unreadable
            st.warning(f"{n} {agree(n, 'ligne illisible', 'lignes illisibles')} du journal (écriture interrompue) "
                       f"{agree(n, 'a été ignorée', 'ont été ignorées')}.")
        if not log.entries:
            st.caption("Aucune action inscrite pour cet espace.")
        else:
            show_table(journal.frame(log.entries), key="donnees.journal", export_name=f"journal_{slug}")
        if access.is_admin(user):
            st.download_button("Journal complet (tous les espaces, CSV)", lambda: journal.csv_bytes(
                journal.read().entries), file_name="journal.csv", mime="text/csv", key="donnees.journal.complet",
                icon=":material/download:")


if not space.read_only and (allowed("membres") or allowed("journal")):
    st.divider()
    st.markdown("#### Administration de l'espace")
    if allowed("membres") and user is not None:
        members_form()
    if allowed("journal"):
        journal_section()

# ---------------------------------------------------------------------------------------------
# Deleting a workspace, and the bin

if allowed("supprimer"):
    st.divider()
    with st.expander("Supprimer cet espace de travail", icon=":material/delete:"):
        st.caption("L'espace est placé dans la corbeille : il peut en être restauré tant que la corbeille n'a pas "
                   "été vidée.")
        sure = st.checkbox(f"Je confirme la suppression de l'espace « {fmt.md(space.name)} »",
                           key="donnees.supprimer.ok")
        if st.button("Supprimer l'espace", key="donnees.supprimer", disabled=not sure, icon=":material/delete:"):
            entry = workspaces.delete(slug, user=who)
            access.on_deleted(slug, entry, user)  # its rules go to the bin with it
            state.use_workspace(workspaces.DEMO)
            st.session_state.pop("sidebar.region", None)
            st.rerun()

trash = [item for item in workspaces.bin_content() if access.bin_admin(user, item["entry"])]
if trash:
    with st.expander(f"Corbeille ({len(trash)} {agree(len(trash), 'espace', 'espaces')})", icon=":material/delete_sweep:"):
        for item in trash:
            c1, c2 = st.columns([3, 1], vertical_alignment="center")
            c1.markdown(f"{fmt.md(item['name'])} — supprimé le {item['deleted'][6:8]}/{item['deleted'][4:6]}/{item['deleted'][:4]}")
            if c2.button("Restaurer", key=f"donnees.corbeille.{item['entry']}", icon=":material/restore_from_trash:"):
                back = workspaces.undelete(item["entry"], user=who)
                access.on_undeleted(item["entry"], back, user)
                state.use_workspace(back)
                st.session_state.pop("sidebar.region", None)
                st.rerun()
        if access.is_admin(user):  # the bin holds every team's workspaces: its emptying is the global admins'
            sure = st.checkbox("Je confirme : les espaces de la corbeille seront définitivement effacés",
                               key="donnees.corbeille.ok")
            if st.button("Vider la corbeille", key="donnees.corbeille.vider", disabled=not sure):
                entries = [item["entry"] for item in workspaces.bin_content()]
                workspaces.empty_bin(user=who)
                access.on_bin_emptied(entries, user)
                st.rerun()
