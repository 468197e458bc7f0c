"""Writing a file so that a reader sees the old one or the new one, never half of it.

Shared by the workspace store, the access rules and the downloads of official sources: a temporary
file is written and flushed to disk, then moved in place with ``os.replace`` (atomic on POSIX), and
the folder's entry is flushed too. A failure leaves no temporary file behind. And the one way the
store's writers take turns: :func:`locked`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (a rename is durable only once its folder is)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write(path: Path, data: bytes, tmp_dir: Path | None = None) -> None:
    """Write ``data`` to ``path`` atomically; the temporary file lives in ``tmp_dir`` (same file system)
    or beside ``path``. ``OSError`` (a full disk...) propagates, with nothing left behind."""
    path = Path(path)
    tmp = Path(tmp_dir or path.parent) / f".{path.name}.{uuid.uuid4().hex}.part"
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    fsync_dir(path.parent)


@contextlib.contextmanager
def locked(lock_file: Path, shared: bool = False):
    """Hold an ``fcntl`` lock on ``lock_file`` (created, with its folder, if missing) for the ``with`` block:
    exclusive (writers take turns), or shared with ``shared``. A killed holder's lock goes with it."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

