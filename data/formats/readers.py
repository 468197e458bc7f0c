"""Reading raw files (tables and geometries) into string-typed frames.

Nothing here interprets the content: ``data.validation`` maps columns and checks values.
Every failure is reported in French in a :class:`~data.report.Report`, never raised.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data.report import Report

WORK_CRS = "EPSG:2154"  # Lambert-93: every area and distance is computed in it


@dataclass(frozen=True)
class Upload:
    """A file as bytes with its name, whether it comes from disk or from a browser upload."""

    name: str
    data: bytes

    @classmethod
    def of(cls, source: "str | os.PathLike | Upload") -> "Upload":
        if isinstance(source, Upload):
            return source
        p = Path(source)
        return cls(p.name, p.read_bytes())

    @property
    def suffix(self) -> str:
        return Path(self.name).suffix.lower()


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def sniff_separator(text: str) -> str:
    """The separator among ``;``, ``,`` and tab that splits the header best."""
    header = text.split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in (";", "\t", ",")}
    return max(counts, key=counts.get) if max(counts.values()) else ","


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
    return str(v).strip()


def read_csv_text(data: bytes) -> pd.DataFrame:
    text = decode_text(data)
    sep = sniff_separator(text)
    df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_filter=False,
                     quoting=csv.QUOTE_MINIMAL, skipinitialspace=False)
    return df


def xlsx_sheets(data: bytes) -> list[str]:
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def read_xlsx_sheet(data: bytes, sheet: str | int = 0) -> pd.DataFrame:
    df = pd.read_excel(io.BytesIO(data), sheet_name=sheet, dtype=object, engine="openpyxl")
    df.columns = [_cell_to_str(c) for c in df.columns]
    return pd.DataFrame({c: [_cell_to_str(v) for v in df[c].tolist()] for c in df.columns},
                        columns=list(df.columns), dtype=object)


def read_table(src: Upload, report: Report, sheet: str | None = None) -> pd.DataFrame | None:
    """A CSV or XLSX file (one sheet) as a frame of strings; ``None`` (and an error) if unreadable."""
    label = f"{src.name} (feuille « {sheet} »)" if sheet else src.name
    if not src.data.strip():
        report.error(label, "le fichier est vide.")
        return None
    try:
        if src.suffix in (".xlsx", ".xlsm"):
            if sheet is not None and sheet not in xlsx_sheets(src.data):
                report.error(src.name, f"la feuille « {sheet} » est absente du classeur.")
                return None
            df = read_xlsx_sheet(src.data, sheet if sheet is not None else 0)
        elif src.suffix in (".csv", ".txt", ""):
            df = read_csv_text(src.data)
        else:
            report.error(label, f"format « {src.suffix} » non pris en charge pour un tableau "
                                "(formats acceptés : CSV, XLSX).")
            return None
    except Exception as exc:  # any parser failure becomes a message
        report.error(label, f"fichier illisible ({type(exc).__name__} : {str(exc)[:200]}).")
        return None
    # rows where every cell is blank (a classic trailing ",,,,") are skipped; the index keeps
    # each row's position so that line numbers stay those of the file
    if len(df.columns):
        blank = df.apply(lambda col: col.astype(str).str.strip().isin(["", "nan", "None"])).all(axis=1)
        df = df[~blank.to_numpy()]
    df = df.loc[:, [c for c in df.columns if str(c).strip() and not str(c).startswith("Unnamed")]]
    if df.empty and not len(df.columns):
        report.error(label, "le fichier est vide.")
        return None
    return df


def read_geo(src: Upload, report: Report) -> gpd.GeoDataFrame | None:
    """A GeoJSON, GeoPackage, GeoParquet or zipped Shapefile, in its own declared CRS.

    A file that does not declare its coordinate system is refused: guessing would put the
    territory at the wrong place without anybody noticing.
    """
    if not src.data.strip():
        report.error(src.name, "le fichier est vide.")
        return None
    suffix = src.suffix
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"upload{suffix}"
            path.write_bytes(src.data)
            if suffix in (".parquet", ".geoparquet"):
                gdf = gpd.read_parquet(path)
            elif suffix == ".zip":
                with zipfile.ZipFile(path) as zf:
                    shp = [n for n in zf.namelist() if n.lower().endswith(".shp")]
                    if not shp:
                        report.error(src.name, "l'archive ZIP ne contient aucun fichier .shp.")
                        return None
                    zf.extractall(tmp)
                    if not any(n.lower().endswith(".prj") for n in zf.namelist()):
                        report.error(src.name, "le Shapefile n'a pas de fichier .prj : son système de "
                                               "coordonnées est inconnu. Ajoutez le .prj (ou indiquez le "
                                               "système, par exemple EPSG:2154) et réimportez.")
                        return None
                gdf = gpd.read_file(Path(tmp) / shp[0])
            elif suffix in (".geojson", ".json", ".gpkg"):
                gdf = gpd.read_file(path)
            else:
                report.error(src.name, f"format « {suffix} » non pris en charge pour une couche géographique "
                                       "(formats acceptés : GeoJSON, GeoPackage, GeoParquet, Shapefile zippé).")
                return None
    except Exception as exc:
        report.error(src.name, f"fichier géographique illisible ({type(exc).__name__} : {str(exc)[:200]}).")
        return None
    if gdf.crs is None:
        report.error(src.name, "le fichier ne déclare pas de système de coordonnées (CRS). Indiquez-le "
                               "(par exemple EPSG:2154 pour le Lambert-93 ou EPSG:4326 pour le GPS) et réimportez.")
        return None
    if len(gdf) == 0:
        report.error(src.name, "le fichier ne contient aucune entité.")
        return None
    return gdf


def to_work_crs(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reproject to Lambert-93; reprojection may bend a valid ring into an invalid one, so
    such artefacts (ours, not the user's) are repaired silently."""
    out = gdf.to_crs(WORK_CRS)
    geoms = out.geometry.to_numpy()
    bad = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
        out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=out.crs))
    return out


def is_geo(src: Upload) -> bool:
    if src.suffix in (".geojson", ".gpkg", ".parquet", ".geoparquet", ".zip", ".shp"):
        return True
    if src.suffix == ".json":
        head = src.data[:2000].decode("utf-8", "ignore")
        return '"FeatureCollection"' in head or '"Feature"' in head
    return False
