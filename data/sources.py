"""The official sources of the territorial référentiel, and their download into the local store.

``cli.py referentiel update`` calls :func:`run_update_command`, which calls :func:`update`. It
downloads the current official files (listed in :data:`SOURCES`) into the workspace store::

    <store>/referentiel_sources/<AAAAMMJJTHHMMSSZ>/   one complete download, never modified after
        communes-100m.geojson.gz                     as published (and communes.json, epci.json
        ...                                          extracted from the npm tarball)
        manifest.json                                URL, date, size and sha256 of each file
    <store>/referentiel_sources/CURRENT              name of the last complete download
    <store>/referentiel_sources/.en-cours-<id>/      a download in progress (removed on failure)

Guarantees:

- the shipped ``referentiel/`` folder is never written (it stays what the application reads);
- a download lands in a private folder, each file streamed to a ``.part`` file then moved with
  ``os.replace``; the folder is renamed to its final name, then ``CURRENT`` is switched with
  ``os.replace``, only when every file arrived complete, non-empty and readable (JSON, GeoJSON,
  CSV, XLSX sanity checks);
- on any failure nothing is left behind: ``CURRENT`` and the previous downloads are unchanged,
  and folders created by the attempt are removed. With no network (connection refused, DNS
  failure, timeout) the result carries exactly one French line, :data:`NO_NETWORK`.

The base URL can be overridden with the environment variable ``DIAG_SOURCES_URL`` (or the
``base_url`` argument): every source is then fetched as ``<base>/<file name>``, so that a test,
or an administration without direct internet access, serves its own mirror. Standard library
only (``urllib``), a short timeout on every network operation, no Streamlit.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import datetime as dt
import gzip
import hashlib
import http.client
import io
import ipaddress
import json
import os
import shutil
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from data import atomic

ENV_VAR = "DIAG_SOURCES_URL"
SOURCES_DIR = "referentiel_sources"
CURRENT_FILE = "CURRENT"
MANIFEST_FILE = "manifest.json"
STAGING_PREFIX = ".en-cours-"
DEFAULT_TIMEOUT = 15.0
STALE_STAGING_S = 6 * 3600
CHUNK = 1 << 16
USER_AGENT = "diagnostic-clauses-sociales/1.0 (mise a jour du referentiel ; Python urllib)"
SHIPPED_DIR = Path(__file__).resolve().parent.parent / "referentiel"

KEPT = "le référentiel n'a pas été mis à jour ; la version livrée reste utilisée."
NO_NETWORK = "Pas de connexion : " + KEPT

LICENCE = "Licence Ouverte / Etalab 2.0"


@dataclass(frozen=True)
class Source:
    """One official file.

    Attributes
    ----------
    key : str
        Stable identifier (``contours_communes``, ``cog_epci``, ``ze2020``, ``qpv2024``).
    label : str
        French description shown to the user.
    producer : str
        Who publishes it.
    file_name : str
        Name in the store, and on a mirror (``<DIAG_SOURCES_URL>/<file_name>``).
    url : str
        Official URL. For ``kind == "npm"`` it is the registry document of the latest version,
        whose ``dist.tarball`` is then downloaded (and checked against ``dist.integrity``).
    kind : str
        ``geojson`` (plain, gzipped or zipped GeoJSON), ``npm`` (package tarball holding
        ``data/communes.json`` and ``data/epci.json``), ``table`` (CSV or XLSX, possibly zipped) or
        ``parquet`` (a Parquet table, its columns checked from its schema).
    page : str
        The producer's page describing the data.
    licence : str
        The data licence.
    columns : tuple of str
        For ``table``: columns the header must hold.
    """

    key: str
    label: str
    producer: str
    file_name: str
    url: str
    kind: str
    page: str
    licence: str = LICENCE
    columns: tuple[str, ...] = ()


SOURCES: tuple[Source, ...] = (
    Source(
        key="contours_communes",
        label="Contours des communes (généralisation 100 m)",
        producer="IGN ADMIN EXPRESS, jeux contours-administratifs d'Etalab",
        file_name="communes-100m.geojson.gz",
        url="https://etalab-datasets.geo.data.gouv.fr/contours-administratifs/latest/geojson/"
            "communes-100m.geojson.gz",
        kind="geojson",
        page="https://etalab-datasets.geo.data.gouv.fr/contours-administratifs/latest/",
    ),
    Source(
        key="cog_epci",
        label="Communes (COG), EPCI et populations légales",
        producer="INSEE, DGCL : paquet npm @etalab/decoupage-administratif",
        file_name="decoupage-administratif.tgz",
        url="https://registry.npmjs.org/@etalab/decoupage-administratif/latest",
        kind="npm",
        page="https://www.npmjs.com/package/@etalab/decoupage-administratif",
        licence="Licence Ouverte / Etalab 2.0 (données), MIT (code du paquet)",
    ),
    Source(
        key="ze2020",
        label="Zones d'emploi 2020 : composition communale",
        producer="INSEE",
        file_name="ZE2020_au_01-01-2026.zip",
        url="https://www.insee.fr/fr/statistiques/fichier/4652957/ZE2020_au_01-01-2026.zip",
        kind="table",
        page="https://www.insee.fr/fr/information/4652957",
        columns=("CODGEO", "ZE2020"),
    ),
    Source(
        key="qpv2024",
        label="Quartiers prioritaires 2024 (contours WGS84)",
        producer="ANCT, data.gouv.fr (jeu 5a561801c751df42d7fca9b6)",
        file_name="QP2024_France_Hexagonale_Outre_Mer_WGS84.zip",
        url="https://www.data.gouv.fr/fr/datasets/r/942d4ee8-8142-4556-8ea1-335537ce1119",
        kind="geojson",
        page="https://www.data.gouv.fr/datasets/5a561801c751df42d7fca9b6",
    ),
    Source(
        key="structures_inclusion",
        label="Structures de l'inclusion (SIAE, GEIQ, EA, ESAT…) : fichier « structures » de data·inclusion",
        producer="GIP de l'inclusion, data.gouv.fr (jeu 6233723c2c1e4a54af2f6b2d, publié chaque semaine)",
        file_name="structures-inclusion.parquet",
        url="https://www.data.gouv.fr/fr/datasets/r/915c05e8-77ea-44f6-9837-0f1eff897a54",
        kind="parquet",
        page="https://www.data.gouv.fr/fr/datasets/referentiel-de-loffre-dinsertion-liste-des-structures-et-"
             "services-dinsertion/",
        columns=("id", "nom", "reseaux_porteurs", "code_insee"),
    ),
)

# files taken out of the npm tarball, stored next to it
NPM_MEMBERS = {"communes.json": "package/data/communes.json", "epci.json": "package/data/epci.json"}


@dataclass(frozen=True)
class FileRecord:
    """One file of a download, as written in ``manifest.json``.

    Attributes
    ----------
    source : str
        Key of its :class:`Source`.
    label : str
        French description.
    file_name : str
        Name in the download folder.
    url : str
        URL it was fetched from (before redirections), or the tarball's URL for an extracted file.
    date : str
        When it was received (ISO 8601, UTC).
    size : int
        Bytes.
    sha256 : str
        Hex digest of its bytes.
    content : str
        What the sanity check found (French).
    extra : dict
        Other facts (final URL after redirections, ``Last-Modified``, npm version, ...).
    """

    source: str
    label: str
    file_name: str
    url: str
    date: str
    size: int
    sha256: str
    content: str
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """The manifest entry (French keys, like ``referentiel/meta.json``)."""
        return {"source": self.source, "libelle": self.label, "fichier": self.file_name, "url": self.url,
                "date": self.date, "octets": self.size, "sha256": self.sha256, "contenu": self.content,
                **self.extra}


@dataclass(frozen=True)
class UpdateResult:
    """What :func:`update` did.

    Attributes
    ----------
    ok : bool
        True when a complete download became ``CURRENT``.
    message : str
        One French line for the user.
    directory : Path or None
        The new download folder (None on failure).
    files : tuple of FileRecord
        The files of that folder (empty on failure).
    """

    ok: bool
    message: str
    directory: Path | None = None
    files: tuple[FileRecord, ...] = ()

    @property
    def manifest(self) -> Path | None:
        """Path of the new ``manifest.json`` (None on failure)."""
        return self.directory / MANIFEST_FILE if self.directory else None


class UpdateError(Exception):
    """A failure of the update; the message is the one French line shown to the user."""


class _NoNetwork(UpdateError):
    def __init__(self) -> None:
        super().__init__(NO_NETWORK)


# ---------------------------------------------------------------------------------------------
# URLs


def base_url_from_env() -> str | None:
    """The mirror named by ``DIAG_SOURCES_URL``, or None when it is unset or empty.

    Returns
    -------
    str or None
        The base URL without a trailing slash.
    """
    value = os.environ.get(ENV_VAR, "").strip()
    return value.rstrip("/") or None


def source_url(source: Source, base_url: str | None = None) -> str:
    """Where a source is fetched from.

    Parameters
    ----------
    source : Source
        The source.
    base_url : str, optional
        A mirror: the file is then ``<base_url>/<file_name>``.

    Returns
    -------
    str
        The mirror's URL, or the official one (for npm, the registry document of the latest version).
    """
    if base_url:
        return f"{base_url.rstrip('/')}/{urllib.parse.quote(source.file_name)}"
    return source.url


def _opener(url: str) -> urllib.request.OpenerDirector:
    """Proxies from the environment are honoured, except for a mirror on this machine."""
    host = urllib.parse.urlsplit(url).hostname or ""
    local = host == "localhost"
    with contextlib.suppress(ValueError):
        local = local or ipaddress.ip_address(host).is_loopback
    return urllib.request.build_opener(urllib.request.ProxyHandler({})) if local else urllib.request.build_opener()


def _network_call(call: Callable, url: str, what: str):
    """Run one network operation, turning its failures into :class:`UpdateError` (French)."""
    try:
        return call()
    except urllib.error.HTTPError as exc:
        exc.close()
        raise UpdateError(f"Source indisponible ({what} : HTTP {exc.code} sur {url}) : {KEPT}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, str) and "unknown url type" in exc.reason:
            raise UpdateError(f"Adresse de téléchargement invalide ({url}) : {KEPT}") from None
        if isinstance(exc.reason, FileNotFoundError):  # a mirror folder (file://) without the file
            raise UpdateError(f"Source indisponible ({what} absent de {url}) : {KEPT}") from None
        raise _NoNetwork() from None
    except ValueError:
        raise UpdateError(f"Adresse de téléchargement invalide ({url}) : {KEPT}") from None
    except (OSError, http.client.HTTPException):
        # refused, reset, DNS failure, timeout (TimeoutError is an OSError), connection closed early
        raise _NoNetwork() from None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def _download(url: str, dest: Path, timeout: float, what: str) -> tuple[int, str, str, dict]:
    """Stream ``url`` into ``dest`` (a ``.part`` file, then ``os.replace``).

    Returns
    -------
    tuple
        Size, sha256, sha512 (base64, as npm's ``integrity``), and the HTTP facts worth keeping.
    """
    opener = _opener(url)
    part = dest.with_name(dest.name + ".part")
    sha256, sha512, size = hashlib.sha256(), hashlib.sha512(), 0
    facts: dict = {}
    try:
        resp = _network_call(lambda: opener.open(urllib.request.Request(url, headers={"User-Agent": USER_AGENT}),
                                                 timeout=timeout), url, what)
        with resp, open(part, "wb") as fh:
            expected = resp.headers.get("Content-Length")
            final = resp.geturl()
            if final and final != url:
                facts["url_finale"] = final
            if resp.headers.get("Last-Modified"):
                facts["derniere_modification"] = resp.headers["Last-Modified"]
            if resp.headers.get("ETag"):
                facts["etag"] = resp.headers["ETag"]
            while True:
                chunk = _network_call(lambda: resp.read(CHUNK), url, what)
                if not chunk:
                    break
                fh.write(chunk)
                sha256.update(chunk)
                sha512.update(chunk)
                size += len(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        if expected is not None and expected.isdigit() and int(expected) != size:
            raise UpdateError(f"Téléchargement interrompu ({what} : {size} octets reçus sur {expected}) : {KEPT}")
        if size == 0:
            raise UpdateError(f"Fichier vide reçu ({what}, {url}) : {KEPT}")
        os.replace(part, dest)
    finally:
        with contextlib.suppress(OSError):
            part.unlink()
    return size, sha256.hexdigest(), base64.b64encode(sha512.digest()).decode(), facts


def _resolve_npm(source: Source, timeout: float) -> tuple[str, dict]:
    """The tarball URL of the package's latest version, from the registry, and its facts."""
    url = source.url
    opener = _opener(url)

    def fetch() -> bytes:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "application/json"})
        with opener.open(request, timeout=timeout) as resp:
            return resp.read()

    raw = _network_call(fetch, url, source.file_name)
    try:
        doc = json.loads(raw)
        tarball = doc["dist"]["tarball"]
        facts = {"paquet": doc.get("name", ""), "version": doc.get("version", ""), "registre": url}
        if doc["dist"].get("integrity"):
            facts["integrity"] = doc["dist"]["integrity"]
    except (ValueError, KeyError, TypeError):
        raise UpdateError(f"Réponse illisible du registre npm ({url}) : {KEPT}") from None
    return str(tarball), facts


