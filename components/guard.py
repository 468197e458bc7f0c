"""The server's guard: with a login configured, nothing of the server is given before login.

An ASGI middleware placed in front of Streamlit's own routes (``st.App(..., middleware=[...])``, see
``asgi.py``, which ``cli.py serve`` starts). Streamlit 1.67 checks no identity on three of its routes: its
upload endpoint (``PUT /_stcore/upload_file/<session>/<file>``) accepts a file from any websocket session,
logged in or not, and keeps it in memory while the socket is open; its media files (``/media/…``) and its
metrics (``/_stcore/metrics``) answer anyone. Without a login configured (the single local user), the
guard passes everything through unchanged.

With a login, the guard answers before Streamlit reads anything of the request (it never reads a body):

- ``/_stcore/upload_file/…``, ``/media/…``, ``/_stcore/metrics``: 403 unless the request carries a valid
  login: Streamlit's identity cookie, signed with the ``cookie_secret``, of this site, not ended on the
  server (``data.store.sessions``: a logout) and younger than the maximum age (``duree_session_heures``);
- an upload, or the removal of an uploaded file, must also go to a session of that same login
  (Streamlit's session table: ``AppSession.matches_user_info``), and each session holds at most :data:`MAX_FILES` files and
  :data:`SESSION_BYTES_FACTOR` times ``server.maxUploadSize``, all sessions together
  :data:`SERVER_BYTES_FACTOR` times it (413 and 503 beyond, before the file is sent);
- ``/auth/logout``: the login of the cookie it carries is ended on the server, whatever asked for it;
- with an ``https`` ``redirect_uri``, Streamlit's cookies get the ``Secure`` attribute it never sets.

The cookie is read with Streamlit's own helpers (the same as its websocket and logout routes); if a
release of Streamlit changes them, the guard refuses (it never opens by mistake) and the tests of the
login (``tests/test_auth.py``) fail.
"""

from __future__ import annotations

import json
import logging
import threading

from components import auth
from data.store import sessions

UPLOAD = "_stcore/upload_file/"
MEDIA = "media/"
METRICS = "_stcore/metrics"
LOGOUT = "auth/logout"
USER_COOKIE = "_streamlit_user"
TOKENS_COOKIE = "_streamlit_user_tokens"
MAX_FILES = 8  # files one session holds at once (a form takes two: structures and perimeters)
SESSION_BYTES_FACTOR = 2  # times server.maxUploadSize, held by one session
SERVER_BYTES_FACTOR = 5  # times server.maxUploadSize, held by all sessions together

NOT_YOURS = "Connexion requise : cette session n'est pas celle de votre connexion. Rechargez la page."

LOG = logging.getLogger("diagnostic.garde")


def _max_upload_bytes() -> int:
    from streamlit import config

    return int(config.get_option("server.maxUploadSize")) * 1024 * 1024


def _relative(path: str) -> str:
    """The path under ``server.baseUrlPath``, without its leading slash."""
    from streamlit import config

    base = str(config.get_option("server.baseUrlPath") or "").strip("/")
    path = path.lstrip("/")
    if base:
        if path != base and not path.startswith(base + "/"):
            return path
        path = path[len(base):].lstrip("/")
    return path


