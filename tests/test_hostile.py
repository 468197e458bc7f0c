"""Hostile or huge files, text that must stay text, and a server that asks nothing of the outside.

The corpus is made here: a zip bomb, archive members that escape their folder, an oversized CSV,
a CSV of too many rows, huge XLSX sheets, a polygon of millions of vertices, UTF-16 and binary
files named .csv, formulas, names that are formulas or markup. What a user checks: the file is
refused (or read, or neutralised) with a French message that names it and the limit, quickly,
without the server's memory or disk growing with the file, and the workspace unchanged.

The heavy cases run in a child process that reports its own time and the growth of its peak memory
during the validation (``VmHWM``, reset once the libraries are imported). Time is bounded too: an
import past its kind's time limit is stopped at its next check and refused, and while one person's
import is refused, another person's page is drawn by the same server.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
import warnings
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from components.tables import table_xlsx
from data.formats import decp, layers, limits
from data.formats.decp import DECP_JSON_MAX_BYTES
from data.formats.limits import LIMITS, limits_text
from data.formats.upload import Upload
from data.formats.writers import xlsx_bytes
from data.report import Report
from data.store import imports, workspaces
from data.validation import validate
from tests.conftest import ROOT
from tests.streamlit_server import serve
from tools.local_server import free_port
from views.columns import table_csv

MARKETS = ROOT / "tests" / "fixtures" / "marches_exemple.csv"
MARKET_HEADER = ("id_marche;objet;acheteur;type_acheteur;montant_ht;date;statut;lieu_type;lieu_code;"
                 "considerations_sociales\n")
INDICATOR_COLUMNS = ["annee", "territoire", "tableau", "dimension", "modalite", "mesure", "valeur"]
ENGLISH = re.compile(r"\b(Error|error|failed|Expected|tokenizing|No such|not recognized|Traceback|Exception|"
                     r"object too complex|Unsupported|invalid literal|codec)\b")

# ---------------------------------------------------------------------------------------------
# Running a validation (and an import when accepted) in a child process, measured

CHILD = r'''
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
from data.store import imports, workspaces
from data.validation import validate


def peak_mb(reset=False):
    # the peak resident memory of this process (VmHWM: ru_maxrss would count the parent's memory
    # copied at fork); reset to the current size first when asked (Linux >= 4.0)
    try:
        if reset:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
        with open("/proc/self/status") as fh:
            return next(int(l.split()[1]) for l in fh if l.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


kind, path, slug = sys.argv[2], sys.argv[3], sys.argv[4]
ds = workspaces.load(slug)
# the readers' libraries loaded before the measure: their code is no part of what a file costs (GDAL
# alone is 40 to 60 MB of mapped pages, depending on the page cache: a fresh install counts more)
import openpyxl, pyogrio
pyogrio.list_drivers()
base = peak_mb(reset=True)
start = time.perf_counter()
loaded = validate(kind, [path])
seconds = time.perf_counter() - start
peak = peak_mb()
version = None
if loaded.ok:
    new, record = imports.apply(ds, loaded, [path.rsplit("/", 1)[-1]])
    version = workspaces.import_tables(slug, new, kind, record)
print(json.dumps({"ok": loaded.ok, "errors": [i.message for i in loaded.report.errors],
                  "where": [i.where for i in loaded.report.errors], "seconds": seconds,
                  "base_mb": base, "extra_mb": peak - base, "version": version}))
'''


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store with one workspace holding one import, for the whole module."""
    path = tmp_path_factory.mktemp("store")
    old = os.environ.get("DIAG_DONNEES")
    os.environ["DIAG_DONNEES"] = str(path)
    slug = workspaces.create("Fichiers hostiles")
    ds = workspaces.load(slug)
    loaded = validate("marches", [MARKETS])
    new, record = imports.apply(ds, loaded, [MARKETS.name])
    workspaces.import_tables(slug, new, "marches", record)
    yield path, slug
    if old is None:
        os.environ.pop("DIAG_DONNEES", None)
    else:
        os.environ["DIAG_DONNEES"] = old


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def refused_in_child(store, kind: str, path: Path, tmp_path: Path) -> dict:
    """Validate (and import if accepted) ``path`` in a child process; the store must not change."""
    folder, slug = store
    script = tmp_path / "valider.py"
    script.write_text(CHILD, encoding="utf-8")
    before = snapshot(folder)
    out = subprocess.run([sys.executable, str(script), str(ROOT), kind, str(path), slug], capture_output=True,
                         text=True, timeout=120, env={**os.environ, "DIAG_DONNEES": str(folder),
                                                      "TMPDIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert not result["ok"] and result["version"] is None, result
    assert snapshot(folder) == before, "un fichier refusé a modifié le stockage"
    for message in result["errors"]:
        assert_french(message)
    assert any(path.name in w for w in result["where"]), result["where"]
    print(f"{path.name}: {result['seconds']:.2f} s, +{result['extra_mb']:.0f} Mo "
          f"(processus {result['base_mb']:.0f} Mo), {path.stat().st_size / 1e6:.1f} Mo sur disque")
    return result


def assert_french(message: str) -> None:
    assert not ENGLISH.search(message), f"message en anglais : {message}"
    assert re.search(r"\b(le|la|les|du|de|des|est|fichier|ligne|limite)\b", message), message


def errors_of(loaded) -> str:
    assert not loaded.ok
    text = " ".join(i.message for i in loaded.report.errors)
    for i in loaded.report.errors:
        assert_french(i.message)
    return text


# ---------------------------------------------------------------------------------------------
# Limits stated in French


def test_limits_are_stated_in_french_for_every_kind():
    for kind, lim in LIMITS.items():
        text = limits_text(kind)
        assert text.startswith("Limites pour") and limits.fmt_size(lim.max_bytes) in text
        assert limits.fmt_int(lim.max_rows) in text
        assert lim.max_seconds > 0 and f"lu et vérifié en {limits.fmt_seconds(lim.max_seconds)} au plus" in text
    assert "sommets" in limits_text("communes") and "sommets" not in limits_text("marches")
    assert "DECP" in limits_text("marches") and "2\u202f000\u202f000 lignes" in limits_text("marches")
    assert "en 2\u00a0min au plus" in limits_text("marches") and "en 1\u00a0min au plus" in limits_text("facilitateurs")
    assert f"en {limits.fmt_seconds(decp.DECP_MAX_SECONDS)} au plus." in limits_text("marches")
    assert [limits.fmt_seconds(x) for x in (120, 60, 30, 0.5, 90)] == \
        ["2\u00a0min", "1\u00a0min", "30\u00a0s", "0,5\u00a0s", "90\u00a0s"]


# ---------------------------------------------------------------------------------------------
# Archives: checked before anything is extracted


def shapefile_zip(path: Path, members: dict[str, bytes], symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, "/etc/passwd")
    return path


@pytest.fixture()
def no_extraction(monkeypatch):
    """Fails the test if any member of an archive is extracted."""
    calls = []
    monkeypatch.setattr(layers, "_extract_member", lambda *a, **k: calls.append(a))
    return calls


@pytest.mark.parametrize("evil", ["../../evil.shp", "/tmp/evil.shp", "dossier/../../evil.dbf", "C:/evil.prj"])
def test_archive_member_escaping_its_folder_is_refused_before_extraction(tmp_path, evil, no_extraction):
    path = shapefile_zip(tmp_path / "qpv.zip", {"qpv.shp": b"x", "qpv.shx": b"x", "qpv.dbf": b"x",
                                                 "qpv.prj": b"x", evil: b"x"})
    text = errors_of(validate("qpv", [path]))
    assert "chemin dangereux" in text and "sans rien extraire" in text
    assert no_extraction == []
    assert not (tmp_path.parent / "evil.shp").exists() and not Path("/tmp/evil.shp").exists()


def test_archive_with_a_symbolic_link_is_refused(tmp_path, no_extraction):
    path = shapefile_zip(tmp_path / "qpv.zip", {"qpv.shp": b"x", "qpv.prj": b"x"}, symlink="qpv.dbf")
    assert "lien symbolique" in errors_of(validate("qpv", [path]))
    assert no_extraction == []


def zip_of_zeros(path: Path, member: str, mib: int, extra: dict[str, bytes] | None = None) -> Path:
    block = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in (extra or {}).items():
            z.writestr(name, data)
        with z.open(member, "w", force_zip64=True) as f:
            for _ in range(mib):
                f.write(block)
    return path


def test_zip_bomb_is_refused_from_its_directory(store, tmp_path):
    """1.1 GB of zeros in a 1 MB archive: refused without writing or inflating anything."""
    path = zip_of_zeros(tmp_path / "communes.zip", "communes.shp", 1100, {"communes.prj": b"x"})
    assert path.stat().st_size < 3 * 2**20
    result = refused_in_child(store, "communes", path, tmp_path)
    assert "une fois décompressée" in result["errors"][0] and "1\u00a0Go" in result["errors"][0]
    assert result["seconds"] < 1 and result["extra_mb"] < 20


def test_member_with_an_abnormal_compression_ratio_is_refused(tmp_path, no_extraction):
    path = zip_of_zeros(tmp_path / "qpv.zip", "qpv.dbf", 300, {"qpv.shp": b"x", "qpv.shx": b"x", "qpv.prj": b"x"})
    assert "compressé de façon anormale" in errors_of(validate("qpv", [path]))
    assert no_extraction == []


def test_too_many_members_are_refused(tmp_path, no_extraction):
    path = shapefile_zip(tmp_path / "qpv.zip", {f"f{i}.txt": b"" for i in range(limits.ARCHIVE_MAX_MEMBERS + 1)})
    assert "fichiers : la limite est de" in errors_of(validate("qpv", [path]))


# ---------------------------------------------------------------------------------------------
# Tables: size, rows, encoding, binary content


def test_oversized_csv_is_refused_before_it_is_read(store, tmp_path):
    path = tmp_path / "marches.csv"
    with open(path, "wb") as fh:  # sparse: 300 MB that cost nothing to make
        fh.write(MARKET_HEADER.encode())
        fh.truncate(300 * 2**20)
    result = refused_in_child(store, "marches", path, tmp_path)
    assert "trop volumineux (300\u00a0Mo)" in result["errors"][0] and "200\u00a0Mo" in result["errors"][0]
    assert result["seconds"] < 1 and result["extra_mb"] < 10


def test_csv_of_too_many_rows_is_refused_in_bounded_memory(store, tmp_path):
    cap = LIMITS["marches"].max_rows
    path = tmp_path / "marches.csv"
    line = "M{};;;;;;;commune;31555;Clause sociale\n"
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(MARKET_HEADER)
        for start in range(0, cap + 1, 200_000):
            fh.write("".join(line.format(i) for i in range(start, min(cap + 1, start + 200_000))))
    size_mb = path.stat().st_size / 2**20
    result = refused_in_child(store, "marches", path, tmp_path)
    assert f"{limits.fmt_int(cap + 1)} lignes" in result["errors"][0]
    assert f"limite est de {limits.fmt_int(cap)} lignes" in result["errors"][0]
    assert result["seconds"] < 15 and result["extra_mb"] < max(80, size_mb)


MARKET_ROW = "M1;Réfection de la digue à Sète;Ville de Sète;Commune;1000;2024-01-01;en cours;commune;34301;Clause sociale\n"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "cp1252"])
def test_text_encodings_are_read_correctly(encoding):
    loaded = validate("marches", [Upload("marches.csv", (MARKET_HEADER + MARKET_ROW).encode(encoding))])
    assert loaded.ok, loaded.report.text()
    assert loaded.tables["marches"]["objet"].tolist() == ["Réfection de la digue à Sète"]


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.txt", "x")
    return buf.getvalue()