# ---------------------------------------------------------------------------------------------
# Sanity checks: each returns a short French description, or raises ValueError (French reason)


def _fmt_int(n: int) -> str:
    return f"{int(n):,}".replace(",", "\u202f")


def _fmt_size(n: int) -> str:
    mb = 1024 * 1024
    if n >= mb:
        v = n / mb
        return (f"{v:.0f}" if v >= 10 else f"{v:.1f}".replace(".", ",")) + "\u00a0Mo"
    return f"{max(1, round(n / 1024))}\u00a0ko"


def _is_gzip(head: bytes) -> bool:
    return head[:2] == b"\x1f\x8b"


def _read_head(path: Path, n: int = 4) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def _json_bytes(data: bytes):
    # floats are not kept (a commune layer holds millions of coordinates): one shared constant
    return json.loads(data, parse_float=lambda _s: 0.0)


def _check_geojson_bytes(data: bytes, name: str) -> str:
    try:
        doc = _json_bytes(data)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{name} n'est pas un JSON valide ({exc})") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise ValueError(f"{name} n'est pas une collection GeoJSON (FeatureCollection)")
    features = doc.get("features")
    if not isinstance(features, list) or not features:
        raise ValueError(f"{name} ne contient aucune entité")
    with_geometry = sum(1 for f in features if isinstance(f, dict) and isinstance(f.get("geometry"), dict))
    if with_geometry == 0:
        raise ValueError(f"{name} ne contient aucune géométrie")
    return f"{name} : {_fmt_int(len(features))} entités GeoJSON"


