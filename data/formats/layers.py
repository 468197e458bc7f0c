"""Geographic layers: GeoJSON, GeoPackage, GeoParquet and zipped Shapefile.

A layer is read in the coordinate system it declares, then reprojected to Lambert-93
(:data:`WORK_CRS`, :func:`to_work_crs`, :func:`reproject`). A file that does not declare its coordinate system is
refused: guessing would put the territory at the wrong place without anybody noticing; and a file whose
coordinates do not fit the system it declares, or implies (a GeoJSON without ``crs`` member is WGS84 by
its standard), is refused with the system assumed and where its first point lies (:func:`check_crs_fit`). A
file of several layers (a GeoPackage) is read from the layer asked for, never from the first one by
default (:func:`layer_names`). Size,
archive, features and vertices are checked against the kind's limits before anything heavy is done
(the vertices of a GeoPackage or a Shapefile are estimated from the file's bytes, before any
geometry is read); a zipped Shapefile's own files only are extracted, under plain names. Every
failure is reported in French in a :class:`~data.report.Report`, never raised.

Imports ``data.formats.limits``, ``.upload``, ``.archives`` and ``data.report``.
"""

from __future__ import annotations

import contextlib
import tempfile
import warnings
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

    with contextlib.suppress(Exception), warnings.catch_warnings():
        warnings.simplefilter("ignore")
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


def _gpkg_vertices(path: Path, layer: str | None = None) -> np.ndarray | None:
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
        if layer is not None:
            layers = [row for row in layers if row[0] == layer]
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


def layer_names(path) -> list[str]:
    """The layers of a geographic file (a GeoPackage may hold several)."""
    import pyogrio

    with contextlib.suppress(Exception), warnings.catch_warnings():  # GDAL's English remarks: not for people
        warnings.simplefilter("ignore")
        return [str(row[0]) for row in pyogrio.list_layers(path)]
    return []


def _choose_layer(path, name: str, report: Report, layer: str | None, layers: list | None) -> tuple[bool, str | None]:
    """(go on, the layer to read). A file of several layers is read only from the one asked for: without
    one, an error lists them (and ``layers`` receives their names, for the page to ask which); with one,
    a warning says that only it is imported."""
    names = layer_names(path)
    quoted = ", ".join(f"« {n} »" for n in names)
    if layer is not None and names and layer not in names:
        report.error(name, f"la couche « {layer} » n'existe pas dans ce fichier ; ses couches : {quoted}.")
        if layers is not None:
            layers[:] = names
        return False, None
    if len(names) > 1 and layers is not None:
        layers[:] = names  # the page keeps asking which, with the choice made
    if len(names) > 1:
        if layer is None:
            report.error(name, f"le fichier contient {len(names)} couches ({quoted}) : indiquez celle à importer.")
            return False, None
        others = ", ".join(f"« {n} »" for n in names if n != layer)
        verb = "ne l'est pas" if len(names) == 2 else "ne le sont pas"
        report.warning(name, f"le fichier contient {len(names)} couches : seule la couche « {layer} » est lue "
                             f"({others} {verb}).")
    return True, layer


