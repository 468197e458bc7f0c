"""Writing files in the import formats: templates for each kind, and the demo dataset as files.

Templates come from the same schema definitions as the validation (``data.schemas``).
CSV files are written for a French Excel: ``;`` separator, UTF-8 with BOM, decimal comma.
"""

from __future__ import annotations

import functools
from pathlib import Path

import geopandas as gpd
import pandas as pd

from data import schemas as S
from data.formats import xlsx
from data.formats.spreadsheet import csv_bytes
from data.store.dataset import Dataset


def xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """One sheet per table, every column under its own name (the import formats' files: templates, a
    workspace's facilitators), written by the product's one XLSX writer (:mod:`data.formats.xlsx`)."""
    return xlsx.workbook([xlsx.Sheet(name, df) for name, df in sheets.items()])


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
                   "marches": ["marches"], "indicateurs": ["indicateurs"],
                   "structures_inclusion": ["structures_inclusion"]}


@functools.lru_cache(maxsize=16)
def template_xlsx(kind: str) -> bytes:
    """A kind's template (its sheets and an « aide » sheet), made once per process: the same bytes at every run
    of the Données page (a workbook's date changes each second, and a download button whose bytes change between
    two runs sends the browser to a file already gone)."""
    tables = [S.SCHEMAS[t] for t in TEMPLATE_TABLES[kind]]
    sheets = {t.kind: _template_frame(t) for t in tables}
    sheets["aide"] = _help_frame(tables)
    return xlsx_bytes(sheets)


@functools.lru_cache(maxsize=16)
def template_csv(kind: str, table: str | None = None) -> bytes:
    table = table or TEMPLATE_TABLES[kind][0]
    return csv_bytes(_template_frame(S.SCHEMAS[table]))


def _plain(df: pd.DataFrame, schema: S.TableSchema) -> pd.DataFrame:
    cols = [c for c in schema.columns if c in df.columns]
    return pd.DataFrame(df[cols])


EXPORT_SUFFIX = {"communes": ".gpkg", "qpv": ".gpkg", "facilitateurs": ".xlsx", "marches": ".csv",
                 "indicateurs": ".csv", "structures_inclusion": ".csv"}


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
    if ds.has("structures_inclusion"):
        (out / "structures_inclusion.csv").write_bytes(csv_bytes(_plain(ds.structures_inclusion,
                                                                        S.STRUCTURES_INCLUSION)))
        written.append(out / "structures_inclusion.csv")
    return written
