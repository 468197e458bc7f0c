"""DECP (données essentielles de la commande publique) as published, read into the market table.

Two shapes: the JSON format (2022 ``{"marches": [...]}`` and 2024 ``{"marches": {"marche": [...]}}``)
and the consolidated tabular file (Parquet or CSV; one row per market x holder x modification,
``uid``, ``lieuExecution_code``, ``lieuExecution_typeCode``, ``considerationsSociales``...).

Known dirt is normalised: ``typeCode`` with stray spaces, codes stored as integers, several social
considerations in one field, "Sans objet" for "Pas de considération sociale". Arrondissement and
canton places keep their type so that the diagnosis reports them ``non_localisable`` with the reason.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from data import schemas as S
from data.formats.cells import CODE_WIDTH, parse_dates, parse_numbers
from data.formats.limits import (DECP_JSON_MAX_BYTES, DECP_MAX_BYTES, DECP_MAX_ROWS, DECP_MAX_SECONDS, LIMITS, TimeUp,
                                 allow_time, check_time, fmt_int)
from data.formats.tables import csv_problem, detect_encoding, not_text_message, open_text, sniff_separator
from data.formats.upload import Upload, binary_kind, check_size, log_failure
from data.report import Loaded
from geo.codes import fold, normalize_code

# A DECP file as published has its own limits (DECP_MAX_*), stated with the others in ``data.formats.limits``.
DECP_LABEL = "un fichier DECP tel que publié"
DECP_ADVICE = ("découpez-le (par exemple par année ou par région) ou enregistrez-le en Parquet, puis "
               "réimportez-le.")
BATCH_ROWS = 100_000

TYPECODE = {
    "codecommune": "commune",
    "codepostal": "code_postal",
    "codedepartement": "departement",
    "coderegion": "region",
    "codepays": "pays",
    "codearrondissement": "arrondissement",
    "codecanton": "canton",
}
TABULAR_COLUMNS = {
    "uid": "id_marche", "id": "id_marche", "objet": "objet", "acheteur_nom": "acheteur",
    "acheteur_id": "acheteur_id", "montant": "montant_ht", "datenotification": "date",
    "lieuexecution_code": "lieu_code", "lieuexecution_typecode": "lieu_type",
    "considerationssociales": "considerations_sociales", "codecpv": "cpv",
}


def looks_like_decp(src: Upload) -> bool:
    if src.suffix == ".json":
        head = src.head(4000).decode("utf-8", "ignore")
        return '"marches"' in head
    if src.suffix == ".parquet":
        return True
    if src.suffix == ".csv":
        header = src.head(2000).decode("utf-8", "ignore").split("\n", 1)[0]
        return "lieuExecution_typeCode" in header or "lieuExecution_code" in header
    return False


def place_type(type_code: object) -> str:
    """``" Code canton"`` -> ``canton``; unknown values are kept folded (``non_localisable`` later)."""
    key = fold(type_code or "")
    return TYPECODE.get(key, key or "inconnu")


def social_considerations(value: object) -> str:
    """One ``;``-separated string of the social considerations (none for "Sans objet")."""
    if isinstance(value, dict):
        value = value.get("considerationSociale", [])
    if isinstance(value, (list, tuple, np.ndarray)):
        items = [str(v) for v in value]
    else:
        items = re.split(r"[;,|]", "" if value is None or (isinstance(value, float) and np.isnan(value))
                         else str(value))
    keep = []
    for item in items:
        key = fold(item)
        if key == "concessionreservee":  # the concessions' word for a reserved contract
            key = fold("Marché réservé")
        for canon in S.SOCIAL_CONSIDERATIONS:
            if fold(canon) == key and canon not in keep:
                keep.append(canon)
    return ";".join(keep)


def place_code(code: object, ptype: str) -> str:
    if code is None or (isinstance(code, float) and np.isnan(code)):
        return ""
    width = CODE_WIDTH.get(ptype)
    if width:
        return normalize_code(code, width)[0]
    return str(code).strip()


CONCESSION = "concession"  # the place type of a concession without a place (2022/2024 formats)


def is_concession(record: dict) -> bool:
    """A concession contract of a flat list (2019 and 2.0.0 formats): ``_type`` says so, or its fields do."""
    return (fold(record.get("_type") or "") == "contratdeconcession"
            or "autoriteConcedante" in record or "concessionnaires" in record)


def _records_from_json(data: bytes) -> tuple[list[dict], list[dict]]:
    """The markets and the concession contracts of a DECP JSON file: ``{"marches": [...]}`` (2019, 2.0.0: one
    list, a concession told by its ``_type`` or its fields) or ``{"marches": {"marche": [...],
    "contrat-concession": [...]}}`` (2.0.1 and later)."""
    doc = json.loads(data.decode("utf-8-sig"))
    marches = doc.get("marches", []) if isinstance(doc, dict) else doc
    if isinstance(marches, dict):
        markets = [m for m in marches.get("marche", None) or [] if isinstance(m, dict)]
        concessions = [m for m in marches.get("contrat-concession", None) or [] if isinstance(m, dict)]
        return markets, concessions
    records = [m for m in marches if isinstance(m, dict)]
    return [m for m in records if not is_concession(m)], [m for m in records if is_concession(m)]


def _concession_place(record: dict) -> tuple[str, str]:
    """A concession's place: its ``lieuExecution`` in the 2019 format, none since (type ``concession``)."""
    place = record.get("lieuExecution")
    if isinstance(place, dict) and place.get("code"):
        return place.get("code", ""), place.get("typeCode", "")
    return "", CONCESSION


