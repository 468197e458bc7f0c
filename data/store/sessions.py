"""Logins that the server ended: a logout (or a login too old) closes access, whatever the cookie says.

Streamlit's identity cookie (``_streamlit_user``) is a signed, stateless token valid 30 days: a copy taken
before a logout would log straight back in, and a second tab would keep its access. The app therefore
keeps, in ``<store>/sessions_fermees.jsonl``, one line per login that was logged out (the login's key,
:func:`login_key`: a digest of the ID token's issuer, subject, audience, issue time and nonce; no
address, no token), and refuses a login on that list at each run of a page and at each request of the
server's guard (``components.guard``). A login older than the maximum age (8 hours by default, the
``duree_session_heures`` setting) is refused too: the person logs in again, and the identity provider
says again whether they still exist.

Lines are appended under an exclusive lock and read again only when the file changed; a line is useless
once the cookie it names can no longer be valid (:data:`KEEP_S`), and such lines are dropped when the
file is rewritten (past :data:`COMPACT_BYTES`).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import threading
import time
from collections.abc import Mapping

from data import atomic
from data.store.location import store_dir

FILE_NAME = "sessions_fermees.jsonl"
MAX_AGE_HOURS = 8.0  # default of the ``duree_session_heures`` setting
KEEP_S = 32 * 24 * 3600  # Streamlit's signature holds a cookie valid 31 days at most
COMPACT_BYTES = 256 * 1024

REVOKED, EXPIRED, UNDATED = "fermée", "expirée", "non datée"

_cache: dict[str, tuple[tuple, frozenset[str]]] = {}
_lock = threading.Lock()


def path():
    return store_dir() / FILE_NAME


def login_key(claims: Mapping) -> str | None:
    """The key of one login (one ID token), ``None`` for claims that name nobody."""
    if not claims or claims.get("sub") is None and claims.get("email") is None:
        return None
    parts = [claims.get(k) for k in ("iss", "sub", "aud", "iat", "nonce", "email", "provider")]
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def login_time(claims: Mapping) -> float | None:
    """When the person logged in (the ID token's ``iat``, seconds since 1970), ``None`` when unknown."""
    for name in ("iat", "auth_time"):
        value = claims.get(name) if claims else None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return float(value)
    return None


def _read() -> frozenset[str]:
    p = path()
    try:
        st = p.stat()
    except FileNotFoundError:
        return frozenset()
    key = (st.st_mtime_ns, st.st_size, st.st_ino)
    with _lock:
        hit = _cache.get(str(p))
        if hit and hit[0] == key:
            return hit[1]
    keys = set()
    now = time.time()
    try:
        with open(p, "rb") as fh:
            for raw in fh:
                try:
                    line = json.loads(raw)
                except ValueError:
                    continue  # a line cut by a crash
                if isinstance(line, dict) and float(line.get("jusqu", 0) or 0) > now:
                    keys.add(str(line.get("cle")))
    except OSError:
        return frozenset()
    out = frozenset(keys)
    with _lock:
        _cache[str(p)] = (key, out)
    return out


def is_revoked(claims: Mapping) -> bool:
    key = login_key(claims)
    return key is not None and key in _read()


def revoke(claims: Mapping, now: float | None = None) -> bool:
    """Put the login of ``claims`` on the list of ended logins; ``False`` when it names nobody."""
    key = login_key(claims)
    if key is None:
        return False
    now = time.time() if now is None else now
    line = json.dumps({"cle": key, "jusqu": now + KEEP_S,
                       "quand": dt.datetime.now().astimezone().isoformat(timespec="seconds")}) + "\n"
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True)
    # the lock is a file of its own: a compaction replaces the list's file (a new inode)
    with open(target.parent / f".{FILE_NAME}.lock", "a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        fd = os.open(target, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = "\n" + line
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        if size > COMPACT_BYTES:  # drop the lines of cookies that can no longer be valid
            with open(target, "rb") as fh:
                kept = [raw if raw.endswith(b"\n") else raw + b"\n" for raw in fh if _still_valid(raw, now)]
            atomic.write(target, b"".join(kept))
    return True


def _still_valid(raw: bytes, now: float) -> bool:
    try:
        return float(json.loads(raw).get("jusqu", 0) or 0) > now
    except (ValueError, AttributeError):
        return False


def refusal(claims: Mapping, max_age_hours: float = MAX_AGE_HOURS, now: float | None = None) -> str | None:
    """Why this login may no longer be used (:data:`REVOKED`, :data:`EXPIRED`, :data:`UNDATED`), or ``None``."""
    if is_revoked(claims):
        return REVOKED
    since = login_time(claims)
    if since is None:
        return UNDATED
    now = time.time() if now is None else now
    if now - since > max_age_hours * 3600:
        return EXPIRED
    return None
