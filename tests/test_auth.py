"""Login and roles, as people use them: a real OpenID Connect provider, the app, Debian's Chromium.

The provider is ``oidc-provider-mock`` (PyPI), a real OIDC server (discovery, authorization code,
signed ID tokens, end of session) started on 127.0.0.1 by a fixture; the app is ``streamlit run
app.py`` pointed at a temporary secrets file with ``--secrets.files`` (the repository's
``.streamlit/`` is not touched) and at a temporary store holding two teams' workspaces and their
``acces.toml``. Nothing leaves 127.0.0.1 (the provider's page stylesheet, on a CDN, is blocked).

The browser tests are skipped, with the reason, when /usr/bin/chromium is absent; the AppTest
checks below them (single-user app without ``[auth]``, login screen, roles on the Données page)
always run.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest
from streamlit.testing.v1 import AppTest

from playwright.sync_api import expect

from tests.conftest import ARTIFACTS, ROOT
from tests.streamlit_server import serve
from tools import local_server
from tools.local_server import free_port

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(),
                                    reason="Chromium de Debian absent (apt-get install chromium)")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
APP = str(ROOT / "app.py")

LECTEUR_A = "lecteur@dreets-a.gouv.fr"  # member through the domain of team A
EDITEUR_A = "editeur@dreets-a.gouv.fr"
ADMIN_A = "admin@dreets-a.gouv.fr"
LECTEUR_B = "lecteur@dreets-b.gouv.fr"
NOUVEAU_C = "nouveau@dreets-c.gouv.fr"
NAME_A, NAME_B = "Hauts-de-France (équipe A)", "Bretagne (équipe B)"
RULES = f"""
admins = []

[espaces.hdf]
lecteur = ["@dreets-a.gouv.fr"]
editeur = ["{EDITEUR_A}"]
admin = ["{ADMIN_A}"]

[espaces.bzh]
lecteur = ["@dreets-b.gouv.fr"]
"""


def wait_http(url: str, proc: subprocess.Popen, what: str) -> None:
    try:
        local_server.wait_http(url, proc, what)
    except local_server.ServerError as exc:
        proc.kill()
        pytest.fail(str(exc))


def make_store(path: Path) -> Path:
    """Two teams' workspaces and their access rules, in a store of their own."""
    old = os.environ.get("DIAG_DONNEES")
    os.environ["DIAG_DONNEES"] = str(path)
    try:
        from data.store import workspaces

        workspaces.create(NAME_A, slug="hdf")
        workspaces.create(NAME_B, slug="bzh")
        (path / "acces.toml").write_text(RULES, encoding="utf-8")
    finally:
        os.environ["DIAG_DONNEES"] = old or ""
    return path


# ---------------------------------------------------------------------------------------------
# A real OIDC provider and the app configured to use it


@pytest.fixture(scope="module")
def oidc():
    port = free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / "oidc_provider.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    Person.provider = url
    wait_http(f"{url}/.well-known/openid-configuration", proc, "le fournisseur OIDC")
    for email in (LECTEUR_A, EDITEUR_A, ADMIN_A, LECTEUR_B, NOUVEAU_C):  # the claims of each account
        body = json.dumps({"email": email, "email_verified": True, "name": email.split("@")[0]}).encode()
        req = urllib.request.Request(f"{url}/users/{quote(email)}", data=body, method="PUT",
                                     headers={"Content-Type": "application/json"})
        assert urllib.request.urlopen(req, timeout=10).status == 204
    yield url
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


SECRETS: dict[str, str] = {}  # the auth_app's cookie secret and secrets file


@pytest.fixture(scope="module")
def auth_app(oidc, tmp_path_factory):
    """The app with a login: ``(url, store)``."""
    store = make_store(tmp_path_factory.mktemp("store_auth"))
    port = free_port()
    secrets = tmp_path_factory.mktemp("secrets") / "secrets.toml"
    SECRETS["cookie"] = os.urandom(24).hex()
    SECRETS["file"] = str(secrets)
    secrets.write_text(f"""[auth]
redirect_uri = "http://127.0.0.1:{port}/oauth2callback"
cookie_secret = "{SECRETS['cookie']}"
client_id = "diagnostic-clauses"
client_secret = "{os.urandom(16).hex()}"
server_metadata_url = "{oidc}/.well-known/openid-configuration"
""", encoding="utf-8")
    with serve({"DIAG_DONNEES": str(store)}, "streamlit_auth.log", port=port, secrets=secrets) as url:
        yield url, store


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield b
        b.close()


