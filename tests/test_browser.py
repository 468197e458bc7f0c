"""Real-browser tests: the app started as a user would, driven by Debian's Chromium (Playwright).

What only a browser shows: the map draws its shapes, nothing is requested outside the machine,
the console stays clean. Screenshots at 1920x1080 go to tests/artifacts/. Skipped, with the
reason, when /usr/bin/chromium is absent (install it with: apt-get install chromium).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.conftest import ARTIFACTS
from tests.streamlit_server import serve

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium de Debian absent (apt-get install chromium)")
LOCAL_HOSTS = {"127.0.0.1", "localhost", ""}
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


STORE: dict[str, str] = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    STORE["dir"] = str(tmp_path_factory.mktemp("store"))
    env = {**os.environ, "DIAG_DONNEES": STORE["dir"]}
    with serve(env, "streamlit.log") as url:
        yield url


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
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("response", self._response)
        self.probes = 0
        self.stale_media = 0
        self.context.route("**/*", self._route)

    def _console(self, message):
        if message.type != "error":
            return
        # opened on a deep link (/donnees?espace=...), Streamlit's frontend first looks for its server
        # under the page's path (/donnees/_stcore/health): those two 404 are its own, and harmless
        if "404" in message.text and self.probes:
            self.probes -= 1
            return
        # a download button of a run the page is replacing may check its file after the server has dropped
        # it (Streamlit keeps a download one run more, then deletes it): a console line nobody sees, the
        # button of the new run has its own file. Tests that download click the buttons on show.
        if "404" in message.text and self.stale_media:
            self.stale_media -= 1 if "source error" in message.text else 0
            return
        self.errors.append(message.text)

    def _response(self, response):
        if response.status == 404 and response.url.endswith(("/_stcore/health", "/_stcore/host-config")):
            self.probes += 1
        elif response.status == 404 and urlparse(response.url).path.startswith("/media/"):
            self.stale_media += 1

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
    assert count('path.diag-host') == len(layers.structures)  # host markers
    # the legend is beside the map (never over the région), and names every structure drawn
    legend = page.locator(".diag-legend").first
    assert legend.is_visible() and page.get_by_text("Légende", exact=True).first.is_visible()
    names = dict(zip(d.structures["id_structure"], d.structures["nom"]))
    assert all(names[sid] in legend.inner_text() for sid in layers.structures["id_structure"])
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "carte_facilitateurs.png"))
    assert not w.external, w.external
    assert not w.errors, w.errors
    # the legend is readable from the back of a room: at least 16 px
    size = legend.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
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
    assert not w.errors, w.errors
    w.close()


def server_workspace(monkeypatch, name: str) -> str:
    """A workspace created in the server's store, as another session (or the CLI) would."""
    from data.store import workspaces

    monkeypatch.setenv("DIAG_DONNEES", STORE["dir"])
    return workspaces.create(name)


def test_bad_upload_is_refused_with_line_and_column(server, browser, tmp_path, monkeypatch):
    slug = server_workspace(monkeypatch, "Refus")
    bad = tmp_path / "marches.csv"
    bad.write_text("id_marche;lieu_type;lieu_code;considerations_sociales\nM1;commune;31555;Clause sociale\n"
                   "M2;canton;31;Clause sociale\n", encoding="utf-8")
    w = Watched(browser)
    page = w.page
    page.goto(f"{server}/donnees?espace={slug}")
    wait_app(page)
    page.get_by_role("tab", name="Marchés publics").click()
    # the uploader of the tab on show (counting uploaders in the page raced with its drawing under load)
    panel = page.locator('[role="tabpanel"]:visible').filter(has_text="Limites pour les marchés")
    panel.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(bad))
    page.get_by_text("» est refusé").first.wait_for(timeout=60_000)
    assert page.get_by_text("Vos données actuelles n'ont pas été modifiées").first.is_visible()
    # the error itself, whole, in the alert (a data grid cuts a long message at 1280 px)
    alert = page.locator('[data-testid="stAlertContentError"]').first.inner_text().replace("\u2060", "")
    assert "marches.csv, ligne 3, colonne « lieu_type » : valeur inconnue « canton »" in alert, alert
    page.get_by_text("Rapport de validation").first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "donnees_fichier_refuse.png"))
    assert not w.external and not w.errors, (w.external, w.errors)
    w.close()
    from data.store import workspaces

    assert workspaces.history(slug) == []  # a refused file changes nothing


