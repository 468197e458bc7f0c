"""Real-browser tests: the app started as a user would, driven by Debian's Chromium (Playwright).

What only a browser shows: the map draws its shapes, nothing is requested outside the machine,
the console stays clean. Screenshots at 1920x1080 go to tests/artifacts/. Skipped, with the
reason, when /usr/bin/chromium is absent (install it with: apt-get install chromium).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import ARTIFACTS, ROOT

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium de Debian absent (apt-get install chromium)")
LOCAL_HOSTS = {"127.0.0.1", "localhost", ""}
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    env = {**os.environ, "DIAG_DONNEES": str(tmp_path_factory.mktemp("store"))}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # the server's output goes to a file: an unread pipe fills up and freezes the server
    log = open(ARTIFACTS / "streamlit.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("le serveur Streamlit n'a pas démarré")
    yield url
    proc.terminate()
    proc.wait(timeout=20)
    log.close()
    text = (ARTIFACTS / "streamlit.log").read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in text, text[-3000:]  # no page failed on the server side either


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield b
        b.close()


class Watched:
    """A page whose console errors and requests leaving the machine are recorded."""

    def __init__(self, browser):
        self.context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="fr-FR")
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.external: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.context.route("**/*", self._route)

    def _route(self, route):
        host = urlparse(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:", "about:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()  # as in a meeting room with no internet

    def close(self):
        self.context.close()


def wait_app(page):
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    page.wait_for_timeout(1500)


def go_to(page, server: str, link: str | None = None):
    """As a user would: the home page, then a link of the navigation."""
    page.goto(server)
    wait_app(page)
    if link:
        page.get_by_role("link", name=link, exact=True).click()
        wait_app(page)


def map_frame(page):
    frame = page.frame_locator('iframe[title*="st_folium"]').first
    frame.locator("path.leaflet-interactive").first.wait_for(timeout=60_000)
    return frame


def test_map_draws_every_shape_offline(server, browser, demo_result):
    from geo.display import build_layers
    from data import demo

    w = Watched(browser)
    page = w.page
    go_to(page, server, "Carte des facilitateurs")
    frame = map_frame(page)
    page.wait_for_timeout(1500)
    d = demo_result.diagnosis
    ds = demo.generate()
    layers = build_layers(ds.communes, ds.qpv, ds.structures, demo_result.coverage.membership,
                          demo_result.coverage.structure_ids, "99", d.communes, d.qpv)
    count = lambda sel: frame.locator(sel).count()  # noqa: E731
    assert count('path[fill-opacity="0.85"]') == len(d.qpv)  # QPV
    assert count('path[fill="#3A3A3A"]') == int((~d.communes["couverte"]).sum())  # zones blanches
    assert count('path[stroke="#6A3D9A"]') == len(layers.zones_emploi)  # zones d'emploi
    assert count('path[fill-opacity="0.22"]') == len(layers.structures)  # structure areas
    assert count('path[fill-opacity="0.95"]') == len(layers.structures)  # host markers
    assert frame.locator(".diag-legend").is_visible()
    assert "Légende" in frame.locator(".diag-legend").inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "carte_facilitateurs.png"))
    assert not w.external, w.external
    assert not w.errors, w.errors
    # the legend is readable from the back of a room: at least 16 px
    size = frame.locator(".diag-legend").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 16
    w.close()


PAGES = {"": "Accueil", "diagnostic_couverture": "Diagnostic de couverture",
         "comparer_facilitateurs": "Comparer les facilitateurs", "marches": "Marchés",
         "indicateurs": "Indicateurs régionaux", "donnees": "Données"}


@pytest.mark.parametrize("path", PAGES)
def test_pages_screenshots_no_error_no_external_request(server, browser, path):
    w = Watched(browser)
    page = w.page
    go_to(page, server, PAGES[path] if path else None)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stSidebar"]').get_by_text("Région").first.is_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"page_{path or 'accueil'}.png"))
    assert not w.external, w.external
    assert not [e for e in w.errors if "favicon" not in e], w.errors
    w.close()


def test_bad_upload_is_refused_with_line_and_column(server, browser, tmp_path):
    bad = tmp_path / "marches.csv"
    bad.write_text("id_marche;lieu_type;lieu_code;considerations_sociales\nM1;commune;31555;Clause sociale\n"
                   "M2;canton;31;Clause sociale\n", encoding="utf-8")
    w = Watched(browser)
    page = w.page
    go_to(page, server, "Données")
    page.get_by_role("tab", name="Marchés publics").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').nth(3).set_input_files(str(bad))
    page.get_by_text("le fichier est refusé").first.wait_for(timeout=60_000)
    assert page.get_by_text("Vos données actuelles n'ont pas été modifiées").first.is_visible()
    page.get_by_text("Rapport de validation").first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "donnees_fichier_refuse.png"))
    assert not w.external and not w.errors, (w.external, w.errors)
    w.close()


def test_click_on_an_area_opens_its_card(server, browser):
    w = Watched(browser)
    page = w.page
    go_to(page, server, "Carte des facilitateurs")
    frame = map_frame(page)
    frame.locator('path[fill-opacity="0.22"]').first.dispatch_event("click")
    page.get_by_text("Voisins (aires partagées)").first.wait_for(timeout=60_000)
    wait_app(page)
    map_frame(page)
    page.wait_for_timeout(1000)
    assert page.get_by_text("Population couverte").first.is_visible()
    # the selected area is highlighted, the others fade
    assert frame.locator('path[fill-opacity="0.45"]').count() == 1
    page.screenshot(path=str(ARTIFACTS / "carte_structure_selectionnee.png"))
    assert not w.external and not w.errors, (w.external, w.errors)
    w.close()


def test_import_real_referentiel_then_map(server, browser, realdata):
    """Last of the module (it changes the server's dataset): real Occitanie files through the
    Données page, then the map draws the real région."""
    w = Watched(browser)
    page = w.page
    go_to(page, server, "Données")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').nth(0).set_input_files(
        str(realdata / "communes_geom/communes_occitanie_cog2026_from_adminexpress2018.geojson"))
    page.get_by_text("le fichier est accepté").first.wait_for(timeout=120_000)
    page.get_by_role("tab", name="Quartiers prioritaires (QPV)").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').nth(1).set_input_files(
        str(realdata / "qpv/qpv2015_occitanie_polygones_hackaviz2021.geojson"))
    page.get_by_text("le fichier est accepté").nth(1).wait_for(timeout=120_000)
    wait_app(page)
    page.get_by_role("link", name="Carte des facilitateurs").click()
    wait_app(page)
    frame = map_frame(page)
    page.wait_for_timeout(2000)
    assert "PLIE de Valbourg" not in frame.locator(".diag-legend").inner_text()  # nothing of the demo there
    # no facilitator of the demo lies in Occitanie: every QPV is drawn, none covered
    assert frame.locator('path[fill-opacity="0.85"]').count() == 105
    page.screenshot(path=str(ARTIFACTS / "carte_occitanie_importee.png"))
    page.get_by_role("link", name="Accueil").click()
    wait_app(page)
    assert page.get_by_role("heading", name="Occitanie").first.is_visible()
    assert not w.external and not w.errors, (w.external, w.errors)
    w.close()