class Person:
    """One person's browser (own cookies); requests leaving 127.0.0.1 are blocked, and those of the
    app's pages recorded."""

    provider = "http://127.0.0.1:0"  # set by the ``oidc`` fixture

    def __init__(self, browser):
        self.context = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="fr-FR")
        self.external: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()

    def _route(self, route):
        url = route.request.url
        if url.startswith(("data:", "blob:", "about:")) or (urlparse(url).hostname or "") in ("127.0.0.1", ""):
            route.continue_()
            return
        try:
            origin = route.request.frame.url
        except Exception:  # a request of no page (a service worker): counted as the app's
            origin = ""
        if not origin.startswith(self.provider):  # the provider's own page loads a CDN stylesheet: not ours
            self.external.append(url)
        route.abort()

    def close(self):
        self.context.close()


def wait_app(page):
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    page.wait_for_timeout(1200)


def main_text(page) -> str:
    """What the page shows (without the invisible word joiners that keep names from turning into links)."""
    return page.locator('[data-testid="stApp"]').inner_text().replace("\u2060", "")


def open_app(page, url: str):
    page.goto(url)
    wait_app(page)


def authorize(page, email: str) -> None:
    """The login screen's button, then the provider's form for ``email``."""
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url("**/oauth2/authorize?**", timeout=30_000)
    page.locator('input[name="sub"]').fill(email)
    page.get_by_role("button", name="Authorize").click()


def log_in(browser, app_url: str, email: str) -> Person:
    """As a person does: the login screen, the provider's form, back to the app."""
    who = Person(browser)
    page = who.page
    open_app(page, app_url)
    authorize(page, email)
    page.wait_for_url(f"{app_url}/**", timeout=30_000)
    wait_app(page)
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible(timeout=60_000)
    assert f"Connecté : {email}" in main_text(page)
    return who


def workspace_options(page) -> list[str]:
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
    page.get_by_role("option").first.wait_for()
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    return options


@needs_chromium
def test_every_page_asks_for_a_login_and_shows_nothing_before(auth_app, browser):
    url, _ = auth_app
    who = Person(browser)
    for path in ("", "/donnees?espace=hdf", "/carte_facilitateurs?espace=bzh", "/marches"):
        open_app(who.page, url + path)
        expect(who.page.get_by_role("button", name="Se connecter")).to_be_visible(timeout=60_000)
        text = main_text(who.page)
        assert "connectez-vous" in text
        for secret in (NAME_A, NAME_B, "démonstration", "Espace de travail", "Région"):
            assert secret not in text, (path, secret)
        assert who.page.locator('[data-testid="stSidebarNav"]').count() == 0
    who.page.screenshot(path=str(ARTIFACTS / "connexion.png"))
    # the tab's icon shows on the login screen too: a static file, not a media file (closed before login)
    icons = who.page.evaluate("Array.from(document.querySelectorAll('link[rel*=icon]')).map(l => l.href)")
    assert icons and all(get(href) == 200 for href in icons), icons
    assert not who.external, who.external
    who.close()


@needs_chromium
def test_a_user_of_team_a_sees_only_team_a_and_a_link_to_b_shows_nothing_of_it(auth_app, browser):
    url, _ = auth_app
    who = log_in(browser, url, LECTEUR_A)
    page = who.page
    options = workspace_options(page)
    assert NAME_A in options and "Région de démonstration – données fictives" in options
    assert NAME_B not in options
    for path in ("/?espace=bzh", "/carte_facilitateurs?espace=bzh", "/donnees?espace=bzh", "/?espace=inconnu"):
        open_app(page, url + path)
        expect(page.get_by_text("n'existe pas ou ne vous est pas accessible").first).to_be_visible(timeout=60_000)
        text = main_text(page)
        assert NAME_B not in text and "équipe B" not in text
        assert page.locator('[data-testid="stMetric"]').count() == 0
        assert page.locator("iframe").count() == 0  # no map
    page.screenshot(path=str(ARTIFACTS / "espace_refuse.png"))
    # the way back opens a workspace this person may see
    page.get_by_role("button", name="Ouvrir l'espace").click()
    wait_app(page)
    assert "n'existe pas ou ne vous est pas accessible" not in main_text(page)
    assert not who.external, who.external
    who.close()
    other = log_in(browser, url, LECTEUR_B)
    options = workspace_options(other.page)
    assert NAME_B in options and NAME_A not in options
    other.close()


