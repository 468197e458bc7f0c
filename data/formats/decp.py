"""DECP (données essentielles de la commande publique) as published, read into the market table.

Two shapes: the JSON format (2022 ``{"marches": [...]}`` and 2024 ``{"marches": {"marche": [...]}}``)
and the consolidated tabular file (Parquet or CSV; one row per market x holder x modification,
``uid``, ``lieuExecution_code``, ``lieuExecution_typeCode``, ``considerationsSociales``...).

Known dirt is normalised: ``typeCode`` with stray spaces, codes stored as integers, several social
considerations in one field, "Sans objet" for "Pas de considération sociale". Arrondissement and
canton places keep their type so that the diagnosis reports them ``non_localisable`` with the reason.

Values are checked where they enter, each message naming the market (its number in the file and its
identifier) and the field: a field of the wrong JSON type, an amount that is not a number, infinite or
absurd (errors), negative (a warning: the market is kept without amount), a date that is not a real
date (an error).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from data import schemas as S
from data.formats.cells import AMOUNT_MAX_EUROS, CODE_WIDTH, amount_problems, euros, parse_dates, parse_numbers
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
    "acheteur_id": "acheteur_siret", "montant": "montant_ht", "datenotification": "date",
    "lieuexecution_code": "lieu_code", "lieuexecution_typecode": "lieu_type",
    "considerationssociales": "considerations_sociales", "codecpv": "cpv",
    "donneesactuelles": "donnees_actuelles",
}
TRUE_TEXT = {"true", "1", "oui", "vrai", "t", "yes"}


def current_amount(record: dict):
    """A JSON market's amount after its last modification that states one (DOMAIN.md: a market counts with
    its current amount); the initial ``montant`` otherwise."""
    amount = record.get("montant", "")
    mods = record.get("modifications") or []
    for mod in mods if isinstance(mods, list) else []:
        mod = mod.get("modification", mod) if isinstance(mod, dict) else {}
        if isinstance(mod, dict) and mod.get("montant") not in (None, ""):
            amount = mod["montant"]
    return amount


def current_rows(places: pd.DataFrame) -> pd.DataFrame:
    """One row per market of a consolidated file (one row per market x holder x modification): the row
    marked ``donneesActuelles`` (after its last modification), else the first one."""
    if "donnees_actuelles" in places.columns:
        now = places["donnees_actuelles"].astype(str).str.strip().str.lower().isin(TRUE_TEXT).to_numpy()
        first_now = places[now][~places["id_marche"][now].duplicated(keep="first")]
        rest = places[~places["id_marche"].isin(set(first_now["id_marche"]))]
        out = pd.concat([first_now, rest[~rest["id_marche"].duplicated(keep="first")]]).sort_index()
        return out.drop(columns="donnees_actuelles")
    return places[~places["id_marche"].duplicated(keep="first")]


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


def _records_from_json(data: bytes) -> tuple[list, list[dict], list[int], list[int]]:
    """The markets and the concession contracts of a DECP JSON file, and their numbers in it (from 0):
    ``{"marches": [...]}`` (2019, 2.0.0: one list, a concession told by its ``_type`` or its fields) or
    ``{"marches": {"marche": [...], "contrat-concession": [...]}}`` (2.0.1 and later: the concessions numbered
    after the markets). A market that is not an object stays in the markets, for ``check_json_records`` to name."""
    doc = json.loads(data.decode("utf-8-sig"))
    marches = doc.get("marches", []) if isinstance(doc, dict) else doc
    if isinstance(marches, dict):
        markets = marches.get("marche", None) or []
        concessions = marches.get("contrat-concession", None) or []
        if not isinstance(markets, list) or not isinstance(concessions, list):
            raise TypeError("marche or contrat-concession is not a list")
        concessions = [c for c in concessions if isinstance(c, dict)]
        return (markets, concessions, list(range(len(markets))),
                list(range(len(markets), len(markets) + len(concessions))))
    if not isinstance(marches, list):
        raise TypeError("marches is not a list")
    conc = [isinstance(m, dict) and is_concession(m) for m in marches]
    return ([m for m, c in zip(marches, conc) if not c], [m for m, c in zip(marches, conc) if c],
            [i for i, c in enumerate(conc) if not c], [i for i, c in enumerate(conc) if c])


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

    def buyer_id(r: dict, key: str) -> str:  # its SIRET, when the file gives one
        who = r.get(key) or {}
        return str(who.get("id", "") or "") if isinstance(who, dict) else ""

    places = [_concession_place(r) for r in concessions]
    return pd.DataFrame({
        "id_marche": [r.get("id", "") for r in markets] + [r.get("id", "") for r in concessions],
        "objet": [r.get("objet", "") for r in markets] + [r.get("objet", "") for r in concessions],
        "acheteur": [buyer(r, "acheteur") for r in markets] + [buyer(r, "autoriteConcedante") for r in concessions],
        "acheteur_siret": [buyer_id(r, "acheteur") for r in markets] + [buyer_id(r, "autoriteConcedante")
                                                                         for r in concessions],
        # a market counts with its current amount: after its last modification (DOMAIN.md « Needs and offer »)
        "montant_ht": [current_amount(r) for r in markets] + [r.get("valeurGlobale", "") for r in concessions],
        "date": [r.get("dateNotification", "") for r in markets] + [r.get("dateSignature", "") for r in concessions],
        "lieu_code": [(r.get("lieuExecution") or {}).get("code", "") for r in markets] + [c for c, _ in places],
        "lieu_type": [(r.get("lieuExecution") or {}).get("typeCode", "") for r in markets] + [t for _, t in places],
        "considerations_sociales": [r.get("considerationsSociales", "") for r in markets + concessions],
        "cpv": [r.get("codeCPV", "") for r in markets] + [""] * len(concessions),
        "concession": [False] * len(markets) + [True] * len(concessions),
    })
# The JSON fields read, the types accepted (``None`` is an absent value) and what a person is told to write.
JSON_FIELDS = {
    "id": ((str, int), "un texte"),
    "objet": ((str,), "un texte"),
    "montant": ((int, float, str), "un nombre"),
    "dateNotification": ((str,), "une date au format AAAA-MM-JJ"),
    "lieuExecution": ((dict,), "un objet {\"code\": …, \"typeCode\": …}"),
    "acheteur": ((dict,), "un objet {\"id\": …, \"nom\": …}"),
    "considerationsSociales": ((dict, list, str), "une liste ou un objet {\"considerationSociale\": […]}"),
    "codeCPV": ((str, int), "un texte"),
}
JSON_SUBFIELDS = {"lieuExecution": {"code": (str, int), "typeCode": (str,)}, "acheteur": {"id": (str, int),
                                                                                           "nom": (str,)}}
JSON_COLUMNS = {"id_marche": "id", "montant_ht": "montant", "date": "dateNotification",
                "lieu_code": "lieuExecution.code", "lieu_type": "lieuExecution.typeCode"}


def _json_type(value) -> str:
    if isinstance(value, bool):
        return "un booléen"
    return {dict: "un objet", list: "une liste", str: "un texte", int: "un nombre", float: "un nombre"}.get(
        type(value), type(value).__name__)


def _typed(value, accepted: tuple) -> bool:
    return value is None or (isinstance(value, accepted) and not isinstance(value, bool))


def check_json_records(recs: list, file: str, report) -> list[int]:
    """The positions of the records whose fields have the types of the format; each other record gets
    an error naming it (its number, its identifier) and the field."""
    keep = []
    for i, r in enumerate(recs):
        if not isinstance(r, dict):
            report.error(file, f"un marché doit être un objet JSON {{…}} (reçu : {_json_type(r)}).", line=i + 1,
                         unit="marché", rule="marché de mauvais type")
            continue
        ok = True
        ident = r.get("id")
        who = f" (identifiant « {ident} »)" if isinstance(ident, (str, int)) and not isinstance(ident, bool) else ""
        for name, (accepted, expected) in JSON_FIELDS.items():
            value = r.get(name)
            if not _typed(value, accepted):
                report.error(file, f"le champ « {name} » doit être {expected} (reçu : {_json_type(value)}){who}.",
                             line=i + 1, column=name, unit="marché", rule=f"type du champ {name}")
                ok = False
            elif isinstance(value, dict):
                for sub, sub_accepted in JSON_SUBFIELDS.get(name, {}).items():
                    if not _typed(value.get(sub), sub_accepted):
                        report.error(file, f"le champ « {name}.{sub} » doit être un texte (reçu : "
                                           f"{_json_type(value.get(sub))}){who}.", line=i + 1,
                                     column=f"{name}.{sub}", unit="marché", rule=f"type du champ {name}.{sub}")
                        ok = False
        if ok:
            keep.append(i)
    return keep


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


def _cells(values: pd.Series) -> pd.Series:
    """A column's cells as text, an absent value as ``""``."""
    return values.astype(str).replace({"None": "", "nan": "", "<NA>": "", "NaT": ""})