@pytest.mark.parametrize("name,data,expected", [
    ("marches.csv", PNG, "contenu binaire : une image PNG"),
    ("marches.csv", _zip_bytes(), "contenu binaire : une archive ZIP"),
    ("marches.csv", b"%PDF-1.7\n" + bytes(range(256)) * 4, "contenu binaire : un document PDF"),
    ("marches.csv", bytes(range(256)) * 16, "contenu binaire : des données binaires"),
    ("indicateurs.xlsx", PNG, "pas un classeur XLSX valide (c'est une image PNG)"),
    ("qpv.geojson", PNG, "pas du GeoJSON (contenu binaire : une image PNG)"),
])
def test_binary_content_renamed_is_named_in_french(name, data, expected):
    kind = name.split(".")[0].replace("decp", "marches")
    text = errors_of(validate(kind, [Upload(name, data)]))
    assert expected in text
    assert "n'est pas un tableau texte" in text or "XLSX" in text or "GeoJSON" in text


@pytest.mark.parametrize("name,data,expected", [
    ("marches.csv", (MARKET_HEADER + MARKET_ROW + "M2;a;b;Commune;1;2024-01-01;en cours;commune;34301;x;y;z\n").encode(),
     "compte 12 champs alors que l'en-tête en annonce 10"),
    ("marches.csv", (MARKET_HEADER + 'M1;"objet jamais fermé;b\n').encode(), "jamais refermé"),
    ("qpv.geojson", b'{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Poly',
     "fichier géographique illisible"),
    ("qpv.gpkg", b"SQLite format 3\x00" + bytes(2000), "illisible"),
    ("decp.json", b'{"marches": {"marche": [{"id": "A1", ', "le JSON est mal formé (ligne 1, colonne"),
])
def test_library_failures_reach_the_user_in_french(name, data, expected):
    kind = name.split(".")[0].replace("decp", "marches")
    loaded = validate(kind, [Upload(name, data)])
    assert expected in errors_of(loaded)
    if "champs" in expected:
        assert loaded.report.errors[0].line == 3  # the line a spreadsheet shows