@needs_chromium
def test_a_link_opened_before_the_login_is_reopened_after_it(auth_app, browser):
    """A link sent by e-mail (a page, a workspace, a région): the person logs in and lands on it, not
    on the home page where Streamlit brings everyone back from the provider."""
    url, _ = auth_app
    who = Person(browser)
    page = who.page
    link = f"{url}/diagnostic_couverture?espace=hdf&region=32"
    open_app(page, link)
    authorize(page, LECTEUR_A)
    page.wait_for_url(lambda u: "/diagnostic_couverture?" in u, timeout=60_000)
    wait_app(page)
    expect(page.get_by_role("heading", name="Diagnostic de couverture")).to_be_visible(timeout=60_000)
    assert "espace=hdf" in page.url and "region=32" in page.url, page.url
    # once there, the home page stays the home page (the address was followed once)
    open_app(page, url)
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible(timeout=60_000)
    page.wait_for_timeout(1500)
    assert "/diagnostic_couverture" not in page.url, page.url
    # logging in from the home page, a person stays there (no second load of the page)
    who.close()
    who = Person(browser)
    page = who.page
    open_app(page, url)
    authorize(page, LECTEUR_A)
    page.wait_for_url(f"{url}/**", timeout=30_000)
    page.evaluate("window.__sansRechargement = true")  # before the app's first run: a reload would lose it
    wait_app(page)
    expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible(timeout=60_000)
    page.wait_for_timeout(1500)
    assert page.evaluate("window.__sansRechargement === true"), page.url
    # a saved address that is not of this site is never followed
    for elsewhere in ("//example.org/x", "/\\example.org/x", "https://example.org/x", "javascript:alert(1)"):
        page.evaluate("p => localStorage.setItem('diag.retour', JSON.stringify({path: p, at: Date.now()}))",
                      elsewhere)
        open_app(page, f"{url}/?espace=hdf")
        page.wait_for_timeout(1500)
        assert page.url.startswith(url + "/"), (elsewhere, page.url)
        expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible(timeout=60_000)
    assert not who.external, who.external
    who.close()


@needs_chromium
def test_a_lecteur_cannot_import_on_the_page_nor_with_the_cli(auth_app, browser, tmp_path):
    url, store = auth_app
    who = log_in(browser, url, LECTEUR_A)
    page = who.page
    open_app(page, f"{url}/donnees?espace=hdf")
    expect(page.get_by_text("votre rôle : lecteur").first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Vous consultez cet espace en lecture").first).to_be_visible()
    assert page.locator('[data-testid="stFileUploaderDropzoneInput"]').count() == 0
    assert page.get_by_role("button", name="Supprimer l'espace").count() == 0
    assert page.get_by_text("Membres et droits d'accès").count() == 0
    assert page.get_by_text("Journal des actions").count() == 0
    who.close()
    path = indicators_file(tmp_path)
    run = subprocess.run([sys.executable, "cli.py", "import", "--workspace", "hdf", "--kind", "indicateurs",
                          str(path), "--user", LECTEUR_A], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "DIAG_DONNEES": str(store)})
    assert run.returncode == 1
    assert "rôle « lecteur »" in run.stderr and "réservé à ses éditeurs et administrateurs" in run.stderr
    listing = subprocess.run([sys.executable, "cli.py", "workspaces", "--json", "--user", LECTEUR_A], cwd=ROOT,
                             capture_output=True, text=True, timeout=300, env={**os.environ, "DIAG_DONNEES": str(store)})
    assert [w["slug"] for w in json.loads(listing.stdout)] == ["demo", "hdf"]


def indicators_file(folder: Path) -> Path:
    from data import demo
    from data.formats.writers import csv_bytes

    path = folder / "indicateurs_equipe_a.csv"
    path.write_bytes(csv_bytes(demo.generate().indicateurs))
    return path


