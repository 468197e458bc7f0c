"""``cli.py referentiel update`` (data/sources.py) against a local mirror served by the test itself.

No test needs the network: a small HTTP server on 127.0.0.1 serves fixture files written here,
``DIAG_SOURCES_URL`` points at it. Every request has a short timeout; the module runs in seconds.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import io
import json
import os
import socket
import tarfile
import threading
import time
import urllib.error
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import openpyxl
import pytest

from data import sources

TIMEOUT = 2.0


# ---------------------------------------------------------------------------------------------
# Fixture files, as the producers publish them (tiny)


def _geojson(features: list[dict]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def _square(code: str, x: float) -> dict:
    ring = [[x, 43.0], [x + 0.1, 43.0], [x + 0.1, 43.1], [x, 43.1], [x, 43.0]]
    return {"type": "Feature", "properties": {"code": code, "nom": f"Commune {code}"},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def _tgz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _ze_xlsx() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Composition_communale"
    ws.append(["Zonage en zones d'emploi 2020 - composition communale"])
    ws.append(["Découpage au 1er janvier 2026"])
    ws.append([])
    ws.append(["CODGEO", "LIBGEO", "ZE2020", "LIBZE2020", "DEP", "REG"])
    ws.append(["31555", "Toulouse", "7613", "Toulouse", "31", "76"])
    ws.append(["09122", "Foix", "7606", "Foix", "09", "76"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@functools.lru_cache(maxsize=1)
def fixture_files() -> dict[str, bytes]:
    """The served files, built once (gzip, tar and zip headers hold the time: bytes must not change)."""
    communes = [{"code": "31555", "nom": "Toulouse", "type": "commune-actuelle", "population": 511684},
                {"code": "09122", "nom": "Foix", "type": "commune-actuelle", "population": 9613}]
    epci = [{"code": "243100518", "nom": "Toulouse Métropole", "membres": [{"code": "31555"}]}]
    return {
        "communes-100m.geojson.gz": gzip.compress(_geojson([_square("31555", 1.4), _square("09122", 1.6)])),
        "decoupage-administratif.tgz": _tgz({
            "package/package.json": b'{"name": "@etalab/decoupage-administratif", "version": "9.9.9"}',
            "package/data/communes.json": json.dumps(communes).encode(),
            "package/data/epci.json": json.dumps(epci).encode(),
        }),
        "ZE2020_au_01-01-2026.zip": _zip({"ZE2020_au_01-01-2026.xlsx": _ze_xlsx()}),
        "QP2024_France_Hexagonale_Outre_Mer_WGS84.zip": _zip({
            "GEOJSON/QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson": _geojson([_square("QN03101M", 1.45)]),
        }),
        "structures-inclusion.parquet": _inclusion_parquet(),
    }


def _inclusion_parquet() -> bytes:
    """data·inclusion's « structures » file in Parquet: ``reseaux_porteurs`` a list column, as published."""
    import io

    import pandas as pd

    buf = io.BytesIO()
    pd.DataFrame({"id": ["dora--1", "emplois-de-linclusion--2"], "nom": ["Atelier du Val", "ESAT des Pins"],
                  "reseaux_porteurs": [["aci"], ["esat"]], "code_insee": ["31555", "09122"]}).to_parquet(buf, index=False)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# The mirror and the helpers


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no noise in the test output
        pass


@pytest.fixture()
def mirror(tmp_path):
    """A local HTTP server serving the fixture files; yields (base URL, folder served)."""
    folder = tmp_path / "miroir"
    folder.mkdir()
    for name, data in fixture_files().items():
        (folder / name).write_bytes(data)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    server.timeout = TIMEOUT
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port() -> int:
    """A port where nothing listens (bound then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree(folder: Path) -> dict[str, str]:
    """Every file under a folder with its sha256 (empty when the folder is absent)."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def shipped_before():
    """Checksums of the shipped référentiel before any test of this module."""
    return tree(sources.SHIPPED_DIR)


@pytest.fixture()
def store(tmp_path, shipped_before):
    folder = tmp_path / "donnees"
    yield folder
    assert tree(sources.SHIPPED_DIR) == shipped_before, "le référentiel livré a été modifié"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------
