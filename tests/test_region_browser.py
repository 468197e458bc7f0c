"""A real région's workspace on the wall (issue 21), in Debian's Chromium at 1280×720 and 1920×1080: the
Centre-Val de Loire workspace of ``tests.region_workspace`` (the shipped référentiel's 1 754 communes, 30
quarters of real size, nine structures, a DECP file with a concession), as a team walks through it.

- « Carte des facilitateurs »: every uncovered quarter can be seen at the zoom the map opens at (its drawn
  size, or the dot that stands for it); the map's legend and the whole région inside the screen;
- presentation screen 2: every structure named (they fit);
- Marchés: the legend beside the map, never over the région;
- no text a person reads holds an internal column name of the schema, « non précisé » or « (s) ».

Skipped when /usr/bin/chromium or the shipped référentiel is absent.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import ARTIFACTS
from tests.region_workspace import QPV_TOWNS, STRUCTURES
from tests.streamlit_server import serve
from views.palette import QPV_COLOURS

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium de Debian absent (apt-get install chromium)")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
SIZES = {"1280x720": (1280, 720), "1920x1080": (1920, 1080)}
TOLERANCE = 2
# the fixture's design: the structures cover neither Bourges, Vierzon (Cher) nor Vendôme
UNCOVERED_QPV = QPV_TOWNS["18033"] + QPV_TOWNS["18279"] + QPV_TOWNS["41269"]
UNCOVERED_COLOUR = QPV_COLOURS["non couvert"]


def internal_names() -> set[str]:
    """Every column name of the schema and of the app's tables written as code (``lieu_code``)."""
    from data import schemas as S
    from views.columns import LABELS

    names = {f.name for t in S.SCHEMAS.values() for f in t.fields} | set(LABELS)
    return {n for n in names if "_" in n}


@pytest.fixture(scope="module")
def server(region_store):
    store, slug = region_store
    with serve({**os.environ, "DIAG_DONNEES": str(store)}, "streamlit_region.log") as url:
        yield url, slug


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield b
        b.close()


def page_of(browser, size: str):
    w, h = SIZES[size]
    context = browser.new_context(viewport={"width": w, "height": h}, locale="fr-FR")
    external: list[str] = []

    def route(r):
        host = urlparse(r.request.url).hostname or ""
        if r.request.url.startswith(("data:", "blob:", "about:")) or host in ("127.0.0.1", "localhost", ""):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    return context, context.new_page(), external