@needs_chromium
def test_an_editeur_imports_on_the_page_and_the_journal_names_them(auth_app, browser, tmp_path, monkeypatch):
    url, store = auth_app
    path = indicators_file(tmp_path)
    who = log_in(browser, url, EDITEUR_A)
    page = who.page
    open_app(page, f"{url}/donnees?espace=hdf")
    expect(page.get_by_text("votre rôle : éditeur").first).to_be_visible(timeout=60_000)
    page.get_by_role("tab", name="Indicateurs ABC Clauses").click()
    page.locator('[data-testid="stTabPanel"]:visible [data-testid="stFileUploaderDropzoneInput"], '
                 '[role="tabpanel"]:visible [data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(path))
    page.get_by_text("Version 1 de l'espace").first.wait_for(timeout=120_000)
    assert page.get_by_role("button", name="Supprimer l'espace").count() == 0  # deletion: admins only
    page.screenshot(path=str(ARTIFACTS / "import_editeur.png"))
    assert not who.external, who.external
    who.close()
    monkeypatch.setenv("DIAG_DONNEES", str(store))
    from data.store import journal, workspaces

    assert workspaces.history("hdf")[-1]["user"] == EDITEUR_A
    event = [e for e in journal.read("hdf").entries if e["what"] == "import"][-1]
    assert event["who"] == EDITEUR_A and event["kind"] == "indicateurs"
    assert event["files"][0]["name"] == path.name
    assert event["files"][0]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


@needs_chromium
def test_an_admin_edits_the_members_in_the_app_and_reads_the_journal(auth_app, browser, monkeypatch):
    url, store = auth_app
    who = log_in(browser, url, ADMIN_A)
    page = who.page
    open_app(page, f"{url}/donnees?espace=hdf")
    page.get_by_text("Membres et droits d'accès").click()
    readers = page.get_by_label("Lecteurs", exact=True)
    expect(readers).to_have_value("@dreets-a.gouv.fr", timeout=30_000)
    readers.fill("@dreets-a.gouv.fr\n" + NOUVEAU_C)
    page.get_by_role("button", name="Enregistrer les membres").click()
    page.get_by_text("Membres enregistrés").first.wait_for(timeout=30_000)
    page.get_by_text("Journal des actions").click()
    page.get_by_text("Empreinte SHA-256").first.wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "membres_journal.png"), full_page=True)
    assert not who.external, who.external
    who.close()
    monkeypatch.setenv("DIAG_DONNEES", str(store))
    from data import access
    from data.store import journal

    assert access.members("hdf")["lecteur"] == ["@dreets-a.gouv.fr", NOUVEAU_C]
    last = [e for e in journal.read("hdf").entries if e["what"] == "droits d'accès"][-1]
    assert last["who"] == ADMIN_A and NOUVEAU_C in last["after"]["lecteur"]
    # the new member sees the workspace at their next login
    newcomer = log_in(browser, url, NOUVEAU_C)
    assert NAME_A in workspace_options(newcomer.page)
    newcomer.close()


