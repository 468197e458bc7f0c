"""XLSX workbooks: one sheet streamed into a frame of strings.

The container is checked as an archive first (``data.formats.archives``), then the sheet's declared
dimensions and its rows against the kind's limits; formulas are read as the values Excel saved,
never evaluated (a formula without a saved value is refused). A refusal is raised as
:class:`XlsxRefused` with its French message, which ``data.formats.tables.read_table`` reports.

Imports ``data.formats.limits``, ``.upload``, ``.archives`` and ``data.report``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
import zipfile

import numpy as np
import pandas as pd

from data.formats.archives import check_archive
from data.formats.limits import BLOCK, CHUNK_ROWS, MAX_COLUMNS, check_time, fmt_int, limit_of
from data.formats.upload import Upload, binary_kind, log_failure
from data.report import Report


def _cell_to_str(v: object) -> str:
    """An Excel cell as the string a person typed: 1001.0 -> "1001", dates -> ISO."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if float(v).is_integer() else repr(float(v))
    if isinstance(v, (dt.datetime, pd.Timestamp)):
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.time):
        return v.isoformat()
    return str(v).strip()


class XlsxRefused(Exception):
    """A workbook refused for a reason the message (French) gives; ``line`` and ``column`` if any."""

    def __init__(self, message: str, line: int | None = None, column: str | None = None):
        super().__init__(message)
        self.line, self.column = line, column


@contextlib.contextmanager
def _workbook(src: Upload, label: str):
    """The workbook in read-only mode with saved values (``data_only``), after its container is checked."""
    import openpyxl

    fh = src.open()
    try:
        try:
            zf = zipfile.ZipFile(fh)
        except zipfile.BadZipFile:
            what = binary_kind(src.head(4096))
            raise XlsxRefused("fichier illisible : ce n'est pas un classeur XLSX valide" +
                              (f" (c'est {what})" if what and "XLSX" not in what else "") +
                              " : ouvrez-le dans un tableur et enregistrez-le au format XLSX ou CSV.")
        report = Report()
        if not check_archive(zf, label, report):
            raise XlsxRefused(report.errors[0].message)
        check_time(src.name)  # loading reads the shared strings at once (2 s for 100,000 distinct ones)
        try:
            wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        except Exception as exc:
            log_failure(label, exc)
            raise XlsxRefused("fichier illisible : le classeur XLSX est endommagé ou d'un format inattendu : ouvrez-le dans un tableur "
                              "et enregistrez-le à nouveau au format XLSX.") from exc
        try:
            yield wb
        finally:
            wb.close()
    finally:
        fh.close()


_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")


def _unsaved_formula(wb, ws) -> str | None:
    """The first cell of ``ws`` holding a formula without a saved value (``"B7"``), else ``None``.

    A formula's value is what Excel saved with it; a file written by a program that does not
    compute (or with computation off) has none, and nothing here will evaluate it.
    """
    import xml.etree.ElementTree as ET

    archive, path = wb._archive, ws._worksheet_path
    with archive.open(path) as fh:  # a fast scan first: most sheets hold no formula at all
        tail, found = b"", False
        while block := fh.read(BLOCK):
            if _FORMULA_TAG.search(tail + block):
                found = True
                break
            tail = block[-64:]
            check_time()
    if not found:
        return None
    with archive.open(path) as fh:
        for _, el in ET.iterparse(fh, events=("end",)):
            if el.tag.rsplit("}", 1)[-1] != "c":
                if el.tag.rsplit("}", 1)[-1] == "row":
                    el.clear()
                    check_time()
                continue
            children = {child.tag.rsplit("}", 1)[-1]: child for child in el}
            if "f" in children and (children.get("v") is None or not (children["v"].text or "").strip()) \
                    and el.get("t") != "inlineStr":
                return el.get("r") or "?"
    return None