# Tests


def test_official_urls_by_default(monkeypatch):
    monkeypatch.delenv(sources.ENV_VAR, raising=False)
    assert sources.base_url_from_env() is None
    urls = {s.key: sources.source_url(s) for s in sources.SOURCES}
    assert set(urls) == {"contours_communes", "cog_epci", "ze2020", "qpv2024", "structures_inclusion"}
    assert "915c05e8-77ea-44f6-9837-0f1eff897a54" in urls["structures_inclusion"]  # data·inclusion, Parquet
    assert all(u.startswith("https://") for u in urls.values())
    assert "contours-administratifs" in urls["contours_communes"] and "communes-100m" in urls["contours_communes"]
    assert urls["cog_epci"].startswith("https://registry.npmjs.org/@etalab/decoupage-administratif")
    assert "4652957" in urls["ze2020"]
    assert "942d4ee8-8142-4556-8ea1-335537ce1119" in urls["qpv2024"]
    monkeypatch.setenv(sources.ENV_VAR, "http://miroir.local/sources/")
    base = sources.base_url_from_env()
    assert base == "http://miroir.local/sources"
    assert [sources.source_url(s, base) for s in sources.SOURCES] == [
        f"http://miroir.local/sources/{s.file_name}" for s in sources.SOURCES]


def test_update_from_local_mirror(mirror, store, monkeypatch):
    base, folder = mirror
    monkeypatch.setenv(sources.ENV_VAR, base)
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    result = sources.update(store, timeout=TIMEOUT)
    after = datetime.now(timezone.utc) + timedelta(seconds=1)
    assert result.ok, result.message
    assert result.directory.parent == store / "referentiel_sources"

    # CURRENT names the new folder
    assert (store / "referentiel_sources" / "CURRENT").read_text().strip() == result.directory.name
    assert sources.current(store) == result.directory

    # the manifest: URL, date, size and checksum of each served file
    manifest = sources.read_manifest(result.directory)
    assert manifest["url_base"] == base
    entries = {e["fichier"]: e for e in manifest["fichiers"]}
    for name, served in fixture_files().items():
        e = entries[name]
        assert e["url"] == f"{base}/{name}"
        assert e["sha256"] == sha(served) == sha((folder / name).read_bytes())
        assert e["octets"] == len(served)
        assert before <= datetime.fromisoformat(e["date"]) <= after
        assert (result.directory / name).read_bytes() == served
    # the npm tarball's tables are stored next to it, checked and listed
    for name in ("communes.json", "epci.json"):
        stored = (result.directory / name).read_bytes()
        assert entries[name]["sha256"] == sha(stored) and json.loads(stored)
    assert "2 entités" in entries["communes-100m.geojson.gz"]["contenu"].replace("\u202f", "")
    assert "2 lignes" in entries["ZE2020_au_01-01-2026.zip"]["contenu"]

    # nothing else than the download folder and its pointer
    names = sorted(p.name for p in (store / "referentiel_sources").iterdir())
    assert names == sorted(["CURRENT", result.directory.name])
    assert sorted(p.name for p in result.directory.iterdir()) == sorted(
        [*fixture_files(), "communes.json", "epci.json", "manifest.json"])

    # a second update in the same second gets its own folder and becomes current
    again = sources.update(store, timeout=TIMEOUT)
    assert again.ok and again.directory != result.directory
    assert sources.current(store) == again.directory
    assert (result.directory / "manifest.json").is_file()  # the previous download is kept


def test_missing_file_changes_nothing(mirror, store, monkeypatch):
    base, folder = mirror
    monkeypatch.setenv(sources.ENV_VAR, base)
    first = sources.update(store, timeout=TIMEOUT)
    assert first.ok
    snapshot = tree(store)

    (folder / "ZE2020_au_01-01-2026.zip").unlink()
    result = sources.update(store, timeout=TIMEOUT)
    assert not result.ok
    assert "\n" not in result.message and "ZE2020_au_01-01-2026.zip" in result.message
    assert "HTTP 404" in result.message and result.message.endswith(sources.KEPT)
    assert sources.current(store) == first.directory
    assert tree(store) == snapshot  # no leftover, CURRENT unchanged