@needs_chromium
def test_logout_ends_access(auth_app, browser):
    url, _ = auth_app
    who = log_in(browser, url, LECTEUR_A)
    page = who.page
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url("**/oauth2/end_session**", timeout=30_000)  # the provider's end of session
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{url}/**", timeout=30_000)
    wait_app(page)
    expect(page.get_by_role("button", name="Se connecter")).to_be_visible(timeout=60_000)
    assert not [c for c in who.context.cookies() if c["name"].startswith("_streamlit_user")]
    for path in ("/?espace=hdf", "/donnees?espace=hdf"):
        open_app(page, url + path)
        expect(page.get_by_role("button", name="Se connecter")).to_be_visible(timeout=60_000)
        assert NAME_A not in main_text(page)
    assert not who.external, who.external
    who.close()


# ---------------------------------------------------------------------------------------------
# AppTest: without [auth] a single-user app; with it, the login screen and the roles


AUTH = {"redirect_uri": "http://127.0.0.1:9/oauth2callback", "cookie_secret": "0123456789abcdef0123456789",
        "client_id": "diagnostic", "client_secret": "secret",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}


def run_app(page: str | None = None, espace: str | None = None, auth: dict | None = None,
            user: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    if auth is not None:
        at.secrets["auth"] = auth
    if user is not None:
        # an ID token always says when the login happened (``iat``, OIDC Core): the app ends old ones
        at.user = {"iat": int(time.time()), **user} if user.get("is_logged_in") else user
    if espace:
        at.query_params["espace"] = espace
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "title", "info", "error", "warning", "caption") for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


@pytest.fixture()
def two_teams(tmp_path, monkeypatch):
    monkeypatch.setenv("DIAG_DONNEES", str(tmp_path))
    return make_store(tmp_path)


def test_without_auth_the_app_is_a_single_user_app(two_teams):
    at = run_app("app_pages/donnees.py", "bzh")
    assert not at.exception
    assert not [b for b in at.button if b.label in ("Se connecter", "Se déconnecter")]
    assert at.selectbox(key="sidebar.espace").options == ["Région de démonstration – données fictives", NAME_B, NAME_A]
    assert at.selectbox(key="sidebar.espace").value == "bzh"
    shown = texts(at)
    assert "#### Importer vos fichiers" in shown and "votre rôle" not in shown
    assert at.button(key="donnees.supprimer") is not None  # every right, nobody logs in
    assert not at.text_area  # no member form: there are no users
    assert "Journal des actions" in [e.label for e in at.expander]


def test_with_auth_nobody_logged_in_sees_only_the_login_screen(two_teams):
    at = run_app(espace="hdf", auth=AUTH, user={"is_logged_in": False})
    assert not at.exception
    assert [b.label for b in at.button] == ["Se connecter"]
    assert not at.selectbox and not at.metric and not at.dataframe
    shown = texts(at)
    assert NAME_A not in shown and "démonstration" not in shown


def test_an_incomplete_auth_section_keeps_the_app_closed(two_teams):
    at = run_app(auth={k: v for k, v in AUTH.items() if k != "cookie_secret"}, user={"is_logged_in": True,
                                                                                   "email": ADMIN_A})
    assert not at.exception
    assert any("configuration est incomplète" in e.value and "cookie_secret" in e.value for e in at.error)
    assert not at.selectbox and not at.metric


def test_roles_on_the_data_page(two_teams):
    def page(email, espace="hdf", **claims):
        return run_app("app_pages/donnees.py", espace, AUTH, {"is_logged_in": True, "email": email,
                                                             "email_verified": True, **claims})

    lecteur = page(LECTEUR_A)
    assert "votre rôle : lecteur" in texts(lecteur) and "#### Importer vos fichiers" not in texts(lecteur)
    assert not lecteur.text_area and "Supprimer cet espace de travail" not in [e.label for e in lecteur.expander]
    editeur = page(EDITEUR_A)
    assert "#### Importer vos fichiers" in texts(editeur)
    assert "Supprimer cet espace de travail" not in [e.label for e in editeur.expander]
    admin = page(ADMIN_A)
    assert [t.key for t in admin.text_area] == ["donnees.membres.lecteur", "donnees.membres.editeur",
                                                "donnees.membres.admin"]
    assert {"Membres et droits d'accès", "Journal des actions", "Supprimer cet espace de travail"} <= {
        e.label for e in admin.expander}
    # an admin cannot lock themself out
    admin.text_area(key="donnees.membres.admin").input("")
    admin.button(key="FormSubmitter:donnees.membres-Enregistrer les membres").click().run()
    assert any("vous retirer vous-même" in e.value for e in admin.error)
    # the demo for everyone, nothing else without a verified address
    unverified = page(LECTEUR_A, espace=None, email_verified=False)
    assert unverified.selectbox(key="sidebar.espace").options == ["Région de démonstration – données fictives"]
    refused = page(LECTEUR_B, espace="hdf")
    assert any("n'existe pas ou ne vous est pas accessible" in e.value for e in refused.error)
    assert NAME_A not in texts(refused) and not refused.metric and not refused.dataframe


def test_a_creator_becomes_admin_of_their_workspace(two_teams):
    from data import access

    at = run_app("app_pages/donnees.py", auth=AUTH, user={"is_logged_in": True, "email": LECTEUR_B,
                                                          "email_verified": True})
    at.text_input(key="donnees.creer.nom").input("Étude B")
    at.button(key="FormSubmitter:donnees.creer-Créer l'espace").click().run()
    at.run()
    assert not at.exception
    slug = at.selectbox(key="sidebar.espace").value
    assert slug.startswith("etude-b-")  # with a login, an identifier with a random part
    assert access.role(LECTEUR_B, slug) == "admin" and access.role(LECTEUR_A, slug) is None


# ---------------------------------------------------------------------------------------------
# The server's resources before login, sessions that end (issue 22). A session is opened the way a
# browser opens it (Streamlit's websocket protocol, with its XSRF cookie and an identity cookie taken
# from a real login); the server's own endpoints are then asked as the probe asked them.


def xsrf_cookie(url: str) -> str:
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as r:
        for header in r.headers.get_all("Set-Cookie") or []:
            if header.startswith("_streamlit_xsrf="):
                return header.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError("pas de cookie XSRF")


def run_session(url: str, cookies: dict[str, str], action=None, query: str = "") -> tuple[str, list[str], object]:
    """Open a websocket session with ``cookies``, run the app's page, then ``action(session_id, cookies)``
    while the session is open; (session id, texts the page drew, what the action answered)."""
    import asyncio

    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    xsrf = xsrf_cookie(url)
    jar = {**cookies, "_streamlit_xsrf": xsrf}

    async def main():
        async with websockets.connect(url.replace("http://", "ws://") + "/_stcore/stream",
                                      subprotocols=["streamlit", xsrf], origin=url, max_size=None,
                                      additional_headers={"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}
                                      ) as ws:
            msg = BackMsg()
            msg.rerun_script.query_string = query
            await ws.send(msg.SerializeToString())
            sid, texts = "", []
            while True:
                fwd = ForwardMsg()
                fwd.ParseFromString(await asyncio.wait_for(ws.recv(), timeout=120))
                kind = fwd.WhichOneof("type")
                if kind == "new_session":
                    sid = fwd.new_session.initialize.session_id
                elif kind == "delta" and fwd.delta.WhichOneof("type") == "new_element":
                    el = fwd.delta.new_element
                    which = el.WhichOneof("type")
                    text = {"markdown": el.markdown.body, "alert": el.alert.body, "heading": el.heading.body,
                            "button": el.button.label}.get(which, "")
                    texts.append(text.replace("\u2060", "").replace("\\", ""))  # as read (fmt.md's escapes)
                elif kind == "script_finished":
                    break
            answer = await asyncio.to_thread(action, sid, jar) if action else None
            return sid, texts, answer

    return run_async(main)


def run_async(make_coroutine):
    """``asyncio.run`` in a thread of its own: Playwright's loop may be running in this one."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make_coroutine())).result()


def put_file(url: str, sid: str, jar: dict[str, str], name: str, size: int, data: bytes | None = None) -> tuple[int, str]:
    """An upload to Streamlit's endpoint, as its file uploader sends it: (status, body)."""
    boundary = "----sonde22"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    body = head + (data if data is not None else b"x" * size) + f"\r\n--{boundary}--\r\n".encode()
    import http.client

    host, port = url.split("//", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)  # keep-alive, as a browser's upload
    try:
        conn.request("PUT", f"/_stcore/upload_file/{sid}/{name}", body=body, headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}", "X-Xsrftoken": jar["_streamlit_xsrf"],
            "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())})
        answer = conn.getresponse()
        return answer.status, answer.read().decode("utf-8", "replace")
    finally:
        conn.close()


def get(url: str, cookies: dict[str, str] | None = None) -> int:
    req = urllib.request.Request(url, headers={"Cookie": "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def server_rss_mb(url: str) -> float:
    """The resident memory of the server listening on ``url``'s port."""
    port = url.rsplit(":", 1)[1]
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in cmd and port.encode() in cmd:
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    raise AssertionError("processus du serveur introuvable")


def user_cookies(person: Person) -> dict[str, str]:
    return {c["name"]: c["value"] for c in person.context.cookies() if c["name"].startswith("_streamlit_user")}


@needs_chromium
def test_nothing_of_the_server_before_login_and_uploads_bounded_after(auth_app, browser):
    url, _ = auth_app
    # an anonymous session (the login screen) with its XSRF cookie: its uploads are refused, memory stays
    sid, texts, _ = run_session(url, {})
    assert "Se connecter" in texts and sid
    big = b"x" * (30 << 20)
    before = server_rss_mb(url)
    answers = run_session(url, {}, lambda s, jar: [put_file(url, s, jar, f"f{i}.csv", 0, big) for i in range(5)])[2]
    assert [a[0] for a in answers] == [403] * 5 and "Connexion requise" in answers[0][1]
    assert server_rss_mb(url) - before < 40, (before, server_rss_mb(url))  # 150 MB sent, none kept
    for path in ("/_stcore/metrics", "/media/0123456789abcdef.png"):  # nothing else either
        assert get(url + path) == 403, path
    # logged in: a session of this login uploads, within its bounds; another login's session does not
    who = log_in(browser, url, LECTEUR_A)
    mine = user_cookies(who)
    assert get(url + "/_stcore/metrics", mine) == 200
    sid, texts, answers = run_session(url, mine, lambda s, jar: [put_file(url, s, jar, f"f{i}.csv", 1000)
                                                                 for i in range(10)])
    assert f"Connecté : {LECTEUR_A}" in "\n".join(texts)
    assert [a[0] for a in answers[:8]] == [204] * 8, answers
    assert answers[8][0] == 413 and "8 au plus" in answers[8][1]
    anonymous_sid = run_session(url, {})[0]
    assert run_session(url, mine, lambda s, jar: put_file(url, anonymous_sid, jar, "x.csv", 10))[2][0] == 403
    who.close()


@needs_chromium
def test_a_session_ends_at_logout_everywhere_and_at_its_maximum_age(auth_app, browser):
    url, _ = auth_app
    who = log_in(browser, url, LECTEUR_A)
    copied = user_cookies(who)
    second = who.context.new_page()  # a second tab of the same browser
    open_app(second, f"{url}/?espace=hdf")
    expect(second.get_by_role("button", name="Se déconnecter")).to_be_visible(timeout=60_000)
    who.page.get_by_role("button", name="Se déconnecter").click()
    who.page.wait_for_url("**/oauth2/end_session**", timeout=30_000)
    # the second tab's next run: the login screen, nothing of the workspace
    second.get_by_role("link", name="Diagnostic de couverture").click()
    expect(second.get_by_role("button", name="Se connecter")).to_be_visible(timeout=60_000)
    assert NAME_A not in main_text(second) and "fermée par une déconnexion" in main_text(second)
    who.close()
    # the cookie copied before the logout, replayed from elsewhere: refused by the page and by the server
    sid, texts, status = run_session(url, copied, lambda s, jar: put_file(url, s, jar, "f.csv", 10)[0],
                                     query="espace=hdf")
    shown = "\n".join(texts)
    assert "Se connecter" in texts and "fermée par une déconnexion" in shown and NAME_A not in shown
    assert status == 403 and get(url + "/_stcore/metrics", copied) == 403
    # a login older than the maximum age (8 hours by default) must log in again
    from streamlit.web.server.starlette.starlette_app_utils import create_signed_value

    def forged(hours_ago: float) -> dict[str, str]:
        claims = {"iss": Person.provider, "sub": ADMIN_A, "email": ADMIN_A, "email_verified": True, "aud": "x",
                  "iat": int(time.time() - hours_ago * 3600), "nonce": os.urandom(8).hex(), "origin": url,
                  "is_logged_in": True, "provider": "default"}
        value = create_signed_value(SECRETS["cookie"], "_streamlit_user", json.dumps(claims))
        return {"_streamlit_user": value.decode()}

    sid, texts, status = run_session(url, forged(9), lambda s, jar: put_file(url, s, jar, "f.csv", 10)[0])
    assert "date de plus de 8 heures" in "\n".join(texts) and "Se connecter" in texts and status == 403
    sid, texts, status = run_session(url, forged(7), lambda s, jar: put_file(url, s, jar, "f.csv", 10)[0])
    assert f"Connecté : {ADMIN_A}" in "\n".join(texts) and status == 204  # the same cookie, younger: in


