"""The launch meeting: projection mode, the comparison on one screen, links that reopen a view, printing.

AppTest smoke tests of the presentation page (the demo, a workspace without markets or indicators, an
empty one), then what a person in the meeting room checks, in Debian's Chromium (Playwright) with no
network, at 1280×720 (the usual projector) and 1920×1080: each screen of the sequence fits the screen
without scrolling, figures and labels are large enough, the whole région is in view and no legend hides
it, the keyboard and a presenter's remote move between screens, a copied link reopens the same view, a
click on an area opens its card quickly, and a printed page keeps its map on one page and its tables
whole. Screenshots, the print and the timings go to tests/artifacts/. The browser tests are skipped,
with the reason, when /usr/bin/chromium is absent.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from streamlit.testing.v1 import AppTest

from data.store.dataset import MISSING
from geo import engine
from tests.conftest import ARTIFACTS, ROOT
from tests.streamlit_server import serve
from views import fmt

APP = str(ROOT / "app.py")
PAGE = "app_pages/presentation.py"
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", ""}
WALL = {"1280x720": (1280, 720), "1920x1080": (1920, 1080)}
MAP_SCREENS = (1, 3, 4)
TOLERANCE = 2  # px: rounding of fractional layout
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium de Debian absent (apt-get install chromium)")


# ---------------------------------------------------------------------------------------------
# AppTest: the page runs and speaks French whatever the workspace holds


def presentation(espace: str | None = None, ecran: int | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    if espace:
        at.query_params["espace"] = espace
    if ecran:
        at.query_params["ecran"] = str(ecran)
    at.run()
    at.switch_page(PAGE).run()
    return at


def html_of(at: AppTest) -> str:
    def walk(node):
        yield node
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                yield from walk(child)
    return "\n".join(n.proto.body for n in walk(at._tree) if getattr(n, "type", None) == "html")


def failed(at: AppTest) -> list[str]:
    return [e.message for e in at.exception] + [e.value for e in at.error if "Erreur inattendue" in e.value]


def save_workspace(name: str, ds) -> str:
    from data.store import workspaces

    slug = workspaces.create(name)
    ds = ds.replace()
    ds.meta = {k: v for k, v in ds.meta.items() if k not in ("demo", "label")}
    workspaces.commit(slug, ds, {"action": "import", "kind": "", "file": "test"})
    return slug


def test_every_screen_of_the_demo(demo_result, demo_ds):
    from views.text import SCREEN_INDICATORS, SCREEN_NEEDS, SCREENS

    s = demo_result.diagnosis.summary
    with_inclusion = engine.run(demo_ds.communes, demo_ds.qpv, demo_ds.structures, demo_ds.perimetres,
                                demo_ds.marches, "99", inclusion=demo_ds.inclusion).needs()
    white = sum(with_inclusion.inclusion["dans_zones_blanches"].values())
    expected = {1: fmt.integer(s["population"]["totale"]), 2: fmt.decimal(s["structures"]["etp"]),
                3: fmt.integer(s["population"]["non_couverte"]), 4: "zones d&#x27;emploi",
                5: fmt.integer(demo_result.market_summary["avec_consideration_sociale"]),
                SCREENS.index(SCREEN_NEEDS) + 1: f'{fmt.integer(white)}</div><div class="diag-p-label">structures de '
                                                  "l&#x27;inclusion en zone blanche",
                SCREENS.index(SCREEN_INDICATORS) + 1: "France : "}
    total = len(SCREENS)
    for n in range(1, total + 1):
        at = presentation(ecran=n)
        assert not failed(at), (n, failed(at))
        page = html_of(at)
        assert SCREENS[n - 1].replace("'", "&#x27;") in page, n
        assert f"{n} / {total}" in page
        assert expected[n] in page, (n, expected[n])
        assert at.query_params["ecran"] == str(n) and at.query_params["presentation"] == "1"


def test_buttons_move_and_the_address_follows():
    from views.text import SCREENS

    total = len(SCREENS)
    at = presentation(ecran=1)
    assert at.button(key="presentation-precedent").disabled
    at.button(key="presentation-suivant").click().run()
    assert at.query_params["ecran"] == "2" and f"2 / {total}" in html_of(at)
    at.button(key="presentation-page-suivante").click().run()  # Page Down of a presenter's remote
    assert at.query_params["ecran"] == "3"
    at.button(key="presentation-page-precedente").click().run()
    assert at.query_params["ecran"] == "2"
    last = presentation(ecran=total + 3)  # a screen number beyond the sequence: the last screen
    assert last.query_params["ecran"] == str(total) and last.button(key="presentation-suivant").disabled


def test_workspace_without_markets_or_indicators_says_so(tmp_path, monkeypatch, demo_ds):
    from data.store.dataset import Dataset

    monkeypatch.setenv("DIAG_DONNEES", str(tmp_path))
    ds = Dataset.empty().replace(communes=demo_ds.communes, qpv=demo_ds.qpv, structures=demo_ds.structures,
                                 perimetres=demo_ds.perimetres)
    slug = save_workspace("Sans marchés", ds)
    demo_markets = set(demo_ds.marches["objet"].astype(str).head(50))
    from views.text import SCREEN_INDICATORS, SCREEN_NEEDS, SCREENS

    for n in range(1, len(SCREENS) + 1):
        at = presentation(slug, n)
        assert not failed(at), (n, failed(at))
        page = html_of(at)
        assert "fictives" not in page and not any(o in page for o in demo_markets)
        if n == 5 or SCREENS[n - 1] == SCREEN_NEEDS:
            assert MISSING["marches"].replace("'", "&#x27;") in page
        if SCREENS[n - 1] == SCREEN_INDICATORS:
            assert MISSING["indicateurs"].replace("'", "&#x27;") in page


def test_empty_workspace_says_what_to_import(tmp_path, monkeypatch):
    from data.store import workspaces

    monkeypatch.setenv("DIAG_DONNEES", str(tmp_path))
    slug = workspaces.create("Vide")
    at = presentation(slug, 3)
    assert not failed(at)
    assert MISSING["communes"].replace("'", "&#x27;") in html_of(at)


def test_load_chart_ranks_structures_by_their_ratio(demo_ds, demo_result):
    """Screen 2: ETP per 100,000 inhabitants covered, highest first; every structure when their names fit the
    wall (issue 21: a structure's team is in the room), else the highest and the lowest (the most loaded), as
    many as fit, the ones between said in words, and the footnote says so."""
    import re

    from components import presentation as P
    from views.content import collect

    c = collect(demo_ds, demo_result, "99")
    html = P.means_chart(c, {})
    ranked = c.structures.dropna(subset=["etp_pour_100k_hab"]).sort_values("etp_pour_100k_hab", ascending=False)
    n = len(ranked)
    names = re.findall(r'class="diag-p-bar-name">([^<]*)<', html)
    k = len(names)
    assert 4 <= k <= n
    expected = list(ranked["nom"]) if k == n else list(ranked["nom"].head(k // 2)) + list(ranked["nom"].tail(k - k // 2))
    assert names == [x.replace("'", "&#x27;") for x in expected]
    values = [float(v.replace(",", ".")) for v in re.findall(r'class="diag-p-bar-value">([^<]*)<', html)]
    assert values == sorted(values, reverse=True)
    gap = re.findall(r'diag-p-bar-gap"><div></div><div>([^<]*)<', html)
    assert (gap == []) == (k == n)
    if gap:
        assert gap[0].startswith(f"{n - k} autres structures, de ")
        assert (f"Les {k // 2} structures aux ratios les plus élevés et les {k - k // 2} aux ratios les plus faibles "
                f"(les plus chargées), sur {n}.") in html
    # a longer subtitle leaves room for fewer bars, still both ends
    fewer = len(re.findall(r'class="diag-p-bar-name"', P.means_chart(c, {}, P.wall_room(4))))
    assert 4 <= fewer <= k
    # names that fit: every structure, whatever their number up to the room
    few = c.structures.head(6)
    assert len(re.findall(r'class="diag-p-bar-name"', P.means_chart(
        type("C", (), {"structures": few})(), {}))) == int(few["etp_pour_100k_hab"].notna().sum())


def test_figures_agree_with_their_count(demo_ds, demo_result):
    """« 1 aire », « 2 aires », « 0 QPV non couvert »: every count written on the screens agrees with it."""
    import copy
    import dataclasses

    from components import presentation as P
    from views.content import collect

    c = collect(demo_ds, demo_result, "99")
    for n, agreed in ((0, "singular"), (1, "singular"), (2, "plural"), (1234, "plural")):
        s = copy.deepcopy(c.summary)
        s["population"].update(totale=n, non_couverte=n)
        s["communes"].update(total=n, non_couvertes=n)
        s["structures"].update(total=n, personnes=n)
        s["qpv"].update(non_couverts=n)
        m = dict(c.market_summary, avec_consideration_sociale=n, regional=n, couvert=0)
        st_ = c.structures.assign(nb_ze=[5] * min(n, len(c.structures)) + [1] * (len(c.structures) - min(n, len(
            c.structures))))
        ze = c.zones_emploi.head(min(n, len(c.zones_emploi)) if n < 2 else len(c.zones_emploi))
        cc = dataclasses.replace(c, summary=s, market_summary=m, structures=st_, zones_emploi=ze)
        labels = dict((label, value) for value, label in P.glance_figures(cc) + P.gaps_figures(cc)
                      + P.means_figures(cc) + P.markets_figures(cc) + P.employment_figures(cc))
        words = {"singular": ["habitant", "commune", "structure porteuse", "habitant non couvert",
                              "zone blanche (commune)", "QPV non couvert", "facilitateur (personne)",
                              "marché à clause sociale", "marché régional", "aire sur plus de 3 zones"],
                 "plural": ["habitants", "communes", "structures porteuses", "habitants non couverts",
                            "zones blanches (communes)", "QPV non couverts", "facilitateurs (personnes)",
                            "marchés à clause sociale", "marchés régionaux", "aires sur plus de 3 zones"]}[agreed]
        assert all(w in labels for w in words), (n, sorted(labels))
        if n < 2:
            assert labels["aire sur plus de 3 zones"] == fmt.integer(n)
            assert f"zone{'s' if len(ze) >= 2 else ''} d'emploi" in labels


# ---------------------------------------------------------------------------------------------
# The browser: a server on a temporary store holding the demo and a real région


def occitanie_facilitators(path: Path) -> Path:
    """Four structures on real Occitanie territories (EPCI of Toulouse, Montpellier, Perpignan; the Gers)."""
    import pandas as pd

    from data import referentiel
    from data.formats.writers import xlsx_bytes

    occ = referentiel.region_communes("76")
    epci = dict(zip(occ["code_insee"], occ["epci_siren"]))
    st = pd.DataFrame({"id_structure": ["T1", "M1", "P1", "G1"],
                       "nom": ["PLIE de Toulouse", "MDE de Montpellier", "PLIE de Perpignan", "Département du Gers"],
                       "type_structure": ["PLIE", "MDE", "PLIE", "Département"],
                       "code_commune": ["31555", "34172", "66136", "32013"],
                       "nb_facilitateurs": [5, 3, 2, 2], "etp": [4.2, 2.5, 1.5, 1.0]})
    pe = pd.DataFrame({"id_structure": ["T1", "M1", "P1", "G1"],
                       "type_territoire": ["epci", "epci", "epci", "departement"],
                       "code_territoire": [epci["31555"], epci["34172"], epci["66136"], "32"]})
    path.write_bytes(xlsx_bytes({"structures": st, "perimetres": pe}))
    return path


STORE: dict[str, str] = {}
# a vintage as people write them: the subtitle (workspace and vintages) takes two lines at 1280×720 and 1920×1080
LONG_VINTAGE = ("2025 (enquête régionale auprès des structures porteuses de facilitateurs, mise à jour après le "
                "comité de pilotage régional de janvier 2026)")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from data import referentiel

    STORE["dir"] = str(tmp_path_factory.mktemp("store_projection"))
    env = {**os.environ, "DIAG_DONNEES": STORE["dir"]}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if referentiel.available():  # a real région, made offline from the shipped référentiel
        def cli(*args):
            out = subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], cwd=ROOT, env=env,
                                 capture_output=True, text=True, timeout=300)
            assert out.returncode == 0, out.stdout + out.stderr
        cli("workspace", "create", "--name", "Occitanie", "--region", "76")
        cli("import", "--workspace", "occitanie", "--kind", "facilitateurs", "--millesime", LONG_VINTAGE,
            str(occitanie_facilitators(Path(STORE["dir"]) / "facilitateurs.xlsx")))
        STORE["occitanie"] = "occitanie"
    with serve(env, "streamlit_projection.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield b
        b.close()


class Room:
    """A browser tab in a meeting room: no internet, its console errors recorded."""

    def __init__(self, browser, size: str = "1280x720", server: str | None = None):
        w, h = WALL[size]
        self.context = browser.new_context(viewport={"width": w, "height": h}, locale="fr-FR")
        if server:
            self.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.external: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" and "404" not in m.text
                     else None)
        self.context.route("**/*", self._route)

    def _route(self, route):
        url = route.request.url
        if url.startswith(("data:", "blob:", "about:")) or (urlparse(url).hostname or "") in LOCAL_HOSTS:
            route.continue_()
        else:
            self.external.append(url)
            route.abort()

    def close(self):
        self.context.close()


def settle(page, map_frame: bool = False):
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    page.wait_for_timeout(800)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000)
    if map_frame:
        frame = page.frame_locator('iframe[title*="st_folium"]').first
        frame.locator("path.leaflet-interactive").first.wait_for(state="attached", timeout=120_000)
    page.wait_for_timeout(1200)


def folium_frame(page):
    return next(f for f in page.frames if "streamlit_folium" in f.url)


OVERFLOW_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  return {inner: window.innerHeight, doc: document.documentElement.scrollHeight,
          main: main ? main.scrollHeight : 0, mainClient: main ? main.clientHeight : 0};
}"""

SUBTITLE_JS = """() => { const s = document.querySelector('.diag-p-sub'); const r = s.getBoundingClientRect();
  const lh = parseFloat(getComputedStyle(s).lineHeight);
  return {text: s.textContent, scroll: s.scrollWidth, client: s.clientWidth, scrollH: s.scrollHeight,
          clientH: s.clientHeight, right: r.right, bottom: r.bottom, lines: Math.round(r.height / lh)}; }"""

SIZES_JS = """(sel) => Array.from(document.querySelectorAll(sel)).filter(e => e.offsetParent !== null)
  .map(e => [e.textContent.trim().slice(0, 40), parseFloat(getComputedStyle(e).fontSize)])"""

RECT_JS = "(sel) => Array.from(document.querySelectorAll(sel)).map(e => { const r = e.getBoundingClientRect(); " \
          "return [r.left, r.top, r.right, r.bottom]; })"


def region_outline_on_page(page) -> tuple[list[float], list[float]]:
    """The région's outline (its bounds as drawn) and the map's frame, in page coordinates."""
    frame_rect = page.locator('iframe[title*="st_folium"]').first.evaluate(
        "e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }")
    inner = folium_frame(page).evaluate(RECT_JS, 'path[stroke="#000091"]')
    assert inner, "contour de la région absent"
    left, top, right, bottom = (min(r[0] for r in inner), min(r[1] for r in inner), max(r[2] for r in inner),
                                max(r[3] for r in inner))
    return [left + frame_rect[0], top + frame_rect[1], right + frame_rect[0], bottom + frame_rect[1]], frame_rect


def overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


WORKSPACES = ["demo", "occitanie"]


@needs_chromium
@pytest.mark.parametrize("size", list(WALL))
@pytest.mark.parametrize("espace", WORKSPACES)
def test_each_screen_fits_the_wall(server, browser, size, espace):
    """One message per screen: nothing to scroll, the whole région in view beside its legend, and at
    1280×720 figures of at least 40 px and labels of at least 24 px."""
    if espace not in ("demo", STORE.get("occitanie")):
        pytest.skip("référentiel officiel absent : pas de région réelle")
    from views.text import SCREEN_INDICATORS, SCREEN_NEEDS, SCREENS

    room = Room(browser, size)
    page = room.page
    width, height = WALL[size]
    total = len(SCREENS)
    for n in range(1, total + 1):
        page.goto(f"{server}/presentation?espace={espace}&ecran={n}")
        settle(page, map_frame=n in MAP_SCREENS)
        page.screenshot(path=str(ARTIFACTS / f"presentation_{espace}_{size}_ecran{n}.png"))
        assert page.locator(".diag-p-count").inner_text() == f"{n} / {total}"
        # no sidebar, no top band: the whole screen for the message
        assert not page.locator('[data-testid="stSidebar"]').is_visible()
        assert not page.locator('[data-testid="stHeader"]').is_visible()
        box = page.evaluate(OVERFLOW_JS)
        assert box["doc"] <= height + TOLERANCE and box["main"] <= box["mainClient"] + TOLERANCE, (n, box)
        # the workspace and its vintages, whole: wrapped when long, never cut, inside the screen
        sub = page.evaluate(SUBTITLE_JS)
        assert sub["scroll"] <= sub["client"] and sub["scrollH"] <= sub["clientH"] + 1, (n, sub)  # 1: rounding
        assert sub["right"] <= width + TOLERANCE and sub["bottom"] <= height and "millésimes : " in sub["text"]
        if espace != "demo":
            assert LONG_VINTAGE in sub["text"] and sub["lines"] >= 2, (n, sub)
        # the bars, ranked by their ratio, highest first (the needs' when the workspace has markets: the demo)
        if n == 2 or (SCREENS[n - 1] == SCREEN_NEEDS and espace == "demo"):
            shown = [float(v.replace(",", ".")) for v in page.locator(".diag-p-bar-value").all_inner_texts()]
            assert shown and shown == sorted(shown, reverse=True), shown
        if size == "1280x720":
            values = page.evaluate(SIZES_JS, ".diag-p-value")
            labels = page.evaluate(SIZES_JS, ".diag-p-label, .diag-p-compare, .diag-p-bar-name, .diag-p-bar-value, "
                                             ".diag-p-legend .diag-legend-item, .diag-p-message")
            # a screen without its table shows its message instead
            assert values or SCREENS[n - 1] in (SCREENS[1], SCREENS[4], SCREEN_NEEDS, SCREEN_INDICATORS), n
            assert all(px >= 40 for _, px in values), (n, values)
            assert labels and all(px >= 24 for _, px in labels), (n, labels)
        if n in MAP_SCREENS:
            outline, frame = region_outline_on_page(page)
            # the whole région inside the map, the map inside the screen
            assert 0 <= frame[0] and 0 <= frame[1] and frame[2] <= width + TOLERANCE and frame[3] <= height + TOLERANCE
            assert frame[0] - TOLERANCE <= outline[0] and frame[1] - TOLERANCE <= outline[1], (n, outline, frame)
            assert outline[2] <= frame[2] + TOLERANCE and outline[3] <= frame[3] + TOLERANCE, (n, outline, frame)
            # no legend over the région: the legend is beside the map, none inside it
            assert folium_frame(page).locator(".diag-legend").count() == 0
            legends = page.evaluate(RECT_JS, ".diag-legend")
            assert legends and not any(overlaps(outline, r) for r in legends), (n, legends, outline)
    assert not room.external, room.external
    assert not room.errors, room.errors
    room.close()


@needs_chromium
def test_arrows_and_a_presenters_remote_move_between_screens(server, browser):
    room = Room(browser)
    page = room.page
    page.goto(f"{server}/?espace=demo")  # from the home page's link
    settle(page)
    page.locator('[data-testid="stMain"]').get_by_role("link", name="Mode présentation").click()
    settle(page, map_frame=True)
    query = parse_qs(urlparse(page.url).query)
    assert query["presentation"] == ["1"] and query["ecran"] == ["1"] and query["espace"] == ["demo"]
    assert not page.locator('[data-testid="stSidebar"]').is_visible()

    def press(key: str, expected: int):
        before = page.locator(".diag-p-count").inner_text()
        page.keyboard.press(key)
        page.wait_for_function("b => document.querySelector('.diag-p-count').textContent !== b", arg=before,
                               timeout=30_000)
        assert page.locator(".diag-p-count").inner_text().startswith(f"{expected} / "), key
        assert parse_qs(urlparse(page.url).query)["ecran"] == [str(expected)]

    press("ArrowRight", 2)
    press("PageDown", 3)
    page.screenshot(path=str(ARTIFACTS / "presentation_clavier_ecran3.png"))
    # the map was clicked: the remote's keys still move the presentation (they do not pan the map)
    settle(page, map_frame=True)
    page.frame_locator('iframe[title*="st_folium"]').first.locator(".leaflet-container").click(position={"x": 40,
                                                                                                        "y": 300})
    press("PageDown", 4)
    press("ArrowLeft", 3)
    press("PageUp", 2)
    assert not room.errors, room.errors
    room.close()


def _choose(page, label: str, option: str):
    page.get_by_label(label).first.click()
    page.get_by_role("option", name=option, exact=True).click()


@needs_chromium
def test_a_copied_link_reopens_the_map_view(server, browser, demo_result):
    """A structure and layers chosen on the map page, the link copied with the button, opened by
    someone else (a new browser context): the same structure, zoomed to, and the same layers."""
    from data import demo
    from geo.display import build_layers

    d = demo_result.diagnosis
    sid, name = d.structures[["id_structure", "nom"]].iloc[5]
    room = Room(browser, server=server)
    page = room.page
    page.goto(f"{server}/carte_facilitateurs?espace=demo")
    settle(page, map_frame=True)
    _choose(page, "Structure à mettre en avant", name)
    settle(page, map_frame=True)
    page.get_by_role("button", name="EPCI", exact=True).click()
    settle(page, map_frame=True)
    page.get_by_role("button", name="QPV par couverture", exact=True).click()
    settle(page, map_frame=True)
    query = parse_qs(urlparse(page.url).query)
    assert query["structures"] == [sid] and set(query["couches"][0].split(",")) == {"zones_blanches", "zones_emploi",
                                                                                     "epci"}
    page.get_by_role("button", name="Copier le lien de cette vue").click()
    page.wait_for_function("() => document.querySelector('button.diag-copy').dataset.copie === 'ok'", timeout=10_000)
    link = page.evaluate("navigator.clipboard.readText()")
    assert link == page.url
    room.close()

    other = Room(browser)
    page = other.page
    page.goto(link)
    settle(page, map_frame=True)
    frame = page.frame_locator('iframe[title*="st_folium"]').first
    assert page.get_by_text(name).first.is_visible()  # the structure's card
    assert page.locator(f'.st-key-fiche-carte-fiche h3:has-text("{name}")').count() == 1
    ds = demo.generate()
    layers = build_layers(ds.communes, ds.qpv, ds.structures, demo_result.coverage.membership,
                          demo_result.coverage.structure_ids, "99", d.communes, d.qpv)
    assert frame.locator('path[stroke="#555555"]').count() == len(layers.epci)  # EPCI on
    assert frame.locator('path[fill-opacity="0.85"]').count() == 0  # QPV off
    assert frame.locator('path[fill-opacity="0.45"]').count() == 1  # the structure highlighted
    # zoomed to its area: the area fills a good part of the map, inside it
    area = folium_frame(page).evaluate(RECT_JS, 'path[fill-opacity="0.45"]')[0]
    map_box = folium_frame(page).evaluate("() => [0, 0, window.innerWidth, window.innerHeight]")
    assert area[0] >= -TOLERANCE and area[1] >= -TOLERANCE and area[2] <= map_box[2] + TOLERANCE
    assert max((area[2] - area[0]) / map_box[2], (area[3] - area[1]) / map_box[3]) > 0.6
    # metric scale only
    scale = folium_frame(page).locator(".leaflet-control-scale-line")
    assert scale.count() == 1 and scale.inner_text().strip().endswith(("km", " m"))
    page.screenshot(path=str(ARTIFACTS / "carte_lien_rouvert.png"))
    assert not other.external and not other.errors, (other.external, other.errors)
    other.close()


@needs_chromium
def test_comparison_on_one_screen_and_its_link(server, browser, demo_result):
    """Two to four structures' cards and the map of their areas on one 1280×720 screen, the overlap
    table below; the link names the structures and reopens the same comparison."""
    d = demo_result.diagnosis
    st_ = d.structures
    pair = list(d.overlaps.sort_values("population_partagee", ascending=False)[["id_a", "id_b"]].iloc[0])
    ids = pair + [s for s in st_["id_structure"] if s not in pair][:2]  # four, two of which share communes
    room = Room(browser)
    page = room.page
    page.goto(f"{server}/comparer_facilitateurs?espace=demo&structures={','.join(ids)}")
    settle(page, map_frame=True)
    cards = page.evaluate(RECT_JS, ".diag-card")
    frame = page.locator('iframe[title*="st_folium"]').first.evaluate(
        "e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }")
    assert len(cards) == 4 and all(c[3] <= 720 + TOLERANCE for c in cards), cards  # every card on the screen
    assert frame[3] <= 720 + TOLERANCE and frame[0] >= max(c[2] for c in cards) - TOLERANCE  # the map beside them
    names = page.locator(".diag-card-name").all_inner_texts()
    assert names == [st_.set_index("id_structure").loc[i, "nom"] for i in ids]
    assert page.get_by_text("Ce que les structures partagent").count() == 1  # the overlap table, below
    assert parse_qs(urlparse(page.url).query)["structures"] == [",".join(ids)]
    page.screenshot(path=str(ARTIFACTS / "comparer_un_ecran.png"))
    assert folium_frame(page).locator('path[stroke-dasharray="6 4"]').count() >= 1  # the shared part drawn
    assert not room.external and not room.errors, (room.external, room.errors)
    room.close()


@needs_chromium
def test_a_click_on_an_area_opens_its_card_quickly(server, browser):
    """On a real région (about 4,500 communes), warm: the card of a clicked area in under a second,
    the map neither sent again nor reloaded, and zoomed to the area."""
    espace = STORE.get("occitanie") or "demo"
    room = Room(browser)
    page = room.page
    page.goto(f"{server}/carte_facilitateurs?espace={espace}")
    settle(page, map_frame=True)
    frame = folium_frame(page)
    frame.evaluate("window.__same = 1")
    areas = page.frame_locator('iframe[title*="st_folium"]').first.locator(
        'path.leaflet-interactive[stroke-width="2.5"], path.leaflet-interactive[stroke-width="4"]')
    n = areas.count()
    assert n >= 4
    timings = []
    for i in list(range(n)) + list(range(n)):  # the first round warms the server
        before = page.evaluate("(document.querySelector('.st-key-fiche-carte-fiche h3') || {}).textContent || ''")
        start = time.perf_counter()
        areas.nth(i).dispatch_event("click")
        page.wait_for_function("b => { const h = document.querySelector('.st-key-fiche-carte-fiche h3');"
                               " return h && h.textContent && h.textContent !== b; }", arg=before, timeout=60_000,
                               polling=20)
        timings.append(time.perf_counter() - start)
        settle(page)
    warm = timings[n:]
    (ARTIFACTS / "carte_clic_fiche.txt").write_text(
        f"espace {espace}, {n} aires ; clic → fiche (s), premier tour : "
        + ", ".join(f"{t:.2f}" for t in timings[:n]) + " ; à chaud : " + ", ".join(f"{t:.2f}" for t in warm)
        + f" ; médiane à chaud {statistics.median(warm):.2f}\n", encoding="utf-8")
    assert statistics.median(warm) < 1.0, timings
    assert frame.evaluate("window.__same") == 1  # the same map: not sent again, not reloaded
    assert frame.locator('path[fill-opacity="0.45"]').count() == 1
    page.screenshot(path=str(ARTIFACTS / "carte_clic_fiche.png"))
    assert not room.external and not room.errors, (room.external, room.errors)
    room.close()


@needs_chromium
def test_printing_keeps_the_map_on_one_page_and_tables_whole(server, browser, demo_result):
    from pypdf import PdfReader

    from geo.compare import coverage_matrix

    d = demo_result.diagnosis
    ids = list(d.overlaps.sort_values("population_partagee", ascending=False)[["id_a", "id_b"]].iloc[0])
    names = dict(zip(d.structures["id_structure"], d.structures["nom"]))
    qpv_m, _ = coverage_matrix(d, ids, names)
    room = Room(browser)
    page = room.page
    page.goto(f"{server}/comparer_facilitateurs?espace=demo&structures={','.join(ids)}")
    settle(page, map_frame=True)
    page.emulate_media(media="print")
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    assert not page.locator("button.diag-copy").is_visible()
    pdf = ARTIFACTS / "comparer_impression.pdf"
    page.pdf(path=str(pdf), print_background=True, prefer_css_page_size=True)
    pages = [p.extract_text() or "" for p in PdfReader(str(pdf)).pages]
    text = "\n".join(pages)
    assert "Comparer les facilitateurs" in pages[0]
    # the map in one piece: its background (#F6F6F6) on one page only (pages drawn by poppler)
    if shutil.which("pdftoppm"):
        import numpy as np
        from PIL import Image

        subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(ARTIFACTS / "comparer_impression")],
                       check=True, timeout=120)
        shares = []
        for png in sorted(ARTIFACTS.glob("comparer_impression-*.png")):
            rgb = np.asarray(Image.open(png).convert("RGB")).astype(int)
            shares.append(float((np.abs(rgb - 246).sum(axis=2) <= 3).mean()))
        assert [i for i, share in enumerate(shares) if share > 0.01] == [0], shares
    assert "Espace de travail" not in text and "Copier le lien" not in text  # no sidebar, no buttons
    # every row of a table longer than its on-screen window
    assert len(qpv_m) > 10
    missing = [c for c in qpv_m["code_qp"] if c not in text]
    assert not missing, missing
    room.close()


def test_a_printed_table_keeps_every_row_in_french():
    import pandas as pd

    from components.style import print_copy

    df = pd.DataFrame({"nom": ["<b>Valbourg</b>", "Mirandol"], "population": [1016984, 155206],
                       "part_couverte": [0.873, None]})
    html = print_copy(df)
    assert "&lt;b&gt;Valbourg&lt;/b&gt;" in html and "<b>" not in html  # a name is text
    assert "1\u202f016\u202f984" in html and "87,3\u202f%" in html  # French numbers, as on screen
    assert html.count("<tr>") == 3 and "<th>Population</th>" in html