def test_decp_json_too_large_for_memory_is_refused(tmp_path):
    path = tmp_path / "decp.json"
    with open(path, "wb") as fh:
        fh.write(b'{"marches": {"marche": [')
        fh.truncate(DECP_JSON_MAX_BYTES + 1)
    text = errors_of(validate("marches", [path]))
    assert "trop volumineux" in text and "Parquet ou CSV" in text


# ---------------------------------------------------------------------------------------------
# XLSX: metadata first, streamed, formulas never evaluated


def xlsx_with_sheet(chunks) -> bytes:
    """A workbook whose first sheet's XML is ``chunks`` (written as a stream)."""
    wb = openpyxl.Workbook()
    wb.active["A1"] = "x"
    base = io.BytesIO()
    wb.save(base)
    src = zipfile.ZipFile(io.BytesIO(base.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                with z.open(info.filename, "w", force_zip64=True) as f:
                    for chunk in chunks:
                        f.write(chunk)
            else:
                z.writestr(info, src.read(info))
    return out.getvalue()


SHEET = b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def text_row(r: int, values) -> bytes:
    cells = "".join(f'<c r="{chr(65 + j)}{r}" t="inlineStr"><is><t>{v}</t></is></c>' for j, v in enumerate(values))
    return f'<row r="{r}">{cells}</row>'.encode()


def indicator_row(r: int, last_cell: str) -> bytes:
    return text_row(r, ["2023", "76", "T01", "type d'acheteur", "Commune", "heures"])[:-6] + last_cell.encode() + b"</row>"


def test_xlsx_declaring_a_million_rows_is_refused_from_its_metadata(store, tmp_path):
    path = tmp_path / "indicateurs.xlsx"
    path.write_bytes(xlsx_with_sheet([SHEET, b'<dimension ref="A1:G1048576"/><sheetData>',
                                      text_row(1, INDICATOR_COLUMNS), b"</sheetData></worksheet>"]))
    result = refused_in_child(store, "indicateurs", path, tmp_path)
    assert "déclare 1\u202f048\u202f576 lignes" in result["errors"][0] and "CSV" in result["errors"][0]
    assert result["seconds"] < 1 and result["extra_mb"] < 20


def test_xlsx_of_too_many_rows_is_refused_while_streamed(store, tmp_path):
    cap = LIMITS["indicateurs"].max_xlsx_rows

    def rows():
        yield SHEET + b"<sheetData>" + text_row(1, INDICATOR_COLUMNS)
        for r in range(2, cap + 3):  # no dimension: counted while read
            yield f'<row r="{r}"><c r="A{r}"><v>2023</v></c><c r="G{r}"><v>{r}</v></c></row>'.encode()
        yield b"</sheetData></worksheet>"

    path = tmp_path / "indicateurs.xlsx"
    path.write_bytes(xlsx_with_sheet(rows()))
    result = refused_in_child(store, "indicateurs", path, tmp_path)
    assert f"plus de {limits.fmt_int(cap)} lignes" in result["errors"][0]
    assert result["seconds"] < 25 and result["extra_mb"] < 150


def test_xlsx_bomb_is_refused_before_it_is_inflated(store, tmp_path):
    def sheet():
        yield SHEET + b"<sheetData>"
        blank = b" " * (1 << 20)
        for _ in range(300):
            yield blank
        yield b"</sheetData></worksheet>"

    path = tmp_path / "indicateurs.xlsx"
    path.write_bytes(xlsx_with_sheet(sheet()))
    result = refused_in_child(store, "indicateurs", path, tmp_path)
    assert "compressé de façon anormale" in result["errors"][0]
    assert result["seconds"] < 1 and result["extra_mb"] < 20


def test_formula_without_saved_value_is_refused_with_its_cell():
    data = xlsx_with_sheet([SHEET, b"<sheetData>", text_row(1, INDICATOR_COLUMNS),
                            indicator_row(2, '<c r="G2"><f>SUM(A1:A9)</f></c>'), b"</sheetData></worksheet>"])
    loaded = validate("indicateurs", [Upload("indicateurs.xlsx", data)])
    text = errors_of(loaded)
    assert "la cellule G2 contient une formule sans valeur enregistrée" in text and "ne calcule jamais" in text
    issue = loaded.report.errors[0]
    assert issue.file == "indicateurs.xlsx" and issue.line == 2 and issue.column == "G"


def test_formulas_are_read_as_their_saved_values_never_evaluated():
    # the saved value says 5 where 1+1 would give 2: the file's value is what is read
    data = xlsx_with_sheet([SHEET, b"<sheetData>", text_row(1, INDICATOR_COLUMNS),
                            indicator_row(2, '<c r="G2"><f>1+1</f><v>5</v></c>'), b"</sheetData></worksheet>"])
    loaded = validate("indicateurs", [Upload("indicateurs.xlsx", data)])
    assert loaded.ok, loaded.report.text()
    assert loaded.tables["indicateurs"]["valeur"].tolist() == [5.0]


def test_workbook_written_by_a_program_with_formulas_is_refused():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "structures"
    ws.append(["id_structure", "nom"])
    ws.append(["S1", '=HYPERLINK("http://x","y")'])  # openpyxl saves formulas without values
    buf = io.BytesIO()
    wb.save(buf)
    assert "la cellule B2 contient une formule" in errors_of(validate("indicateurs", [Upload("f.xlsx", buf.getvalue())]))


# ---------------------------------------------------------------------------------------------
# Geometries


def polygon_gpkg(path: Path, vertices: int) -> Path:
    import geopandas as gpd
    import shapely

    a = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    r = 1000 + 10 * np.sin(a * 50)
    ring = np.c_[650000 + r * np.cos(a), 6860000 + r * np.sin(a)]
    gpd.GeoDataFrame({"code_qp": ["QN07501I"], "nom_qp": ["Quartier"], "code_commune": ["75056"]},
                     geometry=[shapely.Polygon(ring)], crs="EPSG:2154").to_file(path, driver="GPKG")
    return path


def test_polygon_of_millions_of_vertices_is_refused_before_any_processing(store, tmp_path):
    path = polygon_gpkg(tmp_path / "qpv.gpkg", 4_000_000)
    size_mb = path.stat().st_size / 2**20
    result = refused_in_child(store, "qpv", path, tmp_path)
    found = re.search(r"cette entité a (au moins )?([\d\u202f]+) sommets : la limite est de 100\u202f000 par entité pour les QPV",
                      result["errors"][0])  # the QPV's own limit, stated
    assert found and int(found.group(2).replace("\u202f", "")) > 3_900_000 and "Simplifiez" in result["errors"][0], \
        result["errors"]
    # the memory taken does not follow the file (61 MB, whose points alone would take as much once read)
    assert size_mb > 60 and result["seconds"] < 5 and result["extra_mb"] < 30


def test_layer_of_too_many_vertices_in_all_is_refused(monkeypatch, tmp_path):
    import geopandas as gpd
    import shapely

    boxes = [shapely.box(650000 + i * 10, 6860000, 650000 + i * 10 + 5, 6860005).segmentize(0.01)
             for i in range(5)]  # 5 outlines of 2,000 points each
    path = tmp_path / "qpv.gpkg"
    gpd.GeoDataFrame({"code_qp": [f"QN0750{i}I" for i in range(5)], "nom_qp": "q", "code_commune": "75056"},
                     geometry=boxes, crs="EPSG:2154").to_file(path, driver="GPKG")
    monkeypatch.setitem(LIMITS, "qpv", limits.Limit("les QPV", 2**20, 100, 100, 5_000, 4_000))
    report = Report()
    assert layers.read_geo(Upload.of(path), report, kind="qpv") is None
    assert re.search(r"la couche compte (au moins )?(9\u202f990|10\u202f005) sommets : la limite est de 5\u202f000 "
                     r"pour les QPV", report.text()), report.text()


# ---------------------------------------------------------------------------------------------
# Time: one deadline per import, checked in every reading loop


def market_csv(path: Path, rows: int, last_line: str | None = None) -> Path:
    """A market table of ``rows`` short rows (40 bytes each), ``last_line`` instead of the last one."""
    line = "M{};;;;;;;commune;31555;Clause sociale\n"
    regular = rows if last_line is None else rows - 1
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(MARKET_HEADER)
        for start in range(0, regular, 200_000):
            fh.write("".join(line.format(i) for i in range(start, min(regular, start + 200_000))))
        fh.write(last_line or "")
    return path


def test_import_past_its_time_limit_is_refused_naming_the_file(store, tmp_path, monkeypatch):
    """A million markets (within every other limit; about 15 s to validate) and half a second allowed:
    stopped at the next chunk, refused with the file and the limit named, nothing written."""
    folder, slug = store
    path = market_csv(tmp_path / "marches.csv", 1_000_000)
    monkeypatch.setitem(LIMITS, "marches", dataclasses.replace(LIMITS["marches"], max_seconds=0.5))
    before, history = snapshot(folder), workspaces.history(slug)
    start = time.perf_counter()
    loaded = validate("marches", [path])
    seconds = time.perf_counter() - start
    if loaded.ok:  # what the Données page and the command line do with an accepted file
        new, record = imports.apply(workspaces.load(slug), loaded, [path.name])
        workspaces.import_tables(slug, new, "marches", record)
    errors_of(loaded)
    assert not loaded.tables and len(loaded.report.errors) == 1
    issue = loaded.report.errors[0]
    assert issue.file == "marches.csv", issue
    assert issue.message.startswith("lecture arrêtée après 0,5\u00a0s, la limite pour les marchés ; "), \
        issue.message
    assert "CSV" in issue.message and "découpez" in issue.message
    assert f"{issue.file} : {issue.message}" in loaded.report.text()
    assert seconds < 3, seconds  # the next check comes within one chunk of 100,000 rows
    assert snapshot(folder) == before and workspaces.history(slug) == history
    # the same file, with the kind's own limit, is not stopped (the deadline belonged to that import)
    monkeypatch.setitem(LIMITS, "marches", dataclasses.replace(LIMITS["marches"], max_seconds=120))
    assert validate("marches", [Upload("marches.csv", (MARKET_HEADER + MARKET_ROW).encode())]).ok


def deadline_passes_in(monkeypatch, function: str) -> None:
    """The deadlines' clock says the time is up only when asked from within ``function``: the
    import is stopped exactly there, whatever the speed of the machine."""

    def clock() -> float:
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_name == function:
                return 1e9
            frame = frame.f_back
        return 0.0

    monkeypatch.setattr(limits, "CLOCK", clock)


def _indicators_xlsx(path: Path) -> list[Path]:
    rows = [text_row(r, ["2023", "76", "T01", "type d'acheteur", f"m{r}", "heures", str(r)]) for r in range(2, 3000)]
    path.write_bytes(xlsx_with_sheet([SHEET, b"<sheetData>", text_row(1, INDICATOR_COLUMNS), *rows,
                                      b"</sheetData></worksheet>"]))
    return [path]


def _qpv_layer(path: Path) -> list[Path]:
    import geopandas as gpd
    import shapely

    boxes = [shapely.box(650000 + i * 10, 6860000, 650000 + i * 10 + 5, 6860005) for i in range(50)]
    gdf = gpd.GeoDataFrame({"code_qp": [f"QN075{i:02d}I" for i in range(50)], "nom_qp": "q", "code_commune": "75056"},
                           geometry=boxes, crs="EPSG:2154")
    if path.suffix == ".zip":
        shp = path.parent / "shp"
        shp.mkdir()
        with warnings.catch_warnings():  # field names cut to 10 characters: not what is looked at here
            warnings.simplefilter("ignore")
            gdf.to_file(shp / "qpv.shp")
        with zipfile.ZipFile(path, "w") as z:
            for part in shp.iterdir():
                z.write(part, part.name)
    else:
        gdf.to_file(path, driver="GPKG" if path.suffix == ".gpkg" else "GeoJSON")
    return [path]


def _decp_parquet(path: Path) -> list[Path]:
    n = 250_000  # three batches
    pd.DataFrame({"uid": [f"U{i}" for i in range(n)], "lieuExecution_code": "31555",
                  "lieuExecution_typeCode": "Code commune", "considerationsSociales": "Clause sociale",
                  "montant": 1000.0}).to_parquet(path)
    return [path]


def _facilitators(folder: Path) -> list[Path]:
    folder.mkdir()
    n = 2000
    pd.DataFrame({"id_structure": [f"S{i}" for i in range(n)], "nom": "PLIE", "type_structure": "PLIE",
                  "code_commune": "31555", "nb_facilitateurs": 2, "etp": 1.5}
                 ).to_csv(folder / "structures.csv", sep=";", index=False)
    pd.DataFrame({"id_structure": [f"S{i}" for i in range(n)], "type_territoire": "commune",
                  "code_territoire": "31555"}).to_csv(folder / "perimetres.csv", sep=";", index=False)
    return [folder / "structures.csv", folder / "perimetres.csv"]


@pytest.mark.parametrize("kind,make,where,named", [
    ("marches", lambda p: [market_csv(p / "marches.csv", 250_000)], "read_csv_stream", "marches.csv"),  # CSV chunks
    ("indicateurs", lambda p: _indicators_xlsx(p / "indicateurs.xlsx"), "read_xlsx", "indicateurs.xlsx"),  # XLSX rows
    ("qpv", lambda p: _qpv_layer(p / "qpv.gpkg"), "_gpkg_vertices", "qpv.gpkg"),  # vertices, from the file
    ("qpv", lambda p: _qpv_layer(p / "qpv.geojson"), "check_vertices", "qpv.geojson"),  # vertices, once read
    ("qpv", lambda p: _qpv_layer(p / "qpv.zip"), "_extract_member", "qpv.zip"),  # archive members
    ("qpv", lambda p: _qpv_layer(p / "qpv.geojson"), "to_work_crs", "qpv.geojson"),  # reprojection
    ("marches", lambda p: _decp_parquet(p / "decp.parquet"), "batches", "decp.parquet"),  # DECP batches
    ("facilitateurs", lambda p: _facilitators(p / "fac"), "check_cells", "structures.csv"),  # validation steps
    ("facilitateurs", lambda p: _facilitators(p / "fac"), "check_territory_codes", "perimetres.csv"),
])
def test_every_reading_loop_is_stopped_by_the_deadline(tmp_path, monkeypatch, kind, make, where, named):
    paths = make(tmp_path)
    communes = None
    if where == "check_territory_codes":  # perimeters are checked against a référentiel
        communes = pd.DataFrame({"code_insee": ["31555"], "epci_siren": [""], "dep": ["31"], "reg": ["76"],
                                 "ze2020": [""]})
        assert validate(kind, paths, communes=communes).ok
    deadline_passes_in(monkeypatch, where)
    loaded = validate(kind, paths, communes=communes)
    errors_of(loaded)
    assert not loaded.tables and len(loaded.report.errors) == 1, loaded.report.text()
    issue = loaded.report.errors[0]
    label = "un fichier DECP tel que publié" if where == "batches" else LIMITS[kind].label
    seconds = decp.DECP_MAX_SECONDS if where == "batches" else LIMITS[kind].max_seconds
    assert issue.file == named, issue
    expected = f"lecture arrêtée après {limits.fmt_seconds(seconds)}, la limite pour {label} ; "
    assert issue.message.startswith(expected), issue.message


def test_the_deadline_belongs_to_its_import_and_its_thread():
    """Each Streamlit session runs its page in a thread of its own: one person's deadline never
    stops another's reading; an import inside an import shares the outer deadline."""
    seen = {}
    with limits.time_limit("facilitateurs", "structures.csv", seconds=0.05) as outer:
        with limits.time_limit("marches") as inner:
            assert inner is outer  # one deadline per import
        time.sleep(0.1)

        def other_session():
            try:
                limits.check_time("autre.csv")
                seen["other"] = "continue"
            except limits.TimeUp:
                seen["other"] = "arrêtée"

        thread = threading.Thread(target=other_session)
        thread.start()
        thread.join()
        with pytest.raises(limits.TimeUp) as stopped:
            limits.check_time()
    assert seen == {"other": "continue"}
    assert stopped.value.file == "structures.csv"
    assert stopped.value.message.startswith("lecture arrêtée après 0,05\u00a0s, la limite pour les facilitateurs")
    limits.check_time()  # no import under way: nothing to stop


# ---------------------------------------------------------------------------------------------
# Another session is answered while an import is refused, by the same server


async def _page(ws, slug: str, page: str, widgets=()) -> dict:
    """Run ``page`` of workspace ``slug`` in a websocket session, as a browser asks it: the elements
    drawn, the session's id, whether it failed, when it was asked and when it finished."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = BackMsg()
    msg.rerun_script.query_string = f"espace={slug}"
    msg.rerun_script.page_name = page
    msg.rerun_script.widget_states.widgets.extend(widgets)
    out = {"elements": [], "session_id": None, "failed": False, "asked": time.perf_counter()}
    await ws.send(msg.SerializeToString())
    while True:
        fwd = ForwardMsg()
        fwd.ParseFromString(await asyncio.wait_for(ws.recv(), timeout=60))
        kind = fwd.WhichOneof("type")
        if kind == "new_session" and fwd.new_session.initialize.session_id:
            out["session_id"] = fwd.new_session.initialize.session_id
        elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
            element = fwd.delta.new_element
            what = element.WhichOneof("type")
            out["elements"].append((what, getattr(element, what)))
            if what == "exception" or (what == "alert" and "Erreur inattendue" in element.alert.body):
                out["failed"] = True
        elif kind == "script_finished":
            out["finished"] = time.perf_counter()
            return out


async def _upload(ws, url: str, session_id: str, widget_id: str, name: str, data: bytes):
    """Send a file to a file uploader as the browser does: ask its address on the websocket, send it
    by HTTP (with the XSRF token of the server's cookie), and answer the widget's new state."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.Common_pb2 import UploadedFileInfo
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    msg = BackMsg()
    msg.file_urls_request.request_id = "televersement"
    msg.file_urls_request.file_names.append(name)
    msg.file_urls_request.session_id = session_id
    await ws.send(msg.SerializeToString())
    while True:
        fwd = ForwardMsg()
        fwd.ParseFromString(await asyncio.wait_for(ws.recv(), timeout=60))
        if fwd.WhichOneof("type") == "file_urls_response":
            break
    urls = fwd.file_urls_response.file_urls[0]
    cookie = urllib.request.urlopen(f"{url}/_stcore/health", timeout=10).headers["Set-Cookie"]
    xsrf = cookie.split(";", 1)[0].split("=", 1)[1]
    boundary = uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: text/csv\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url + urls.upload_url, data=body, method="PUT", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}", "X-Xsrftoken": xsrf,
        "Cookie": f"_streamlit_xsrf={xsrf}"})
    status = (await asyncio.to_thread(urllib.request.urlopen, request, timeout=60)).status
    assert status == 204, status
    state = WidgetState(id=widget_id)
    state.file_uploader_state_value.uploaded_file_info.append(
        UploadedFileInfo(name=name, size=len(data), file_id=urls.file_id, file_urls=urls))
    return state