def read_geo(src: Upload, report: Report, kind: str | None = None, layer: str | None = None,
             layers: list | None = None) -> gpd.GeoDataFrame | None:
    """A GeoJSON, GeoPackage, GeoParquet or zipped Shapefile, in its own declared CRS.

    A file that does not declare its coordinate system is refused: guessing would put the
    territory at the wrong place without anybody noticing; one whose coordinates do not fit its
    declared (or implied) system too (:func:`check_crs_fit`). Size, archive, features and vertices
    are checked against the kind's limits before anything heavy is done. ``layer``: the layer to read
    in a file of several (a GeoPackage); without it such a file is refused and ``layers`` receives the
    names of its layers.
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
                go, layer = _choose_layer(path, src.name, report, layer, layers)
                if not go:
                    return None
                n = _count_features(path) if layer is None else _count_layer_features(path, layer)
                if n is not None and n > lim.max_rows:
                    report.error(src.name, f"la couche compte {fmt_int(n)} entités : la limite est de "
                                           f"{fmt_int(lim.max_rows)} pour {lim.label}.")
                    return None
                if suffix == ".gpkg":
                    estimate = _gpkg_vertices(path, layer)
                    if estimate is not None and _vertex_error(estimate, src.name, report, lim, estimated=True):
                        return None
                check_time(src.name)
                with warnings.catch_warnings():  # GDAL's English remarks are not for the person importing
                    warnings.simplefilter("ignore")
                    gdf = gpd.read_file(path, layer=layer) if layer is not None else gpd.read_file(path)
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
    if not check_crs_fit(gdf, src, report):
        return None
    return gdf


def _count_layer_features(path, layer: str) -> int | None:
    import pyogrio

    with contextlib.suppress(Exception), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        n = pyogrio.read_info(path, layer=layer).get("features")
        return None if n is None or n < 0 else int(n)
    return None


# ---------------------------------------------------------------------------------------------
# Coordinates against their coordinate system

LAMBERT93_BOUNDS = (-400_000.0, 5_900_000.0, 1_500_000.0, 7_300_000.0)  # metropolitan France, generously


def _number(v: float) -> str:
    """A coordinate written the French way: ``652 000`` for metres, ``2,3522`` for degrees."""
    if not np.isfinite(v):
        return "infini" if v > 0 else "−infini" if v < 0 else "non défini"
    if abs(v) >= 1000:
        return f"{v:,.0f}".replace(",", "\u202f").replace("-", "−")
    return f"{v:.4f}".replace(".", ",").replace("-", "−")


def _crs_label(crs) -> str:
    code = None
    with contextlib.suppress(Exception):
        code = crs.to_epsg()
    name = getattr(crs, "name", "") or "sans nom"
    return f"{name} (EPSG:{code})" if code else f"« {name} »"


def _off_earth(x: np.ndarray, y: np.ndarray, crs) -> np.ndarray:
    """Points that are no place on Earth in ``crs``: beyond the longitudes and latitudes of a geographic
    system; for a projected one, points whose projection cannot be undone, or does not come back to
    them (a projection is one-to-one where it means something: Lambert-93 holds the DROM far away, but
    holds them). Nothing is refused when the system cannot be worked with (``reproject`` then decides)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if crs.is_geographic:
        return bad | (np.abs(x) > 180) | (np.abs(y) > 90)
    from pyproj import Transformer

    try:
        geodetic = crs.geodetic_crs
        lon, lat = Transformer.from_crs(crs, geodetic, always_xy=True).transform(x, y, errcheck=False)
        bx, by = Transformer.from_crs(geodetic, crs, always_xy=True).transform(lon, lat, errcheck=False)
    except Exception:
        return bad
    lon, lat, bx, by = (np.asarray(v, dtype=float) for v in (lon, lat, bx, by))
    with np.errstate(invalid="ignore"):
        tolerance = np.maximum(1.0, 1e-7 * np.hypot(x, y))
        back = np.hypot(bx - x, by - y) <= tolerance
        on_earth = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90) & back
    return bad | ~on_earth


def _implied_crs(src: Upload) -> bool:
    """A GeoJSON that does not write its coordinate system (``crs`` member): WGS84 by its standard."""
    if src.suffix not in (".geojson", ".json"):
        return False
    return '"crs"' not in src.head(1 << 16).decode("utf-8", "ignore")


def _looks_like(x: float, y: float) -> str:
    w, s, e, n = LAMBERT93_BOUNDS
    if w <= x <= e and s <= y <= n:
        return " Ces coordonnées ressemblent à du Lambert-93 (EPSG:2154)."
    if -180 <= x <= 180 and -90 <= y <= 90:
        return " Ces coordonnées ressemblent à des longitudes et latitudes WGS84 (EPSG:4326)."
    return ""