def _headers(scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in scope.get("headers") or []:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        out[key] = f"{out[key]}; {text}" if key == "cookie" and key in out else text
    return out


def login_of(headers: dict[str, str], scope=None) -> dict | None:
    """The login the request's identity cookie carries, exactly as Streamlit's websocket gives it to a
    session (``is_logged_in``, the ID token's claims, the tokens it exposes, the trusted headers), or
    ``None``: no cookie, a bad signature, another site."""
    from starlette.datastructures import Headers
    from starlette.requests import cookie_parser
    from streamlit.auth_util import get_cookie_with_chunks, get_expose_tokens_config, get_origin_from_redirect_uri
    from streamlit.web.server.server_util import get_cookie_secret
    from streamlit.web.server.starlette.starlette_app_utils import decode_signed_value
    from streamlit.web.server.starlette.starlette_websocket import gather_user_info

    cookies = cookie_parser(headers.get("cookie", ""))
    if USER_COOKIE not in cookies:
        return None
    secret = get_cookie_secret()

    def single(name: str) -> bytes | None:
        raw = cookies.get(name)
        return None if raw is None else decode_signed_value(secret, name, raw.encode("latin-1"))

    try:
        payload = json.loads((get_cookie_with_chunks(single, USER_COOKIE) or b"").decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict) or payload.get("is_logged_in") is not True:
        return None
    if payload.pop("origin", None) != get_origin_from_redirect_uri():
        return None
    payload.pop("is_logged_in", None)
    login = {"is_logged_in": True, **payload}
    raw_tokens = get_cookie_with_chunks(single, TOKENS_COOKIE)
    if raw_tokens:  # as starlette_websocket does: the tokens exposed, an empty dict if none
        tokens = json.loads(raw_tokens)
        login["tokens"] = {t: tokens[f"{t}_token"] for t in get_expose_tokens_config() if f"{t}_token" in tokens}
    if scope is not None:
        login.update(gather_user_info(Headers(scope=scope)))
    return login


async def _answer(send, status: int, text: str) -> None:
    body = text.encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store")]})
    # the request's body is never read here: the server discards what the client still sends
    await send({"type": "http.response.body", "body": body})


def _secure_cookies(send):
    """``send`` adding ``Secure`` to the cookies Streamlit sets (it never does, even behind HTTPS)."""

    async def wrapped(message):
        if message.get("type") == "http.response.start":
            headers = []
            for name, value in message.get("headers") or []:
                if name.lower() == b"set-cookie" and value.startswith(b"_streamlit") and \
                        b"; secure" not in value.lower():
                    value += b"; Secure"
                headers.append((name, value))
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


class Guard:
    """The ASGI middleware (pure: the request's body passes through untouched)."""

    def __init__(self, app) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._sending: dict[str, list[int]] = {}  # session -> [files, bytes] being sent now
        auth.mark_guarded()  # components.auth refuses to serve a login without the guard

    async def __call__(self, scope, receive, send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        section = auth.auth_section()
        if section is None:  # no login configured: the single local user, nothing changes
            await self.app(scope, receive, send)
            return
        if str(section.get("redirect_uri", "")).startswith("https://"):
            send = _secure_cookies(send)
        path = _relative(scope.get("path", ""))
        method = scope.get("method", "GET")
        if path == LOGOUT:
            self._end(scope)
        elif (path.startswith((UPLOAD, MEDIA)) or path == METRICS) and method != "OPTIONS":
            headers = _headers(scope)
            try:
                login = login_of(headers, scope)
            except Exception:  # a change of Streamlit's helpers: closed, never open
                LOG.exception("identity cookie")
                login = None
            if login is None or sessions.refusal(login, auth.max_age_hours(section)) is not None:
                await _answer(send, 403, "Connexion requise : connectez-vous à l'application.")
                return
            if path.startswith(UPLOAD) and method in ("PUT", "POST", "DELETE"):
                if not self._owned(path, login):  # sent to, or removed from, another login's session
                    await _answer(send, 403, NOT_YOURS)
                elif method == "DELETE":
                    await self.app(scope, receive, send)
                else:
                    await self._upload(scope, receive, send, path, headers)
                return
        await self.app(scope, receive, send)

    def _end(self, scope) -> None:
        """``/auth/logout``: the login of the cookie is ended on the server, whoever asked for the logout."""
        try:
            login = login_of(_headers(scope))
            if login is not None and not sessions.is_revoked(login):
                sessions.revoke(login)
        except Exception:
            LOG.exception("end of a login")

    def _held(self, session_id: str) -> tuple[int, int, int]:
        """(files, bytes) held by the session, bytes held by all sessions, in Streamlit's upload manager."""
        from streamlit.runtime import Runtime

        storage = getattr(Runtime.instance().uploaded_file_mgr, "file_storage", None)
        if not isinstance(storage, dict):
            return 0, 0, 0
        for _ in range(5):  # another thread may change the storage meanwhile: read it again
            try:
                mine = list((storage.get(session_id) or {}).values())
                everyone = sum(len(f.data) for files in list(storage.values()) for f in list(files.values()))
                return len(mine), sum(len(f.data) for f in mine), everyone
            except RuntimeError:
                continue
        return MAX_FILES, 0, 0  # cannot be read: refuse rather than let memory grow

    @staticmethod
    def _owned(path: str, login: dict) -> bool:
        """The upload's session (the path's first part) is one of this login's."""
        from streamlit.runtime import Runtime

        session_id = path[len(UPLOAD):].split("/", 1)[0]
        session = Runtime.instance().get_app_session(session_id) if session_id else None
        try:
            return session is not None and session.matches_user_info(login)
        except Exception:
            LOG.exception("session of an upload")
            return False

    async def _upload(self, scope, receive, send, path: str, headers: dict[str, str]) -> None:
        """A file sent to a session of this login (checked by the caller), within the session's and the
        server's bounds."""
        session_id = path[len(UPLOAD):].split("/", 1)[0]
        limit = _max_upload_bytes()
        try:
            size = int(headers.get("content-length", ""))
        except ValueError:
            size = limit  # sent in pieces: counted at the largest file allowed
        files, held, everyone = self._held(session_id)
        with self._lock:
            sending = self._sending.setdefault(session_id, [0, 0])
            in_flight = sum(b for _, b in self._sending.values())
            if files + sending[0] >= MAX_FILES:
                refusal = (413, f"Trop de fichiers envoyés dans cette session ({MAX_FILES} au plus à la fois) : "
                                "retirez-en un, ou rechargez la page.")
            elif held + sending[1] + size > SESSION_BYTES_FACTOR * limit:
                refusal = (413, f"Les fichiers envoyés dans cette session dépassent {SESSION_BYTES_FACTOR * limit // 2**20}"
                                "\u202fMo : retirez-en un, ou rechargez la page.")
            elif everyone + in_flight + size > SERVER_BYTES_FACTOR * limit:
                refusal = (503, "Le serveur reçoit déjà beaucoup de fichiers : réessayez dans quelques minutes.")
            else:
                refusal = None
                sending[0] += 1
                sending[1] += size
            if refusal is not None and sending == [0, 0]:
                self._sending.pop(session_id, None)
        if refusal is not None:
            await _answer(send, *refusal)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            with self._lock:
                sending[0] -= 1
                sending[1] -= size
                if sending == [0, 0]:
                    self._sending.pop(session_id, None)