def read_xlsx(src: Upload, report: Report, sheet: str | int | None, label: str,
              kind: str | None = None) -> pd.DataFrame | None:
    """One sheet as a frame of strings, streamed; dimensions, formulas and rows checked first."""
    lim = limit_of(kind)
    with _workbook(src, label) as wb:
        if sheet is None or sheet == 0:
            ws = wb.worksheets[0]
        elif isinstance(sheet, str):
            if sheet not in wb.sheetnames:
                report.error(src.name, f"la feuille « {sheet} » est absente du classeur.")
                return None
            ws = wb[sheet]
        else:
            ws = wb.worksheets[sheet]
        # metadata first: the dimension the file declares (A1:M1048576)
        max_row, max_col = ws.max_row, ws.max_column
        if max_row is not None and max_row - 1 > lim.max_xlsx_rows:
            raise XlsxRefused(f"la feuille « {ws.title} » déclare {fmt_int(max_row)} lignes : la limite est de "
                              f"{fmt_int(lim.max_xlsx_rows)} lignes en XLSX pour {lim.label}. Enregistrez le "
                              "tableau en CSV (ou, si ces lignes sont vides, supprimez-les sous le tableau).")
        if max_col is not None and max_col > MAX_COLUMNS:
            raise XlsxRefused(f"la feuille « {ws.title} » déclare {fmt_int(max_col)} colonnes : au-delà de "
                              f"{MAX_COLUMNS}, ce n'est pas un tableau de ce type.")
        check_time(src.name)
        cell = _unsaved_formula(wb, ws)
        check_time(src.name)
        if cell is not None:
            col = re.match(r"[A-Z]+", cell)
            row = re.search(r"\d+", cell)
            raise XlsxRefused(f"la cellule {cell} contient une formule sans valeur enregistrée : l'application "
                              "ne calcule jamais les formules. Ouvrez le classeur dans un tableur, laissez-le "
                              "calculer, puis enregistrez-le (ou remplacez les formules par leurs valeurs).",
                              line=int(row.group()) if row else None, column=col.group() if col else None)
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            return pd.DataFrame()
        width = len(header)
        buffer: list[tuple] = []
        chunks: list[pd.DataFrame] = []
        n = 0

        def flush():
            if buffer:
                w = max(width, max(len(r) for r in buffer))
                cols = {j: [(_cell_to_str(r[j]) if j < len(r) else "") for r in buffer] for j in range(w)}
                chunks.append(pd.DataFrame(cols, index=pd.RangeIndex(n - len(buffer), n), dtype=object))
                buffer.clear()

        for values in rows:
            n += 1
            if not n % 1024:  # openpyxl reads about 20,000 rows a second: a check every 50 ms
                check_time(src.name)
            if n > lim.max_xlsx_rows:
                raise XlsxRefused(f"la feuille « {ws.title} » compte plus de {fmt_int(lim.max_xlsx_rows)} lignes, "
                                  f"la limite en XLSX pour {lim.label} : enregistrez le tableau en CSV.")
            if len(values) > MAX_COLUMNS:
                raise XlsxRefused(f"la ligne {n + 1} compte plus de {MAX_COLUMNS} colonnes.", line=n + 1)
            buffer.append(values)
            if len(buffer) >= CHUNK_ROWS:
                flush()
        flush()
    names = _column_names([_cell_to_str(v) for v in header])
    if not chunks:
        return pd.DataFrame(columns=names, dtype=object)
    df = pd.concat(chunks) if len(chunks) > 1 else chunks[0]
    extra = [f"Unnamed: {j}" for j in range(len(names), df.shape[1])]
    df.columns = names + extra
    return df


def _column_names(raw: list[str]) -> list[str]:
    """Header cells as pandas names them: a blank one ``Unnamed: j``, a repeated one ``name.1``."""
    out, seen = [], {}
    for j, name in enumerate(raw):
        name = name or f"Unnamed: {j}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        out.append(name)
    return out


def xlsx_sheets(data: bytes) -> list[str]:
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def read_xlsx_sheet(data: bytes, sheet: str | int = 0) -> pd.DataFrame:
    """A sheet given as bytes; raises on a defect, unlike :func:`~data.formats.tables.read_table`."""
    report = Report()
    df = read_xlsx(Upload("classeur.xlsx", data), report, sheet, "classeur.xlsx")
    if df is None:
        raise ValueError(report.text())
    return df
