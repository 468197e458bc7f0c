"""The journal: who did what to which workspace, append-only, in ``<store>/journal.jsonl``.

One JSON object per line, never rewritten::

    {"when": "2026-03-02T10:15:07+01:00", "who": "a.b@dreets.gouv.fr", "what": "import",
     "workspace": "hauts-de-france-2026", "files": [{"name": "qpv.geojson", "sha256": "…", "bytes": 123}],
     "version": 4, "kind": "qpv", "system_user": "www-data"}

``what`` is one of :data:`ACTIONS` (French, as shown on the Données page). ``who`` is the logged-in
e-mail, or ``""`` when no login is configured (a single person on their machine, or the command line
without ``--user``); ``system_user`` names the operating-system account that ran the process.

Each line is written with one ``write`` on a descriptor opened with ``O_APPEND``, under an
exclusive ``flock``, and then ``fsync``-ed: concurrent writers (several server sessions, the command
line) never interleave inside a line, and a line that was reported written survives a power cut. A process killed in
the middle of a write can leave one incomplete last line: readers skip it (and count it), and the
next line starts on a line of its own.

The store calls :func:`append` itself (``data.store.workspaces``: imports and every other new
version, restorations, creation, deletion, the bin; ``data.access``: changes of access), so that no
page or command can change data without a line here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import getpass
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from data.store.location import store_dir

FILE_NAME = "journal.jsonl"
ACTIONS = {
    "création": "création d'un espace",
    "import": "import d'un fichier",
    "référentiel officiel": "référentiel officiel de la région",
    "restauration": "retour à une version",
    "suppression": "espace placé dans la corbeille",
    "restauration depuis la corbeille": "espace sorti de la corbeille",
    "vidage de la corbeille": "corbeille vidée",
    "droits d'accès": "membres et rôles modifiés",
}
COLUMNS = {"when": "Date", "who": "Par", "what": "Action", "workspace": "Espace", "version": "Version",
           "kind": "Type", "file": "Fichier", "sha256": "Empreinte SHA-256", "details": "Détails"}


def path() -> Path:
    return store_dir() / FILE_NAME


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def _system_user() -> str:
    with contextlib.suppress(Exception):
        return getpass.getuser()
    return ""


def file_entry(name: str, data: bytes) -> dict:
    """What the journal keeps of a file: its name, SHA-256 and size."""
    return {"name": str(name), "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def file_entry_of_path(p: str | os.PathLike) -> list[dict]:
    """:func:`file_entry` of a file on disk, read in blocks; a folder gives one entry per file in it."""
    p = Path(p)
    files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    out = []
    for f in files:
        h, n = hashlib.sha256(), 0
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
                n += len(block)
        out.append({"name": f.name if not p.is_dir() else str(f.relative_to(p.parent)), "sha256": h.hexdigest(),
                    "bytes": n})
    return out


def append(what: str, *, who: str | None = "", workspace: str = "", files: list[dict] | None = None,
           **details) -> dict:
    """Write one event at the end of the journal and return it.

    Raises ``OSError`` when the line cannot be written (the caller decides what that means: the
    store refuses the change it was about to make).
    """
    entry = {"when": _now(), "who": who or "", "what": what, "workspace": workspace,
             "files": [dict(f) for f in (files or [])],
             **{k: v for k, v in details.items() if v is not None}, "system_user": _system_user()}
    line = (json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str) + "\n").encode("utf-8")
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True)
    created = not target.exists()
    fd = os.open(target, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # writers of this journal take turns (the lock goes with the close)
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            line = b"\n" + line  # after a line cut by a crash: start a new line, do not glue to it
        view = memoryview(line)
        while view:  # one write in practice; a short write continues at the (appended) end
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        with contextlib.suppress(OSError):
            dfd = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
    return entry


@dataclass
class Read:
    entries: list[dict] = field(default_factory=list)
    unreadable: int = 0  # lines that are not JSON (a write cut by a crash)


def read(workspace: str | None = None) -> Read:
    """Every event, oldest first; only those of ``workspace`` when given (:func:`of_workspace`)."""
    out = Read()
    target = path()
    if not target.exists():
        return out
    with open(target, "rb") as fh:
        for raw in fh:
            if not raw.strip():
                continue
            try:
                entry = json.loads(raw)
                if not isinstance(entry, dict):
                    raise ValueError
            except ValueError:
                out.unreadable += 1
                continue
            out.entries.append(entry)
    if workspace is not None:
        out.entries = of_workspace(out.entries, workspace)
    return out


def of_workspace(entries: list[dict], workspace: str) -> list[dict]:
    """The events of the workspace that holds the identifier ``workspace`` now.

    Identifiers are never given twice (``data.store.workspaces``), but a store older than that rule may
    have given one again: the lines before the last creation under the identifier belong to an earlier
    workspace and are left out. A line about several workspaces (the bin emptied by an earlier release)
    names only this one.
    """
    mine = [e for e in entries if e.get("workspace") == workspace or workspace in (e.get("workspaces") or [])]
    starts = [i for i, e in enumerate(mine) if e.get("what") == "création" and e.get("workspace") == workspace]
    if starts:
        mine = mine[starts[-1]:]
    out = []
    for e in mine:
        if e.get("workspace") != workspace:
            e = {**e, "workspace": workspace, "workspaces": [workspace],
                 "entries": [x for x in e.get("entries") or [] if str(x).split("--", 1)[0] == workspace]}
        out.append(e)
    return out


DETAIL_LABELS = {"name": "nom", "region": "région", "entry": "entrée de la corbeille", "restored": "version restaurée",
                 "former_slug": "ancien identifiant", "entries": "entrées", "workspaces": "espaces", "before": "avant",
                 "after": "après", "reason": "motif", "dropped": "règles écartées", "dropped_for": "identifiant", "result": "résultat",
                 "error": "erreur", "vintage": "millésime", "recovered": "note"}


def _details(e: dict) -> str:
    skip = {"when", "who", "what", "workspace", "files", "version", "kind", "system_user"}
    parts = []
    for k, v in e.items():
        if k in skip or v in ("", None, [], {}):
            continue
        if isinstance(v, (dict, list)):
            v = json.dumps(v, ensure_ascii=False, separators=(", ", ": "))
        parts.append(f"{DETAIL_LABELS.get(k, k)} : {v}")
    return " ; ".join(parts)


def rows(entries: list[dict]) -> list[dict]:
    """One row per event (and per file of an event), most recent first, French headers."""
    out = []
    for e in reversed(entries):
        files = e.get("files") or [{}]
        for f in files:
            out.append({
                COLUMNS["when"]: str(e.get("when", "")).replace("T", " "),
                COLUMNS["who"]: e.get("who") or f"(sans connexion : {e.get('system_user', '')})",
                COLUMNS["what"]: e.get("what", ""),
                COLUMNS["workspace"]: e.get("workspace", ""),
                COLUMNS["version"]: "" if e.get("version") in (None, "") else str(e.get("version")),
                COLUMNS["kind"]: e.get("kind", "") or "",
                COLUMNS["file"]: f.get("name", ""),
                COLUMNS["sha256"]: f.get("sha256", ""),
                COLUMNS["details"]: _details(e),
            })
    return out


def frame(entries: list[dict]):
    import pandas as pd

    return pd.DataFrame(rows(entries), columns=list(COLUMNS.values()))


def csv_bytes(entries: list[dict]) -> bytes:
    """The events as a CSV that Excel opens in French (formula payloads neutralised)."""
    from data.formats.writers import csv_bytes as write

    return write(frame(entries))