def _report_rows(elements) -> list[dict]:
    """The rows of the validation report table drawn on the page."""
    import pyarrow as pa

    rows = []
    for what, element in elements:
        if what in ("dataframe", "table") and element.arrow_data.data:
            table = pa.ipc.open_stream(element.arrow_data.data).read_all()
            if "Message" in table.column_names:
                rows += table.to_pylist()
    return rows


def test_another_session_is_answered_while_an_import_is_refused(tmp_path, monkeypatch):
    """Through the app itself: one person uploads, on the Données page, 2,000,000 markets whose last
    line is broken (read whole, then refused: seconds of work on the server); while the server reads
    it, another person opens the map of the same workspace and gets it drawn, without error and
    quickly. The refused file leaves the store as it was."""
    websockets = pytest.importorskip("websockets")
    folder = tmp_path / "store"
    monkeypatch.setenv("DIAG_DONNEES", str(folder))
    slug = workspaces.create_from_referentiel("Corse", "94")
    cap = LIMITS["marches"].max_rows
    data = market_csv(tmp_path / "marches.csv", cap,
                      last_line="M;;;;;;;commune;2A004;Clause sociale;en trop;encore\n").read_bytes()
    env = {**os.environ, "DIAG_DONNEES": str(folder)}

    async def scenario(url: str) -> tuple[dict, dict, tuple, tuple]:
        host = url.split("//", 1)[1]

        def connect():
            return websockets.connect(f"ws://{host}/_stcore/stream", subprotocols=["streamlit"], origin=url,
                                      max_size=None, open_timeout=60)

        async with connect() as first, connect() as second:
            opened = await _page(first, slug, "donnees")
            assert not opened["failed"]
            uploader = next(e.id for what, e in opened["elements"]
                            if what == "file_uploader" and e.id.endswith(f"donnees.upload.{slug}.marches"))
            state = await _upload(first, url, opened["session_id"], uploader, "marches.csv", data)
            before = snapshot(folder), workspaces.history(slug)
            refusal = asyncio.create_task(_page(first, slug, "donnees", [state]))
            await asyncio.sleep(0.5)  # the server is reading the file
            other = await _page(second, slug, "carte_facilitateurs")
            refused = await refusal
            after = snapshot(folder), workspaces.history(slug)
        return refused, other, before, after

    with serve(env, "test_hostile_sessions.log") as url:
        refused, other, before, after = asyncio.run(asyncio.wait_for(scenario(url), timeout=120))
    work = refused["finished"] - refused["asked"]
    drawn = other["finished"] - other["asked"]
    print(f"import refusé en {work:.1f} s ; l'autre page dessinée en {drawn:.2f} s, "
          f"{'pendant' if other['finished'] < refused['finished'] else 'juste après'} la lecture")
    # the other person: asked while the import was being read, drawn without error, quickly
    assert other["asked"] < refused["finished"]
    assert not other["failed"] and any(what == "component_instance" for what, _ in other["elements"]), other
    assert drawn < 15, drawn
    # the person who imported: refused in French, the file and its line named, nothing changed
    assert not refused["failed"]
    alerts = [e.body for what, e in refused["elements"] if what == "alert"]
    assert any("» est refusé" in a and "n'ont pas été modifiées" in a for a in alerts), alerts
    rows = [r for r in _report_rows(refused["elements"]) if r["Niveau"] == "erreur"]
    assert rows and rows[0]["Fichier"] == "marches.csv" and int(rows[0]["Ligne"]) == cap + 1, rows
    assert_french(rows[0]["Message"])
    assert before == after, "un fichier refusé a modifié le stockage"


