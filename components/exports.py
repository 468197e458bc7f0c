"""Exports of the diagnosis and of every table on screen: XLSX and CSV that a French Excel reads right.

Each column has a *kind* (:func:`column_kind`): a count, a decimal, a share, a gap in points, a year,
an amount or text. The kind decides how the column is shown (``components.tables``) and exported:

- XLSX: numbers stay numbers, with a number format that Excel applies and localises (``#,##0``,
  ``#,##0.00``, ``0.0%``; a French Excel shows ``1 016 984``, ``6,78``, ``12,5 %``); a share is stored
  as a fraction with a percent format, a gap in points as points; binary noise is rounded away
  (``6.783999999999999`` is stored as ``6.784``: the full value, without the noise); header row bold
  and frozen, an autofilter on every sheet.
- CSV: values rounded as on screen, decimal comma, ``;``; a share is written in percent in a column
  whose header says so (``Part de la population couverte (%)``: ``87,3``), a gap in points likewise.

Text that a spreadsheet would run as a formula is neutralised in cells, headers and sheet names
(``data.formats.writers``): a name from a file never becomes a formula.
"""

from __future__ import annotations

import datetime as dt
import io
import re

import numpy as np
import pandas as pd

from components import fmt
from data.formats.writers import csv_bytes, neutralise, safe_header, safe_sheet_name
from data.indicators import dimension_label

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
}
KINDS = {
    **dict.fromkeys(["population", "nb_structures", "nb_communes", "communes_non_couvertes", "nb_facilitateurs",
                     "population_couverte", "nb_qpv", "population_qpv", "nb_ze", "communes_partagees",
                     "population_partagee", "qpv_partages", "nb_aires", "heures_insertion", "marches", "ligne"], "int"),
    **dict.fromkeys(["etp", "etp_pour_100k_hab", "etp_pour_10k_hab_qpv", "etp_finances"], "dec2"),
    **dict.fromkeys(["part_couverte", "part_ze_dominante", "part", "region", "france"], "pct"),
    "ecart": "points", "annee": "year", "montant_ht": "euros", "valeur": "num",
}
SHARE_COLUMNS = {c for c, k in KINDS.items() if k in ("pct", "points")}  # kept for callers of the old API
NUMERIC_KINDS = {"int", "dec1", "dec2", "pct", "points", "year", "euros", "num"}
XLSX_FORMATS = {"int": "#,##0", "euros": "#,##0", "dec1": "#,##0.0", "dec2": "#,##0.00", "pct": "0.0%",
                "points": '+0.0" pt";-0.0" pt";0.0" pt"', "year": "0", "date": "dd/mm/yyyy"}
PERCENT_SUFFIX = " (%)"
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


def xlsx_date(v):
    """A cell of a ``date`` column for a workbook: a real date (its format shows 16/12/2024), the text as
    written when it is not one, ``None`` when empty."""
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "":
        return None
    try:
        return dt.date.fromisoformat(str(v).strip()[:10])
    except ValueError:
        return str(v)


def _xlsx_value(v, kind: str):
    if kind == "date":
        return xlsx_date(v)
    if kind == "text":
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return None
        return v if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) else str(v)
    if kind == "bool":
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            return None
        return "oui" if bool(v) else "non"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None if v is None or v is pd.NA else str(v)
    if np.isnan(f):
        return None
    if kind in ("int", "year") or (kind == "euros" and f == round(f)):
        return int(round(f))
    if kind == "points":
        return round(100 * f, 6)  # in points: "-5.8" shown "-5,8 pt"
    if kind == "pct":
        return round(f, 8)  # a fraction, shown "12,5 %"
    return round(f, 6)