def test_missing_file_on_first_update_leaves_no_folder(mirror, store):
    base, folder = mirror
    (folder / "QP2024_France_Hexagonale_Outre_Mer_WGS84.zip").unlink()
    result = sources.update(store, base_url=base, timeout=TIMEOUT)
    assert not result.ok
    assert not store.exists()


@pytest.mark.parametrize("name, data, reason", [
    ("QP2024_France_Hexagonale_Outre_Mer_WGS84.zip", b"", "vide"),
    ("communes-100m.geojson.gz", gzip.compress(b'{"type": "FeatureCollection", "features": ['), "JSON"),
    ("communes-100m.geojson.gz", gzip.compress(_geojson([])), "aucune entité"),
    ("decoupage-administratif.tgz", _tgz({"package/data/communes.json": b"[]"}), "illisible"),
    ("ZE2020_au_01-01-2026.zip", _zip({"lisez-moi.txt": b"rien"}), "ni XLSX ni CSV"),
])
def test_unreadable_file_changes_nothing(mirror, store, name, data, reason):
    base, folder = mirror
    (folder / name).write_bytes(data)
    result = sources.update(store, base_url=base, timeout=TIMEOUT)
    assert not result.ok
    assert reason in result.message and name in result.message and "\n" not in result.message
    assert not store.exists()


def test_no_server_one_french_line_nothing_written(store, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(sources.ENV_VAR, f"http://127.0.0.1:{closed_port()}")
    start = time.monotonic()
    result = sources.update(store, timeout=TIMEOUT)
    assert not result.ok
    assert result.message == ("Pas de connexion : le référentiel n'a pas été mis à jour ; "
                              "la version livrée reste utilisée.")
    assert not store.exists()
    assert time.monotonic() - start < 5

    # the command: the same line, exit code 1, no traceback, nothing written
    monkeypatch.setenv("DIAG_DONNEES", str(store))
    assert sources.run_update_command(timeout=TIMEOUT) == 1
    out = capsys.readouterr()
    assert out.out == "" and out.err == sources.NO_NETWORK + "\n"
    assert not store.exists()


def test_no_server_keeps_previous_download(mirror, store, monkeypatch):
    base, _folder = mirror
    first = sources.update(store, base_url=base, timeout=TIMEOUT)
    assert first.ok
    snapshot = tree(store)
    result = sources.update(store, base_url=f"http://127.0.0.1:{closed_port()}", timeout=TIMEOUT)
    assert result.message == sources.NO_NETWORK
    assert tree(store) == snapshot and sources.current(store) == first.directory


def test_server_that_never_answers_times_out(store):
    # a socket that accepts connections (backlog) but never replies: the timeout ends the wait
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        start = time.monotonic()
        result = sources.update(store, base_url=f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.5)
    assert result.message == sources.NO_NETWORK
    assert time.monotonic() - start < 5
    assert not store.exists()


def test_dns_failure_is_no_network(store, monkeypatch):
    class Failing:
        def open(self, *args, **kwargs):
            raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))

    monkeypatch.setattr(sources, "_opener", lambda url: Failing())
    result = sources.update(store, base_url="http://miroir.invalid", timeout=TIMEOUT)
    assert result.message == sources.NO_NETWORK
    assert not store.exists()


def test_command_prints_what_where_and_checksums(mirror, store, monkeypatch, capsys):
    base, _folder = mirror
    monkeypatch.setenv(sources.ENV_VAR, base)
    monkeypatch.setenv("DIAG_DONNEES", str(store))
    assert sources.run_update_command(timeout=TIMEOUT) == 0
    out = capsys.readouterr().out
    folder = sources.current(store)
    assert str(folder) in out and "manifest.json" in out
    for name, data in fixture_files().items():
        assert name in out and sha(data) in out and f"{base}/{name}" in out
    assert "Traceback" not in out
    # the inclusion structures file is not part of the référentiel: the command says how to import it
    assert f"--kind structures_inclusion {folder / 'structures-inclusion.parquet'}" in out