# ---------------------------------------------------------------------------------------------
# Text is text: exports and maps

PAYLOAD = '=HYPERLINK("http://x","y")'


def test_structure_named_as_a_formula_stays_text_in_comparison_exports(demo_result):
    from geo.compare import coverage_matrix

    d = demo_result.diagnosis
    ids = d.structures["id_structure"].tolist()[:2]
    names = {ids[0]: PAYLOAD, ids[1]: "-Négatif"}
    qpv_matrix, _ = coverage_matrix(d, ids, names)
    assert PAYLOAD in qpv_matrix.columns  # the structure's name is a column header
    # CSV: header and cells inert
    header = next(csv.reader(io.StringIO(table_csv(qpv_matrix).decode("utf-8-sig")), delimiter=";"))
    assert "'" + PAYLOAD in header and "'-Négatif" in header
    assert not any(h.startswith(("=", "+", "-", "@", "\t", "\r")) for h in header)
    # XLSX: the header cell is text, the sheet name too, numbers stay numbers
    wb = openpyxl.load_workbook(io.BytesIO(table_xlsx(qpv_matrix, sheet=PAYLOAD)))
    ws = wb.worksheets[0]
    assert not ws.title.startswith(("=", "+", "-", "@", "'"))
    headers = {c.value: c for c in ws[1]}
    cell = headers["'" + PAYLOAD]
    assert cell.data_type == "s"
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    population = [c for c in ws[1] if c.value == "Population"][0].column
    assert all(isinstance(ws.cell(row=r, column=population).value, (int, float)) for r in range(2, ws.max_row + 1))


