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
from data.readers import Upload, decode_text, sniff_separator
from data.validation import CODE_WIDTH, Loaded, parse_dates, parse_numbers
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


def _frame(records: pd.DataFrame) -> pd.DataFrame:
    """Normalise DECP columns to the market table; ``lieu_type`` may be arrondissement/canton."""
    lieu_type = [place_type(t) for t in records["lieu_type"]]
    lieu_code = [place_code(c, t) for c, t in zip(records["lieu_code"], lieu_type)]
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
        "lieu_type": lieu_type,
        "lieu_code": lieu_code,
        "considerations_sociales": [social_considerations(v) for v in records["considerations_sociales"]],
        "heures_insertion": np.nan,
        "cpv": records.get("cpv", pd.Series("", index=records.index)).fillna("").astype(str).to_numpy(),
    })
    return out


def load_decp(src: Upload, region_deps: set[str] | None = None) -> Loaded:
    """Read a DECP file; with ``region_deps``, keep only markets whose place may be in the région.

    The filter works on raw codes before any expansion, so that a national file (millions of
    rows) is cut down before anything heavy is done.
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
    if region_deps:
        records = filter_to_region(records, region_deps)
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
    rep.close()
    return out


def filter_to_region(records: pd.DataFrame, deps: set[str]) -> pd.DataFrame:
    """Keep markets whose raw place code may lie in the given départements (cheap string test).

    Communes and postal codes start with the département code; départements are compared
    directly; région and country places are kept (they may cover the région).
    """
    t = records["lieu_type"].map(place_type)
    code = records["lieu_code"].astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    code5 = code.str.zfill(5)
    dep2 = code5.str.slice(0, 2)
    dep3 = code5.str.slice(0, 3)
    by_code = dep2.isin(deps) | dep3.isin(deps)
    is_dep = t == "departement"
    keep = (t.isin(["region", "pays"]) | (is_dep & code.str.zfill(2).isin(deps)) | (~is_dep & by_code))
    return records[keep.to_numpy()]