def _check_geojson(path: Path) -> str:
    head = _read_head(path)
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as zf:
                members = [m for m in zf.namelist() if m.lower().endswith((".geojson", ".json"))]
                if not members:
                    raise ValueError("l'archive ne contient aucun fichier GeoJSON")
                # the national file when the archive holds one per territory
                members.sort(key=lambda m: ("france" not in m.lower(), len(m)))
                return "archive zip, " + _check_geojson_bytes(zf.read(members[0]), members[0])
        except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
            raise ValueError(f"archive zip illisible ({exc})") from None
    if _is_gzip(head):
        try:
            with gzip.open(path, "rb") as fh:
                data = fh.read()
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"fichier gzip illisible ({exc})") from None
        return _check_geojson_bytes(data, path.name.removesuffix(".gz"))
    return _check_geojson_bytes(path.read_bytes(), path.name)


def _check_record_list(data: bytes, name: str) -> list:
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise ValueError(f"{name} n'est pas un JSON valide ({exc})") from None
    if not isinstance(doc, list) or not doc or not all(isinstance(r, dict) and r.get("code") for r in doc):
        raise ValueError(f"{name} n'est pas une liste d'entrées avec un code")
    return doc


def _check_npm(path: Path) -> tuple[str, list[tuple[str, bytes]]]:
    """Check the tarball; return its description and the members to store next to it."""
    try:
        with tarfile.open(path, "r:gz") as tf:
            found = []
            for out_name, member in NPM_MEMBERS.items():
                try:
                    fh = tf.extractfile(member)
                except KeyError:
                    fh = None
                if fh is None:
                    raise ValueError(f"l'archive ne contient pas {member}")
                data = fh.read()
                records = _check_record_list(data, out_name)
                found.append((out_name, data, len(records)))
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"archive npm illisible ({exc})") from None
    text = " ; ".join(f"{name} : {_fmt_int(n)} entrées" for name, _data, n in found)
    return text, [(name, data) for name, data, _n in found]


