"""Geographic layers: GeoJSON, GeoPackage, GeoParquet and zipped Shapefile.

A layer is read in the coordinate system it declares, then reprojected to Lambert-93
(:data:`WORK_CRS`, :func:`to_work_crs`). A file that does not declare its coordinate system is
refused: guessing would put the territory at the wrong place without anybody noticing. Size,
archive, features and vertices are checked against the kind's limits before anything heavy is done
(the vertices of a GeoPackage or a Shapefile are estimated from the file's bytes, before any
geometry is read); a zipped Shapefile's own files only are extracted, under plain names. Every
failure is reported in French in a :class:`~data.report.Report`, never raised.

Imports ``data.formats.limits``, ``.upload``, ``.archives`` and ``data.report``.
"""

from __future__ import annotations

import contextlib
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from data.formats.archives import check_archive
from data.formats.limits import BLOCK, Limit, TimeUp, check_time, fmt_int, limit_of
from data.formats.upload import Upload, binary_kind, check_size, log_failure
from data.report import Report

WORK_CRS = "EPSG:2154"  # Lambert-93: every area and distance is computed in it

GEO_FORMATS = "formats acceptés : GeoJSON, GeoPackage, GeoParquet, Shapefile zippé"
SHAPE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def _geo_problem(exc: Exception) -> str:
    """A GDAL / pyogrio / pyarrow failure as a French sentence."""
    text = str(exc).lower()
    if "too complex" in text or "max_obj_size" in text:
        return ("un objet du fichier GeoJSON est trop volumineux pour être lu : simplifiez les contours ou "
                "enregistrez la couche en GeoPackage.")
    if "not recognized as" in text or "not a supported" in text or "unsupported" in text:
        return f"fichier géographique illisible : ce n'est pas une couche géographique reconnue ({GEO_FORMATS})."
    if isinstance(exc, MemoryError):
        return "la couche demande trop de mémoire pour être lue : simplifiez les contours ou découpez-la."
    return ("fichier géographique illisible : ouvrez-le dans un SIG (QGIS…) et enregistrez la couche en GeoPackage "
            "ou en GeoJSON, avec son système de coordonnées.")


def _count_features(path_or_buffer) -> int | None:
    import pyogrio

    with contextlib.suppress(Exception):
        n = pyogrio.read_info(path_or_buffer).get("features")
        return None if n is None or n < 0 else int(n)
    return None


def _vertex_error(per_feature: np.ndarray, label: str, report: Report, lim: Limit, estimated: bool = False) -> bool:
    """Report (and return ``True``) when an outline, or the layer, has more points than allowed.
    ``estimated``: the counts are lower bounds computed from the file's bytes."""
    if not len(per_feature):
        return False
    at_least = "au moins " if estimated else ""
    advice = "Simplifiez les contours (par exemple avec QGIS ou mapshaper, à quelques mètres près) et réimportez."
    biggest = int(np.argmax(per_feature))
    top = int(per_feature[biggest])
    if lim.max_vertices_feature and top > lim.max_vertices_feature:
        report.error(label, f"cette entité a {at_least}{fmt_int(top)} sommets : la limite est de "
                            f"{fmt_int(lim.max_vertices_feature)} par entité pour {lim.label}. {advice}",
                     line=biggest + 1, unit="entité")
        return True
    total = int(np.sum(per_feature))
    if lim.max_vertices and total > lim.max_vertices:
        report.error(label, f"la couche compte {at_least}{fmt_int(total)} sommets : la limite est de "
                            f"{fmt_int(lim.max_vertices)} pour {lim.label}. {advice}")
        return True
    return False


def check_vertices(gdf: gpd.GeoDataFrame, label: str, report: Report, kind: str | None = None) -> bool:
    """Refuse outlines with more points than the kind allows, before any repair or reprojection."""
    check_time(label)
    n = shapely.get_num_coordinates(gdf.geometry.to_numpy())
    return not _vertex_error(n, label, report, limit_of(kind))


