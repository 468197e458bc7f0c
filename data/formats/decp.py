"""DECP (données essentielles de la commande publique) as published, read into the market table.

Two shapes: the JSON format (2022 ``{"marches": [...]}`` and 2024 ``{"marches": {"marche": [...]}}``)
and the consolidated tabular file (Parquet or CSV; one row per market x holder x modification,
``uid``, ``lieuExecution_code``, ``lieuExecution_typeCode``, ``considerationsSociales``...).

Known dirt is normalised: ``typeCode`` with stray spaces, codes stored as integers, several social
considerations in one field, "Sans objet" for "Pas de considération sociale". Arrondissement and
canton places keep their type so that the diagnosis reports them ``non_localisable`` with the reason.
"""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pandas as pd

from data import schemas as S
from data.formats.cells import CODE_WIDTH, parse_dates, parse_numbers
from data.formats.readers import Upload, decode_text, sniff_separator
from data.report import Loaded
from geo.codes import fold, normalize_code

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
        head = src.data[:4000].decode("utf-8", "ignore")
        return '"marches"' in head
    if src.suffix == ".parquet":
        return True
    if src.suffix == ".csv":
        header = src.data[:2000].decode("utf-8", "ignore").split("\n", 1)[0]
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


def _records_from_json(data: bytes) -> list[dict]:
    doc = json.loads(data.decode("utf-8-sig"))
    marches = doc.get("marches", []) if isinstance(doc, dict) else doc
    if isinstance(marches, dict):
        marches = marches.get("marche", [])
    return [m for m in marches if isinstance(m, dict)]


def _by_unique(values: pd.Series, fn) -> np.ndarray:
    """``fn`` applied once per distinct value (a national file repeats a few thousand places)."""
    keys, uniques = pd.factorize(values.astype(object).where(values.notna(), None), use_na_sentinel=False)
    return np.asarray([fn(u) for u in uniques], dtype=object)[keys] if len(keys) else np.empty(0, dtype=object)


def normalise_places(records: pd.DataFrame) -> pd.DataFrame:
    """``lieu_type`` as ours (``" Code canton"`` -> ``canton``) and ``lieu_code`` repaired (lost zeros)."""
    out = records.copy()
    out["lieu_type"] = _by_unique(records["lieu_type"], place_type)
    pairs = records["lieu_code"].astype(object).map(lambda c: "" if c is None or c != c else str(c)) \
        + "|" + pd.Series(out["lieu_type"], index=records.index)
    out["lieu_code"] = _by_unique(pairs, lambda k: place_code(k.rsplit("|", 1)[0], k.rsplit("|", 1)[1]))
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


def load_decp(src: Upload, cut=None) -> Loaded:
    """Read a DECP file; ``cut(frame, loaded)`` (the région's cut) runs on the normalised places
    before anything heavy is done, so that a national file (millions of rows) is cut down first.
    """
    out = Loaded("marches")
    rep = out.report
    try:
        if src.suffix == ".json":
            recs = _records_from_json(src.data)
            records = pd.DataFrame({
                "id_marche": [r.get("id", "") for r in recs],
                "objet": [r.get("objet", "") for r in recs],
                "acheteur": [(r.get("acheteur") or {}).get("nom", (r.get("acheteur") or {}).get("id", ""))
                             for r in recs],
                "montant_ht": [r.get("montant", "") for r in recs],
                "date": [r.get("dateNotification", "") for r in recs],
                "lieu_code": [(r.get("lieuExecution") or {}).get("code", "") for r in recs],
                "lieu_type": [(r.get("lieuExecution") or {}).get("typeCode", "") for r in recs],
                "considerations_sociales": [r.get("considerationsSociales", "") for r in recs],
                "cpv": [r.get("codeCPV", "") for r in recs],
            })
        else:
            folded = {fold(k): v for k, v in TABULAR_COLUMNS.items()}
            if src.suffix == ".parquet":
                import pyarrow.parquet as pq

                # the national file has dozens of columns and millions of rows: read only ours
                names = pq.ParquetFile(io.BytesIO(src.data)).schema_arrow.names
                raw = pd.read_parquet(io.BytesIO(src.data), columns=[n for n in names if fold(n) in folded])
            else:
                text = decode_text(src.data)
                raw = pd.read_csv(io.StringIO(text), sep=sniff_separator(text), dtype=str, keep_default_na=False,
                                  usecols=lambda c: fold(c) in folded)
            cols = {}
            for c in raw.columns:
                target = folded.get(fold(c))
                if target and target not in cols.values():
                    cols[c] = target
            records = raw[list(cols)].rename(columns=cols)
            missing = [c for c in ("id_marche", "lieu_code", "lieu_type") if c not in records.columns]
            for c in missing:
                rep.error(src.name, "colonne obligatoire absente du fichier DECP.", line=1, column=c)
            if missing:
                return out
            for c in ("considerations_sociales", "montant_ht", "date"):
                if c not in records.columns:
                    records[c] = ""
            # one row per market x holder x modification: keep the first row of each market
            records = records.drop_duplicates("id_marche", keep="first")
    except Exception as exc:
        rep.error(src.name, f"fichier DECP illisible ({type(exc).__name__} : {str(exc)[:200]}).")
        return out
    if records.empty:
        rep.error(src.name, "le fichier DECP ne contient aucun marché.")
        return out
    out.counts["lus"] = len(records)
    records = normalise_places(records)
    if cut is not None:
        records = cut(records, out)
    df = _frame(records)
    empty_id = df["id_marche"] == ""
    for i in np.flatnonzero(empty_id.to_numpy()):
        rep.error(src.name, "marché sans identifiant.", line=i + 1, column="id", unit="marché",
                  rule="marché sans identifiant")
    dup = df["id_marche"].duplicated()
    n_dup = int(dup.sum())
    if n_dup:
        rep.warning(src.name, f"{n_dup} marché(s) publiés plusieurs fois (même identifiant) : seule la "
                              "première publication est gardée.")
        df = df[~dup]
    out.tables["marches"] = df.reset_index(drop=True)
    out.counts["gardes"] = len(df)
    rep.close()
    return out