def test_negative_numbers_stay_numbers_and_sheet_names_are_safe():
    df = pd.DataFrame({"Structure": [PAYLOAD, "@cmd", "\tx"], "Écart": [-0.25, -3.0, 1.0], "n": [-1, 2, 3]})
    wb = openpyxl.load_workbook(io.BytesIO(xlsx_bytes({"+cmd": df, "a[b]:c*?/\\d": df, "'quote'": df})))
    assert wb.sheetnames == ["_+cmd", "a_b__c____d", "quote"]
    ws = wb.worksheets[0]
    assert [c.value for c in ws["A"]][1:] == ["'" + PAYLOAD, "'@cmd", "'\tx"]
    assert [c.value for c in ws["B"]][1:] == [-0.25, -3.0, 1.0] and [c.value for c in ws["C"]][1:] == [-1, 2, 3]
    assert all(c.data_type == "n" for c in ws["B"][1:])


def test_names_with_javascript_or_markup_stay_text_on_the_map(demo_ds, demo_result):
    from components.maps import coverage_map
    from geo.display import build_layers
    from views.palette import structure_colours

    r = demo_result
    layers = build_layers(demo_ds.communes, demo_ds.qpv, demo_ds.structures, r.coverage.membership,
                          r.coverage.structure_ids, "99", r.diagnosis.communes, r.diagnosis.qpv)
    evil = "`+alert(1)+`${globalThis.pwned=1}</script><script>alert(2)</script>"
    structures = r.diagnosis.structures.assign(nom=evil, type_structure=evil)
    html = coverage_map(layers, structures, structure_colours(structures["id_structure"].tolist())
                        ).get_root().render()
    assert "<script>alert(2)" not in html and "globalThis.pwned" in html  # present, as inert text
    # tooltips and popups take their HTML as a JSON string, never as a JavaScript template literal
    # (folium.Tooltip's, where the backtick and ${…} of this name ran as code)
    assert re.search(r"bindTooltip\(\s*`", html) is None
    assert re.search(r'bindTooltip\("[^"]*globalThis\.pwned', html)


