"""The columns of every table the product shows or exports: French headers (``LABELS``), and the *kind*
of each column (:func:`column_kind`): a count, a decimal, a share, a gap in points, a year, an amount, a
date or text. The kind decides how a column is shown (``components.tables``), written to CSV
(:func:`csv_frame`: values rounded as on screen, decimal comma, a share in percent in a column whose
header says so, ``Part de la population couverte (%)``) and to XLSX (:func:`sheet`, written by the
product's one XLSX writer, ``data.formats.xlsx``: numbers stay numbers with formats Excel applies).

No Streamlit here, nor any document library: the screens and the documents both build on it.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from data.formats.spreadsheet import csv_bytes
from data.formats.xlsx import Sheet
from data.indicators import dimension_label
from data.report import counts_summary
from views import fmt

LABELS = {
    "code_insee": "Code commune", "nom": "Nom", "dep": "Département", "epci_siren": "EPCI (SIREN)",
    "epci_nom": "EPCI", "ze2020": "Zone d'emploi", "ze2020_lib": "Nom de la zone d'emploi",
    "population": "Population", "nb_structures": "Nombre de structures", "couverte": "Couverte",
    "structures": "Structures", "code_qp": "Code QPV", "nom_qp": "Nom du QPV", "communes": "Communes",
    "statut": "Statut", "code": "Code", "part_couverte": "Part de la population couverte",
    "chevauche_region": "Déborde de la région", "nb_communes": "Nombre de communes",
    "communes_non_couvertes": "Communes non couvertes", "id_structure": "Identifiant",
    "type_structure": "Type", "code_commune": "Commune d'implantation", "nb_facilitateurs": "Personnes",
    "etp": "ETP", "population_couverte": "Population couverte", "etp_pour_100k_hab": "ETP pour 100 000 hab.",
    "nb_qpv": "QPV couverts", "population_qpv": "Population des QPV couverts",
    "etp_pour_10k_hab_qpv": "ETP pour 10 000 hab. de QPV", "ze_dominante": "Zone d'emploi dominante",
    "part_ze_dominante": "Part dans la zone dominante", "nb_ze": "Zones d'emploi touchées",
    "id_a": "Structure A", "id_b": "Structure B", "communes_partagees": "Communes partagées",
    "population_partagee": "Population partagée", "qpv_partages": "QPV partagés", "id_marche": "Identifiant",
    "avec_consideration_sociale": "Considération sociale", "couverture": "Couverture", "regional": "Régional",
    "nb_aires": "Aires touchées", "raison": "Raison", "structure": "Structure couvrante",
    "ligne": "Ligne", "type_territoire": "Type de territoire", "code_territoire": "Code",
    "objet": "Objet", "acheteur": "Acheteur", "type_acheteur": "Type d'acheteur", "montant_ht": "Montant HT (€)",
    "date": "Date", "lieu_type": "Type de lieu", "lieu_code": "Lieu", "heures_insertion": "Heures d'insertion",
    "marches": "Marchés", "alerte": "Alerte", "qpv": "QPV", "voisin": "Voisin", "nom_voisin": "Nom du voisin",
    "source": "Source", "etp_finances": "ETP financés", "part": "Part", "indicateur": "Indicateur",
    "annee": "Année", "region": "Région", "france": "France", "ecart": "Écart (points)",
    "territoire": "Territoire", "territoire_lib": "Territoire", "tableau": "Tableau", "mesure": "Mesure",
    "dimension": "Dimension", "modalite": "Catégorie", "dimension_2": "Seconde dimension",
    "modalite_2": "Croisement", "valeur": "Valeur", "secret": "Masqué (secret statistique)",
    "considerations_sociales": "Considérations sociales", "cpv": "Code CPV",
    # needs and offer, buyers, inclusion structures (« Needs and offer », DOMAIN.md)
    "acheteur_siret": "SIRET de l'acheteur", "marches_sociaux": "Marchés sociaux",
    "montant_social": "Montant HT des marchés sociaux (€)", "heures_sociales": "Heures d'insertion des marchés sociaux",
    "acheteurs": "Acheteurs distincts", "structures_inclusion": "Structures de l'inclusion",
    "marches_sociaux_par_etp": "Marchés sociaux par ETP", "montant_social_par_etp": "Montant social par ETP (€)",
    "heures_sociales_par_etp": "Heures par ETP", "acheteurs_par_etp": "Acheteurs par ETP",
    "structures_inclusion_par_etp": "Structures de l'inclusion par ETP", "population_par_etp": "Habitants par ETP",
    "population_qpv_par_etp": "Habitants de QPV par ETP", "etp_present": "ETP présents",
    "potentiel_inclusif": "Potentiel inclusif", "potentiel_inclusif_detail": "Structures de l'inclusion du lieu",
    "siret": "SIRET", "type": "Type", "montant_ht_social": "Montant HT des marchés sociaux (€)",
    "part_sociale": "Part sociale du montant", "annees": "Années", "montant_annuel_max": "Montant annuel maximal (€)",
    "annee_montant_max": "Année du montant maximal", "spaser": "Au-dessus du seuil SPASER (estimation)",
    "localisation": "Localisée par", "code_postal": "Code postal", "commune": "Commune", "secteurs": "Secteurs",
    "type_ecrit": "Type écrit dans le fichier", "adresse": "Adresse", "total": "Total",
    "nb_structures_inclusion": "Structures de l'inclusion", "zone_blanche": "Zone blanche",
    **{f"inclusion_{t}": t for t in ("EI", "ETTI", "AI", "ACI", "EITI", "GEIQ", "EA", "EATT", "ESAT")},
    "inclusion_Autre": "Autre",
}
KINDS = {
    **dict.fromkeys(["population", "nb_structures", "nb_communes", "communes_non_couvertes", "nb_facilitateurs",
                     "population_couverte", "nb_qpv", "population_qpv", "nb_ze", "communes_partagees",
                     "population_partagee", "qpv_partages", "nb_aires", "heures_insertion", "marches", "ligne"], "int"),
    **dict.fromkeys(["etp", "etp_pour_100k_hab", "etp_pour_10k_hab_qpv", "etp_finances"], "dec2"),
    **dict.fromkeys(["part_couverte", "part_ze_dominante", "part", "region", "france"], "pct"),
    "ecart": "points", "annee": "year", "montant_ht": "euros", "valeur": "num",
    **dict.fromkeys(["marches_sociaux", "acheteurs", "structures_inclusion", "potentiel_inclusif",
                     "marches_sociaux_par_etp", "total", "nb_structures_inclusion"], "num"),
    **dict.fromkeys(["montant_social", "montant_ht_social", "montant_annuel_max", "montant_social_par_etp"], "euros"),
    **dict.fromkeys(["heures_sociales", "population_par_etp", "population_qpv_par_etp", "heures_sociales_par_etp"],
                    "int"),
    **dict.fromkeys(["acheteurs_par_etp", "structures_inclusion_par_etp"], "dec1"),
    "etp_present": "dec2", "part_sociale": "pct", "annee_montant_max": "year",
}
PERCENT_SUFFIX = " (%)"
# the kinds of place of execution of a market, as a person reads them (never « code_postal »)
PLACE_TYPE_LABELS = {"commune": "Commune", "code_postal": "Code postal", "departement": "Département",
                     "region": "Région", "pays": "Pays", "arrondissement": "Arrondissement", "canton": "Canton",
                     "concession": "Aucun (concession)", "inconnu": "Inconnu", "": "Inconnu"}


def place_type_label(value) -> str:
    """A market's kind of place in French: ``code_postal`` -> « Code postal »; an unknown kind as words."""
    text = "" if value is None or value != value else str(value)
    return PLACE_TYPE_LABELS.get(text) or dimension_label(text)