def check_values(df: pd.DataFrame, records: pd.DataFrame, numbers: np.ndarray, file: str, report, unit: str,
                 fields: dict[str, str]) -> pd.DataFrame:
    """Amounts and dates checked where they enter, each message naming the market (``numbers``: its number
    in the file, or its line) and the field: an amount that is not a number, infinite or absurd, or a
    date that is not a real date, is an error; a negative amount a warning (the market is kept, without
    amount)."""
    df = df.copy()
    ids = df["id_marche"].to_numpy()

    def who(i: int) -> str:
        return f" (identifiant « {ids[i]} »)" if ids[i] else ""

    raw = _cells(records["montant_ht"]).str.strip().to_numpy()
    num, bad = parse_numbers(pd.Series(raw))
    column = fields.get("montant_ht", "montant")
    for i in np.flatnonzero(bad):
        report.error(file, f"montant « {raw[i]} » : ce n'est pas un nombre{who(i)}.", line=int(numbers[i]),
                     column=column, unit=unit, rule="montant pas un nombre")
    infinite, absurd, negative = amount_problems(num)
    for i in np.flatnonzero(infinite):
        report.error(file, f"montant « {raw[i]} » infini (hors des nombres représentables){who(i)}.",
                     line=int(numbers[i]), column=column, unit=unit, rule="montant infini")
    for i in np.flatnonzero(absurd):
        report.error(file, f"montant de {euros(num[i])} aberrant (plus de {euros(AMOUNT_MAX_EUROS)}) : vérifiez "
                           f"l'unité ou la saisie{who(i)}.", line=int(numbers[i]), column=column, unit=unit,
                     rule="montant aberrant")
    for i in np.flatnonzero(negative):
        report.warning(file, f"montant négatif ({euros(num[i])}) : le marché est gardé, sans montant{who(i)}.",
                       line=int(numbers[i]), column=column, unit=unit, rule="montant négatif")
    df["montant_ht"] = np.where(infinite | absurd | negative, np.nan, num)
    raw_dates = _cells(records["date"]).str.strip()
    _, bad_dates = parse_dates(raw_dates)
    column = fields.get("date", "dateNotification")
    for i in np.flatnonzero(bad_dates):
        report.error(file, f"date invalide « {raw_dates.iloc[i]} » (format attendu AAAA-MM-JJ){who(i)}.",
                     line=int(numbers[i]), column=column, unit=unit, rule="date invalide")
    return df