@pytest.mark.parametrize("payload,forbidden", [
    ("**gras** [lien](http://x.fr)", ["**gras**", "[lien](http"]),
    (":material/warning: :smile:", [":material/warning:", ":smile:"]),
    ("www.evil.fr a@b.fr", ["www.", "a@b.fr"]),
    ("titre\n===", ["\n"]),
])
def test_markdown_of_names_is_inert(payload, forbidden):
    from views.fmt import md

    out = md(payload)
    for token in forbidden:
        assert token not in out, (payload, out)
    assert out.replace("\\", "").replace("\u2060", "") == payload.replace("\n", " ")


# ---------------------------------------------------------------------------------------------
# Nothing leaves the machine: the shipped configuration


def listening_addresses(port: int) -> set[str]:
    """Local addresses listening on ``port`` (from /proc/net/tcp and tcp6)."""
    out = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if int(hex_port, 16) == port and fields[3] == "0A":  # LISTEN
                if width == 8:
                    out.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(address)[::-1]))
                else:
                    raw = b"".join(bytes.fromhex(address[i:i + 8])[::-1] for i in range(0, 32, 8))
                    out.add(socket.inet_ntop(socket.AF_INET6, raw))
    return out


def test_server_listens_on_localhost_only_and_asks_nothing_outside(tmp_path):
    """``make run`` starts ``cli.py serve --server.port N`` (the app and its warm-up) with the shipped
    configuration: it must listen on 127.0.0.1 only and resolve no external address (no "External URL")."""
    port = free_port()
    cmd = [sys.executable, "cli.py", "serve", "--server.port", str(port)]
    strace = Path("/usr/bin/strace")
    trace = tmp_path / "connect.trace"
    if strace.exists():  # every connection the server opens, if the tool is there
        cmd = [str(strace), "-f", "-qq", "-e", "trace=connect", "-o", str(trace)] + cmd
    log = tmp_path / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "DIAG_DONNEES": str(tmp_path / "store")})
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("le serveur n'a pas démarré : " + log.read_text()[-2000:])
        time.sleep(1.5)  # the start banner (and any lookup) happens right after the server is up
        addresses = listening_addresses(port)
        printed = log.read_text()
    finally:  # the server and strace, its parent, are one process group of their own
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    assert addresses == {"127.0.0.1"}, addresses
    assert f"URL: http://localhost:{port}" in printed
    assert "External URL" not in printed and "Network URL" not in printed and "external IP" not in printed
    if strace.exists():
        outside = [line for line in trace.read_text().splitlines()
                   if ("AF_INET" in line) and "127.0.0.1" not in line and "::1" not in line]
        assert outside == [], outside
