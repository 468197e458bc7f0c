"""The one XLSX writer of the product: page exports, the diagnosis workbook, templates, the facilitator
export, the journal, and every workbook to come.

A workbook is a list of :class:`Sheet`; each column has a *kind* that decides its cells:

- numbers stay numbers, with a number format that Excel and LibreOffice apply and localise (``#,##0``,
  ``#,##0.00``, ``0.0%``: a French Excel shows ``1 016 984``, ``6,78``, ``12,5 %``); a share is stored as
  a fraction with a percent format, a gap between two shares in percentage points; binary noise is
  rounded away (``6.783999999999999`` is stored as ``6.784``), or, with ``precision="display"``, values
  are rounded as the documents show them (ETP to the hundredth);
- a ``date`` is a real date shown ``dd/mm/yyyy`` (the text as written when it is not a date);
- a ``bool`` reads ``oui`` / ``non``; ``text`` is text;
- kind ``row`` takes each row's kind from ``Sheet.row_kinds`` (a summary's « Valeur » column), ``row_gap``
  likewise, a gap between two shares being written in points.

Every sheet has its header row bold and frozen and an autofilter. Text that a spreadsheet would run as a
formula (``=``, ``+``, ``-``, ``@``, tab, carriage return at the start) is neutralised in cells, headers and
sheet names (:mod:`data.formats.writers`), and characters XLSX cannot hold are dropped.

This module knows nothing of Streamlit nor of what a column means: the French headers and the kinds come
from the caller (``views.columns`` for the screens' tables, ``reports.workbook`` for the diagnosis).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from data.formats.spreadsheet import neutralise, safe_sheet_name

FORMATS = {"int": "#,##0", "euros": "#,##0", "num": "#,##0", "dec1": "#,##0.0", "dec2": "#,##0.00",
           "pct": "0.0%", "points": '+0.0" pt";-0.0" pt";0.0" pt"', "year": "0", "date": "dd/mm/yyyy"}
NUMERIC_KINDS = {"int", "euros", "num", "dec1", "dec2", "pct", "points", "year"}
# digits kept: "full" removes binary noise only; "display" rounds as the documents show the figure
DIGITS = {"full": {"pct": 8}, "display": {"num": 2, "dec1": 2, "dec2": 2, "pct": 4, "euros": 2, "points": 1}}
FULL_DIGITS = 6
HEADER_COLOUR = "000091"  # the State's blue, white bold type


@dataclass
class Sheet:
    """One table of a workbook.

    ``columns`` are ``(column of the frame, header, kind)``; ``None`` writes every column under its own
    name, its kind guessed from its type (:func:`guess_kind`). ``widths`` sets some columns' widths
    (in characters) by column of the frame.
    """

    name: str
    frame: pd.DataFrame
    columns: Sequence[tuple[object, str, str]] | None = None
    row_kinds: Sequence[str] | None = None
    widths: dict = field(default_factory=dict)


def guess_kind(series: pd.Series) -> str:
    """``bool``, ``int``, ``num`` (a decimal: up to two digits shown) or ``text``."""
    if series.dtype == bool:
        return "bool"
    if pd.api.types.is_integer_dtype(series):
        return "int"
    if pd.api.types.is_float_dtype(series):
        return "dec2"
    return "text"


def _missing(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v))


def date_value(v):
    """A cell of a ``date`` column: a real date, the text as written when it is not one, ``None`` when empty."""
    if _missing(v) or str(v).strip() == "":
        return None
    if isinstance(v, (dt.datetime, pd.Timestamp)):
        return v.date()
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v).strip()[:10])
    except ValueError:
        return str(v)


def number_value(v, kind: str, precision: str = "full"):
    """A number as stored: ``int`` for counts and years, a fraction for a share, points for a gap."""
    if _missing(v):
        return None
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if np.isnan(f) or np.isinf(f):
        return None
    if kind in ("int", "year") or (kind == "euros" and precision == "full" and f == round(f)):
        return int(round(f))
    if kind == "points":
        f *= 100  # a gap between two shares, in percentage points: -0.058 is shown « -5,8 pt »
    digits = DIGITS[precision].get(kind, FULL_DIGITS if precision == "full" else 4)
    return round(f, digits)


def _text(v):
    if _missing(v):
        return None
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)):
        return v  # a number in a text column stays a number
    return str(v)


def _width(header: str, kind: str, values: list) -> float:
    if kind in NUMERIC_KINDS:
        width = max(len(header) * 0.9, 11)
    else:
        width = max([len(header) * 0.9] + [len(str(v)) for v in values[:300] if not _missing(v)])
    return float(min(60, max(9, width + 2)))


def workbook(sheets: Iterable[Sheet], precision: str = "full") -> bytes:
    """The workbook of ``sheets``, as bytes (write-only: a large table costs no more than its rows)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    def clean(text: str) -> str:
        return ILLEGAL_CHARACTERS_RE.sub("", text)

    wb = Workbook(write_only=True)
    taken: set[str] = set()
    head_font = Font(bold=True, color="FFFFFF")
    head_fill = PatternFill("solid", fgColor=HEADER_COLOUR)
    head_align = Alignment(wrap_text=True, vertical="top")
    for sheet in sheets:
        df = sheet.frame
        if sheet.columns is None:
            columns = [(j, str(df.columns[j]), guess_kind(df.iloc[:, j])) for j in range(df.shape[1])]
        else:
            columns = list(sheet.columns)
        values = [df.iloc[:, key].tolist() if isinstance(key, int) and sheet.columns is None
                  else (df[key].tolist() if key in df.columns else [None] * len(df)) for key, _, _ in columns]
        ws = wb.create_sheet(safe_sheet_name(sheet.name, taken))
        ws.freeze_panes = "A2"
        for j, ((key, header, kind), col) in enumerate(zip(columns, values), start=1):
            width = sheet.widths.get(key) or _width(header, kind if isinstance(kind, str) else "text", col)
            ws.column_dimensions[get_column_letter(j)].width = float(width)
        head = []
        for _, header, _ in columns:
            cell = WriteOnlyCell(ws, value=clean(str(neutralise(str(header)))))
            cell.data_type = "s"  # a header is text, whatever it starts with
            cell.font, cell.fill, cell.alignment = head_font, head_fill, head_align
            head.append(cell)
        ws.append(head)
        kinds = [k for _, _, k in columns]
        for i in range(len(df)):
            row = []
            for col, kind in zip(values, kinds):
                v = col[i]
                gap = kind == "row_gap"
                if kind in ("row", "row_gap"):
                    kind = sheet.row_kinds[i]
                    if gap and kind == "pct":
                        kind = "points"
                if kind == "text":
                    value = _text(v)
                elif kind == "bool":
                    value = None if _missing(v) else ("oui" if bool(v) else "non")
                elif kind == "date":
                    value = date_value(v)
                else:
                    value = number_value(v, kind, precision)
                if isinstance(value, str):
                    value = clean(value)
                    cell = WriteOnlyCell(ws, value=neutralise(value))
                    cell.data_type = "s"  # text, even when it starts like a formula
                    row.append(cell)
                elif value is not None and kind in FORMATS:
                    cell = WriteOnlyCell(ws, value=value)
                    cell.number_format = FORMATS[kind]
                    row.append(cell)
                else:
                    row.append(value)
            ws.append(row)
        ws.auto_filter.ref = f"A1:{get_column_letter(max(1, len(columns)))}{len(df) + 1}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def message_sheet(name: str, sentence: str) -> Sheet:
    """A sheet that says, in one sentence, why its table is not there (« Aucun fichier de marchés… »)."""
    return Sheet(name, pd.DataFrame({"information": [sentence]}), [("information", "Information", "text")],
                 widths={"information": 100})


__all__ = ["FORMATS", "NUMERIC_KINDS", "Sheet", "date_value", "guess_kind", "message_sheet",
           "number_value", "workbook"]