def test_store_inside_the_shipped_referentiel_is_refused(mirror):
    base, _folder = mirror
    result = sources.update(sources.SHIPPED_DIR, base_url=base, timeout=TIMEOUT)
    assert not result.ok and "référentiel livré" in result.message
    assert not (sources.SHIPPED_DIR / sources.SOURCES_DIR).exists()


def test_stale_download_in_progress_is_cleaned(mirror, store):
    base, _folder = mirror
    stale = store / "referentiel_sources" / ".en-cours-20200101T000000Z-1-deadbeef"
    stale.mkdir(parents=True)
    (stale / "communes-100m.geojson.gz.part").write_bytes(b"partial")
    old = time.time() - 2 * sources.STALE_STAGING_S
    os.utime(stale, (old, old))
    result = sources.update(store, base_url=base, timeout=TIMEOUT)
    assert result.ok and not stale.exists()


def _official_like(base: str, folder: Path, integrity: str) -> tuple[sources.Source, ...]:
    """The real list of sources, each URL moved to the local server; npm through its registry document."""
    tgz = (folder / "decoupage-administratif.tgz").read_bytes()
    doc = {"name": "@etalab/decoupage-administratif", "version": "9.9.9",
           "dist": {"tarball": f"{base}/-/decoupage-administratif-9.9.9.tgz", "integrity": integrity}}
    (folder / "latest").write_text(json.dumps(doc))
    (folder / "-").mkdir()
    (folder / "-" / "decoupage-administratif-9.9.9.tgz").write_bytes(tgz)
    return tuple(sources.Source(**{**s.__dict__, "url": f"{base}/latest" if s.kind == "npm" else f"{base}/{s.file_name}"})
                 for s in sources.SOURCES)


def test_without_mirror_npm_latest_version_is_resolved_and_checked(mirror, store, monkeypatch):
    import base64

    base, folder = mirror
    monkeypatch.delenv(sources.ENV_VAR, raising=False)
    tgz = (folder / "decoupage-administratif.tgz").read_bytes()
    good = "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode()
    monkeypatch.setattr(sources, "SOURCES", _official_like(base, folder, good))
    result = sources.update(store, timeout=TIMEOUT)
    assert result.ok, result.message
    npm = next(e for e in sources.read_manifest(result.directory)["fichiers"]
               if e["fichier"] == "decoupage-administratif.tgz")
    assert npm["url"] == f"{base}/-/decoupage-administratif-9.9.9.tgz"
    assert npm["version"] == "9.9.9" and npm["registre"] == f"{base}/latest" and npm["sha256"] == sha(tgz)


def test_tarball_not_matching_the_registry_integrity_is_refused(mirror, store, monkeypatch):
    base, folder = mirror
    monkeypatch.delenv(sources.ENV_VAR, raising=False)
    monkeypatch.setattr(sources, "SOURCES", _official_like(base, folder, "sha512-" + "A" * 86 + "=="))
    result = sources.update(store, timeout=TIMEOUT)
    assert not result.ok and "registre npm" in result.message
    assert not store.exists()


def test_mirror_folder_by_file_url(mirror, store, monkeypatch):
    # an administration without internet copies the files into a folder (a USB key) and points at it
    _base, folder = mirror
    monkeypatch.setenv(sources.ENV_VAR, folder.as_uri())
    result = sources.update(store, timeout=TIMEOUT)
    assert result.ok, result.message
    entries = {e["fichier"]: e for e in sources.read_manifest(result.directory)["fichiers"]}
    assert entries["communes-100m.geojson.gz"]["url"] == f"{folder.as_uri()}/communes-100m.geojson.gz"
    (folder / "communes-100m.geojson.gz").unlink()
    again = sources.update(store, timeout=TIMEOUT)
    assert not again.ok and "communes-100m.geojson.gz absent" in again.message
    assert sources.current(store) == result.directory


@pytest.mark.parametrize("base", ["miroir-sans-schema", "ftpx://miroir"])
def test_invalid_base_url_is_one_line(store, base):
    result = sources.update(store, base_url=base, timeout=TIMEOUT)
    assert not result.ok and result.message.startswith("Adresse de téléchargement invalide")
    assert not store.exists()