def _first_points(gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The first coordinate of each geometry (``nan`` for an empty one), as x and y."""
    geoms = gdf.geometry.to_numpy()
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    x = np.full(len(geoms), np.nan)
    y = np.full(len(geoms), np.nan)
    if len(index):
        first = np.unique(index, return_index=True)[1]
        x[index[first]], y[index[first]] = coords[first, 0], coords[first, 1]
    return x, y


def check_crs_fit(gdf: gpd.GeoDataFrame, src: Upload, report: Report) -> bool:
    """Refuse a layer whose first points are no place on Earth in its coordinate system (:func:`_off_earth`):
    a Lambert-93 file read as WGS84 (a GeoJSON without its ``crs`` member) puts the territory nowhere.
    The message says which system was assumed, declared or implied, and where the first point out of it
    lies, with the system these coordinates look like."""
    check_time(src.name)
    x, y = _first_points(gdf)
    present = ~np.isnan(x)
    bad = np.zeros(len(x), dtype=bool)
    if present.any():
        bad[present] = _off_earth(x[present], y[present], gdf.crs)
    if not bad.any():
        return True
    i = int(np.flatnonzero(bad)[0])
    where = f"({_number(x[i])} ; {_number(y[i])})"
    if _implied_crs(src):
        assumed = ("le fichier ne déclare pas de système de coordonnées (membre « crs ») : il est donc lu, comme le "
                   "veut la norme GeoJSON, en longitudes et latitudes WGS84 (EPSG:4326)")
        advice = ("Si le fichier est en Lambert-93, déclarez-le (membre « crs » : EPSG:2154) ou enregistrez la couche "
                  "en WGS84 avec un SIG (QGIS…), puis réimportez.")
    else:
        assumed = f"le fichier déclare le système de coordonnées {_crs_label(gdf.crs)}"
        advice = "Vérifiez le système de coordonnées de la couche dans un SIG (QGIS…) et réimportez."
    extent = (", hors des longitudes (−180 à 180) et des latitudes (−90 à 90)" if gdf.crs.is_geographic
              else ", qui ne correspond à aucun lieu dans ce système")
    report.error(src.name, f"les coordonnées ne correspondent pas au système de coordonnées : {assumed} ; or le "
                           f"premier point de l'entité {i + 1} est en {where}{extent}.{_looks_like(x[i], y[i])} "
                           f"{advice}", line=i + 1, unit="entité")
    return False


def reproject(gdf: gpd.GeoDataFrame, file: str, report: Report) -> gpd.GeoDataFrame | None:
    """:func:`to_work_crs`, refusing (``None``, an error in ``report``) a layer whose points cannot be
    placed in Lambert-93 from its coordinate system (an unknown or wrong system gives infinite or empty
    points, never an empty geometry kept silently)."""
    before = ~(gdf.geometry.isna() | gdf.geometry.is_empty).to_numpy()
    try:
        out = to_work_crs(gdf)
    except TimeUp:
        raise
    except Exception as exc:
        log_failure(file, exc)
        report.error(file, f"les coordonnées n'ont pas pu être converties en Lambert-93 depuis le système de "
                           f"coordonnées du fichier ({_crs_label(gdf.crs)}) : vérifiez ce système dans un SIG "
                           "(QGIS…) et réimportez.")
        return None
    geoms = out.geometry.to_numpy()
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    lost = before & (shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if len(index):
        lost[np.unique(index[~np.isfinite(coords).all(axis=1)])] |= True
    lost &= before
    if not lost.any():
        return out
    i = int(np.flatnonzero(lost)[0])
    x, y = _first_points(gdf)
    report.error(file, f"les coordonnées ne correspondent pas au système de coordonnées déclaré par le fichier "
                       f"({_crs_label(gdf.crs)}) : le premier point de l'entité {i + 1}, en ({_number(x[i])} ; "
                       f"{_number(y[i])}), ne peut pas être situé en Lambert-93.{_looks_like(x[i], y[i])} Vérifiez "
                       "le système de coordonnées de la couche dans un SIG (QGIS…) et réimportez.",
                 line=i + 1, unit="entité")
    return None


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
