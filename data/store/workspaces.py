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
    tmp/                               writes in progress, cleaned at start

Crash safety: objects and manifests are written under ``tmp/`` then moved in place with
``os.replace``; ``HEAD`` is switched last. A writer killed at any instant leaves the previous
version or the new one, never a missing dataset; readers only follow ``HEAD`` to immutable files.

The demo is the read-only workspace ``demo``, generated on first use. The store knows nothing of
sessions or access rules: pages and the command line decide which workspace they read (``data.access``).
Every change (a new version, a restoration, a creation, a deletion, the bin) is first written to the
journal (``data.store.journal``) with the ``user`` the caller names: a change that cannot be journaled
is not made, and one that fails after its line was written gets a second line saying so.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import time
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
STORE_VERSION = 2
WRITERS_LOCK = ".ecritures.lock"  # at the store's root (see _writing)
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


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


def _disk_error(exc: OSError) -> StoreError:
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreError("le disque est plein : l'import n'a pas été enregistré et vos données n'ont pas "
                          "été modifiées. Libérez de la place puis recommencez.")
    return StoreError(f"écriture impossible dans le dossier des données ({exc.strerror or exc}) : vos données "
                      "n'ont pas été modifiées.")


def _json(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, indent=1).encode("utf-8")


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@contextlib.contextmanager
def _journaled(what: str, user: str, workspace: str, **details):
    """Write the journal's line, then let the change happen (a failed change gets a second line)."""
    try:
        journal.append(what, who=user, workspace=workspace, **details)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StoreError("le disque est plein : le journal des actions ne peut pas être écrit, rien n'a été "
                             "modifié. Libérez de la place puis recommencez.") from exc
        raise StoreError(f"le journal des actions ne peut pas être écrit ({exc.strerror or exc}) : rien n'a été "
                         "modifié.") from exc
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
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield folder
        finally:
            _writes[0] += 1  # a deletion or an undeletion moves folders without writing a file
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def _writing():
    """Shared lock held while a file of ``tmp/`` is written and moved: :func:`cleanup` (a server
    starting) waits for the writes in progress of other processes instead of deleting their files.
    A killed writer's lock goes with it, so its leftovers are cleaned."""
    with open(store_dir() / WRITERS_LOCK, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_SH)
        yield


def cleanup() -> int:
    """Remove what interrupted writes left behind (called at start); returns how many files went."""
    tmp = store_dir() / "tmp"
    n = 0
    if tmp.exists():
        with open(store_dir() / WRITERS_LOCK, "a+") as lock:
            deadline = time.monotonic() + 10
            while True:  # no write in progress once the lock is ours; a stuck writer: clean next time
                try:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        return 0
                    time.sleep(0.02)
            for p in tmp.iterdir():
                with contextlib.suppress(OSError):
                    shutil.rmtree(p) if p.is_dir() else p.unlink()
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


def create(name: str, region: str = "", read_only: bool = False, slug: str | None = None, user: str = "") -> str:
    """A new, empty workspace; returns its slug (made unique). ``user``: who creates it (journal)."""
    name = (name or "").strip()
    if not name:
        raise StoreError("donnez un nom à l'espace de travail.")
    base = slug or slugify(name)
    slug, i = base, 1
    while exists(slug) or (space_dir(slug)).exists():
        i += 1
        slug = f"{base}-{i}"
    folder = space_dir(slug)
    w = {"slug": slug, "name": name, "region": region, "read_only": read_only,
         "created": _now(), "store_version": STORE_VERSION}
    with _journaled("création", user, slug, name=name, region=region or None):
        folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(folder / "workspace.json", _json(w))
    return slug