def _check_csv_bytes(data: bytes, name: str, columns: tuple[str, ...]) -> str:
    text = None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise ValueError(f"{name} : encodage illisible")
    sample = text[:65536]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        raise ValueError(f"{name} n'est pas un tableau CSV reconnaissable") from None
    rows = csv.reader(io.StringIO(text), dialect)
    header = [h.strip().upper() for h in next(rows, [])]
    if len(header) < 2:
        raise ValueError(f"{name} : en-tête absent")
    missing = [c for c in columns if c.upper() not in header]
    if missing:
        raise ValueError(f"{name} : colonne(s) absente(s) : {', '.join(missing)}")
    n = sum(1 for r in rows if any(cell.strip() for cell in r))
    if n == 0:
        raise ValueError(f"{name} ne contient aucune ligne")
    return f"{name} : {_fmt_int(n)} lignes"


def _check_xlsx_bytes(data: bytes, name: str, columns: tuple[str, ...]) -> str:
    import openpyxl  # a runtime dependency already; imported only here

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a broken file
        raise ValueError(f"{name} : classeur illisible ({type(exc).__name__})") from None
    try:
        for ws in wb.worksheets:
            header_at = None
            n = 0
            for i, row in enumerate(ws.iter_rows(values_only=True)):
                cells = [str(c).strip().upper() for c in row if c is not None]
                if header_at is None:
                    if all(c.upper() in cells for c in columns) and cells:
                        header_at = i
                    elif i >= 30:
                        break
                elif cells:
                    n += 1
            if header_at is not None and n:
                return f"{name}, feuille « {ws.title} » : {_fmt_int(n)} lignes"
    finally:
        wb.close()
    raise ValueError(f"{name} : aucune feuille avec les colonnes {', '.join(columns)}")