def test_a_geopackage_of_two_layers_asks_which_to_import(server, browser, tmp_path, monkeypatch):
    from tests.test_validation import probe_layers

    slug = server_workspace(monkeypatch, "Deux couches")
    gpkg = probe_layers(tmp_path)["gpkg"]
    w = Watched(browser)
    page = w.page
    page.goto(f"{server}/donnees?espace={slug}")
    wait_app(page)
    page.get_by_role("tab", name="Quartiers prioritaires (QPV)").click()
    panel = page.locator('[role="tabpanel"]:visible').filter(has_text="Limites pour les QPV")
    panel.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(gpkg))
    page.get_by_text("indiquez celle à importer").first.wait_for(timeout=60_000)
    choice = page.get_by_text("Ce fichier contient 2 couches : laquelle importer ?")
    expect(choice).to_be_visible()
    panel.locator('[data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name="qpv_2015").click()
    page.get_by_text("Version 1 de l'espace").first.wait_for(timeout=60_000)
    # accepted with one warning (the report's table says which layer was read), in one sentence with its counts
    assert page.get_by_text("1 QPV lu et gardé ; 1 avertissement, détaillé ci-dessous").first.is_visible()
    page.screenshot(path=str(ARTIFACTS / "donnees_deux_couches.png"))
    # the report's export on show downloads its table (the layer read is named in it)
    with page.expect_download(timeout=60_000) as dl:
        panel.get_by_role("button", name="Exporter en CSV").first.click()
    assert "qpv_2015" in Path(dl.value.path()).read_bytes().decode("utf-8-sig")
    assert not w.external and not w.errors, (w.external, w.errors)
    w.close()
    from data.store import workspaces

    assert workspaces.load(slug).qpv["code_qp"].tolist() == ["QP031001"]


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


def occitanie_facilitators(realdata, path: Path) -> Path:
    """Two structures of real Occitanie EPCI, as a facilitators' workbook written by hand."""
    import pandas as pd

    from data.formats.writers import xlsx_bytes

    cog = pd.read_csv(realdata / "admin" / "communes_cog2026_epci_pop_ze2020.csv", dtype=str)
    occ = cog[cog["reg"] == "76"]
    toulouse = occ.loc[occ["code_insee"] == "31555", "epci_siren"].iloc[0]
    montpellier = occ.loc[occ["code_insee"] == "34172", "epci_siren"].iloc[0]
    st = pd.DataFrame({"id_structure": ["F1", "F2"], "nom": ["PLIE de Toulouse", "MDE de Montpellier"],
                       "type_structure": ["PLIE", "Maison de l'emploi"], "code_commune": ["31555", "34172"],
                       "nb_facilitateurs": [3, 2], "etp": [2.5, 1.5]})
    pe = pd.DataFrame({"id_structure": ["F1", "F2"], "type_territoire": ["EPCI", "EPCI"],
                       "code_territoire": [toulouse, montpellier]})
    path.write_bytes(xlsx_bytes({"structures": st, "perimetres": pe}))
    return path


def test_new_workspace_of_real_files_never_shows_the_demo(server, browser, realdata, tmp_path):
    """A new workspace made on the Données page from real Occitanie files: its maps draw the real
    région, its markets page says no market file was imported, and a second browser on the demo
    sees the demo unchanged."""
    w = Watched(browser)
    page = w.page
    go_to(page, server, "Données")
    page.get_by_label("Nom de l'espace").fill("Occitanie 2026")  # open on the demo, which is read-only
    page.get_by_role("button", name="Créer l'espace").click()
    wait_app(page)
    assert "espace=occitanie-2026" in page.url
    uploads = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    uploads.nth(0).set_input_files(
        str(realdata / "communes_geom/communes_occitanie_cog2026_from_adminexpress2018.geojson"))
    page.get_by_text("Version 1 de l'espace").first.wait_for(timeout=120_000)
    page.get_by_role("tab", name="Quartiers prioritaires (QPV)").click()
    uploads.nth(1).set_input_files(str(realdata / "qpv/qpv2015_occitanie_polygones_hackaviz2021.geojson"))
    page.get_by_text("Version 2 de l'espace").first.wait_for(timeout=120_000)
    page.get_by_role("tab", name="Facilitateurs (structures et périmètres)").click()
    uploads.nth(2).set_input_files(str(occitanie_facilitators(realdata, tmp_path / "facilitateurs.xlsx")))
    page.get_by_text("Version 3 de l'espace").first.wait_for(timeout=120_000)
    wait_app(page)
    page.get_by_role("link", name="Marchés").click()
    wait_app(page)
    assert page.get_by_text("Aucun fichier de marchés n'a été importé dans cet espace").first.is_visible()
    page.get_by_role("link", name="Carte des facilitateurs").click()
    wait_app(page)
    frame = map_frame(page)
    page.wait_for_timeout(2000)
    legend = page.locator(".diag-legend").first.inner_text()
    assert "PLIE de Toulouse" in legend and "Valbourg" not in legend  # nothing of the demo there
    assert frame.locator('path[fill-opacity="0.85"]').count() == 105  # every real QPV drawn
    page.screenshot(path=str(ARTIFACTS / "carte_occitanie_importee.png"))
    page.get_by_role("link", name="Accueil").click()
    wait_app(page)
    assert page.get_by_role("heading", name="Occitanie").first.is_visible()
    assert not w.external and not w.errors, (w.external, w.errors)
    # another person, on the demo: unchanged
    other = Watched(browser)
    go_to(other.page, server, "Marchés")
    assert "espace=demo" in other.page.url
    assert other.page.get_by_text("Données fictives de démonstration").first.is_visible()
    assert other.page.locator('[data-testid="stMetric"]').count() >= 5
    assert not other.errors, other.errors
    other.close()
    w.close()


def test_region_workspace_from_the_shipped_referentiel(server, browser):
    """No network, no GIS work: a workspace created for a région on the Données page, then its map."""
    from data import referentiel

    if not referentiel.available():
        pytest.skip("référentiel officiel absent")
    w = Watched(browser)
    page = w.page
    go_to(page, server, "Données")
    page.get_by_label("Nom de l'espace").fill("Bretagne 2026")
    page.get_by_label("Région", exact=True).last.click()
    page.get_by_role("option", name="Bretagne (53)").click()
    page.get_by_role("button", name="Créer l'espace").click()
    wait_app(page)
    assert "espace=bretagne-2026" in page.url
    assert page.get_by_text("Sources : INSEE COG 2026, IGN ADMIN EXPRESS, Licence Ouverte").first.is_visible()
    page.get_by_role("link", name="Carte des facilitateurs").click()
    wait_app(page)
    frame = map_frame(page)
    page.wait_for_timeout(1500)
    n = len(referentiel.region_communes("53"))
    assert frame.locator('path.leaflet-interactive').count() >= n  # every commune of the région drawn
    assert page.get_by_text("Aucun fichier de facilitateurs n'a été importé dans cet espace").first.is_visible()
    page.screenshot(path=str(ARTIFACTS / "carte_bretagne_referentiel.png"))
    assert not w.external and not w.errors, (w.external, w.errors)
    w.close()


PAYLOADS = ['<img src=x onerror="window.__xss=1;alert(1)">', "**gras** [lien](javascript:alert(2))",
            "`${alert(3)}`</script><script>alert(4)</script>", '=HYPERLINK("http://x","y")']


def test_names_from_files_stay_text_on_every_page(server, browser, tmp_path, monkeypatch):
    """Payloads imported through every kind of file (names of communes, QPV, structures, markets,
    indicators): no script runs, no markup or Markdown is rendered from data, on any page."""
    from data import demo
    from data.formats.writers import write_dataset
    from data.store import imports, workspaces
    from data.validation import validate

    slug = server_workspace(monkeypatch, "Injection")
    ds = demo.generate()
    pick = lambda n: [PAYLOADS[i % len(PAYLOADS)] + f" {i}" for i in range(n)]  # noqa: E731
    ds.communes["nom"] = pick(len(ds.communes))
    ds.communes["epci_nom"] = PAYLOADS[0]
    ds.communes["ze2020_lib"] = PAYLOADS[1]
    ds.qpv["nom_qp"] = pick(len(ds.qpv))
    ds.structures["nom"] = pick(len(ds.structures))
    ds.marches["objet"], ds.marches["acheteur"] = pick(len(ds.marches)), PAYLOADS[2]
    ds.indicateurs["modalite"] = ds.indicateurs["modalite"] + " " + PAYLOADS[0]
    ds.structures_inclusion["nom"] = pick(len(ds.structures_inclusion))
    files = {k: v for k, v in ((p.stem, p) for p in write_dataset(ds, tmp_path / "files"))}
    for kind, path in (("communes", files["communes"]), ("qpv", files["qpv"]),
                       ("facilitateurs", files["facilitateurs"]), ("marches", files["marches"]),
                       ("indicateurs", files["indicateurs"]), ("structures_inclusion", files["structures_inclusion"])):
        current = workspaces.load(slug)
        loaded = validate(kind, [path], communes=current.communes if current.has("communes") else None)
        assert loaded.ok, loaded.report.text()
        new, record = imports.apply(current, loaded, [path.name])
        workspaces.import_tables(slug, new, kind, record)
    w = Watched(browser)
    dialogs = []
    w.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for path in ("", "carte_facilitateurs", "diagnostic_couverture", "comparer_facilitateurs", "marches",
                 "indicateurs", "rapport", "presentation", "donnees", "acheteurs", "besoins",
                 "carte_facilitateurs?couches=inclusion"):
        w.page.goto(f"{server}/{path}{'&' if '?' in path else '?'}espace={slug}")
        wait_app(w.page)
        frames = [w.page.main_frame, *w.page.frames]
        for frame in frames:
            assert frame.locator('img[src="x"]').count() == 0, path
            assert frame.locator('a[href^="javascript"]').count() == 0, path
            assert frame.evaluate("() => window.__xss === undefined"), path
        assert w.page.locator("strong", has_text="gras").count() == 0, path  # Markdown not rendered
    assert not dialogs, dialogs
    assert not w.external, w.external
    w.close()


def test_inclusion_layer_on_the_map_at_1280x720(server, browser):
    """Issue 20: the layer « Structures d'insertion » at the zoom the map opens at (grouped, with counts), its
    legend beside the map, a card per structure on click, the dots by type once zoomed in; and
    the Acheteurs page; nothing from outside the machine."""
    from data import demo
    from geo.codes import as_text

    ds = demo.generate()
    located = ds.structures_inclusion[as_text(ds.structures_inclusion["code_commune"]) != ""]
    w = Watched(browser)
    w.page.set_viewport_size({"width": 1280, "height": 720})
    page = w.page
    go_to(page, server, "Carte des facilitateurs")
    map_frame(page)
    page.get_by_role("button", name="Structures d'insertion").click()
    wait_app(page)
    frame = page.frame_locator('iframe[title*="st_folium"]').first
    frame.locator(".diag-inc-group").first.wait_for(timeout=60_000)
    groups = frame.locator(".diag-inc-group")
    counts = [int(t) for t in groups.all_inner_texts()]
    assert sum(counts) == len(located) and 1 < len(counts) < len(located)  # every structure, grouped
    legend = page.locator(".diag-legend").first
    assert "Entreprise d'insertion (EI)" in legend.inner_text() and "Plusieurs types" in legend.inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "carte_structures_insertion_1280x720.png"))
    groups.nth(int(np.argmax(counts))).dispatch_event("click")  # the largest group (overlaps aside)
    card = frame.locator(".diag-inc-card").first
    card.wait_for(timeout=10_000)
    assert card.inner_text().split("\n")[0] in set(located["nom"])
    page.wait_for_timeout(500)  # the popup's fade-in, for the picture
    page.screenshot(path=str(ARTIFACTS / "carte_structures_insertion_fiche.png"))
    frame.locator(".leaflet-popup-close-button").click()
    for _ in range(4):  # zoomed in: one dot per place, coloured by type
        frame.locator(".leaflet-control-zoom-in").click()
        page.wait_for_timeout(400)
    assert frame.locator(".diag-inc-group").count() == 0
    assert frame.locator('path[fill-opacity="0.95"][stroke="#000"]').count() >= 1
    go_to(page, server, "Acheteurs")
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("Estimation à partir du fichier de marchés").first.is_visible()
    page.screenshot(path=str(ARTIFACTS / "page_acheteurs_1280x720.png"))
    assert not w.external, w.external
    assert not w.errors, w.errors
    w.close()
