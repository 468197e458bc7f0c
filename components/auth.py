"""Who is logged in: Streamlit's native OpenID Connect login (``st.login`` / ``st.user`` / ``st.logout``).

Optional. With no ``[auth]`` section in ``.streamlit/secrets.toml`` the app is a single-user app:
nobody logs in and everything is allowed (:func:`current_user` is ``None``). With an ``[auth]``
section (ProConnect, Keycloak, Microsoft Entra... any OIDC provider), :func:`gate`, called by the
router before anything else is drawn, shows the French login screen and stops the run until the
person is logged in; a broken ``[auth]`` section stops every page too (never an open app by mistake).

What a logged-in person may see and do is decided by ``data.access`` from their e-mail, as the
provider states it in the ID token (``email`` claim; an address the provider marks unverified,
``email_verified = false``, is not used; an absent ``email_verified`` claim counts as unverified unless
the provider's section says ``email_verifie_si_absent = true``: Microsoft Entra's ``email`` claim is not
verified, ProConnect's addresses are). Access is evaluated again at every run from ``acces.toml``.

Sessions end on the server (``data.store.sessions``): a logout puts the login on the list of ended
logins (a copy of the cookie, or a second tab, no longer opens anything), and a login older than
``duree_session_heures`` (8 by default) must log in again. With a login configured, the app refuses to
be served without its guard (``components.guard``, started by ``cli.py serve``), which keeps uploads,
media and metrics closed before login.

A link sent by e-mail survives the login: Streamlit always brings a person back from the provider to
the app's home page, so the login screen keeps the address it was opened at (page, workspace, région,
structures, layers) in the browser's ``localStorage``, and the first page drawn once logged in goes
back to it (:data:`SAVE_SCRIPT`, :func:`return_script`). Only an address of this site, saved less than
:data:`RETURN_WITHIN_MIN` minutes before, is followed.
"""

from __future__ import annotations

import json
import threading
import time

import streamlit as st

from data.store import sessions
from views import fmt

REQUIRED = ("client_id", "client_secret", "server_metadata_url")
MAX_AGE_KEY = "duree_session_heures"  # [auth]: hours a login lasts (default sessions.MAX_AGE_HOURS)
VERIFIED_KEY = "email_verifie_si_absent"  # [auth] or [auth.<provider>]: an absent email_verified claim
GUARD_COMMAND = ".venv/bin/python cli.py serve"
# Without a secrets file, Streamlit looks for it again at every call (several times a run): the answer
# is kept this long (a file added while the server runs takes effect within these seconds).
NO_SECRETS_RECHECK_S = 5.0
_no_secrets_since: dict[int, float] = {}  # id(st.secrets) -> when no file was found (AppTest swaps it)
_lock = threading.Lock()

RETURN_KEY = "diag.retour"  # localStorage: the address the login screen was opened at
RETURN_WITHIN_MIN = 15
SAVE_SCRIPT = """<style>[class*="st-key-diag-scripts"] { display: none !important; }</style><script>(function () {
  try {
    localStorage.setItem(%(key)s, JSON.stringify({path: location.pathname + location.search, at: Date.now()}));
  } catch (e) {}
})();</script>"""
RETURN_SCRIPT = """<script>(function () {
  var saved = null;
  try { saved = JSON.parse(localStorage.getItem(%(key)s) || "null"); localStorage.removeItem(%(key)s); }
  catch (e) { return; }
  if (!saved || typeof saved.path !== "string" || Date.now() - saved.at > %(within)d * 60000) return;
  // an address of this site only, never another origin ("//host", "/\\host", "scheme:")
  var target;
  try { target = new URL(saved.path, location.href); } catch (e) { return; }
  if (target.origin !== location.origin) return;
  // already there (the same page, with at least the link's parameters): nothing to do
  var here = new URLSearchParams(location.search), same = target.pathname === location.pathname;
  new URLSearchParams(target.search).forEach(function (v, k) { same = same && here.getAll(k).indexOf(v) >= 0; });
  if (!same) location.replace(target.pathname + target.search);
})();</script>"""