def _check_parquet(path: Path, columns: tuple[str, ...]) -> str:
    """A Parquet table: readable, holding ``columns`` and at least one row (only its footer is read)."""
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises many kinds on a broken file
        raise ValueError(f"{path.name} : fichier Parquet illisible ({type(exc).__name__})") from None
    names = {n.lower() for n in pf.schema_arrow.names}
    missing = [c for c in columns if c.lower() not in names]
    if missing:
        raise ValueError(f"{path.name} : colonne(s) absente(s) : {', '.join(missing)}")
    if not pf.metadata.num_rows:
        raise ValueError(f"{path.name} ne contient aucune ligne")
    return f"{path.name} : {_fmt_int(pf.metadata.num_rows)} lignes"


def _check_table(path: Path, columns: tuple[str, ...]) -> str:
    if _read_head(path).startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
                if any(n.startswith("xl/") for n in names):  # the file is itself a workbook
                    return _check_xlsx_bytes(path.read_bytes(), path.name, columns)
                tables = [n for n in names if n.lower().endswith((".xlsx", ".csv"))]
                if not tables:
                    raise ValueError("l'archive ne contient ni XLSX ni CSV")
                errors = []
                for member in sorted(tables, key=lambda n: not n.lower().endswith(".xlsx")):
                    check = _check_xlsx_bytes if member.lower().endswith(".xlsx") else _check_csv_bytes
                    try:
                        return "archive zip, " + check(zf.read(member), member, columns)
                    except ValueError as exc:
                        errors.append(str(exc))
                raise ValueError(" ; ".join(errors))
        except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
            raise ValueError(f"archive zip illisible ({exc})") from None
    return _check_csv_bytes(path.read_bytes(), path.name, columns)


# ---------------------------------------------------------------------------------------------
# The store


def sources_dir(store_dir: Path | str) -> Path:
    """The folder of downloads inside a store.

    Parameters
    ----------
    store_dir : Path or str
        The workspace store (``data.store.workspaces.store_dir()``).

    Returns
    -------
    Path
        ``<store_dir>/referentiel_sources``.
    """
    return Path(store_dir) / SOURCES_DIR