def create_from_referentiel(name: str, region: str, user: str = "") -> str:
    """A new workspace already holding the official référentiel of ``region`` (shipped, offline)."""
    from data import referentiel

    regions = referentiel.regions() if referentiel.available() else {}
    if region not in regions:
        raise StoreError(f"la région « {region} » n'est pas dans le référentiel officiel livré avec l'outil.")
    communes = referentiel.region_communes(region)
    slug = create(name, region=region, user=user)
    label, year = referentiel.sources_label(), str(referentiel.meta().get("millesime", ""))
    ds = Dataset.empty().replace(communes=communes)
    ds.meta = {"region": region, "vintages": {"communes": year}, "sources": {"communes": label},
               "referentiel_officiel": True}
    commit(slug, ds, {"action": "référentiel officiel", "kind": "communes", "file": label, "vintage": year,
                      "counts": {"lus": len(communes), "gardes": len(communes)}}, changed=("communes",), user=user)
    return slug


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
    with _locked(slug) as folder:
        return _commit_locked(slug, folder, ds, record, changed, user)


def _commit_locked(slug: str, folder: Path, ds: Dataset, record: dict, changed: tuple[str, ...] | None,
                   user: str, log: bool = True) -> int:
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
    with (_journaled(record.get("action") or "import", user, slug, files=_record_files(record), version=version,
                     kind=record.get("kind") or None, vintage=record.get("vintage") or None)
          if log else contextlib.nullcontext()):
        _atomic_write(folder / "HEAD", f"{version}\n".encode())
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
    with _locked(slug) as folder:
        current = head(slug)
        new = current + 1
        manifest = {**old, "version": new, "date": _now(), "user": user, "action": "restauration",
                    "kind": "", "file": f"version {version}", "counts": {}, "vintage": "", "restored": version}
        _atomic_write(folder / "versions" / f"{new:06d}.json", _json(manifest))
        with _journaled("restauration", user, slug, version=new, restored=version):
            _atomic_write(folder / "HEAD", f"{new}\n".encode())
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
    bin's entry."""
    if slug == DEMO:
        raise StoreError("l'espace de démonstration ne peut pas être supprimé.")
    if not exists(slug):
        raise StoreError(f"l'espace de travail « {slug} » n'existe pas.")
    _bin().mkdir(parents=True, exist_ok=True)
    target = _bin() / f"{slug}--{dt.datetime.now():%Y%m%d-%H%M%S-%f}"
    with _locked(slug) as folder, _journaled("suppression", user, slug, entry=target.name):
        os.replace(folder, target)
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
    """Bring a workspace back from the bin (under a new slug if its own was taken meanwhile)."""
    src = _bin() / entry
    if "/" in entry or not src.exists():
        raise StoreError("cet espace n'est plus dans la corbeille.")
    w = _read_json(src / "workspace.json")
    slug = w["slug"]
    if exists(slug):  # its identifier was taken meanwhile: a new one (nothing created, nothing journaled)
        base, i = slugify(w["name"] + " (restauré)"), 1
        slug = base
        while exists(slug) or space_dir(slug).exists():
            i += 1
            slug = f"{base}-{i}"
        w["slug"] = slug
    _spaces().mkdir(parents=True, exist_ok=True)
    with _journaled("restauration depuis la corbeille", user, slug, entry=entry,
                    former_slug=entry.split("--", 1)[0] if slug != entry.split("--", 1)[0] else None):
        os.replace(src, space_dir(slug))
        _atomic_write(space_dir(slug) / "workspace.json", _json(w))
    return slug


def empty_bin(user: str = "") -> int:
    """Erase the bin for good; returns how many workspaces went."""
    n = 0
    if _bin().exists():
        entries = sorted(p.name for p in _bin().iterdir())
        if not entries:
            return 0
        with _journaled("vidage de la corbeille", user, "", entries=entries,
                        workspaces=sorted({e.split("--", 1)[0] for e in entries})):
            for name in entries:
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
           "create_from_referentiel", "exists",
           "info", "load", "stamp", "history", "restore", "import_tables", "commit", "delete", "bin_content",
           "undelete", "empty_bin", "cleanup", "head"]
