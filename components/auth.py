"""Who is logged in: Streamlit's native OpenID Connect login (``st.login`` / ``st.user`` / ``st.logout``).

Optional. With no ``[auth]`` section in ``.streamlit/secrets.toml`` the app is a single-user app:
nobody logs in and everything is allowed (:func:`current_user` is ``None``). With an ``[auth]``
section (ProConnect, Keycloak, Microsoft Entra... any OIDC provider), :func:`gate`, called by the
router before anything else is drawn, shows the French login screen and stops the run until the
person is logged in; a broken ``[auth]`` section stops every page too (never an open app by mistake).

What a logged-in person may see and do is decided by ``data.access`` from their e-mail, as the
provider states it in the ID token (``email`` claim; an address the provider marks unverified,
``email_verified = false``, is not used).

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

from views import fmt

REQUIRED = ("client_id", "client_secret", "server_metadata_url")
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


def current_user() -> str | None:
    """The logged-in person's e-mail (lower case); ``None`` when no login is configured.

    ``""`` for a person logged in without a usable e-mail: they only see the demo.
    """
    if not login_configured():
        return None
    if not st.user.is_logged_in:
        return ""
    if st.user.get("email_verified") is False:
        return ""
    email = st.user.get("email")
    return str(email).strip().lower() if isinstance(email, str) and "@" in email else ""


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
    if not st.user.is_logged_in:
        _login_screen(_provider(section))
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


def _login_screen(provider: str | None) -> None:
    st.title("Diagnostic territorial des clauses sociales")
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
    st.button("Se déconnecter", key="auth.logout", icon=":material/logout:", on_click=st.logout)