def workbook(sheets: dict[str, pd.DataFrame | tuple[pd.DataFrame, list]], labels: dict | None = None,
             kinds: dict | None = None) -> bytes:
    """One sheet per table. A value of ``sheets`` is a frame (kinds from its columns) or a pair
    ``(frame, kinds)`` where a kind may be a list (one kind per row: a summary's "Valeur" column)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    taken: set[str] = set()
    bold = Font(bold=True)
    for name, item in sheets.items():
        df, col_kinds = item if isinstance(item, tuple) else (item, None)
        col_kinds = col_kinds if col_kinds is not None else kinds_of(df, kinds)
        ws = wb.create_sheet(safe_sheet_name(name, taken))
        ws.freeze_panes = "A2"
        headers = _unique([label_of(c, labels) for c in df.columns])
        for j, (header, kind) in enumerate(zip(headers, col_kinds), start=1):
            if isinstance(kind, str) and kind in NUMERIC_KINDS:
                width = max(len(header) * 0.9, 11)
            else:
                sample = [len(str(v)) for v in df.iloc[:200, j - 1].tolist()]
                width = max([len(header) * 0.9] + sample)
            ws.column_dimensions[get_column_letter(j)].width = float(min(60, max(9, width + 2)))
        head = []
        for header in headers:
            cell = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", safe_header(header)))
            cell.data_type = "s"  # a header is text, whatever it starts with
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            head.append(cell)
        ws.append(head)
        columns = [df.iloc[:, j].tolist() for j in range(df.shape[1])]
        for i in range(len(df)):
            row = []
            for j, kind in enumerate(col_kinds):
                k = kind[i] if isinstance(kind, list) else kind
                value = _xlsx_value(columns[j][i], k)
                if isinstance(value, str):
                    value = ILLEGAL_CHARACTERS_RE.sub("", value)
                    if neutralise(value) != value:
                        cell = WriteOnlyCell(ws, value=neutralise(value))
                        cell.data_type = "s"
                        row.append(cell)
                        continue
                if k in XLSX_FORMATS and value is not None and not isinstance(value, str):
                    cell = WriteOnlyCell(ws, value=value)
                    cell.number_format = XLSX_FORMATS[k]
                    row.append(cell)
                else:
                    row.append(value)
            ws.append(row)
        ws.auto_filter.ref = f"A1:{get_column_letter(max(1, df.shape[1]))}{len(df) + 1}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def table_xlsx(df: pd.DataFrame, sheet: str = "Tableau", labels: dict | None = None,
               kinds: dict | None = None) -> bytes:
    return workbook({sheet: df}, labels, kinds)


def summary_frame(result) -> tuple[pd.DataFrame, list[str]]:
    """The key figures as (indicateur, valeur) rows, and the kind of each value."""
    s = result.diagnosis.summary
    m = result.market_summary
    rows = [
        ("Région", result.diagnosis.region, "text"),
        ("Communes", s["communes"]["total"], "int"), ("Communes couvertes", s["communes"]["couvertes"], "int"),
        ("Zones blanches (communes non couvertes)", s["communes"]["non_couvertes"], "int"),
        ("Communes couvertes par plusieurs structures", s["communes"]["multi_couvertes"], "int"),
        ("Population", s["population"]["totale"], "int"),
        ("Population non couverte", s["population"]["non_couverte"], "int"),
        ("Part de la population non couverte", s["population"]["part_non_couverte"], "pct"),
        ("QPV", s["qpv"]["total"], "int"), ("QPV couverts", s["qpv"]["couverts"], "int"),
        ("QPV partiellement couverts", s["qpv"]["partiels"], "int"),
        ("QPV non couverts", s["qpv"]["non_couverts"], "int"),
        ("Population des QPV non couverts", s["qpv"]["population_non_couverte"], "int"),
        ("Structures", s["structures"]["total"], "int"),
        ("Facilitateurs (personnes)", s["structures"]["personnes"], "int"),
        ("ETP", s["structures"]["etp"], "dec2"),
        ("ETP pour 100 000 habitants", s["structures"]["etp_pour_100k_hab"], "dec2"),
        (MARKETS_KEPT, m["total"], "int"),
        ("Marchés avec considération sociale", m["avec_consideration_sociale"], "int"),
        ("Marchés couverts par une structure", m["couvert"], "int"),
        ("Marchés sur plusieurs aires", m["multi_facilitateurs"], "int"),
        ("Marchés partiellement couverts", m["partiellement_couvert"], "int"),
        ("Marchés hors couverture", m["hors_couverture"], "int"),
        ("Marchés non localisables", m["non_localisable"], "int"),
        ("Marchés régionaux", m["regional"], "int"),
    ]
    frame = pd.DataFrame([r[:2] for r in rows], columns=["Indicateur", "Valeur"]).astype({"Valeur": object})
    return frame, [r[2] for r in rows]


def diagnosis_xlsx(result) -> bytes:
    """The diagnosis as a workbook: key figures, then one sheet per table (``cli.py diagnose --xlsx``)."""
    d = result.diagnosis
    blanches = d.communes[~d.communes["couverte"]].sort_values("population", ascending=False)
    summary, summary_kinds = summary_frame(result)
    sheets = {
        "Synthèse": (summary, ["text", summary_kinds]),
        "Zones blanches": blanches.drop(columns=["couverte", "nb_structures", "structures"]),
        "Communes": d.communes,
        "QPV": d.qpv,
        "Zones d'emploi": d.zones_emploi,
        "Structures": d.structures,
        "Chevauchements": d.overlaps,
        "Marchés": result.markets,
    }
    if len(d.unresolved):
        sheets["Codes non résolus"] = d.unresolved
    return workbook(sheets)