def _auth_section() -> dict | None:
    """The ``[auth]`` section of the secrets, ``None`` when there is none (no login configured)."""
    secrets_id = id(st.secrets)
    with _lock:
        since = _no_secrets_since.get(secrets_id)
        if since is not None and time.monotonic() - since < NO_SECRETS_RECHECK_S:
            return None
    try:
        found = st.secrets.load_if_toml_exists()
        section = st.secrets.get("auth") if found else None
    except Exception:  # an unreadable secrets file: the same as none, Streamlit logs why
        found, section = True, None
    with _lock:
        _no_secrets_since.clear()
        if not found:
            _no_secrets_since[secrets_id] = time.monotonic()
    if section is None:
        return None
    return section.to_dict() if hasattr(section, "to_dict") else dict(section)


def auth_section() -> dict | None:
    """The ``[auth]`` section of the secrets (``None``: no login configured), for the server's guard too."""
    return _auth_section()


def login_configured() -> bool:
    return _auth_section() is not None


def _provider(section: dict) -> str | None:
    """``None`` for the default provider (keys directly under ``[auth]``), else the first named one."""
    if all(k in section for k in REQUIRED):
        return None
    for name, value in section.items():
        if isinstance(value, dict) and all(k in value for k in REQUIRED):
            return name
    return ""


def _problem(section: dict) -> str | None:
    missing = [k for k in ("redirect_uri", "cookie_secret") if not section.get(k)]
    if missing:
        return ("clés manquantes : " if len(missing) >= 2 else "clé manquante : ") + ", ".join(missing)
    if _provider(section) == "":
        return "aucun fournisseur complet (client_id, client_secret, server_metadata_url)"
    return None


def max_age_hours(section: dict | None) -> float:
    """How long a login lasts (``duree_session_heures``, 8 hours by default)."""
    value = (section or {}).get(MAX_AGE_KEY, sessions.MAX_AGE_HOURS)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return sessions.MAX_AGE_HOURS
    return float(value)


def email_verified(claims: dict, section: dict | None) -> bool:
    """Whether the provider vouches for the address: its ``email_verified`` claim, or, when the claim is
    absent, the provider's setting ``email_verifie_si_absent`` (false by default: Microsoft Entra's
    ``email`` is typed by the user and never verified)."""
    value = claims.get("email_verified")
    if value is None:
        section = section or {}
        provider = claims.get("provider")
        own = section.get(provider) if provider and isinstance(section.get(provider), dict) else {}
        return own.get(VERIFIED_KEY, section.get(VERIFIED_KEY, False)) is True
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


def current_user() -> str | None:
    """The logged-in person's e-mail (lower case); ``None`` when no login is configured.

    ``""`` for a person logged in without a usable e-mail (absent, or not verified): they only see the demo.
    """
    section = _auth_section()
    if section is None:
        return None
    if not st.user.is_logged_in:
        return ""
    if not email_verified(st.user.to_dict(), section):
        return ""
    email = st.user.get("email")
    return str(email).strip().lower() if isinstance(email, str) and "@" in email else ""


_guarded = [False]  # set by the server's guard (components.guard) when it is installed


def mark_guarded() -> None:
    _guarded[0] = True


def guarded() -> bool:
    """Whether this server runs behind the guard (``components.guard``)."""
    return _guarded[0]


def _served_without_guard() -> bool:
    """A real server (not ``AppTest``'s stand-in) started without the guard: ``streamlit run app.py``."""
    from streamlit.runtime import Runtime

    return not guarded() and Runtime.exists() and type(Runtime.instance()) is Runtime


def session_refusal(section: dict | None) -> str | None:
    """Why the logged-in person's session may no longer be used (``data.store.sessions``), or ``None``."""
    return sessions.refusal(st.user.to_dict(), max_age_hours(section))


