"""Writing files in the import formats: templates for each kind, and the demo dataset as files.

Templates come from the same schema definitions as the validation (``data.schemas``).
CSV files are written for a French Excel: ``;`` separator, UTF-8 with BOM, decimal comma.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd

from data import schemas as S
from data.store.dataset import Dataset

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


def xlsx_bytes(sheets: dict[str, pd.DataFrame], number_formats: dict[str, str] | None = None) -> bytes:
    """One sheet per table, header row frozen and bold, readable column widths.

    Sheet names, headers and text cells are neutralised (see :func:`neutralise`): a name from a
    file never becomes a formula, wherever it lands in the workbook.
    """
    from openpyxl.styles import Font

    buf = io.BytesIO()
    taken: set[str] = set()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for name, df in sheets.items():
            sheet = safe_sheet_name(name, taken)
            safe = safe_frame(df)
            safe.to_excel(xw, sheet_name=sheet, index=False)
            ws = xw.sheets[sheet]
            ws.freeze_panes = "A2"
            for cell in ws[1]:
                cell.font = Font(bold=True)
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # a header is text, whatever it starts with
            for j, (col, shown) in enumerate(zip(df.columns, safe.columns), start=1):
                letter = ws.cell(row=1, column=j).column_letter
                width = max([len(str(shown))] + [len(str(v)) for v in df[col].head(200).tolist()]) + 2
                ws.column_dimensions[letter].width = min(60, max(10, width))
                fmt = (number_formats or {}).get(col)
                if fmt is None and pd.api.types.is_float_dtype(df[col]):
                    fmt = "# ##0.0##"
                elif fmt is None and pd.api.types.is_integer_dtype(df[col]):
                    fmt = "# ##0"
                if fmt:
                    for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                        for cell in row:
                            cell.number_format = fmt
    return buf.getvalue()


def _template_frame(schema: S.TableSchema) -> pd.DataFrame:
    return pd.DataFrame([[f.example for f in schema.fields]], columns=schema.columns)


def _help_frame(schemas: list[S.TableSchema]) -> pd.DataFrame:
    rows = []
    for schema in schemas:
        for f in schema.fields:
            rows.append({"table": schema.kind, "colonne": f.name, "obligatoire": "oui" if f.required else "non",
                         "description": f.label, "noms officiels acceptés": ", ".join(f.aliases)})
    return pd.DataFrame(rows)


TEMPLATE_TABLES = {"communes": ["communes"], "qpv": ["qpv"], "facilitateurs": ["structures", "perimetres"],
                   "marches": ["marches"], "indicateurs": ["indicateurs"]}


def template_xlsx(kind: str) -> bytes:
    tables = [S.SCHEMAS[t] for t in TEMPLATE_TABLES[kind]]
    sheets = {t.kind: _template_frame(t) for t in tables}
    sheets["aide"] = _help_frame(tables)
    return xlsx_bytes(sheets)


def template_csv(kind: str, table: str | None = None) -> bytes:
    table = table or TEMPLATE_TABLES[kind][0]
    return csv_bytes(_template_frame(S.SCHEMAS[table]))


def _plain(df: pd.DataFrame, schema: S.TableSchema) -> pd.DataFrame:
    cols = [c for c in schema.columns if c in df.columns]
    return pd.DataFrame(df[cols])


EXPORT_SUFFIX = {"communes": ".gpkg", "qpv": ".gpkg", "facilitateurs": ".xlsx", "marches": ".csv",
                 "indicateurs": ".csv"}


def export_kind(ds: Dataset, kind: str, out: Path) -> list[Path]:
    """One kind of a workspace's data written back in an import format: GeoPackage (Lambert-93)
    for the geographic tables, an XLSX workbook for facilitators, CSV otherwise.

    ``out`` is a file (its suffix is set to the format's) or an existing folder.
    """
    out = Path(out)
    if out.is_dir():
        out = out / f"{kind}{EXPORT_SUFFIX[kind]}"
    out = out.with_suffix(EXPORT_SUFFIX[kind])
    out.parent.mkdir(parents=True, exist_ok=True)
    if kind in ("communes", "qpv"):
        df = getattr(ds, kind)
        gdf = gpd.GeoDataFrame(_plain(df, S.SCHEMAS[kind]), geometry=df.geometry.to_numpy(), crs=df.crs)
        if out.exists():
            out.unlink()
        gdf.to_file(out, driver="GPKG")
    elif kind == "facilitateurs":
        out.write_bytes(xlsx_bytes({"structures": _plain(ds.structures, S.STRUCTURES),
                                    "perimetres": _plain(ds.perimetres, S.PERIMETRES)}))
    else:
        out.write_bytes(csv_bytes(_plain(getattr(ds, kind), S.SCHEMAS[kind])))
    return [out]


def write_dataset(ds: Dataset, out: Path) -> list[Path]:
    """The dataset as files in the import formats (what ``cli.py demo --out`` writes)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    communes = gpd.GeoDataFrame(_plain(ds.communes, S.COMMUNES), geometry=ds.communes.geometry.to_numpy(),
                                crs=ds.communes.crs).to_crs("EPSG:4326")
    communes.to_file(out / "communes.geojson", driver="GeoJSON")
    written.append(out / "communes.geojson")
    qpv = gpd.GeoDataFrame(_plain(ds.qpv, S.QPV), geometry=ds.qpv.geometry.to_numpy(), crs=ds.qpv.crs)
    qpv.to_file(out / "qpv.gpkg", driver="GPKG")  # Lambert-93, as many SIG services keep it
    written.append(out / "qpv.gpkg")
    st, pe = _plain(ds.structures, S.STRUCTURES), _plain(ds.perimetres, S.PERIMETRES)
    (out / "facilitateurs.xlsx").write_bytes(xlsx_bytes({"structures": st, "perimetres": pe}))
    written.append(out / "facilitateurs.xlsx")
    folder = out / "facilitateurs_csv"
    folder.mkdir(exist_ok=True)
    (folder / "structures.csv").write_bytes(csv_bytes(st))
    (folder / "perimetres.csv").write_bytes(csv_bytes(pe))
    written += [folder / "structures.csv", folder / "perimetres.csv"]
    (out / "marches.csv").write_bytes(csv_bytes(_plain(ds.marches, S.MARCHES)))
    (out / "indicateurs.csv").write_bytes(csv_bytes(_plain(ds.indicateurs, S.INDICATEURS)))
    written += [out / "marches.csv", out / "indicateurs.csv"]
    return written