def current(store_dir: Path | str) -> Path | None:
    """The last complete download, as ``CURRENT`` names it.

    Parameters
    ----------
    store_dir : Path or str
        The workspace store.

    Returns
    -------
    Path or None
        Its folder, or None when nothing was ever downloaded (or the pointer is broken).
    """
    root = sources_dir(store_dir)
    try:
        name = (root / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not name or "/" in name or name.startswith("."):
        return None
    folder = root / name
    return folder if (folder / MANIFEST_FILE).is_file() else None


def read_manifest(folder: Path | str) -> dict:
    """The ``manifest.json`` of a download folder.

    Parameters
    ----------
    folder : Path or str
        A download folder (for example ``current(store_dir)``).

    Returns
    -------
    dict
        The manifest: ``date``, ``url_base``, ``fichiers`` (one entry per file).
    """
    return json.loads((Path(folder) / MANIFEST_FILE).read_text(encoding="utf-8"))


def _write_atomic(path: Path, data: bytes) -> None:
    atomic.write(path, data)


def _make_dirs(path: Path) -> list[Path]:
    """``mkdir -p``; returns the folders it created, deepest last (to undo on failure)."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    path.mkdir(parents=True, exist_ok=True)
    return list(reversed(missing))


def _remove_stale(root: Path) -> None:
    """Remove what a killed download left (folders in progress older than a few hours)."""
    limit = time.time() - STALE_STAGING_S
    for p in root.iterdir():
        if p.name.startswith((STAGING_PREFIX, f".{CURRENT_FILE}.")):
            with contextlib.suppress(OSError):
                if p.stat().st_mtime < limit:
                    shutil.rmtree(p) if p.is_dir() else p.unlink()


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _free_name(root: Path, stamp: str) -> str:
    name, i = stamp, 1
    while (root / name).exists():
        i += 1
        name = f"{stamp}-{i}"
    return name


def _fetch_source(source: Source, base_url: str | None, staging: Path, timeout: float) -> list[FileRecord]:
    facts: dict = {}
    url = source_url(source, base_url)
    if source.kind == "npm" and not base_url:
        url, facts = _resolve_npm(source, timeout)
    dest = staging / source.file_name
    size, sha256, sha512, http_facts = _download(url, dest, timeout, source.file_name)
    facts.update(http_facts)
    date = _now().isoformat()
    extracted: list[tuple[str, bytes]] = []
    try:
        if source.kind == "geojson":
            content = _check_geojson(dest)
        elif source.kind == "npm":
            content, extracted = _check_npm(dest)
        elif source.kind == "parquet":
            content = _check_parquet(dest, source.columns)
        else:
            content = _check_table(dest, source.columns)
    except ValueError as exc:
        raise UpdateError(f"Fichier reçu illisible ({source.file_name} : {exc}) : {KEPT}") from None
    integrity = facts.get("integrity", "")
    if integrity.startswith("sha512-") and integrity != f"sha512-{sha512}":
        raise UpdateError(f"Empreinte de {source.file_name} différente de celle du registre npm : {KEPT}")
    common = {"producteur": source.producer, "licence": source.licence, "page": source.page}
    records = [FileRecord(source.key, source.label, source.file_name, url, date, size, sha256, content,
                          {**common, **facts})]
    for name, data in extracted:
        _write_atomic(staging / name, data)
        records.append(FileRecord(source.key, f"{source.label} ({name})", name, url, date, len(data),
                                  hashlib.sha256(data).hexdigest(), f"extrait de {source.file_name}",
                                  {**common, "extrait_de": source.file_name}))
    return records


def update(store_dir: Path | str, base_url: str | None = None, timeout: float = DEFAULT_TIMEOUT,
           progress: Callable[[str], None] | None = None) -> UpdateResult:
    """Download every official source into ``<store_dir>/referentiel_sources/<timestamp>/``.

    Parameters
    ----------
    store_dir : Path or str
        The workspace store (``data.store.workspaces.store_dir()``).
    base_url : str, optional
        A mirror; by default ``$DIAG_SOURCES_URL``, else the official URLs.
    timeout : float
        Seconds allowed to every network operation (connection, each read).
    progress : callable, optional
        Called with a French line each time a file has arrived and been checked.

    Returns
    -------
    UpdateResult
        On success the new folder, now ``CURRENT``, and its files. On failure one French line
        (:data:`NO_NETWORK` when the network is unreachable) and nothing changed on disk.
    """
    base = (base_url.rstrip("/") or None) if base_url else base_url_from_env()
    root = sources_dir(store_dir)
    for shipped in {SHIPPED_DIR, Path(os.environ.get("DIAG_REFERENTIEL") or SHIPPED_DIR)}:
        if _inside(root, shipped):
            return UpdateResult(False, f"Le dossier de téléchargement ({root}) est dans le référentiel livré "
                                       f"({shipped}) : {KEPT}")
    created: list[Path] = []
    staging: Path | None = None
    final: Path | None = None
    try:
        created = _make_dirs(root)
        _remove_stale(root)
        stamp = _now()
        staging = root / f"{STAGING_PREFIX}{stamp:%Y%m%dT%H%M%SZ}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
        records: list[FileRecord] = []
        for source in SOURCES:
            got = _fetch_source(source, base, staging, timeout)
            records.extend(got)
            if progress:
                progress(f"Reçu : {source.file_name} ({_fmt_size(got[0].size)})")
        manifest = {"date": stamp.isoformat(), "url_base": base, "outil": USER_AGENT,
                    "fichiers": [r.to_json() for r in records]}
        _write_atomic(staging / MANIFEST_FILE, json.dumps(manifest, ensure_ascii=False, indent=1).encode())
        final = root / _free_name(root, f"{stamp:%Y%m%dT%H%M%SZ}")
        os.rename(staging, final)
        staging = None
        atomic.fsync_dir(root)
        _write_atomic(root / CURRENT_FILE, (final.name + "\n").encode())
    except UpdateError as exc:
        message = str(exc)
    except OSError as exc:
        message = f"Écriture impossible dans {root} ({exc.strerror or exc}) : {KEPT}"
    else:
        return UpdateResult(True, f"Sources officielles téléchargées dans {final}.", final, tuple(records))
    # failure: leave nothing behind
    for folder in (staging, final):
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    for folder in reversed(created):
        with contextlib.suppress(OSError):
            folder.rmdir()
    return UpdateResult(False, message)


def run_update_command(base_url: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> int:
    """``cli.py referentiel update``: download the sources into the store and say so in French.

    Parameters
    ----------
    base_url : str, optional
        A mirror; by default ``$DIAG_SOURCES_URL``, else the official URLs.
    timeout : float
        Seconds allowed to every network operation.

    Returns
    -------
    int
        0 when a complete download became current, 1 otherwise (one French line on stderr,
        never a traceback).
    """
    try:
        from data.store.workspaces import store_dir

        result = update(store_dir(), base_url=base_url, timeout=timeout,
                        progress=lambda line: print(line, file=sys.stderr))
    except Exception as exc:  # last resort: a message, never a traceback
        print(f"Erreur inattendue ({type(exc).__name__}) : {KEPT}", file=sys.stderr)
        return 1
    if not result.ok:
        print(result.message, file=sys.stderr)
        return 1
    print(result.message)
    for r in result.files:
        print(f"- {r.label} : {r.file_name}, {_fmt_size(r.size)}, sha256 {r.sha256}")
        print(f"  {r.url}")
    print(f"Manifeste : {result.manifest}")
    print(f"Version courante : {result.directory.name} (fichier {result.directory.parent / CURRENT_FILE}).")
    print("Le référentiel livré avec l'application (dossier referentiel/) n'est pas modifié.")
    inclusion = next((r for r in result.files if r.source == "structures_inclusion"), None)
    if inclusion is not None:
        print("Structures de l'inclusion : importez le fichier téléchargé dans un espace (il y est ramené à sa "
              "région) : .venv/bin/python cli.py import --workspace <espace> --kind structures_inclusion "
              f"{result.directory / inclusion.file_name}")
    return 0


__all__ = ["CURRENT_FILE", "ENV_VAR", "MANIFEST_FILE", "NO_NETWORK", "SOURCES", "SOURCES_DIR", "FileRecord",
           "Source", "UpdateError", "UpdateResult", "base_url_from_env", "current", "read_manifest",
           "run_update_command", "source_url", "sources_dir", "update"]