def logout() -> None:
    """End the session on the server (its login goes on the list of ended logins), then Streamlit's logout."""
    try:
        sessions.revoke(st.user.to_dict())
    except OSError:  # the list cannot be written: Streamlit's logout still clears this browser
        import logging

        logging.getLogger("diagnostic").exception("ended logins")
    st.logout()


def gate() -> str | None:
    """Stop the run with the login screen unless a login is not configured or the person is logged in.

    Returns :func:`current_user`.
    """
    section = _auth_section()
    if section is None:
        return None
    problem = _problem(section)
    if problem:
        st.title("Diagnostic territorial des clauses sociales")
        st.error("La connexion est configurée (section [auth] du fichier .streamlit/secrets.toml) mais la "
                 f"configuration est incomplète ({problem}). L'application reste fermée : voir le README, "
                 "« Connexion ».", icon=":material/lock:")
        st.stop()
    if _served_without_guard():
        st.title("Diagnostic territorial des clauses sociales")
        st.error("La connexion est configurée, mais le serveur a été lancé sans sa protection (par « streamlit run "
                 f"app.py ») : les envois de fichiers n'y seraient pas réservés aux personnes connectées. Lancez-le "
                 f"avec « {GUARD_COMMAND} » (voir le README, « Connexion »). L'application reste fermée.",
                 icon=":material/lock:")
        st.stop()
    if not st.user.is_logged_in:
        _login_screen(_provider(section))
        st.stop()
    why = session_refusal(section)
    if why is not None:
        hours = max_age_hours(section)
        written = fmt.integer(hours) if hours == int(hours) else fmt.decimal(hours)
        _login_screen(_provider(section), {
            sessions.REVOKED: "Cette session a été fermée par une déconnexion : connectez-vous à nouveau.",
            sessions.EXPIRED: f"Votre connexion date de plus de {written} heure{'s' if hours >= 2 else ''} : "
                              "connectez-vous à nouveau.",
            sessions.UNDATED: "Votre fournisseur d'identité n'a pas daté votre connexion : connectez-vous à nouveau.",
        }[why])
        st.stop()
    return current_user()


def return_script() -> str:
    """The script that brings a person just logged in back to the address of the login screen: once a
    session, for the first page drawn with a login configured, ``""`` otherwise. The router's scripts
    carry it (``components.style.apply``): an element of its own, there only once, would shift the
    page's elements at the next run (and reset its tabs)."""
    if not login_configured() or not st.user.is_logged_in or st.session_state.get("auth.retour"):
        return ""
    st.session_state["auth.retour"] = True
    return RETURN_SCRIPT % {"key": json.dumps(RETURN_KEY), "within": RETURN_WITHIN_MIN}


def _login_screen(provider: str | None, why: str | None = None) -> None:
    st.title("Diagnostic territorial des clauses sociales")
    if why:
        st.warning(why, icon=":material/schedule:")
    st.markdown("Cet outil est réservé aux personnes habilitées : connectez-vous avec votre compte professionnel. "
                "Vous verrez ensuite les espaces de travail dont vous êtes membre.")
    st.button("Se connecter", key="auth.login", type="primary", icon=":material/login:", on_click=st.login,
              args=(provider,) if provider else ())
    st.caption("La connexion passe par le fournisseur d'identité de votre organisation ; l'outil ne conserve "
               "aucun mot de passe. Une fois connecté, vous revenez à l'adresse que vous aviez ouverte.")
    with st.container(key="diag-scripts-auth-adresse"):
        st.html(SAVE_SCRIPT % {"key": json.dumps(RETURN_KEY)}, unsafe_allow_javascript=True)


def sidebar_account() -> None:
    """Who is logged in, and the logout button (nothing when no login is configured)."""
    user = current_user()
    if user is None:
        return
    st.markdown("### Compte")
    if user:
        st.caption(f"Connecté : {fmt.md(user)}")
    else:
        st.warning("Votre fournisseur d'identité n'a pas transmis d'adresse électronique vérifiée : seule la "
                   "démonstration vous est accessible.", icon=":material/person_off:")
    st.button("Se déconnecter", key="auth.logout", icon=":material/logout:", on_click=logout)