@needs_chromium
def test_a_person_removed_from_the_rules_loses_access_at_the_next_run(auth_app, browser):
    url, store = auth_app
    who = log_in(browser, url, LECTEUR_B)
    page = who.page
    open_app(page, f"{url}/?espace=bzh")
    assert NAME_B in workspace_options(page)
    rules = store / "acces.toml"
    before = rules.read_text(encoding="utf-8")
    try:
        rules.write_text(before.replace('lecteur = ["@dreets-b.gouv.fr"]', "lecteur = []"), encoding="utf-8")
        page.get_by_role("link", name="Diagnostic de couverture").click()  # the next run, same session
        expect(page.get_by_text("n'existe pas ou ne vous est pas accessible").first).to_be_visible(timeout=60_000)
        assert NAME_B not in main_text(page) and NAME_B not in workspace_options(page)
    finally:
        rules.write_text(before, encoding="utf-8")
    who.close()


def test_a_login_is_never_served_without_the_guard(auth_app, tmp_path):
    """``streamlit run app.py`` with a login configured: closed, and saying how to start it."""
    _, store = auth_app
    with local_server.serving(store, ARTIFACTS / "streamlit_sans_garde.log", secrets=Path(SECRETS["file"]),
                              warmup=False) as (url, _):
        _, texts, _ = run_session(url, {})
    shown = "\n".join(texts)
    assert "sans sa protection" in shown and "cli.py serve" in shown and "Se connecter" not in texts