def _frame(records: pd.DataFrame) -> pd.DataFrame:
    """DECP columns (places already normalised) as the market table; ``lieu_type`` may be arrondissement/canton."""
    montant, _ = parse_numbers(_cells(records["montant_ht"]))
    date, _ = parse_dates(_cells(records["date"]))
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
        "acheteur_siret": records.get("acheteur_siret", pd.Series("", index=records.index)).fillna("").astype(str)
        .str.strip().str.replace(r"\.0$", "", regex=True).to_numpy(),
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


def _json_records(src: Upload) -> tuple[list, list[dict], list[int], list[int]]:
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
        raise DecpRefused("fichier DECP illisible : le JSON n'a pas la forme attendue ({\"marches\": […]} ou "
                          "{\"marches\": {\"marche\": […]}}).") from exc


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
    places = [df for df in tab.batches(["id_marche", "lieu_code", "lieu_type", "donnees_actuelles"])]
    places = pd.concat(places) if len(places) > 1 else places[0] if places else pd.DataFrame()
    if places.empty:
        return places
    n_rows = len(places)
    # one row per market x holder x modification: keep the current row of each market
    places = current_rows(places)
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
    others = [c for c in ("objet", "acheteur", "acheteur_siret", "montant_ht", "date", "considerations_sociales", "cpv")
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
    fields = dict(JSON_COLUMNS)
    if not check_size(src, rep, "marches", max_bytes=DECP_JSON_MAX_BYTES if is_json else DECP_MAX_BYTES):
        if is_json:
            rep.error(src.name, "un fichier DECP national s'importe au format Parquet ou CSV consolidé, lu par "
                                "morceaux.")
        return out
    try:
        if is_json:
            markets, concessions, m_pos, c_pos = _json_records(src)
            check_time(src.name)
            if len(markets) + len(concessions) > DECP_MAX_ROWS:
                raise DecpRefused(f"le fichier compte {fmt_int(len(markets) + len(concessions))} contrats : la "
                                  f"limite est de {fmt_int(DECP_MAX_ROWS)}.")
            keep = check_json_records(markets, src.name, rep)
            markets, m_pos = [markets[i] for i in keep], [m_pos[i] for i in keep]
            records = _json_frame(markets, concessions)
            records.index = pd.Index(m_pos + c_pos, dtype=np.int64)
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
            fields = dict(_Tabular(src).source) if not records.empty else {}
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
    unit, first = ("ligne", 2) if src.suffix == ".csv" else ("marché", 1)
    numbers = records.index.to_numpy() + first  # the market's number in the file (its line in a CSV)
    df = check_values(df, records, numbers, src.name, rep, unit, fields)
    empty_id = df["id_marche"] == ""
    for i in np.flatnonzero(empty_id.to_numpy()):
        rep.error(src.name, "marché sans identifiant.", line=int(numbers[i]), column=fields.get("id_marche", "id"),
                  unit=unit, rule="marché sans identifiant")
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
