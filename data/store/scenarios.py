"""Where a workspace keeps its scenarios (« scénarios ») of the facilitators' network.

A scenario is a named list of operations (``geo.scenario``) on the facilitator data of one version of the
workspace (its *base version*); it never changes the imported data. It lives in the workspace's folder::

    espaces/<slug>/scenarios/<id>.json      one file per scenario, written atomically
    espaces/<slug>/scenarios/corbeille/     deleted scenarios, until the workspace is deleted

A scenario's file holds its ``nom``, ``base_version``, ``operations`` (every operation ever kept, in order),
``position`` (how many of them are applied: undo moves it back, redo forward, a new operation after an undo
drops the undone ones) and ``log`` (its history: who did what, when). Every change is written to the journal of
actions (``data.store.journal``) before it is made; a change that cannot be journaled is not made.

Nothing here checks an operation: ``data.scenarios`` applies them to the network (``geo.scenario``) and
calls these functions only with operations that apply. Nothing here knows Streamlit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import os
import re
from pathlib import Path

from data import atomic
from data.store import journal
from data.store.workspaces import StoreError, exists, slugify, space_dir

FOLDER = "scenarios"
BIN = "corbeille"
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
MAX_NAME = 120
MAX_OPERATIONS = 5000


def _folder(slug: str) -> Path:
    if not exists(slug):
        raise StoreError(f"l'espace de travail « {slug} » n'existe pas.")
    return space_dir(slug) / FOLDER


def _now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


def _path(slug: str, sid: str) -> Path:
    if not ID_RE.match(sid or ""):
        raise StoreError(f"identifiant de scénario « {sid} » invalide.")
    return _folder(slug) / f"{sid}.json"


@contextlib.contextmanager
def _locked(slug: str):
    """One writer of a workspace's scenarios at a time (two tabs editing the same scenario take turns)."""
    folder = _folder(slug)
    with atomic.locked(folder / ".lock"):
        yield folder


def _write(path: Path, record: dict) -> None:
    try:
        atomic.write(path, json.dumps(record, ensure_ascii=False, indent=1, default=str).encode("utf-8"))
    except OSError as exc:
        raise _disk_error(exc) from exc


def _disk_error(exc: OSError) -> StoreError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreError("le disque est plein : le scénario n'a pas été enregistré et rien n'a été modifié. "
                          "Libérez de la place puis recommencez.")
    return StoreError(f"écriture impossible dans le dossier des données ({exc.strerror or exc}) : rien n'a été "
                      "modifié.")


def _journal(what: str, user: str, slug: str, **details) -> None:
    try:
        journal.append(what, who=user, workspace=slug, **{k: v for k, v in details.items() if v is not None})
    except OSError as exc:
        raise StoreError("le journal des actions ne peut pas être écrit : rien n'a été modifié.") from exc


@contextlib.contextmanager
def _journaled(what: str, user: str, slug: str, **details):
    """The journal's line first, then the change; a change that fails gets a second line saying so."""
    _journal(what, user, slug, **details)
    try:
        yield
    except Exception as exc:
        with contextlib.suppress(OSError, StoreError):
            _journal(what, user, slug, result="échec", error=str(exc)[:300], **details)
        raise


def _clean_name(name: str) -> str:
    text = " ".join(str(name or "").split())
    if not text:
        raise StoreError("donnez un nom au scénario.")
    if len(text) > MAX_NAME:
        raise StoreError(f"le nom du scénario est trop long ({len(text)} caractères, {MAX_NAME} au plus).")
    return text


def read(slug: str, sid: str) -> dict:
    path = _path(slug, sid)
    if not path.exists():
        raise StoreError(f"le scénario « {sid} » n'existe pas dans cet espace.")
    return json.loads(path.read_text(encoding="utf-8"))


def list_all(slug: str) -> list[dict]:
    """The workspace's scenarios, most recently changed first: ``slug``, ``nom``, ``base_version``,
    ``operations`` (applied), ``annulables``, ``retablissables``, ``modifie`` (date), ``cree``, ``auteur``."""
    folder = _folder(slug)
    out = []
    if folder.exists():
        for p in folder.glob("*.json"):
            with contextlib.suppress(OSError, ValueError):
                out.append(summary(json.loads(p.read_text(encoding="utf-8"))))
    return sorted(out, key=lambda s: (s["modifie"], s["slug"]), reverse=True)


def summary(record: dict) -> dict:
    ops, position = record.get("operations", []), int(record.get("position", 0))
    return {"slug": record["id"], "nom": record["nom"], "base_version": int(record["base_version"]),
            "operations": position, "annulables": position, "retablissables": len(ops) - position,
            "modifie": record.get("updated", ""), "cree": record.get("created", ""),
            "auteur": record.get("author", "")}


def find(slug: str, name_or_id: str) -> str | None:
    """A scenario's identifier from its identifier, its exact name or its name's slug."""
    if not name_or_id:
        return None
    for s in list_all(slug):
        if name_or_id in (s["slug"], s["nom"]) or slugify(name_or_id) == s["slug"]:
            return s["slug"]
    return None


def applied(record: dict) -> list[dict]:
    """The operations in force (those not undone)."""
    return list(record.get("operations", []))[: int(record.get("position", 0))]


