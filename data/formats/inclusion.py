"""Inclusion structures as people bring them: read into a frame of strings, and their types read.

Three shapes of file (DOMAIN.md, « Structures de l'inclusion »):

- the data·inclusion consolidated « structures » file as published on data.gouv.fr (schema v1), in any of
  its formats: CSV and XLSX (lists written as Python literals, ``"['ei', 'aci']"``; the XLSX starts with
  pandas' unnamed index column), JSON (an array of records), GeoJSON (features whose properties are the
  record) and Parquet (``reseaux_porteurs`` a list column). Columns are read by name, never by position;
  only the columns the product uses are read (a national CSV carries long descriptions);
- le marché de l'inclusion's list of inclusive suppliers as downloaded (« Télécharger la liste »): the
  current export (``Raison sociale, Enseigne, Type de structure, Adresse, Code postal, Ville…``, types
  written « Entreprise d'insertion (EI) ») and the older one (``Siret``, ``Département``, raw codes);
  its legacy ``.xls`` would need a reader the product does not ship: the message asks for CSV or XLSX;
- the product's template (``siret, nom, type, code_commune``, optional ``latitude, longitude, secteurs``).

Types are normalised to EI, ETTI, AI, ACI, EITI, GEIQ, EA, EATT, ESAT (``geo.inclusion``) from
``reseaux_porteurs`` codes (``unea`` is an EA), the marché's ``kind`` (« Atelier chantier d'insertion
(ACI) »), the v0 ``typologie`` codes (``ACIPHC`` is an ACI) or everyday spellings.

Imports ``data.formats.limits``, ``.upload``, ``.tables``, ``data.schemas`` and ``data.report``.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data import schemas as S
from data.formats.limits import TimeUp, check_time, fmt_int, limit_of
from data.formats.tables import detect_encoding, not_text_message, open_text, read_csv_stream, read_table, sniff_separator
from data.formats.upload import Upload, binary_kind, check_size, log_failure
from data.report import Report
from geo.codes import fold

KIND = "structures_inclusion"
# JSON is parsed whole (about ten times its size in memory): above this, the Parquet or the CSV of the same file
JSON_MAX_BYTES = 150 * 1024 * 1024
FORMATS = "formats acceptés : CSV, XLSX, JSON, GeoJSON, Parquet"
# le marché de l'inclusion's export adds its contact's columns (with a tender): « Nom » is the contact's name
CONTACT_COLUMNS = {"prenom", "nom", "email", "telephone", "reseausocial"}
# the data·inclusion codes (reseaux_porteurs, v1) and typologie (v0) of the types, and everyday spellings
CODES = {
    "ei": "EI", "etti": "ETTI", "ai": "AI", "aci": "ACI", "aciphc": "ACI", "eiti": "EITI", "geiq": "GEIQ",
    "ea": "EA", "unea": "EA", "eatt": "EATT", "esat": "ESAT", "cat": "ESAT",
    "entreprisedinsertion": "EI", "entreprisesdinsertion": "EI",
    "entreprisedetravailtemporairedinsertion": "ETTI", "entreprisesdetravailtemporairedinsertion": "ETTI",
    "associationintermediaire": "AI", "associationsintermediaires": "AI",
    "atelierchantierdinsertion": "ACI", "ateliersetchantiersdinsertion": "ACI", "atelieretchantierdinsertion": "ACI",
    "chantierdinsertion": "ACI", "ateliersdinsertion": "ACI",
    "entreprisedinsertionparletravailindependant": "EITI", "entreprisesdinsertionparletravailindependant": "EITI",
    "groupementdemployeurspourlinsertionetlaqualification": "GEIQ",
    "groupementsdemployeurspourlinsertionetlaqualification": "GEIQ",
    "entrepriseadaptee": "EA", "entreprisesadaptees": "EA",
    "entrepriseadapteedetravailtemporaire": "EATT", "entreprisesadapteesdetravailtemporaire": "EATT",
    "etablissementetservicedaideparletravail": "ESAT", "etablissementetservicedaidepartravail": "ESAT",
    "etablissementetservicedaccompagnementpartravail": "ESAT",
    "etablissementetservicedaccompagnementparletravail": "ESAT", "centredaidepartravail": "ESAT",
}
# words inside a longer label (« Structures d'Insertion par l'Activité Économique - Entreprises d'Insertion »):
# first match wins, the longer names before the shorter ones they contain
CONTAINS = (("travailtemporairedinsertion", "ETTI"), ("insertionparletravailindependant", "EITI"),
            ("adapteesdetravailtemporaire", "EATT"), ("adapteedetravailtemporaire", "EATT"),
            ("associationintermediaire", "AI"), ("associationsintermediaires", "AI"),
            ("atelier", "ACI"), ("chantierdinsertion", "ACI"), ("groupementdemployeurs", "GEIQ"),
            ("groupementsdemployeurs", "GEIQ"), ("entreprisesadaptees", "EA"), ("entrepriseadaptee", "EA"),
            ("servicedaide", "ESAT"), ("accompagnementpartravail", "ESAT"), ("accompagnementparletravail", "ESAT"),
            ("entreprisesdinsertion", "EI"), ("entreprisedinsertion", "EI"))
CODE_IN_PARENTHESES = re.compile(r"\(\s*([A-Za-z]{2,6})\s*\)\s*$")
# a name that says its type, for a data·inclusion row without code (the emplois' AI have none)
NAME_HINTS = (("associationintermediaire", "AI"), ("entrepriseadaptee", "EA"), ("esat", "ESAT"))


def items(value: object) -> list[str]:
    """The values of a type cell: a list (JSON, Parquet), a list written as a Python literal
    (``"['ei', 'aci']"``) or as JSON, or one value (several separated by ``;``)."""
    if value is None or (isinstance(value, float) and value != value):
        return []
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(v).strip() for v in value if v is not None and str(v).strip()]
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        for parse in (ast.literal_eval, json.loads):
            try:
                parsed = parse(text)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                continue
            if isinstance(parsed, (list, tuple)):
                return [str(v).strip() for v in parsed if v is not None and str(v).strip()]
        text = text.strip("[]")
        return [x.strip(" '\"") for x in text.split(",") if x.strip(" '\"")]
    return [x.strip() for x in re.split(r"[;|]", text) if x.strip()]


def one_type(item: str) -> str | None:
    """The type of one value (``aci``, ``ACI``, « Atelier chantier d'insertion (ACI) », « Entreprise
    adaptée »…), ``None`` when it names none."""
    m = CODE_IN_PARENTHESES.search(item)
    if m and fold(m.group(1)) in CODES:
        return CODES[fold(m.group(1))]
    key = fold(item)
    if key in CODES:
        return CODES[key]
    return next((t for word, t in CONTAINS if word in key), None)


def normalise_type(value: object) -> str | None:
    """The first inclusion type among a cell's values, in the order of ``geo.inclusion.ALL_TYPES``'s
    families as written in the cell; ``None`` when none is one."""
    for item in items(value):
        found = one_type(item)
        if found:
            return found
    return None


def type_from_name(name: str) -> str | None:
    key = fold(name)
    return next((t for word, t in NAME_HINTS if word in key), None)


@dataclass
class Raw:
    """A file read: its columns as written (strings; lists written as ``"['a', 'b']"``), the unit of a
    line in messages and the number of the first data row (a CSV's line 2, a JSON's record 1)."""

    frame: pd.DataFrame
    unit: str
    first: int
    columns: list[str]  # every column of the file, as written (messages name them)


def _wanted() -> set[str]:
    out = set(CONTACT_COLUMNS) | {"raisonsociale"}
    for f in S.INCLUSION_READ_FIELDS:
        out.add(fold(f.name))
        out.update(fold(a) for a in f.aliases)
        if f.label:
            out.add(fold(f.label.split(" : ")[0].split(" (")[0]))
    return out


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, (list, tuple, np.ndarray)):
        return repr([str(x) for x in v])
    if isinstance(v, float):
        if v != v:
            return ""
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    return str(v).strip()


def _records_frame(records: list, report: Report, label: str) -> pd.DataFrame | None:
    """Records (dicts, or GeoJSON features whose geometry is a point) as a frame of the wanted columns."""
    wanted = _wanted()
    lim = limit_of(KIND)
    if len(records) > lim.max_rows:
        report.error(label, f"le fichier compte {fmt_int(len(records))} structures : la limite est de "
                            f"{fmt_int(lim.max_rows)} pour {lim.label}.")
        return None
    rows: list[dict] = []
    names: list[str] = []
    seen: set[str] = set()
    for i, rec in enumerate(records):
        if not i % 20_000:
            check_time(label)
        props, point = rec, None
        if isinstance(rec, dict) and rec.get("type") == "Feature":
            props = rec.get("properties") or {}
            geom = rec.get("geometry") or {}
            if isinstance(geom, dict) and geom.get("type") == "Point" and len(geom.get("coordinates") or []) >= 2:
                point = geom["coordinates"]
        row: dict[str, str] = {}
        if isinstance(props, dict):
            for k, v in props.items():
                k = str(k)
                if k not in seen:
                    seen.add(k)
                    names.append(k)
                if fold(k) in wanted:
                    row[k] = _cell(v)
        if point is not None:  # a GeoJSON feature: its point when the record gives no coordinates
            for k, v in (("longitude", point[0]), ("latitude", point[1])):
                if not row.get(k):
                    row[k] = _cell(v)
                    if k not in seen:
                        seen.add(k)
                        names.append(k)
        rows.append(row)
    frame = pd.DataFrame.from_records(rows) if rows else pd.DataFrame()
    if len(frame) != len(rows):  # records holding no column the product knows: the validation names them
        frame = pd.DataFrame(index=pd.RangeIndex(len(rows)))
    frame = frame.astype(object).where(frame.notna(), "")
    frame.attrs["columns"] = names
    return frame


def _read_json(src: Upload, report: Report) -> pd.DataFrame | None:
    what = binary_kind(src.head(4096))
    if what:
        report.error(src.name, f"le fichier n'est pas du JSON (contenu binaire : {what}).")
        return None
    try:
        doc = json.loads(src.data.decode("utf-8-sig"))
    except json.JSONDecodeError as exc:
        report.error(src.name, f"le JSON est mal formé (ligne {exc.lineno}, colonne {exc.colno}) ; le fichier est "
                               "peut-être tronqué.")
        return None
    except UnicodeDecodeError:
        report.error(src.name, "le JSON n'est pas encodé en UTF-8.")
        return None
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        records = doc.get("features") or []
    elif isinstance(doc, dict):
        records = next((v for v in doc.values() if isinstance(v, list)), [])
    else:
        records = doc if isinstance(doc, list) else []
    check_time(src.name)
    return _records_frame(records, report, src.name)


def _read_parquet(src: Upload, report: Report) -> pd.DataFrame | None:
    import pyarrow.parquet as pq

    lim = limit_of(KIND)
    wanted = _wanted()
    with src.open() as fh:
        pf = pq.ParquetFile(fh)
        names = list(pf.schema_arrow.names)
        if pf.metadata.num_rows > lim.max_rows:
            report.error(src.name, f"le fichier compte {fmt_int(pf.metadata.num_rows)} structures : la limite est "
                                   f"de {fmt_int(lim.max_rows)} pour {lim.label}.")
            return None
        cols = [c for c in names if fold(c) in wanted]
        if not cols:  # no column the product knows: the validation names the file's
            frame = pd.DataFrame(index=pd.RangeIndex(pf.metadata.num_rows))
            frame.attrs["columns"] = names
            return frame
        parts = []
        for batch in pf.iter_batches(batch_size=50_000, columns=cols):
            df = batch.to_pandas()
            parts.append(pd.DataFrame({c: [_cell(v) for v in df[c].tolist()] for c in df.columns}, dtype=object))
            check_time(src.name)
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols, dtype=object)
    frame.attrs["columns"] = names
    return frame


def _read_csv(src: Upload, report: Report) -> pd.DataFrame | None:
    """Only the columns the product uses (a national file's descriptions stay on disk)."""
    if not check_size(src, report, KIND):
        return None
    if src.blank():
        report.error(src.name, "le fichier est vide.")
        return None
    encoding, binary = detect_encoding(src)
    if binary:
        report.error(src.name, not_text_message(binary))
        return None
    with open_text(src, encoding) as fh:
        header = fh.readline(1024 * 1024)
    sep = sniff_separator(header)
    try:
        with open_text(src, encoding) as fh:
            names = [str(c) for c in pd.read_csv(fh, sep=sep, dtype=str, nrows=0).columns]
    except Exception as exc:  # a header pandas cannot read: the generic reader says why
        log_failure(src.name, exc)
        names = []
    wanted = _wanted()
    cols = [c for c in names if fold(c) in wanted]
    if names and not cols:
        frame = pd.DataFrame(columns=names, dtype=object)
        frame.attrs["columns"] = names
        return frame
    frame = read_csv_stream(src, report, src.name, KIND, usecols=cols or None)
    if frame is None:
        return None
    frame.attrs["columns"] = names or [str(c) for c in frame.columns]
    return frame


def read(src: Upload, report: Report) -> Raw | None:
    """The file as a frame of strings (its wanted columns), or ``None`` with a French error."""
    suffix = src.suffix
    if suffix == ".xls":
        report.error(src.name, "ancien format Excel (.xls) : l'application ne le lit pas. Enregistrez le fichier au "
                               "format XLSX ou CSV (sur le marché de l'inclusion, choisissez le téléchargement au "
                               "format CSV), puis réimportez-le.")
        return None
    if suffix not in (".csv", ".txt", "", ".xlsx", ".xlsm", ".json", ".geojson", ".parquet"):
        report.error(src.name, f"format « {suffix} » non pris en charge pour les structures de l'inclusion "
                               f"({FORMATS}).")
        return None
    try:
        if suffix in (".xlsx", ".xlsm"):
            frame = read_table(src, report, kind=KIND)  # the unnamed index column of pandas is left out
            if frame is not None:
                frame.attrs["columns"] = [str(c) for c in frame.columns]
            unit, first = "ligne", 2
        elif suffix in (".json", ".geojson"):
            if not check_size(src, report, KIND, max_bytes=JSON_MAX_BYTES):
                report.error(src.name, "un fichier JSON est lu en entier : au-delà de cette taille, importez le même "
                                       "fichier au format Parquet ou CSV (data.gouv.fr publie les trois).")
                return None
            frame, unit, first = _read_json(src, report), "structure", 1
        elif suffix == ".parquet":
            if not check_size(src, report, KIND):
                return None
            frame, unit, first = _read_parquet(src, report), "structure", 1
        else:
            frame, unit, first = _read_csv(src, report), "ligne", 2
    except TimeUp:
        raise
    except MemoryError as exc:
        log_failure(src.name, exc)
        report.error(src.name, "le fichier demande trop de mémoire pour être lu : découpez-le (par région).")
        return None
    except Exception as exc:
        log_failure(src.name, exc)
        report.error(src.name, f"fichier illisible : il n'a pas pu être lu ({FORMATS}). Ouvrez-le dans un tableur "
                               "et enregistrez-le au format CSV (UTF-8) ou XLSX, puis réimportez-le.")
        return None
    if frame is None:
        return None
    columns = list(frame.attrs.get("columns") or frame.columns)
    frame = frame.reset_index(drop=True)
    if len(frame.columns):
        blank = frame.apply(lambda col: col.astype(str).str.strip().isin(["", "nan", "None"])).all(axis=1)
        frame = frame[~blank.to_numpy()]
    return Raw(frame, unit, first, columns)