def _json_frame(markets: list[dict], concessions: list[dict]) -> pd.DataFrame:
    """One row per contract, markets first, in the columns the markets' table is made from."""
    def buyer(r: dict, key: str) -> str:
        who = r.get(key) or {}
        return who.get("nom", who.get("id", "")) if isinstance(who, dict) else str(who)

    places = [_concession_place(r) for r in concessions]
    return pd.DataFrame({
        "id_marche": [r.get("id", "") for r in markets] + [r.get("id", "") for r in concessions],
        "objet": [r.get("objet", "") for r in markets] + [r.get("objet", "") for r in concessions],
        "acheteur": [buyer(r, "acheteur") for r in markets] + [buyer(r, "autoriteConcedante") for r in concessions],
        "montant_ht": [r.get("montant", "") for r in markets] + [r.get("valeurGlobale", "") for r in concessions],
        "date": [r.get("dateNotification", "") for r in markets] + [r.get("dateSignature", "") for r in concessions],
        "lieu_code": [(r.get("lieuExecution") or {}).get("code", "") for r in markets] + [c for c, _ in places],
        "lieu_type": [(r.get("lieuExecution") or {}).get("typeCode", "") for r in markets] + [t for _, t in places],
        "considerations_sociales": [r.get("considerationsSociales", "") for r in markets + concessions],
        "cpv": [r.get("codeCPV", "") for r in markets] + [""] * len(concessions),
        "concession": [False] * len(markets) + [True] * len(concessions),
    })


def _by_unique(values: pd.Series, fn) -> np.ndarray:
    """``fn`` applied once per distinct value (a national file repeats a few thousand places)."""
    keys, uniques = pd.factorize(values.astype(object).where(values.notna(), None), use_na_sentinel=False)
    return np.asarray([fn(u) for u in uniques], dtype=object)[keys] if len(keys) else np.empty(0, dtype=object)


def _factorize(values: pd.Series) -> tuple[np.ndarray, list]:
    """Codes and distinct values of a column (a missing value is one of them, as ``None``)."""
    keys, uniques = pd.factorize(values, use_na_sentinel=False)
    return keys, [None if u is None or (isinstance(u, float) and u != u) or u is pd.NA else u for u in uniques]