IDENTIFIER = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)+")  # a column name from code or from a file


# The markets a workspace keeps: not all the file's lines (those located in another région are dropped at
# import, and counted in the history), hence not « lus »
MARKETS_KEPT = "Marchés retenus"
MARKETS_KEPT_HELP = ("Les marchés du fichier situés dans la région, ou dont le lieu n'est pas localisable ; ceux "
                     "d'autres régions sont écartés à l'import et comptés dans l'historique (page « Données »).")


def label_of(col, labels: dict | None = None) -> str:
    """The French header of a column: ``labels`` first, then the app's labels; an identifier that
    neither knows (``type_entreprise``) is written as words (``Type d'entreprise``), never raw; any
    other name (a structure's, a year) as given."""
    if labels and col in labels:
        return str(labels[col])
    if col in LABELS:
        return LABELS[col]
    text = str(col)
    if IDENTIFIER.fullmatch(text):
        return dimension_label(text)
    return text


def column_kind(col, series: pd.Series) -> str:
    """How a column is shown and exported: ``int``, ``dec1``, ``dec2``, ``pct``, ``points``, ``year``,
    ``euros``, ``bool``, ``date`` (ISO text, the markets' ``date``) or ``text``. Numeric kinds apply only to numeric data (a structure named "part"
    in a comparison table stays text)."""
    if series.dtype == bool:
        return "bool"
    if not pd.api.types.is_numeric_dtype(series):
        return "date" if col == "date" else "text"
    kind = KINDS.get(col)
    if kind == "num" or kind is None:
        if kind is None and str(col) in ("Année", "Annee"):
            return "year"
        if pd.api.types.is_integer_dtype(series):
            return "int"
        values = pd.to_numeric(series, errors="coerce").dropna()
        return "int" if np.allclose(values, np.round(values)) else "dec1"
    return kind


