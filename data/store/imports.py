"""What an accepted import changes in a workspace, and the vintage of what it brings (pure: no disk)."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

from data.report import Loaded
from data.store.dataset import Dataset

YEAR_RE = re.compile(r"(?<!\d)(20\d\d|19\d\d)(?!\d)")
MONTHS = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.")


COG_YEAR_RE = re.compile(r"cog\D{0,3}((?:19|20)\d\d)(?!\d)", re.IGNORECASE)


def year_in_name(names: list[str]) -> str:
    """A year written in a file name, the one after "COG" first, else the first one; ``""`` if none.

    >>> year_in_name(["communes_occitanie_cog2026_from_adminexpress2018.geojson"]), year_in_name(["qpv_2024.csv"])
    ('2026', '2024')
    """
    for rx in (COG_YEAR_RE, YEAR_RE):
        for name in names:
            found = rx.findall(str(name))
            if found:
                return found[0]
    return ""


def _years(values: pd.Series) -> list[int]:
    num = pd.to_numeric(values, errors="coerce").dropna()
    return sorted({int(v) for v in num})


def _span(years: list[int]) -> str:
    if not years:
        return ""
    return str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}" if years == list(
        range(years[0], years[-1] + 1)) else ", ".join(map(str, years))


def qpv_generation(codes: pd.Series) -> str:
    """``2015`` (codes ``QP…``), ``2024`` (``QN…``), both, or ``""``."""
    c = codes.astype(str).str.upper()
    gens = [g for g, prefix in (("2015", "QP"), ("2024", "QN")) if c.str.startswith(prefix).any()]
    return " et ".join(gens)


def market_period(dates: pd.Series) -> str:
    """``mars 2023 – déc. 2024`` from the markets' ISO dates; ``""`` when none is known."""
    d = pd.to_datetime(dates.astype(str).where(dates.astype(str) != ""), errors="coerce").dropna()
    if d.empty:
        return ""
    lo, hi = d.min(), d.max()
    first, last = f"{MONTHS[lo.month - 1]} {lo.year}", f"{MONTHS[hi.month - 1]} {hi.year}"
    return first if first == last else f"{first} – {last}"


def vintage(kind: str, tables: dict[str, pd.DataFrame], file_names: list[str], declared: str = "") -> str:
    """The vintage of an import, as shown in the sidebar, the maps' footnotes and the exports.

    Parameters
    ----------
    kind : the file kind
    tables : the accepted tables
    file_names : the files' names (a year in a name is a COG year when nothing else says it)
    declared : what the user said (COG year asked on import), wins over the rest; for the facilitators, the
        year asked on import (the import's year by default) is what the file says when it has no ``annee``
        """
    if kind == "facilitateurs":  # the year a file writes, else the one asked, else the year of the import
        return (_span(_years(tables["structures"]["annee"])) or str(declared or "") or year_in_name(file_names)
                or str(dt.date.today().year))
    if declared:
        return str(declared)
    if kind == "communes":
        return year_in_name(file_names)
    if kind == "qpv":
        return qpv_generation(tables["qpv"]["code_qp"])
    if kind == "marches":
        return market_period(tables["marches"]["date"])
    if kind == "indicateurs":
        return _span(_years(tables["indicateurs"]["annee"]))
    if kind == "structures_inclusion":
        return file_date(file_names) or latest_update(tables["structures_inclusion"]) or year_in_name(file_names)
    return ""


DATE_IN_NAME_RE = re.compile(r"(?<!\d)(20\d\d)-(\d\d)-(\d\d)(?!\d)")


def file_date(names: list[str]) -> str:
    """The date a published file's name carries (``structures-inclusion-2026-11-30.csv``,
    ``liste_structures_2026-11-30.csv``), French: ``30/11/2026``; ``""`` if none.

    >>> file_date(["structures-inclusion-2026-11-30.parquet"])
    '30/11/2026'
    """
    for name in names:
        m = DATE_IN_NAME_RE.search(str(name))
        if m:
            return f"{m.group(3)}/{m.group(2)}/{m.group(1)}"
    return ""


def latest_update(table: pd.DataFrame) -> str:
    """The latest ``date_maj`` of a data·inclusion file (French), ``""`` when none is known."""
    if "date_maj" not in table.columns:
        return ""
    d = pd.to_datetime(table["date_maj"].astype(str).str.slice(0, 10), format="%Y-%m-%d", errors="coerce").dropna()
    return f"{d.max():%d/%m/%Y}" if len(d) else ""


def apply(ds: Dataset, loaded: Loaded, file_names: list[str], declared_vintage: str = "") -> tuple[Dataset, dict]:
    """The dataset with the tables of an accepted file, and the record of this import.

    A refused file changes nothing (the dataset is returned as it is, the record is empty).
    """
    if not loaded.ok or not loaded.tables:
        return ds, {}
    new = ds.replace(**loaded.tables)
    meta = dict(new.meta)
    kind = loaded.kind
    vint = vintage(kind, loaded.tables, file_names, declared_vintage)
    meta["vintages"] = {**meta.get("vintages", {}), kind: vint}
    meta["sources"] = {**meta.get("sources", {}), kind: ", ".join(file_names)}
    if kind == "communes":
        meta["referentiel_officiel"] = False
        regs = loaded.tables["communes"]["reg"].astype(str)
        regs = regs[regs != ""]
        if meta.get("region") not in set(regs):
            meta["region"] = regs.value_counts().index[0] if len(regs) else ""
    new.meta = meta
    record = {"kind": kind, "file": ", ".join(file_names), "vintage": vint, "counts": dict(loaded.counts)}
    return new, record