def normalise_places(records: pd.DataFrame) -> pd.DataFrame:
    """``lieu_type`` as ours (``" Code canton"`` -> ``canton``) and ``lieu_code`` repaired (lost zeros).

    Each distinct (code, type) pair is normalised once: a national file of millions of rows
    repeats a few tens of thousands of places.
    """
    out = records.copy()
    t_keys, t_uniq = _factorize(records["lieu_type"])
    types = [place_type(u) for u in t_uniq]
    type_keys, type_uniq = pd.factorize(np.asarray(types, dtype=object))
    row_type = type_keys[t_keys] if len(t_keys) else np.empty(0, dtype=np.int64)
    out["lieu_type"] = np.asarray(type_uniq, dtype=object)[row_type] if len(row_type) else np.empty(0, dtype=object)
    c_keys, c_uniq = _factorize(records["lieu_code"])
    c_text = ["" if c is None else str(c) for c in c_uniq]
    m = max(len(type_uniq), 1)
    pairs, inverse = np.unique(c_keys.astype(np.int64) * m + row_type, return_inverse=True)
    fixed = np.asarray([place_code(c_text[p // m], type_uniq[p % m]) for p in pairs], dtype=object)
    out["lieu_code"] = fixed[inverse.reshape(-1)] if len(inverse) else np.empty(0, dtype=object)
    return out


def _frame(records: pd.DataFrame) -> pd.DataFrame:
    """DECP columns (places already normalised) as the market table; ``lieu_type`` may be arrondissement/canton."""
    montant, _ = parse_numbers(records["montant_ht"].astype(str).replace({"None": "", "nan": ""}))
    date, _ = parse_dates(records["date"].astype(str).replace({"None": "", "nan": ""}))
    out = pd.DataFrame({
        "id_marche": records["id_marche"].astype(str).str.strip().to_numpy(),
        "objet": records.get("objet", pd.Series("", index=records.index)).fillna("").astype(str).to_numpy(),
        "acheteur": records.get("acheteur", pd.Series("", index=records.index)).fillna("").astype(str).to_numpy(),
        "type_acheteur": "",
        "montant_ht": montant,
        "date": date.to_numpy(),
        "statut": "",
        "lieu_type": records["lieu_type"].to_numpy(),
        "lieu_code": records["lieu_code"].to_numpy(),
        "considerations_sociales": _by_unique(records["considerations_sociales"].map(
            lambda v: v if isinstance(v, str) or v is None else json.dumps(
                v.tolist() if isinstance(v, np.ndarray) else v, ensure_ascii=False)), _social_any),
        "heures_insertion": np.nan,
        "cpv": records.get("cpv", pd.Series("", index=records.index)).fillna("").astype(str).to_numpy(),
    })
    return out


def _social_any(value) -> str:
    """Social considerations of a cell that may be a JSON-encoded list or dict (made hashable above)."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            value = json.loads(value)
        except ValueError:
            pass
    return social_considerations(value)


class DecpRefused(Exception):
    """A DECP file refused for a reason the (French) message gives."""


def _json_records(src: Upload) -> list[dict]:
    what = binary_kind(src.head(4096))
    if what:
        raise DecpRefused(not_text_message(what))
    data = src.data
    try:
        return _records_from_json(data)
    except json.JSONDecodeError as exc:
        raise DecpRefused(f"fichier DECP illisible : le JSON est mal formé (ligne {exc.lineno}, colonne "
                          f"{exc.colno}) ; le fichier est peut-être tronqué.") from exc
    except UnicodeDecodeError as exc:
        raise DecpRefused("fichier DECP illisible : le JSON n'est pas encodé en UTF-8.") from exc
    except (AttributeError, TypeError) as exc:
        raise DecpRefused("fichier DECP illisible : le JSON n'a pas la forme attendue ({\"marches\": …}).") from exc


class _Tabular:
    """A consolidated DECP file (Parquet or CSV) read by batches of a few columns."""

    def __init__(self, src: Upload):
        self.src = src
        if src.suffix == ".parquet":
            import pyarrow.parquet as pq

            with src.open() as fh:
                pf = pq.ParquetFile(fh)
                self.names = list(pf.schema_arrow.names)
                self.rows = pf.metadata.num_rows
        else:
            enc, binary = detect_encoding(src)
            if binary:
                raise DecpRefused(not_text_message(binary))
            self.encoding = enc
            with open_text(src, enc) as fh:
                header = fh.readline(1024 * 1024)
            self.sep = sniff_separator(header)
            with open_text(src, enc) as fh:
                self.names = list(pd.read_csv(fh, sep=self.sep, dtype=str, nrows=0).columns)
            self.rows = None  # counted while reading
        folded = {fold(k): v for k, v in TABULAR_COLUMNS.items()}
        self.source: dict[str, str] = {}  # our name -> the file's column
        for name in self.names:
            target = folded.get(fold(name))
            if target and target not in self.source:
                self.source[target] = name

    def batches(self, ours: list[str], keep: np.ndarray | None = None):
        """Frames of the columns ``ours`` (our names), in file order, indexed by their row positions
        in the file; with ``keep`` (a mask of all rows), only the rows kept (filtered before they
        become Python objects)."""
        cols = [self.source[c] for c in ours if c in self.source]
        rename = {self.source[c]: c for c in ours if c in self.source}
        start = 0
        if self.src.suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            with self.src.open() as fh:
                for batch in pq.ParquetFile(fh).iter_batches(batch_size=BATCH_ROWS, columns=cols):
                    positions = np.arange(start, start + batch.num_rows)
                    start += batch.num_rows
                    if keep is not None:
                        mask = keep[positions]
                        batch, positions = batch.filter(pa.array(mask)), positions[mask]
                    df = batch.to_pandas().rename(columns=rename)
                    df.index = pd.Index(positions)
                    check_time(self.src.name)
                    yield df
        else:
            with open_text(self.src, self.encoding) as fh:
                for df in pd.read_csv(fh, sep=self.sep, dtype=str, keep_default_na=False, usecols=cols,
                                      chunksize=BATCH_ROWS, index_col=False):
                    df = df.rename(columns=rename)
                    df.index = pd.RangeIndex(start, start + len(df))
                    start += len(df)
                    if start > DECP_MAX_ROWS:
                        raise DecpRefused(f"le fichier compte plus de {fmt_int(DECP_MAX_ROWS)} lignes, la limite "
                                          "pour un fichier DECP.")
                    check_time(self.src.name)
                    yield df if keep is None else df[keep[df.index.to_numpy()]]


def _tabular_records(src: Upload, out: Loaded, cut) -> pd.DataFrame | None:
    """Two passes over a consolidated file: the places first (cut to the région), then the other
    columns of the rows kept only. Memory follows the région's markets, not the national file."""
    rep = out.report
    tab = _Tabular(src)
    missing = [c for c in ("id_marche", "lieu_code", "lieu_type") if c not in tab.source]
    for c in missing:
        rep.error(src.name, "colonne obligatoire absente du fichier DECP.", line=1, column=c)
    if missing:
        return None
    if tab.rows is not None and tab.rows > DECP_MAX_ROWS:
        raise DecpRefused(f"le fichier compte {fmt_int(tab.rows)} lignes : la limite est de {fmt_int(DECP_MAX_ROWS)} "
                          "lignes pour un fichier DECP.")
    places = [df for df in tab.batches(["id_marche", "lieu_code", "lieu_type"])]
    places = pd.concat(places) if len(places) > 1 else places[0] if places else pd.DataFrame()
    if places.empty:
        return places
    n_rows = len(places)
    # one row per market x holder x modification: keep the first row of each market
    places = places[~places["id_marche"].duplicated(keep="first")]
    out.counts["lus"] = len(places)
    check_time(src.name)
    places = normalise_places(places)
    check_time(src.name)
    if cut is not None:
        places = cut(places, out)
        check_time(src.name)
    cap = LIMITS["marches"].max_rows
    if len(places) > cap:
        raise DecpRefused(f"le fichier garde {fmt_int(len(places))} marchés après le découpage à la région : la limite "
                          f"est de {fmt_int(cap)} marchés. Découpez-le (par exemple par année).")
    others = [c for c in ("objet", "acheteur", "montant_ht", "date", "considerations_sociales", "cpv")
              if c in tab.source]
    if others and len(places):
        keep = np.zeros(n_rows, dtype=bool)
        keep[places.index.to_numpy()] = True
        parts = list(tab.batches(others, keep))
        rest = pd.concat(parts) if len(parts) > 1 else parts[0]
        places = places.join(rest, how="left")
        check_time(src.name)
    for c in ("considerations_sociales", "montant_ht", "date"):
        if c not in places.columns:
            places[c] = ""
    return places


def load_decp(src: Upload, cut=None) -> Loaded:
    """Read a DECP file; ``cut(frame, loaded)`` (the région's cut) runs on the normalised places
    (``id_marche``, ``lieu_type``, ``lieu_code``) before anything heavy is done, so that a national
    file (millions of rows) is cut down first: a consolidated file is read in two passes by batches,
    its places, then the other columns of the markets kept.
    """
    out = Loaded("marches")
    rep = out.report
    allow_time(DECP_MAX_SECONDS, DECP_LABEL, DECP_ADVICE)  # within the import's deadline, if any
    is_json = src.suffix == ".json"
    if not check_size(src, rep, "marches", max_bytes=DECP_JSON_MAX_BYTES if is_json else DECP_MAX_BYTES):
        if is_json:
            rep.error(src.name, "un fichier DECP national s'importe au format Parquet ou CSV consolidé, lu par "
                                "morceaux.")
        return out
    try:
        if is_json:
            markets, concessions = _json_records(src)
            check_time(src.name)
            if len(markets) + len(concessions) > DECP_MAX_ROWS:
                raise DecpRefused(f"le fichier compte {fmt_int(len(markets) + len(concessions))} contrats : la "
                                  f"limite est de {fmt_int(DECP_MAX_ROWS)}.")
            records = _json_frame(markets, concessions)
            del markets
            check_time(src.name)
            if not records.empty:
                out.counts["lus"] = len(records)
                if len(concessions):
                    out.counts["concessions"] = len(concessions)
                records = normalise_places(records)
                check_time(src.name)
                if cut is not None:
                    records = cut(records, out)
                    check_time(src.name)
        else:
            records = _tabular_records(src, out, cut)
            if records is None:
                return out
    except DecpRefused as exc:
        rep.error(src.name, str(exc))
        return out
    except TimeUp:
        raise  # reported by whoever started the deadline
    except MemoryError as exc:
        log_failure(src.name, exc)
        rep.error(src.name, "fichier DECP trop volumineux pour la mémoire disponible : découpez-le (par année, "
                            "par région).")
        return out
    except Exception as exc:
        log_failure(src.name, exc)
        message, line = csv_problem(exc) if src.suffix == ".csv" else (
            "fichier DECP illisible : il n'a pas la forme d'un fichier DECP publié (JSON, Parquet ou CSV "
            "consolidé).", None)
        if src.suffix == ".csv":
            message = "fichier DECP illisible : " + message
        rep.error(src.name, message, line=line)
        return out
    if records.empty and "lus" not in out.counts:
        rep.error(src.name, "le fichier DECP ne contient aucun marché ni aucune concession.")
        return out
    df = _frame(records)
    conc = (records["concession"].to_numpy(dtype=bool) if "concession" in records.columns
            else np.zeros(len(df), dtype=bool))
    check_time(src.name)
    empty_id = df["id_marche"] == ""
    for i in np.flatnonzero(empty_id.to_numpy()):
        rep.error(src.name, "marché sans identifiant.", line=i + 1, column="id", unit="marché",
                  rule="marché sans identifiant")
    # a market and a concession may bear the same identifier: they are two contracts
    dup = (df["id_marche"] + "|" + pd.Series(conc, index=df.index).astype(str)).duplicated()
    n_dup = int(dup.sum())
    if n_dup:
        rep.warning(src.name, f"{fmt_int(n_dup)} {'contrats publiés' if n_dup >= 2 else 'contrat publié'} plusieurs "
                              "fois (même identifiant) : seule la première publication est gardée.")
        out.counts["doublons"] = n_dup
        df, conc = df[~dup], conc[~dup.to_numpy()]
    if conc.any():
        out.counts["concessions_gardees"] = int(conc.sum())
    out.tables["marches"] = df.reset_index(drop=True)
    out.counts["gardes"] = len(df)
    rep.close()
    return out
