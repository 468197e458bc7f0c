"""What every spreadsheet file the product writes shares: text made inert (a cell, a header or a sheet name
that a spreadsheet would run as a formula), valid sheet names, and the CSV that a French Excel opens right
(``;``, UTF-8 with BOM, decimal comma). Used by the XLSX writer (:mod:`data.formats.xlsx`) and by every CSV
export; imports nothing of the project.
"""

from __future__ import annotations

import io
import re

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


def neutralise(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe.

    Only text is touched: a number (``-5``, ``-0.5``) stays a number.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_header(name: object) -> str:
    """A column header as inert text (a structure's name is a header in comparison exports)."""
    return str(neutralise(str(name)))


def safe_sheet_name(name: object, taken: set[str] | None = None) -> str:
    """A sheet name Excel accepts and never reads as anything but a name: no ``[]:*?/\\`` nor
    control characters, no formula start, no apostrophe at either end, 31 characters at most,
    unique in the workbook (``taken`` holds the names already used, lower case)."""
    text = SHEET_FORBIDDEN.sub("_", str(name)).strip().strip("'").strip()
    if text.startswith(FORMULA_START):
        text = "_" + text
    text = (text or "Feuille")[:31]
    if text.lower() == "history":  # reserved by Excel
        text = "History_"
    taken = taken if taken is not None else set()
    base, i = text, 1
    while text.lower() in taken:
        i += 1
        suffix = f" ({i})"
        text = base[:31 - len(suffix)] + suffix
    taken.add(text.lower())
    return text


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell and every header neutralised; numbers untouched."""
    columns = {}
    for j in range(df.shape[1]):  # by position: two columns may bear the same name
        col = df.iloc[:, j]
        if isinstance(col.dtype, pd.CategoricalDtype):
            col = col.astype(object)
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            col = col.map(neutralise).astype(object)
        columns[j] = col
    out = pd.DataFrame(columns, index=df.index)
    out.columns = [safe_header(c) for c in df.columns]
    return out


def csv_bytes(df: pd.DataFrame, decimal: str = ",") -> bytes:
    """CSV that Excel opens correctly in French: ``;``, UTF-8 with BOM, decimal comma."""
    buf = io.StringIO()
    safe_frame(df).to_csv(buf, sep=";", index=False, decimal=decimal, lineterminator="\r\n")
    return buf.getvalue().encode("utf-8-sig")