def kinds_of(df: pd.DataFrame, kinds: dict | None = None) -> list[str]:
    """The kind of each column; ``kinds`` sets some (e.g. years as columns holding shares)."""
    return [(kinds or {}).get(df.columns[j]) or column_kind(df.columns[j], df.iloc[:, j]) for j in range(df.shape[1])]


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, 0)
        seen[n] = k + 1
        out.append(n if k == 0 else f"{n} ({k + 1})")
    return out


def french(df: pd.DataFrame, labels: dict | None = None) -> pd.DataFrame:
    """Same table, French headers (unique), booleans as oui/non; values untouched."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == bool:
            out[col] = out[col].map({True: "oui", False: "non"})
    out.columns = _unique([label_of(c, labels) for c in df.columns])
    return out


def _clean(values: pd.Series, digits: int) -> pd.Series:
    """Numbers rounded to ``digits`` (binary noise away), missing stays missing."""
    return pd.to_numeric(values, errors="coerce").astype(float).round(digits)


def csv_frame(df: pd.DataFrame, labels: dict | None = None, kinds: dict | None = None) -> pd.DataFrame:
    """The table as written to CSV: French headers, values rounded as on screen, shares in percent in a
    column named ``… (%)``, gaps in points, booleans oui/non."""
    cols, names = {}, []
    for j, kind in enumerate(kinds_of(df, kinds)):
        col, s = df.columns[j], df.iloc[:, j]
        name = label_of(col, labels)
        if kind in ("int", "euros", "year"):
            s = _clean(s, 0).astype("Int64")
        elif kind == "dec1":
            s = _clean(s, 1)
        elif kind == "dec2":
            s = _clean(s, 2)
        elif kind == "pct":
            s = _clean(100 * pd.to_numeric(s, errors="coerce"), 1)
            name += PERCENT_SUFFIX
        elif kind == "points":
            s = _clean(100 * pd.to_numeric(s, errors="coerce"), 1)
            if "point" not in name.lower():
                name += " (points)"
        elif kind == "bool":
            s = s.map({True: "oui", False: "non"})
        elif kind == "date":
            s = s.map(fmt.date).replace("–", "")  # what a French Excel reads as a date; empty when missing
        cols[j] = s.reset_index(drop=True)
        names.append(name)
    out = pd.DataFrame(cols)
    out.columns = _unique(names)
    return out


def table_csv(df: pd.DataFrame, labels: dict | None = None, kinds: dict | None = None) -> bytes:
    """CSV for a French Excel (``;``, UTF-8 with BOM, decimal comma), see :func:`csv_frame`."""
    return csv_bytes(csv_frame(df, labels, kinds))


def sheet(df: pd.DataFrame, name: str = "Tableau", labels: dict | None = None, kinds: dict | None = None) -> Sheet:
    """The table as a sheet of a workbook: French headers (unique), each column's kind (see
    :func:`column_kind`; ``kinds`` sets some)."""
    headers = _unique([label_of(c, labels) for c in df.columns])
    frame = df.copy()
    frame.columns = range(df.shape[1])  # by position: two columns may bear the same name
    return Sheet(name, frame, [(j, headers[j], kind) for j, kind in enumerate(kinds_of(df, kinds))])


# the kinds of import as the history names them
HISTORY_KINDS = {"communes": "référentiel", "qpv": "QPV", "facilitateurs": "facilitateurs", "marches": "marchés",
                 "indicateurs": "indicateurs", "structures_inclusion": "structures de l'inclusion"}


def history_frame(hist: list[dict]) -> pd.DataFrame:
    """The workspace's versions, newest first, as the Données page shows them: what was done (« import des
    marchés », « référentiel officiel », « restauration »), the files, what became of their rows in a few
    words (``data.report.counts_summary``), the vintage and who did it. Seven columns: it fits 1280 px."""
    def action(h: dict) -> str:
        kind = HISTORY_KINDS.get(h.get("kind", ""), h.get("kind", ""))
        if h.get("action") == "import":
            return f"import : {kind}" if kind else "import"
        return str(h.get("action", ""))

    rows = [{"Version": h["version"], "Date": fmt.date(h["date"]), "Action": action(h), "Fichier": h["file"],
             "Lignes": counts_summary(h.get("counts") or {}), "Millésime": h.get("vintage", ""),
             "Par": h.get("user", "")} for h in reversed(hist)]
    out = pd.DataFrame(rows, columns=["Version", "Date", "Action", "Fichier", "Lignes", "Millésime", "Par"])
    if not out["Par"].astype(str).str.strip().any():  # the single local user: nobody to name
        out = out.drop(columns="Par")
    return out