def _gpkg_vertices(path: Path) -> np.ndarray | None:
    """Lower bounds of the points of each outline of a GeoPackage, from the size of its geometry
    blobs (SQLite computes them; no geometry is read): 16 bytes a point in 2D, 32 with Z and M."""
    import sqlite3

    try:
        con = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        return None
    try:
        layers = con.execute("SELECT g.table_name, g.column_name, g.z, g.m FROM gpkg_geometry_columns g "
                             "JOIN gpkg_contents c ON c.table_name = g.table_name "
                             "WHERE c.data_type = 'features'").fetchall()
        out = []
        for table, column, z, m in layers:
            width = 16 if not z and not m else 32
            q = lambda name: '"' + str(name).replace('"', '""') + '"'  # noqa: E731
            sizes, cursor = [], con.execute(f"SELECT length({q(column)}) FROM {q(table)}")
            while rows := cursor.fetchmany(10_000):
                sizes += [row[0] or 0 for row in rows]
                check_time()
            out.append(np.maximum(np.asarray(sizes, dtype=np.int64) - 100, 0) // width)
        return max(out, key=lambda a: int(a.sum())) if out else None
    except sqlite3.Error:
        return None
    finally:
        con.close()


def _shapefile_vertices(shp: Path) -> np.ndarray | None:
    """Lower bounds of the points of each record of a Shapefile, from its index (.shx): the size of
    each record, 16 bytes a point (32 with Z, 24 with M), no geometry is read."""
    shx = shp.with_suffix(".shx")
    try:
        with open(shp, "rb") as fh:
            fh.seek(32)
            shape_type = int.from_bytes(fh.read(4), "little")
        index = np.fromfile(shx, dtype=">i4", offset=100).reshape(-1, 2)
    except (OSError, ValueError):
        return None
    width = 32 if shape_type in (11, 13, 15, 18) else 24 if shape_type in (21, 23, 25, 28) else 16
    content = index[:, 1].astype(np.int64) * 2  # lengths are in 16-bit words
    return np.maximum(content - 44, 0) // width


def read_geo(src: Upload, report: Report, kind: str | None = None) -> gpd.GeoDataFrame | None:
    """A GeoJSON, GeoPackage, GeoParquet or zipped Shapefile, in its own declared CRS.

    A file that does not declare its coordinate system is refused: guessing would put the
    territory at the wrong place without anybody noticing. Size, archive, features and vertices
    are checked against the kind's limits before anything heavy is done.
    """
    lim = limit_of(kind)
    if not check_size(src, report, kind):
        return None
    if src.blank():
        report.error(src.name, "le fichier est vide.")
        return None
    suffix = src.suffix
    if suffix not in (".parquet", ".geoparquet", ".zip", ".geojson", ".json", ".gpkg"):
        hint = " Un Shapefile s'importe zippé, avec ses fichiers .shx, .dbf et .prj." if suffix == ".shp" else ""
        report.error(src.name, f"format « {suffix} » non pris en charge pour une couche géographique "
                               f"({GEO_FORMATS}).{hint}")
        return None
    try:
        with tempfile.TemporaryDirectory(prefix="diag-geo-") as tmp:
            if suffix == ".zip":
                gdf = _read_zipped_shapefile(src, report, Path(tmp), lim)
            elif suffix in (".parquet", ".geoparquet"):
                gdf = _read_geoparquet(src, report, lim)
            else:
                if suffix in (".geojson", ".json"):
                    what = binary_kind(src.head(4096))
                    if what:
                        report.error(src.name, f"le fichier n'est pas du GeoJSON (contenu binaire : {what}).")
                        return None
                path = src.path
                if path is None:
                    path = Path(tmp) / f"upload{suffix}"
                    with open(path, "wb") as out:
                        out.write(src.data)
                n = _count_features(path)
                if n is not None and n > lim.max_rows:
                    report.error(src.name, f"la couche compte {fmt_int(n)} entités : la limite est de "
                                           f"{fmt_int(lim.max_rows)} pour {lim.label}.")
                    return None
                if suffix == ".gpkg":
                    estimate = _gpkg_vertices(path)
                    if estimate is not None and _vertex_error(estimate, src.name, report, lim, estimated=True):
                        return None
                check_time(src.name)
                gdf = gpd.read_file(path)
    except TimeUp:
        raise  # reported by whoever started the deadline
    except Exception as exc:
        log_failure(src.name, exc)
        report.error(src.name, _geo_problem(exc))
        return None
    check_time(src.name)
    if gdf is None:
        return None
    if gdf.crs is None:
        report.error(src.name, "le fichier ne déclare pas de système de coordonnées (CRS). Indiquez-le "
                               "(par exemple EPSG:2154 pour le Lambert-93 ou EPSG:4326 pour le GPS) et réimportez.")
        return None
    if len(gdf) == 0:
        report.error(src.name, "le fichier ne contient aucune entité.")
        return None
    if len(gdf) > lim.max_rows:
        report.error(src.name, f"la couche compte {fmt_int(len(gdf))} entités : la limite est de "
                               f"{fmt_int(lim.max_rows)} pour {lim.label}.")
        return None
    if not check_vertices(gdf, src.name, report, kind):
        return None
    return gdf


def _read_geoparquet(src: Upload, report: Report, lim: Limit) -> gpd.GeoDataFrame | None:
    import pyarrow.parquet as pq

    with src.open() as fh:
        n = pq.ParquetFile(fh).metadata.num_rows
    if n > lim.max_rows:
        report.error(src.name, f"la couche compte {fmt_int(n)} entités : la limite est de {fmt_int(lim.max_rows)} "
                               f"pour {lim.label}.")
        return None
    check_time(src.name)
    with src.open() as fh:
        return gpd.read_parquet(fh)


def _extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """Copy one member to ``target``, never more bytes than its directory declares."""
    left = info.file_size
    with zf.open(info) as src, open(target, "wb") as out:
        while left > 0 and (block := src.read(min(BLOCK, left))):
            out.write(block)
            left -= len(block)
            check_time()


def _read_zipped_shapefile(src: Upload, report: Report, tmp: Path, lim: Limit) -> gpd.GeoDataFrame | None:
    """The first layer of a zipped Shapefile; the archive is checked from its directory first and
    only the layer's own files are extracted, under plain names, into ``tmp``."""
    with src.open() as fh:
        try:
            zf = zipfile.ZipFile(fh)
        except zipfile.BadZipFile:
            report.error(src.name, "le fichier n'est pas une archive ZIP valide.")
            return None
        with zf:
            if not check_archive(zf, src.name, report):
                return None
            infos = [i for i in zf.infolist() if not i.is_dir()]
            shp = [i for i in infos if i.filename.lower().endswith(".shp")]
            if not shp:
                report.error(src.name, "l'archive ZIP ne contient aucun fichier .shp.")
                return None
            stem = shp[0].filename[:-4]
            parts = {i.filename[len(stem):].lower(): i for i in infos
                     if i.filename.startswith(stem) and i.filename[len(stem):].lower() in SHAPE_PARTS}
            if ".prj" not in parts:
                report.error(src.name, "le Shapefile n'a pas de fichier .prj : son système de "
                                       "coordonnées est inconnu. Ajoutez le .prj (ou indiquez le "
                                       "système, par exemple EPSG:2154) et réimportez.")
                return None
            missing = [p for p in (".shx", ".dbf") if p not in parts]
            if missing:
                report.error(src.name, f"le Shapefile est incomplet : il manque {' et '.join(missing)} dans "
                                       "l'archive.")
                return None
            for ext, info in parts.items():
                _extract_member(zf, info, tmp / f"couche{ext}")
    check_time(src.name)
    n = _count_features(tmp / "couche.shp")
    if n is not None and n > lim.max_rows:
        report.error(src.name, f"la couche compte {fmt_int(n)} entités : la limite est de {fmt_int(lim.max_rows)} "
                               f"pour {lim.label}.")
        return None
    estimate = _shapefile_vertices(tmp / "couche.shp")
    if estimate is not None and _vertex_error(estimate, src.name, report, lim, estimated=True):
        return None
    check_time(src.name)
    return gpd.read_file(tmp / "couche.shp")


def to_work_crs(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reproject to Lambert-93; reprojection may bend a valid ring into an invalid one, so
    such artefacts (ours, not the user's) are repaired silently."""
    out = gdf.to_crs(WORK_CRS)
    check_time()
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
        head = src.head(2000).decode("utf-8", "ignore")
        return '"FeatureCollection"' in head or '"Feature"' in head
    return False