def settle(page, map_frame: bool = False, shown: str = '[data-testid="stMainBlockContainer"] h1'):
    """The page drawn: ``shown`` present (the page's title by default), the script finished, the map drawn."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    page.wait_for_selector(shown, timeout=120_000)
    page.wait_for_function("window.__diagFrench === true", timeout=60_000)  # Streamlit's words in French
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000)
    if map_frame:
        frame = page.frame_locator('iframe[title*="st_folium"]').first
        frame.locator("path.leaflet-interactive").first.wait_for(state="attached", timeout=120_000)
        folium_frame(page).wait_for_selector('path[stroke="#000091"]', state="attached", timeout=60_000)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000)


def folium_frame(page):
    return next(f for f in page.frames if "streamlit_folium" in f.url)


RECTS_JS = """(sel) => Array.from(document.querySelectorAll(sel)).filter(e => {
  const s = getComputedStyle(e); return s.visibility !== 'hidden' && s.display !== 'none'; })
  .map(e => { const r = e.getBoundingClientRect();
  return {x0: r.left, y0: r.top, x1: r.right, y1: r.bottom, fill: e.getAttribute('fill') || ''}; })"""
# the names written on a map at rest: placed inside the frame (the map fits the région again once its frame
# has its final height), the same two looks in a row, a quarter of a second apart
SETTLED_JS = """() => { const els = Array.from(document.querySelectorAll('.ze-label'));
  const shown = els.filter(e => getComputedStyle(e).visibility !== 'hidden').map(e => e.getBoundingClientRect());
  const inside = shown.length > 0 && shown.every(r => r.top >= 0 && r.bottom <= window.innerHeight);
  const s = JSON.stringify(shown.map(r => [Math.round(r.left), Math.round(r.top)]));
  const same = window.__diagSnap === s; window.__diagSnap = s; return inside && same; }"""
TEXT_JS = """() => { const out = []; const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (w.nextNode()) { const n = w.currentNode, p = n.parentElement;
    if (!p || ['SCRIPT', 'STYLE', 'NOSCRIPT'].includes(p.tagName)) continue;
    const t = n.nodeValue.trim(); if (t) out.push(t); }
  document.querySelectorAll('[aria-label], [title]').forEach(e => {  // what a screen reader or a tooltip says
    ['aria-label', 'title'].forEach(a => { const v = e.getAttribute(a); if (v) out.push(v.trim()); }); });
  return out; }"""
ENGLISH = ("Skip to main content", "Copy Vega-Lite spec", "Download as PNG", "Show data", "Fullscreen")


def frame_box(page) -> dict:
    return page.locator('iframe[title*="st_folium"]').first.evaluate(
        "e => { const r = e.getBoundingClientRect(); return {x0: r.left, y0: r.top, x1: r.right, y1: r.bottom}; }")


def region_box(page) -> dict:
    """The région's outline as drawn, in the page's coordinates."""
    frame = frame_box(page)
    rects = folium_frame(page).evaluate(RECTS_JS, 'path[stroke="#000091"]')
    assert rects, "contour de la région absent"
    return {"x0": frame["x0"] + min(r["x0"] for r in rects), "y0": frame["y0"] + min(r["y0"] for r in rects),
            "x1": frame["x0"] + max(r["x1"] for r in rects), "y1": frame["y0"] + max(r["y1"] for r in rects)}


def inside(box: dict, w: float, h: float) -> bool:
    return box["x0"] >= -TOLERANCE and box["y0"] >= -TOLERANCE and box["x1"] <= w + TOLERANCE and \
        box["y1"] <= h + TOLERANCE


def overlaps(a: dict, b: dict) -> bool:
    return a["x0"] < b["x1"] and b["x0"] < a["x1"] and a["y0"] < b["y1"] and b["y0"] < a["y1"]


def readable_text_problems(page) -> list[str]:
    """Internal names, « non précisé », « (s) » or Streamlit's English in the text a person reads."""
    names = internal_names()
    bad = []
    for text in page.evaluate(TEXT_JS):
        for token in re.findall(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+", text):
            if token in names:
                bad.append(f"{token!r} dans « {text[:80]} »")
        if "non précisé" in text or re.search(r"\w\(s\)", text) or any(e in text for e in ENGLISH):
            bad.append(text[:80])
    return bad


@pytest.mark.parametrize("size", list(SIZES))
def test_the_map_shows_every_uncovered_quarter_and_fits_the_screen(server, browser, size):
    url, slug = server
    w, h = SIZES[size]
    context, page, external = page_of(browser, size)
    page.goto(f"{url}/carte_facilitateurs?espace={slug}")
    settle(page, map_frame=True)
    page.screenshot(path=str(ARTIFACTS / f"region_carte_{size}.png"))
    frame = folium_frame(page)
    # the uncovered quarters at the opening zoom: drawn large enough to see, or a dot of their colour
    shapes = frame.evaluate(RECTS_JS, f'path[fill="{UNCOVERED_COLOUR}"]')
    seen = [r for r in shapes if max(r["x1"] - r["x0"], r["y1"] - r["y0"]) >= 8]
    dots = frame.evaluate(RECTS_JS, f'path.diag-small-shape[fill="{UNCOVERED_COLOUR}"]')
    assert len(dots) + len([r for r in seen if r not in dots]) >= UNCOVERED_QPV, (len(dots), len(seen))
    assert all(r["x1"] - r["x0"] >= 10 for r in dots), dots  # a dot of at least 10 px
    # the whole région and the legend inside the screen, the legend beside the map
    region = region_box(page)
    assert inside(region, w, h), region
    assert inside(frame_box(page), w, h)
    legends = [r for r in page.evaluate(RECTS_JS, ".diag-legend") if r["x1"] > r["x0"]]
    assert legends and all(inside(r, w, h) for r in legends), legends
    assert not any(overlaps(region, r) for r in legends)
    # the names written on the map overlap neither one another nor a host's circle nor a quarter's dot
    frame.wait_for_function(SETTLED_JS, polling=250, timeout=30_000)  # the names placed, the map at rest
    names = frame.evaluate(RECTS_JS, ".ze-label")
    marks = frame.evaluate(RECTS_JS, ".diag-host, .diag-small-shape")
    assert len(names) >= 5, names
    for i, a in enumerate(names):
        assert not any(overlaps(a, b) for b in names[i + 1:] + marks), a
    # the région uses the map's width (a tall région in a wide frame left half of it empty)
    box = frame_box(page)
    assert (region["x1"] - region["x0"]) >= 0.6 * (box["x1"] - box["x0"]), (region, box)
    if size == "1280x720":
        assert readable_text_problems(page) == []
    assert not external, external
    context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_screen_2_names_every_structure(server, browser, size):
    url, slug = server
    w, h = SIZES[size]
    context, page, _ = page_of(browser, size)
    page.goto(f"{url}/presentation?espace={slug}&ecran=2")
    settle(page, shown=".diag-p-bar-name")
    page.screenshot(path=str(ARTIFACTS / f"region_presentation_2_{size}.png"))
    names = [" ".join(t.split()) for t in page.locator(".diag-p-bar-name").all_inner_texts()]
    assert sorted(names) == sorted(name for _, name, _, _, _ in STRUCTURES)
    assert page.locator(".diag-p-bar-gap").count() == 0
    bars = page.evaluate(RECTS_JS, ".diag-p-bar")
    assert bars and max(r["y1"] for r in bars) <= h + TOLERANCE  # nothing below the screen
    assert page.evaluate("document.documentElement.scrollHeight") <= h + TOLERANCE
    if size == "1280x720":
        assert readable_text_problems(page) == []
    context.close()


def test_pages_of_a_real_region_speak_to_people(server, browser):
    """Marchés: the legend beside the map, never over the région; the comparison map's names inside its frame;
    and no internal name, « non précisé » or « (s) » on the pages a meeting shows (1280×720)."""
    url, slug = server
    context, page, external = page_of(browser, "1280x720")
    page.goto(f"{url}/marches?espace={slug}")
    settle(page, map_frame=True)
    page.locator('iframe[title*="st_folium"]').first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "region_marches_1280x720.png"), full_page=True)
    assert folium_frame(page).locator(".diag-legend").count() == 0  # not in the map
    region = region_box(page)
    legends = [r for r in page.evaluate(RECTS_JS, ".diag-legend") if r["x1"] > r["x0"]]
    assert legends and not any(overlaps(region, r) for r in legends), (legends, region)
    assert readable_text_problems(page) == []
    ids = [sid for sid, *_ in STRUCTURES][:2]
    page.goto(f"{url}/comparer_facilitateurs?espace={slug}&structures={','.join(ids)}")
    settle(page, map_frame=True)
    page.screenshot(path=str(ARTIFACTS / "region_comparer_1280x720.png"))
    box = frame_box(page)
    names = folium_frame(page).evaluate(RECTS_JS, ".ze-label")
    assert names and all(r["x0"] >= 0 and r["x1"] <= box["x1"] - box["x0"] + TOLERANCE for r in names), names
    assert readable_text_problems(page) == []
    for path in ("", "diagnostic_couverture", "rapport"):
        page.goto(f"{url}/{path}?espace={slug}")
        settle(page)
        if path == "diagnostic_couverture":  # a chart's menu, shown when the pointer is on the chart
            chart = page.locator('[data-testid="stVegaLiteChart"]').first
            chart.scroll_into_view_if_needed()
            chart.hover()
            page.locator('[data-testid="stElementToolbar"] button').first.wait_for(state="attached")
        assert readable_text_problems(page) == [], path
    assert not external, external
    context.close()


GRID_OVERFLOW_JS = """() => Array.from(document.querySelectorAll('[data-testid="stMainBlockContainer"] '
  + '[data-testid="stDataFrame"] .dvn-scroller')).map(e => e.scrollWidth - e.clientWidth)"""


def test_the_data_page_shows_its_content_and_history_whole_at_1280(server, browser):
    """Données: the workspace's content and its history (what each import read and kept, its vintage) within
    the width of a 1280 px screen, with no column to scroll to."""
    url, slug = server
    context, page, external = page_of(browser, "1280x720")
    page.goto(f"{url}/donnees?espace={slug}")
    settle(page)
    page.get_by_text("Historique des versions").first.scroll_into_view_if_needed()
    page.locator('[data-testid="stDataFrame"]').nth(1).wait_for()
    page.wait_for_timeout(500)  # the grids measure their columns once drawn
    page.screenshot(path=str(ARTIFACTS / "region_donnees_historique_1280x720.png"))
    overflow = page.evaluate(GRID_OVERFLOW_JS)
    assert len(overflow) >= 2 and all(o <= 1 for o in overflow), overflow
    # (this page names the columns of the import formats on purpose: no check of internal names here)
    assert not external, external
    context.close()