def create(slug: str, name: str, base_version: int, operations: list[dict] | None = None, user: str = "",
           origin: str | None = None) -> str:
    """A new scenario on ``base_version``; returns its identifier (unique in the workspace)."""
    name = _clean_name(name)
    operations = list(operations or [])
    with _locked(slug) as folder:
        base = slugify(name)[:40].strip("-") or "scenario"
        sid, i = base, 1
        taken = {p.stem for p in folder.glob("*.json")} | {p.name.split("--", 1)[0] for p in (folder / BIN).glob("*")}
        while sid in taken:
            i += 1
            sid = f"{base}-{i}"
        now = _now()
        record = {"id": sid, "nom": name, "base_version": int(base_version), "created": now, "updated": now,
                  "author": user, "operations": operations, "position": len(operations),
                  "log": [{"date": now, "par": user, "action": "création" if origin is None else "copie",
                           "detail": origin or f"sur la version {base_version}", "operations": len(operations)}]}
        with _journaled("scénario créé", user, slug, scenario=sid, name=name, base_version=int(base_version),
                        operations=len(operations) or None, origin=origin):
            _write(folder / f"{sid}.json", record)
    return sid


def _change(slug: str, sid: str, user: str, what: str, change, **details) -> dict:
    with _locked(slug):
        record = read(slug, sid)
        change(record)
        now = _now()
        record["updated"] = now
        record.setdefault("log", []).append({"date": now, "par": user, "action": what,
                                             **{k: v for k, v in details.items() if v is not None}})
        with _journaled(f"scénario : {what}", user, slug, scenario=sid, **details):
            _write(_path(slug, sid), record)
        return record


def add_operations(slug: str, sid: str, operations: list[dict], user: str = "") -> dict:
    """Keep ``operations`` after those in force (the undone ones are dropped: a new branch)."""
    def change(record):
        kept = applied(record) + list(operations)
        if len(kept) > MAX_OPERATIONS:
            raise StoreError(f"un scénario garde au plus {MAX_OPERATIONS} opérations.")
        record["operations"], record["position"] = kept, len(kept)

    return _change(slug, sid, user, "opération", change, operations=len(operations),
                   detail="; ".join(str(op.get("action", "")) for op in operations)[:300])


def undo(slug: str, sid: str, user: str = "") -> dict:
    def change(record):
        if int(record.get("position", 0)) == 0:
            raise StoreError("rien à annuler : aucune opération n'est appliquée.")
        record["position"] = int(record["position"]) - 1

    return _change(slug, sid, user, "annulation", change)


def redo(slug: str, sid: str, user: str = "") -> dict:
    def change(record):
        if int(record.get("position", 0)) >= len(record.get("operations", [])):
            raise StoreError("rien à rétablir.")
        record["position"] = int(record["position"]) + 1

    return _change(slug, sid, user, "rétablissement", change)


def rename(slug: str, sid: str, name: str, user: str = "") -> dict:
    name = _clean_name(name)

    def change(record):
        record["nom"] = name

    return _change(slug, sid, user, "renommage", change, name=name)


def note_adopted(slug: str, sid: str, version: int, user: str = "") -> dict:
    def change(record):
        record["adopted"] = {"version": int(version), "date": _now()}

    return _change(slug, sid, user, "adoption", change, version=int(version))


def delete(slug: str, sid: str, user: str = "") -> str:
    """Move a scenario to the workspace's scenario bin; returns the bin's entry."""
    with _locked(slug) as folder:
        record = read(slug, sid)
        (folder / BIN).mkdir(exist_ok=True)
        entry = f"{sid}--{dt.datetime.now():%Y%m%d-%H%M%S-%f}.json"
        with _journaled("scénario supprimé", user, slug, scenario=sid, name=record.get("nom"), entry=entry):
            try:
                os.replace(_path(slug, sid), folder / BIN / entry)
            except OSError as exc:
                raise _disk_error(exc) from exc
        atomic.fsync_dir(folder)
    return entry


def bin_content(slug: str) -> list[dict]:
    """Deleted scenarios: ``entry``, ``slug``, ``nom``, ``supprime`` (date)."""
    folder = _folder(slug) / BIN
    out = []
    if folder.exists():
        for p in sorted(folder.glob("*.json")):
            with contextlib.suppress(OSError, ValueError):
                r = json.loads(p.read_text(encoding="utf-8"))
                out.append({"entry": p.name, "slug": r.get("id", ""), "nom": r.get("nom", ""),
                            "supprime": p.stem.split("--", 1)[-1]})
    return out


def undelete(slug: str, entry: str, user: str = "") -> str:
    """Bring a scenario back from the bin (under a new identifier if its own was taken meanwhile)."""
    with _locked(slug) as folder:
        src = folder / BIN / entry
        if "/" in entry or not src.exists():
            raise StoreError("ce scénario n'est plus dans la corbeille.")
        record = json.loads(src.read_text(encoding="utf-8"))
        sid, i = record["id"], 1
        base = sid
        while (folder / f"{sid}.json").exists():
            i += 1
            sid = f"{base}-{i}"
        record["id"] = sid
        with _journaled("scénario sorti de la corbeille", user, slug, scenario=sid, entry=entry):
            _write(folder / f"{sid}.json", record)
            src.unlink()
    return sid