def test_an_absent_email_verified_claim_follows_the_providers_setting(two_teams):
    claims = {"is_logged_in": True, "email": LECTEUR_A}  # no email_verified claim (Microsoft Entra)
    refused = run_app("app_pages/donnees.py", "hdf", AUTH, claims)
    assert any("n'existe pas ou ne vous est pas accessible" in e.value for e in refused.error)
    assert refused.selectbox(key="sidebar.espace").options == ["Région de démonstration – données fictives"]
    vouched = run_app("app_pages/donnees.py", "hdf", {**AUTH, "email_verifie_si_absent": True}, claims)
    assert "votre rôle : lecteur" in texts(vouched)
    named = {k: v for k, v in AUTH.items() if k not in ("client_id", "client_secret", "server_metadata_url")}
    named["entra"] = {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")}
    named["proconnect"] = {**named["entra"], "email_verifie_si_absent": True}
    for provider, seen in (("entra", False), ("proconnect", True)):
        at = run_app("app_pages/donnees.py", "hdf", named, {**claims, "provider": provider})
        assert ("votre rôle : lecteur" in texts(at)) is seen, provider


def test_the_guard_answers_before_reading_a_body_and_bounds_uploads(monkeypatch, tmp_path):
    """The guard's rules on fabricated requests: no login configured, nothing changes; with one, refusals
    come before any byte of the body is read, uploads are bounded by their declared size, and Streamlit's
    cookies get ``Secure`` behind HTTPS."""
    from streamlit.runtime import Runtime

    from components import auth, guard

    monkeypatch.setenv("DIAG_DONNEES", str(tmp_path))
    reached = []

    async def app(scope, receive, send):
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"set-cookie", b"_streamlit_user=abc; HttpOnly; Path=/; SameSite=lax")]})
        await send({"type": "http.response.body", "body": b""})

    async def receive():
        raise AssertionError("le garde a lu le corps de la requête")

    g = guard.Guard(app)

    def ask(path, method="GET", length=None):
        sent = []

        async def send(message):
            sent.append(message)

        headers = [(b"content-length", str(length).encode())] if length is not None else []
        run_async(lambda: g({"type": "http", "path": path, "method": method, "headers": headers}, receive, send))
        start = sent[0]
        cookies = [v.decode() for k, v in start["headers"] if k == b"set-cookie"]
        body = b"".join(m.get("body", b"") for m in sent[1:]).decode()
        return start["status"], cookies, body

    monkeypatch.setattr(auth, "auth_section", lambda: None)  # the single local user
    assert ask("/_stcore/upload_file/s/f", "PUT", 10)[0] == 200 and ask("/_stcore/metrics")[0] == 200
    assert ask("/")[1] == ["_streamlit_user=abc; HttpOnly; Path=/; SameSite=lax"]
    monkeypatch.setattr(auth, "auth_section", lambda: {"redirect_uri": "https://diag.example.gouv.fr/oauth2callback"})
    assert ask("/")[1] == ["_streamlit_user=abc; HttpOnly; Path=/; SameSite=lax; Secure"]
    for path in ("/_stcore/upload_file/s/f", "/media/abc.png", "/_stcore/metrics"):
        status, _, body = ask(path, "PUT" if "upload" in path else "GET", 10)
        assert status == 403 and "Connexion requise" in body, path
    # a login: its own session's uploads, bounded by count, by session and by server, from Content-Length
    login = {"is_logged_in": True, "sub": "a", "email": "a@b.fr", "iat": time.time()}
    monkeypatch.setattr(guard, "login_of", lambda *args: dict(login))
    mb = 1 << 20

    class Rec:
        def __init__(self, n):
            self.data = range(n)  # its length, without the bytes

    class Session:
        def matches_user_info(self, info):
            return info == login

    class Manager:
        file_storage = {"s": {"a": Rec(150 * mb)}, "t": {}}

    class Fake:
        uploaded_file_mgr = Manager()

        def get_app_session(self, sid):
            return Session() if sid in ("s", "t", "u") else None

    monkeypatch.setattr(Runtime, "instance", classmethod(lambda cls: Fake()))
    assert ask("/_stcore/upload_file/s/b", "PUT", 100 * mb)[0] == 200
    assert ask("/_stcore/upload_file/s/b", "PUT", 300 * mb)[0] == 413  # 450 MB in one session
    assert ask("/_stcore/upload_file/x/b", "PUT", 1)[0] == 403  # not a session of this login
    assert ask("/_stcore/upload_file/x/a", "DELETE")[0] == 403  # nor removing another session's file
    assert ask("/_stcore/upload_file/s/a", "DELETE")[0] == 200  # its own
    Manager.file_storage["t"] = {str(i): Rec(10) for i in range(guard.MAX_FILES)}
    status, _, body = ask("/_stcore/upload_file/t/z", "PUT", 10)
    assert status == 413 and f"{guard.MAX_FILES} au plus" in body
    Manager.file_storage["t"] = {str(i): Rec(190 * mb) for i in range(4)}  # 910 MB held in all
    assert ask("/_stcore/upload_file/u/z", "PUT", 100 * mb)[0] == 503
    assert ask("/_stcore/upload_file/s/f", "OPTIONS")[0] == 200  # a preflight carries no cookie
    assert reached.count("/_stcore/upload_file/s/b") == 1
