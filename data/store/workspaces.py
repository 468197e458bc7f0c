"""The workspace store: named, self-contained datasets with their history of imports.

One folder, ``.donnees/`` at the project root (ignored by git), or the folder named by the
environment variable ``DIAG_DONNEES``::

    espaces/<slug>/workspace.json      name, slug, région, creation date (never changes)
    espaces/<slug>/objects/<sha>.parquet  tables, content-addressed: a version that did not change a
                                       table points to the same object, nothing is copied
    espaces/<slug>/versions/<n>.json   one manifest per version: date, action, file, counts, vintage,
                                       the object of each table, the dataset's metadata
    espaces/<slug>/HEAD                the current version's number, switched with ``os.replace``
    espaces/<slug>/.lock               serialises writers (``fcntl.flock``)
    corbeille/<slug>--<date>/          deleted workspaces, until the bin is emptied
    identifiants/<slug>                every identifier ever given (never removed: never given twice)
    tmp/                               writes in progress, cleaned at start

Crash safety: objects and manifests are written under ``tmp/`` then moved in place with
``os.replace``; ``HEAD`` is switched last. A writer killed at any instant leaves the previous
version or the new one, never a missing dataset; readers only follow ``HEAD`` to immutable files.
A workspace is listed once its ``workspace.json`` is written, last: a creation that fails (a full
disk) or is killed leaves nothing listed, and its folder is removed at the next start.

Identifiers are never reused: a deleted workspace's identifier stays reserved (``identifiants/``),
so that a journal line always belongs to the workspace that held its identifier. With a named
``user`` (a login, or ``--user``), a new identifier also carries a random part
(``bretagne-4k2m9x``): what a person is given never depends on the workspaces they may not see.

The demo is the read-only workspace ``demo``, generated on first use. The store knows nothing of
sessions or access rules: pages and the command line decide which workspace they read (``data.access``).
Every change (a new version, a restoration, a creation, a deletion, the bin) is written to the
journal (``data.store.journal``) with the ``user`` the caller names, and a change that cannot be
journaled is not made. A new version (and a creation) is journaled just after ``HEAD`` is switched
(``workspace.json`` written), and undone if its line cannot be written; a writer killed between the
two leaves a version without its line, which :func:`reconcile` (at each commit of the workspace and
at start, :func:`cleanup`) writes from the version's manifest: the journal and ``HEAD`` always end
up telling the same versions, each number once. Objects no version refers to (a killed import's)
are collected at start.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import errno
import fcntl
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from data.store import journal
from data import atomic
from data.store.dataset import DEMO_LABEL, KIND_OF_TABLE, TABLES, TABLES_OF_KIND, Dataset, empty_table
from data.store.location import store_dir
from geo.codes import fold

GEO_TABLES = ("communes", "qpv")
DEMO = "demo"
STORE_VERSION = 3  # 3: journaled after the switch (reconciled), creator recorded, identifiers reserved
WRITERS_LOCK = ".ecritures.lock"  # at the store's root (see _writing)
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
IDENTIFIERS = "identifiants"  # at the store's root: one empty file per identifier ever given
NAME_MAX = 80  # characters of a workspace's name
RANDOM_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o nor 1/l: read aloud or copied by hand
RANDOM_LENGTH = 6
RECOVERED = "inscrit au démarrage suivant : l'écriture avait été interrompue juste après l'enregistrement"


class StoreError(Exception):
    """A store operation that cannot be done; the message is French and meant for the user."""


@dataclass(frozen=True)
class Workspace:
    slug: str
    name: str
    region: str
    created: str
    version: int
    changed: str
    read_only: bool = False

    @property
    def label(self) -> str:
        return self.name


# ---------------------------------------------------------------------------------------------
# Paths


def _spaces() -> Path:
    return store_dir() / "espaces"


def _bin() -> Path:
    return store_dir() / "corbeille"


def _tmp() -> Path:
    path = store_dir() / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def space_dir(slug: str) -> Path:
    if not SLUG_RE.match(slug or ""):
        raise StoreError(f"identifiant d'espace « {slug} » invalide.")
    return _spaces() / slug


def slugify(name: str) -> str:
    """``Hauts-de-France 2026`` -> ``hauts-de-france-2026``."""
    s = fold_keep_dashes(name)
    return s[:50].strip("-") or "espace"


def fold_keep_dashes(text: str) -> str:
    import unicodedata

    s = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", s).strip("-")


# ---------------------------------------------------------------------------------------------
# Low-level writes: temporary file, then an atomic move

_writes = [0]  # writes this process made to any store (see :func:`writes`)


def writes() -> int:
    """How many changes this process has made to stores so far: a cache of what it read from the store
    (``components.state``) stays valid as long as this number has not moved (and, for the changes of
    other processes, for the short time that cache allows)."""
    return _writes[0]


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with _writing():
            atomic.write(path, data, tmp_dir=_tmp())
    except OSError as exc:
        raise _disk_error(exc) from exc
    finally:
        _writes[0] += 1


# What was not done, by action: a full disk's message names the action the person asked for.
UNDONE = {
    "import": "l'import n'a pas été enregistré",
    "restauration": "le retour à la version n'a pas été enregistré",
    "création": "l'espace de travail n'a pas été créé",
    "suppression": "l'espace n'a pas été supprimé",
    "restauration depuis la corbeille": "l'espace n'a pas été sorti de la corbeille",
    "vidage de la corbeille": "la corbeille n'a pas été vidée",
}
_doing_now: contextvars.ContextVar[str | None] = contextvars.ContextVar("diag_store_action", default=None)


@contextlib.contextmanager
def _doing(what: str):
    """The action under way (for the words of a failure); an outer action (a creation's first version)
    keeps its own words."""
    token = _doing_now.set(_doing_now.get() or what)
    try:
        yield
    finally:
        _doing_now.reset(token)


def _undone() -> str:
    return UNDONE.get(_doing_now.get() or "import", UNDONE["import"])


def _disk_error(exc: OSError) -> StoreError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreError(f"le disque est plein : {_undone()} et vos données n'ont pas été modifiées. Libérez de la "
                          "place puis recommencez.")
    return StoreError(f"écriture impossible dans le dossier des données ({exc.strerror or exc}) : {_undone()} et "
                      "vos données n'ont pas été modifiées.")


def _journal_line(what: str, user: str, workspace: str, **details) -> None:
    """One line of the journal for a change just made; ``StoreError`` (French) when it cannot be written,
    and the caller undoes the change."""
    try:
        journal.append(what, who=user, workspace=workspace, **details)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StoreError(f"le disque est plein : le journal des actions ne peut pas être écrit, {_undone()} et "
                             "rien n'a été modifié. Libérez de la place puis recommencez.") from exc
        raise StoreError(f"le journal des actions ne peut pas être écrit ({exc.strerror or exc}) : {_undone()} et "
                         "rien n'a été modifié.") from exc


def _json(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, indent=1).encode("utf-8")


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@contextlib.contextmanager
def _journaled(what: str, user: str, workspace: str, **details):
    """Write the journal's line, then let the change happen (a failed change gets a second line)."""
    _journal_line(what, user, workspace, **details)
    try:
        yield
    except Exception as exc:
        with contextlib.suppress(OSError):
            journal.append(what, who=user, workspace=workspace, result="échec", error=str(exc)[:300], **details)
        raise


def _record_files(record: dict) -> list[dict]:
    """The files of an import as the journal keeps them (name and SHA-256 given by the caller)."""
    if record.get("files"):
        return list(record["files"])
    return [{"name": record["file"]}] if record.get("file") else []


@contextlib.contextmanager
def _locked(slug: str):
    """Exclusive lock of one workspace: two imports at the same moment are serialised."""
    folder = space_dir(slug)
    with atomic.locked(folder / ".lock"):
        try:
            yield folder
        finally:
            _writes[0] += 1  # a deletion or an undeletion moves folders without writing a file


@contextlib.contextmanager
def _try_locked(slug: str):
    """:func:`_locked` without waiting: yields ``None`` while another writer holds the workspace."""
    folder = space_dir(slug)
    try:
        fh = open(folder / ".lock", "a+")
    except OSError:
        yield None
        return
    with fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        try:
            yield folder
        finally:
            _writes[0] += 1
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def _writing():
    """Shared lock held while a file of ``tmp/`` is written and moved, and during a whole creation:
    :func:`cleanup` (a server starting) waits for the writes in progress of other processes instead of
    deleting their files. A killed writer's lock goes with it, so its leftovers are cleaned."""
    with atomic.locked(store_dir() / WRITERS_LOCK, shared=True):
        yield


def cleanup() -> int:
    """What interrupted writes left behind, put right (called once when a server starts); returns how many
    files went.

    The temporary folder is emptied and the folders of creations that did not finish are removed (no
    write in progress meanwhile: the writers' lock is ours); then each workspace is reconciled with the
    journal (:func:`reconcile`) and its objects and manifests that no version refers to are removed (a
    workspace being written by another process is left for the next start).
    """
    n = 0
    if store_dir().exists():
        with open(store_dir() / WRITERS_LOCK, "a+") as lock:
            deadline = time.monotonic() + 10
            locked = True
            while True:  # no write in progress once the lock is ours; a stuck writer: clean next time
                try:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        locked = False
                        break
                    time.sleep(0.02)
            if locked:
                tmp = store_dir() / "tmp"
                for p in tmp.iterdir() if tmp.exists() else ():
                    with contextlib.suppress(OSError):
                        shutil.rmtree(p) if p.is_dir() else p.unlink()
                        n += 1
                for p in sorted(_spaces().iterdir()) if _spaces().exists() else ():
                    if p.is_dir() and p.name != DEMO and not (p / "workspace.json").exists():
                        shutil.rmtree(p, ignore_errors=True)  # a creation that failed or was killed
                        _writes[0] += 1
                        n += 1
    entries = None
    for p in sorted(_spaces().iterdir()) if _spaces().exists() else ():
        if not (SLUG_RE.match(p.name) and (p / "workspace.json").exists()):
            continue
        with contextlib.suppress(OSError, ValueError, StoreError), _try_locked(p.name) as folder:
            if folder is None:
                continue
            if entries is None:
                entries = journal.read().entries
            _reconcile_locked(p.name, folder, journal.of_workspace(entries, p.name))
            n += _collect_locked(p.name, folder)
    with contextlib.suppress(OSError, ValueError):
        n_bin = _reconcile_bin(entries)
        _writes[0] += bool(n_bin)
    return n


def _collect_locked(slug: str, folder: Path) -> int:
    """Remove the objects and manifests no version of the workspace refers to (an import killed before
    its switch, or undone); under the workspace's lock. Returns how many files went."""
    current = head(slug)
    refs: set[str] = set()
    for v in range(1, current + 1):
        try:
            refs |= set(_manifest(slug, v).get("tables", {}).values())
        except (OSError, ValueError):
            return 0  # a version that cannot be read: collect nothing rather than too much
    n = 0
    for p in (folder / "versions").glob("*.json"):
        if p.stem.isdigit() and int(p.stem) > current:
            with contextlib.suppress(OSError):
                p.unlink()
                n += 1
    for p in (folder / "objects").glob("*.parquet"):
        if p.stem not in refs:
            with contextlib.suppress(OSError):
                p.unlink()
                n += 1
    with contextlib.suppress(OSError):
        (folder / HEAD_BACKUP).unlink()
    return n


def _version_line(slug: str, manifest: dict, **extra) -> dict:
    """The journal line of a version, from its manifest."""
    action = manifest.get("action") or "import"
    return {"what": action, "user": manifest.get("user", ""), "workspace": slug, "files": _record_files(manifest),
            "version": manifest.get("version"), "kind": manifest.get("kind") or None,
            "vintage": manifest.get("vintage") or None,
            **({"restored": manifest.get("restored")} if action == "restauration" else {}), **extra}


def _versions_journaled(entries: list[dict]) -> dict[int, bool]:
    """For each version number the journal names, whether it stands (a later failure line undoes it)."""
    status: dict[int, bool] = {}
    for e in entries:
        v = e.get("version")
        if isinstance(v, int) and not isinstance(v, bool):  # whatever made it (an import, a scenario adopted…)
            status[v] = e.get("result") != "échec"
    return status


def reconcile(slug: str) -> int:
    """Make the journal tell the workspace's versions as ``HEAD`` does; returns how many lines were written."""
    with _locked(slug) as folder:
        return _reconcile_locked(slug, folder)


def _reconcile_locked(slug: str, folder: Path, entries: list[dict] | None = None) -> int:
    """Under the workspace's lock. A version switched without its journal line (a writer killed between
    the two) gets its line, written from its manifest and marked as recovered; a creation without its
    line gets one from ``workspace.json``; a version the journal names beyond ``HEAD`` (a journal written
    before the switch, by an earlier release, then a kill) gets a line saying it was not recorded. A
    workspace the journal never knew (older than the journal) is left alone."""
    with contextlib.suppress(OSError):
        (folder / HEAD_BACKUP).unlink()
    try:
        w = _read_json(folder / "workspace.json")
    except (OSError, ValueError):
        return 0
    if w.get("read_only"):
        return 0
    entries = journal.read(slug).entries if entries is None else entries
    n = 0
    created = any(e.get("what") == "création" for e in entries)
    if not created and w.get("store_version", 0) >= 3:
        journal.append("création", who=w.get("created_by", ""), workspace=slug, name=w.get("name", slug),
                       region=w.get("region") or None, recovered=RECOVERED)
        created, n = True, n + 1
    status = _versions_journaled(entries)
    if not created and not status:
        return n  # older than the journal
    current = head(slug)
    for v in sorted(v for v, ok in status.items() if ok and v > current):
        journal.append(next((e["what"] for e in reversed(entries) if e.get("version") == v), "import"), who="",
                       workspace=slug, version=v, result="échec",
                       error="version non enregistrée : l'écriture a été interrompue avant la bascule")
        n += 1
    top = max((v for v, ok in status.items() if ok and v <= current), default=0)
    for v in range(top + 1, current + 1):
        line = _version_line(slug, _manifest(slug, v), recovered=RECOVERED)
        journal.append(line.pop("what"), who=line.pop("user"), **line)
        n += 1
    lifecycle: list[str] = []
    for e in entries:
        if e.get("what") in ("création", "suppression", "restauration depuis la corbeille"):
            if e.get("result") != "échec":
                lifecycle.append(e["what"])
            elif lifecycle and lifecycle[-1] == e["what"]:
                lifecycle.pop()  # a failure line takes back its action
    if lifecycle and lifecycle[-1] == "suppression":  # moved back from the bin, then killed before its line
        journal.append("restauration depuis la corbeille", who="", workspace=slug, recovered=RECOVERED)
        n += 1
    return n


def _reconcile_bin(entries: list[dict] | None) -> int:
    """A workspace moved to the bin without its journal line (killed between the two) gets its line."""
    if not _bin().exists():
        return 0
    named = None
    n = 0
    for p in sorted(_bin().iterdir()):
        with contextlib.suppress(OSError, ValueError):
            w = _read_json(p / "workspace.json")
            if w.get("store_version", 0) < 3:
                continue
            if named is None:
                entries = journal.read().entries if entries is None else entries
                named = {e.get("entry") for e in entries if e.get("what") == "suppression"}
            if p.name not in named:
                journal.append("suppression", who="", workspace=w.get("slug", p.name.split("--", 1)[0]),
                               entry=p.name, recovered=RECOVERED)
                n += 1
    return n


# ---------------------------------------------------------------------------------------------
# Tables as content-addressed objects


def table_bytes(name: str, df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    if name in GEO_TABLES:
        gpd.GeoDataFrame(df).to_parquet(buf, index=False, compression="zstd")
    else:
        pd.DataFrame(df).to_parquet(buf, index=False, compression="zstd")
    return buf.getvalue()


def _put_object(folder: Path, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    path = folder / "objects" / f"{sha}.parquet"
    if not path.exists():
        _atomic_write(path, data)
    return sha


def _read_table(folder: Path, name: str, sha: str) -> pd.DataFrame:
    path = folder / "objects" / f"{sha}.parquet"
    return gpd.read_parquet(path) if name in GEO_TABLES else pd.read_parquet(path)


# ---------------------------------------------------------------------------------------------
# Versions


HEAD_BACKUP = "HEAD.avant"  # the previous HEAD while a version's journal line is written


def head(slug: str) -> int:
    """The current version of a workspace (0: created, nothing imported yet)."""
    try:
        return int((space_dir(slug) / "HEAD").read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def _manifest(slug: str, version: int) -> dict:
    if version <= 0:
        return {"version": 0, "tables": {}, "meta": {}}
    return _read_json(space_dir(slug) / "versions" / f"{version:06d}.json")


def exists(slug: str) -> bool:
    if slug == DEMO:
        ensure_demo()  # the demo always exists: generated on first use (a first link may name it)
        return True
    try:
        return (space_dir(slug) / "workspace.json").exists()
    except StoreError:
        return False


def info(slug: str) -> Workspace:
    if slug == DEMO:
        ensure_demo()
    if not exists(slug):
        raise StoreError(f"l'espace de travail « {slug} » n'existe pas.")
    w = _read_json(space_dir(slug) / "workspace.json")
    version = head(slug)
    man = _manifest(slug, version)
    changed = man.get("date", w.get("created", "")) if version else w.get("created", "")
    region = man.get("meta", {}).get("region") or w.get("region", "")
    return Workspace(slug=slug, name=w.get("name", slug), region=region, created=w.get("created", ""),
                     version=version, changed=changed, read_only=bool(w.get("read_only", False)))


def list_workspaces() -> list[Workspace]:
    """Every workspace, the demo first, then by name."""
    ensure_demo()
    out = []
    if _spaces().exists():
        for p in sorted(_spaces().iterdir()):
            if (p / "workspace.json").exists() and SLUG_RE.match(p.name):
                with contextlib.suppress(OSError, ValueError, StoreError):
                    out.append(info(p.name))
    return sorted(out, key=lambda w: (w.slug != DEMO, fold(w.name)))


def find(name_or_slug: str) -> str | None:
    """The slug of a workspace named ``name_or_slug`` (slug, exact name or the name's slug)."""
    if not name_or_slug:
        return None
    for w in list_workspaces():
        if name_or_slug in (w.slug, w.name) or slugify(name_or_slug) == w.slug:
            return w.slug
    return None


def check_name(name: str) -> str:
    """A workspace's name, stripped; ``StoreError`` (French) when empty, too long, or holding a line break or
    an invisible character (a name is shown on one line everywhere, and must read as it is)."""
    name = (name or "").strip()
    if not name:
        raise StoreError("donnez un nom à l'espace de travail.")
    odd = [c for c in name if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]
    if odd:
        what = "de retour à la ligne" if any(c in "\r\n\u2028\u2029\x0b\x0c\x85" for c in odd) else \
            "de caractère invisible ou de contrôle"
        raise StoreError(f"le nom d'un espace de travail tient sur une ligne : il ne peut pas contenir {what}.")
    if len(name) > NAME_MAX:
        raise StoreError(f"le nom de l'espace de travail compte {len(name)} caractères : {NAME_MAX} au plus.")
    return name


def _used_identifiers() -> set[str]:
    """Every identifier given so far: reserved, live, in the bin, or named by the journal (a store older
    than the reservations)."""
    used = {DEMO}
    for folder in (store_dir() / IDENTIFIERS, _spaces()):
        if folder.exists():
            used |= {p.name for p in folder.iterdir()}
    if _bin().exists():
        used |= {p.name.split("--", 1)[0] for p in _bin().iterdir()}
    for e in journal.read().entries:
        used.add(str(e.get("workspace") or ""))
        used |= {str(x) for x in e.get("workspaces") or []}
    return used


def _allocate(base: str, random_part: bool) -> str:
    """A new identifier from ``base``, reserved for good (an empty file created exclusively: two creations
    at the same moment never get the same one). ``random_part``: ``base-4k2m9x``; else ``base``, ``base-2``…"""
    ids = store_dir() / IDENTIFIERS
    ids.mkdir(parents=True, exist_ok=True)
    base = base.strip("-")[:62].strip("-") or "espace"
    used = _used_identifiers()
    for i in range(1, 100_000):
        if random_part:
            tail = "".join(secrets.choice(RANDOM_ALPHABET) for _ in range(RANDOM_LENGTH))
            candidate = f"{base[:62 - RANDOM_LENGTH].strip('-')}-{tail}"
        else:
            candidate = base if i == 1 else f"{base[:62 - len(str(i))].strip('-')}-{i}"
        if candidate in used or not SLUG_RE.match(candidate):
            continue
        try:
            with open(ids / candidate, "x"):
                pass
        except FileExistsError:
            continue
        return candidate
    raise StoreError("aucun identifiant libre pour ce nom : choisissez-en un autre.")


def created_by(user: str) -> int:
    """How many workspaces ``user`` created that still take room (live or in the bin)."""
    user = (user or "").strip().lower()
    n = 0
    for folder in (_spaces(), _bin()):
        for p in folder.iterdir() if folder.exists() else ():
            with contextlib.suppress(OSError, ValueError):
                n += str(_read_json(p / "workspace.json").get("created_by", "")).lower() == user
    return n


def create(name: str, region: str = "", read_only: bool = False, slug: str | None = None, user: str = "") -> str:
    """A new, empty workspace; returns its identifier (never given before). ``user``: who creates it
    (journal); a named user's identifier carries a random part. ``slug``: the identifier wished for
    (``-2``, ``-3``… added when it was already given)."""
    return _create(name, region, read_only, slug, user)


def _create(name: str, region: str, read_only: bool, slug: str | None, user: str, first=None) -> str:
    """A creation that either lists a whole workspace or leaves nothing listed: the folder is filled
    (``first(slug, folder)``: its first version, without a journal line), ``workspace.json`` is written
    last, then the journal's lines; any failure removes the folder (its identifier stays reserved)."""
    name = check_name(name)
    with _doing("création"):
        try:
            with _writing():
                slug = _allocate(slug or slugify(name), random_part=bool(user) and slug is None)
                folder = space_dir(slug)
                try:
                    with _locked(slug):
                        if first is not None:
                            first(slug, folder)
                        w = {"slug": slug, "name": name, "region": region, "read_only": read_only,
                             "created": _now(), "created_by": user or "", "store_version": STORE_VERSION}
                        _atomic_write(folder / "workspace.json", _json(w))
                        _journal_line("création", user, slug, name=name, region=region or None)
                        if head(slug):
                            line = _version_line(slug, _manifest(slug, head(slug)))
                            _journal_line(line.pop("what"), line.pop("user"), **line)
                except BaseException:
                    shutil.rmtree(folder, ignore_errors=True)
                    _writes[0] += 1
                    raise
        except OSError as exc:
            raise _disk_error(exc) from exc
    return slug


def create_from_referentiel(name: str, region: str, user: str = "") -> str:
    """A new workspace already holding the official référentiel of ``region`` (shipped, offline)."""
    from data import referentiel

    regions = referentiel.regions() if referentiel.available() else {}
    if region not in regions:
        raise StoreError(f"la région « {region} » n'est pas dans le référentiel officiel livré avec l'outil.")
    communes = referentiel.region_communes(region)
    label, year = referentiel.sources_label(), str(referentiel.meta().get("millesime", ""))
    ds = Dataset.empty().replace(communes=communes)
    ds.meta = {"region": region, "vintages": {"communes": year}, "sources": {"communes": label},
               "referentiel_officiel": True}
    record = {"action": "référentiel officiel", "kind": "communes", "file": label, "vintage": year,
              "counts": {"lus": len(communes), "gardes": len(communes)}}

    def first(slug: str, folder: Path) -> None:
        _commit_locked(slug, folder, ds, record, ("communes",), user, log=False)

    return _create(name, region, False, None, user, first)


def _now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


def commit(slug: str, ds: Dataset, record: dict, base_version: int | None = None,
           changed: tuple[str, ...] | None = None, user: str = "") -> int:
    """Record ``ds`` as a new version of the workspace; returns its number.

    Parameters
    ----------
    ds : the dataset to record
    record : what the history shows (``action``, ``kind``, ``file``, ``counts``, ``vintage``)
    changed : tables to write (others are taken from the current version, not copied); ``None``: all
        present tables
    base_version : ignored when ``changed`` is given: the change is applied on the latest version, so
        that two concurrent imports both end up recorded
    """
    with _doing("restauration" if record.get("action") == "restauration" else "import"), _locked(slug) as folder:
        return _commit_locked(slug, folder, ds, record, changed, user)


def _switch_head(folder: Path, slug: str, version: int, line: dict | None) -> None:
    """Switch ``HEAD`` to ``version``, then write the version's journal ``line``; when the line cannot be
    written, ``HEAD`` goes back to the previous version (kept as a hard link meanwhile) and the change is
    refused (``StoreError``). A writer killed between the two: :func:`reconcile` writes the line."""
    head_file, backup = folder / "HEAD", folder / HEAD_BACKUP
    with contextlib.suppress(FileNotFoundError):
        backup.unlink()
    had = head_file.exists()
    previous = None
    if had and line is not None:
        try:
            os.link(head_file, backup)
        except OSError:
            previous = head_file.read_bytes()
    try:
        _atomic_write(head_file, f"{version}\n".encode())
        if line is not None:
            line = dict(line)
            try:
                _journal_line(line.pop("what"), line.pop("user"), **line)
            except StoreError:
                with contextlib.suppress(OSError):  # back to the previous version
                    if not had:
                        head_file.unlink()
                    elif previous is None:
                        os.replace(backup, head_file)
                    else:
                        atomic.write(head_file, previous, tmp_dir=_tmp())
                    atomic.fsync_dir(folder)
                _writes[0] += 1
                raise
    finally:
        with contextlib.suppress(OSError):
            backup.unlink()


def _commit_locked(slug: str, folder: Path, ds: Dataset, record: dict, changed: tuple[str, ...] | None,
                   user: str, log: bool = True) -> int:
    if log:
        _reconcile_locked(slug, folder)  # a version a killed writer switched gets its line before the next
    current = head(slug)
    prev = _manifest(slug, current)
    tables = dict(prev.get("tables", {}))
    names = changed if changed is not None else tuple(t for t in TABLES if t in ds.present)
    for name in names:
        tables[name] = _put_object(folder, table_bytes(name, getattr(ds, name)))
    meta = {**prev.get("meta", {}), **{k: v for k, v in ds.meta.items() if k in ("region", "demo", "seed")}}
    if changed is None or "communes" in changed:  # an imported référentiel replaces the official one
        meta["referentiel_officiel"] = bool(ds.meta.get("referentiel_officiel"))
    if changed is None:
        kinds = set(ds.meta.get("vintages", {})) | set(ds.meta.get("sources", {}))
        meta["vintages"], meta["sources"] = {}, {}
    else:  # only the changed kinds: a concurrent import's vintage of another kind is kept
        kinds = {KIND_OF_TABLE[t] for t in changed}
    for key in ("vintages", "sources"):
        meta[key] = {**meta.get(key, {}), **{k: v for k, v in ds.meta.get(key, {}).items() if k in kinds}}
    version = current + 1
    manifest = {"version": version, "date": _now(), "user": user, **record, "tables": tables, "meta": meta}
    _atomic_write(folder / "versions" / f"{version:06d}.json", _json(manifest))
    _switch_head(folder, slug, version, _version_line(slug, manifest) if log else None)
    return version


def load(slug: str, version: int | None = None) -> Dataset:
    """A workspace's dataset at its current version (or at ``version``)."""
    if slug == DEMO:
        ensure_demo()
    w = info(slug)
    v = w.version if version is None else version
    man = _manifest(slug, v)
    folder = space_dir(slug)
    tables = {name: _read_table(folder, name, sha) for name, sha in man.get("tables", {}).items()}
    values = {name: tables.get(name, empty_table(name)) for name in TABLES}
    meta = {**man.get("meta", {}), "slug": slug, "name": w.name, "version": v, "read_only": w.read_only}
    if not meta.get("region"):
        meta["region"] = w.region
    if slug == DEMO:
        meta["demo"] = True
    return Dataset(**values, meta=meta, present=frozenset(tables))


def stamp(slug: str) -> str:
    """A cheap value that changes whenever the workspace changes (a cache key)."""
    if slug == DEMO:
        ensure_demo()
    return f"{slug}@{head(slug)}"


def history(slug: str) -> list[dict]:
    """The versions, oldest first: ``version, date, action, kind, file, counts, vintage, user``."""
    out = []
    for v in range(1, head(slug) + 1):
        m = _manifest(slug, v)
        out.append({**{k: m.get(k, "") for k in ("version", "date", "action", "kind", "file", "vintage", "user")},
                    "counts": m.get("counts") or {}})
    return out


def restore(slug: str, version: int, user: str = "") -> int:
    """Make an earlier version current again, as a new version (nothing is erased)."""
    _writable(slug)
    current = head(slug)
    if not 1 <= version <= current:
        raise StoreError(f"la version {version} n'existe pas (versions 1 à {current}).")
    old = _manifest(slug, version)
    with _doing("restauration"), _locked(slug) as folder:
        _reconcile_locked(slug, folder)
        current = head(slug)
        new = current + 1
        manifest = {**old, "version": new, "date": _now(), "user": user, "action": "restauration",
                    "kind": "", "file": f"version {version}", "files": [], "counts": {}, "vintage": "",
                    "restored": version}
        _atomic_write(folder / "versions" / f"{new:06d}.json", _json(manifest))
        _switch_head(folder, slug, new, _version_line(slug, manifest))
        return new


def _writable(slug: str) -> None:
    w = info(slug)
    if w.read_only:
        raise StoreError(f"l'espace « {w.name} » est en lecture seule : créez votre propre espace de travail "
                         "(page Données) pour y importer vos fichiers.")


def import_tables(slug: str, ds: Dataset, kind: str, record: dict, user: str = "") -> int:
    """Record an accepted import of ``kind`` into the workspace (its tables only)."""
    _writable(slug)
    return commit(slug, ds, {"action": "import", **record}, changed=TABLES_OF_KIND[kind], user=user)


def delete(slug: str, user: str = "") -> str:
    """Move a workspace to the bin (it can be brought back until the bin is emptied); returns the
    bin's entry. The move is journaled just after it is made, and undone if its line cannot be written."""
    if slug == DEMO:
        raise StoreError("l'espace de démonstration ne peut pas être supprimé.")
    if not exists(slug):
        raise StoreError(f"l'espace de travail « {slug} » n'existe pas.")
    _bin().mkdir(parents=True, exist_ok=True)
    target = _bin() / f"{slug}--{dt.datetime.now():%Y%m%d-%H%M%S-%f}"
    with _doing("suppression"), _locked(slug) as folder:
        os.replace(folder, target)
        try:
            _journal_line("suppression", user, slug, entry=target.name)
        except StoreError:
            os.replace(target, folder)
            raise
    return target.name


def bin_content() -> list[dict]:
    """Deleted workspaces: ``entry`` (folder name), ``slug``, ``name``, ``deleted`` (date)."""
    out = []
    if _bin().exists():
        for p in sorted(_bin().iterdir()):
            with contextlib.suppress(OSError, ValueError):
                w = _read_json(p / "workspace.json")
                out.append({"entry": p.name, "slug": w.get("slug", ""), "name": w.get("name", ""),
                            "deleted": p.name.split("--", 1)[-1]})
    return out


def undelete(entry: str, user: str = "") -> str:
    """Bring a workspace back from the bin (under a new identifier if its own was taken meanwhile, which
    only a store older than the reservations allows)."""
    src = _bin() / entry
    if "/" in entry or not src.exists():
        raise StoreError("cet espace n'est plus dans la corbeille.")
    w = _read_json(src / "workspace.json")
    slug = w["slug"]
    former = entry.split("--", 1)[0]
    with _doing("restauration depuis la corbeille"):
        if exists(slug):  # its identifier was taken meanwhile: a new one (nothing created, nothing journaled)
            slug = _allocate(slugify(w["name"] + " (restauré)"), random_part=False)
            w["slug"] = slug
        _spaces().mkdir(parents=True, exist_ok=True)
        os.replace(src, space_dir(slug))
        try:
            if w["slug"] != former:
                _atomic_write(space_dir(slug) / "workspace.json", _json(w))
            _journal_line("restauration depuis la corbeille", user, slug, entry=entry,
                          former_slug=former if slug != former else None)
        except StoreError:
            os.replace(space_dir(slug), src)
            raise
    _writes[0] += 1
    return slug


def empty_bin(user: str = "") -> int:
    """Erase the bin for good; returns how many workspaces went. One journal line per workspace, under
    its own identifier: a workspace's journal names no other team's workspace."""
    n = 0
    if _bin().exists():
        entries = sorted(p.name for p in _bin().iterdir())
        with _doing("vidage de la corbeille"):
            for name in entries:
                with _journaled("vidage de la corbeille", user, name.split("--", 1)[0], entry=name):
                    shutil.rmtree(_bin() / name, ignore_errors=True)
                    n += 1
                    _writes[0] += 1
    return n


def size_bytes(slug: str) -> int:
    return sum(p.stat().st_size for p in space_dir(slug).rglob("*") if p.is_file())


# ---------------------------------------------------------------------------------------------
# The demo workspace


def ensure_demo() -> None:
    """Generate the read-only demo workspace on first use (again when the generator changes)."""
    from data import demo

    folder = _spaces() / DEMO
    if (folder / "workspace.json").exists():
        with contextlib.suppress(OSError, ValueError):
            if _manifest(DEMO, head(DEMO)).get("generator") == demo.GENERATOR_VERSION:
                return
    with _locked(DEMO):
        if (folder / "workspace.json").exists() and head(DEMO):
            with contextlib.suppress(OSError, ValueError):
                if _manifest(DEMO, head(DEMO)).get("generator") == demo.GENERATOR_VERSION:
                    return
        ds = demo.generate()
        if not (folder / "workspace.json").exists():
            _atomic_write(folder / "workspace.json", _json({"slug": DEMO, "name": DEMO_LABEL, "region": demo.REGION,
                                                            "read_only": True, "created": _now(),
                                                            "store_version": STORE_VERSION}))
        _commit_locked(DEMO, folder, ds, {"action": "génération", "kind": "", "file": "générateur de démonstration",
                                          "counts": {}, "vintage": "", "generator": demo.GENERATOR_VERSION},
                       None, "", log=False)


__all__ = ["DEMO", "StoreError", "Workspace", "store_dir", "slugify", "list_workspaces", "find", "create",
           "create_from_referentiel", "exists", "check_name", "created_by", "reconcile",
           "info", "load", "stamp", "history", "restore", "import_tables", "commit", "delete", "bin_content",
           "undelete", "empty_bin", "cleanup", "head"]
