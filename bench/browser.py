"""Real-browser benchmark of the map and the pages: what a person waits for, in Debian's Chromium.

A Streamlit server is started on 127.0.0.1 with the temporary store of :mod:`bench.load` (a real-sized
région: Hauts-de-France, 3,782 communes, twelve facilitator structures; the demo workspace generated
beforehand, as in a store in use). Debian's Chromium (Playwright, headless, 1920×1080) then measures,
in seconds (medians of a few runs, each from a new browser context unless said otherwise):

- ``map_draw_cold_s``: the first page load after the server answers, the server started as ``make run``
  starts it (``cli.py serve``, which prepares the usual maps in the background from its start): the
  coverage map page (``/carte_facilitateurs?espace=…``), from the navigation's start until the map is
  drawn; ``map_draw_cold_unwarmed_s``: the same on a server started by ``streamlit run app.py``, where
  the first person waits for the workspace to be read, the diagnosis and the map computed;
- ``map_draw_warm_s``: on the warm server, a person already in the app (from the home page of the
  workspace, their browser holding the app's scripts) clicks « Carte des facilitateurs » in the
  sidebar, until the map is drawn: what the presenter of a meeting waits for;
- ``map_page_load_warm_s``: a new person (a new browser context, nothing in its cache) opens the map's
  link on the warm server, until the map is drawn;
- ``map_communes_layer_s``: a click on the « Communes » layer (pills ``carte.couches``) until every
  commune is drawn (``map_communes_layer_first_s``: the first click, the server building that map);
- ``indicators_draw_warm_s``, ``indicators_page_load_warm_s``: the same two for the « Indicateurs
  régionaux » page of the demo, until its chart is drawn;
- ``map_click_card_s``: a click on a structure's area until its card shows (warm clicks);
- ``streamlit_blank_page_s``, the baseline: a page of Streamlit with one title (``bench/blank_page.py``,
  its own server), from the navigation's start until drawn: what any Streamlit page costs this browser
  (its scripts, about a hundred files, the websocket, one run) before the app does anything. The page
  loads are also given against it: ``*_ratio_blank`` (page / blank page) and ``*_beyond_blank_s``
  (page minus blank page: the app's own part, server and drawing).

« The map drawn »: in the streamlit-folium iframe, more than a hundred ``.leaflet-overlay-pane path``
(région outline, areas, hosts, zones blanches, zones d'emploi) and the script finished (``stApp``'s
``data-test-script-state`` is ``notRunning``, no ``stStatusWidget``). Times are read in the page
(``performance.timeOrigin + performance.now()``, polled at each animation frame), so that Playwright's
own round trips are not counted. Every request not to 127.0.0.1 is blocked (the app works offline).
Bounded: one server, a few runs, 60 s at most per wait.

    python -m bench.browser [--json FILE] [--detail]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path

from bench import print_figures
from tools.local_server import serving

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
TIMEOUT_MS = 60_000
RUNS = 3
MAP_PATHS = 100  # paths of the default map of the région (129 for the Hauts-de-France workspace)
# requests leaving the machine: everything but 127.0.0.1 (matched by Playwright's driver, so that
# local requests are not intercepted at all and pay no round trip to Python)
EXTERNAL = re.compile(r"^(?!(?:https?|wss?)://127\.0\.0\.1[:/]|data:|blob:|about:)")

# --- conditions polled in the top page; each returns the absolute time (ms) when met, else false ---
NOW = "performance.timeOrigin + performance.now()"
IDLE = """(() => { const app = document.querySelector('[data-testid="stApp"]');
  return !!app && app.dataset.testScriptState === 'notRunning'
         && !document.querySelector('[data-testid="stStatusWidget"]'); })()"""
MAP_DOC = """(() => { const f = document.querySelector('iframe[title*="st_folium"]');
  try { return f && f.contentDocument; } catch (e) { return null; } })()"""
MAP_DRAWN = f"""(n) => {{ const d = {MAP_DOC};
  const paths = d ? d.querySelectorAll('.leaflet-overlay-pane path').length : 0;
  return paths > n && {IDLE} ? {NOW} : false; }}"""
COMMUNES_DRAWN = f"""(n) => {{ const d = {MAP_DOC};
  const paths = d ? d.querySelectorAll('.leaflet-overlay-pane path[stroke="#888"]').length : 0;
  return paths >= n && {IDLE} ? {NOW} : false; }}"""
COMMUNES_GONE = f"""() => {{ const d = {MAP_DOC};
  return d && d.querySelectorAll('.leaflet-overlay-pane path').length > 0
         && d.querySelectorAll('.leaflet-overlay-pane path[stroke="#888"]').length === 0 && {IDLE}; }}"""
CARD = ".st-key-fiche-carte-fiche h3"
CARD_TEXT = f"() => (document.querySelector('{CARD}') || {{}}).textContent || ''"
CARD_SHOWN = f"""(before) => {{ const h = document.querySelector('{CARD}');
  return h && h.offsetParent !== null && h.textContent && h.textContent !== before ? {NOW} : false; }}"""
BLANK_DRAWN = f"""() => {{ const h = document.querySelector('h1');
  return h && h.textContent.includes('Page vide') && {IDLE} ? {NOW} : false; }}"""
CHARTS_DRAWN = f"""() => {{ const c = document.querySelectorAll('.vega-embed canvas, .vega-embed svg.marks');
  return c.length > 0 && {IDLE} ? {NOW} : false; }}"""
# a click dispatched in the page, its time noted in the same task (no Playwright round trip between)
CLICK = f"el => {{ window.__benchClick = {NOW}; el.click(); return window.__benchClick; }}"
AREAS = 'path.leaflet-interactive[stroke-width="2.5"], path.leaflet-interactive[stroke-width="4"]'
CLICK_AREA = f"""(i) => {{ const d = {MAP_DOC}; const p = d.querySelectorAll('{AREAS}')[i];
  const t = {NOW};
  p.dispatchEvent(new MouseEvent('click', {{bubbles: true, cancelable: true, composed: true, view: d.defaultView}}));
  return t; }}"""
# with --detail: the websocket's messages noted in the page (its clock, size, direction); a listener of
# Playwright's would copy every message to Python, and slow the page it measures
WS_LOG = """(() => { if (window.top !== window || !window.WebSocket) return;
  const log = window.__benchWs = [], Base = window.WebSocket;
  const now = () => performance.timeOrigin + performance.now();
  const size = d => d == null ? 0 : (d.byteLength ?? d.size ?? d.length ?? 0);
  window.WebSocket = class extends Base {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', e => log.push([now(), size(e.data), 'in'])); }
    send(d) { log.push([now(), size(d), 'out']); return super.send(d); }
  }; })();"""
# milestones of a page load, for --detail (navigation timing, relative to the navigation's start)
NAV_TIMING = """() => { const n = performance.getEntriesByType('navigation')[0] || {};
  const r = performance.getEntriesByType('resource');
  const comp = r.filter(e => e.name.includes('/component/streamlit_folium'));
  return {response_end: n.responseEnd, dom_content_loaded: n.domContentLoadedEventEnd, load: n.loadEventEnd,
          resources: r.length, resource_kb: r.reduce((s, e) => s + (e.transferSize || 0), 0) / 1024,
          component_first: comp.length ? Math.min(...comp.map(e => e.startTime)) : null,
          component_last: comp.length ? Math.max(...comp.map(e => e.responseEnd)) : null}; }"""


class Bench:
    """The browser, the server's address and the figures' raw runs."""

    def __init__(self, browser, url: str, slug: str, communes: int, detail: bool = False):
        self.browser, self.url, self.slug, self.communes, self.detail = browser, url, slug, communes, detail
        self.external: list[str] = []
        self.errors: list[str] = []

    def context(self):
        ctx = self.browser.new_context(viewport={"width": 1920, "height": 1080}, locale="fr-FR")
        ctx.route(EXTERNAL, self._block)
        if self.detail:
            ctx.add_init_script(WS_LOG)
        return ctx

    def _block(self, route):
        self.external.append(route.request.url)
        route.abort()  # as in a meeting room with no internet

    def page(self, ctx):
        page = ctx.new_page()
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        return page

    def wait(self, page, condition: str, arg=None) -> float:
        """The absolute time (ms, the page's clock) at which ``condition`` was first met."""
        return page.wait_for_function(condition, arg=arg, polling="raf", timeout=TIMEOUT_MS).json_value()

    def settle(self, page) -> None:
        page.wait_for_function(f"() => {IDLE}", timeout=TIMEOUT_MS)
        page.wait_for_timeout(300)

    def phases(self, label: str, start: float, end: float, page) -> None:
        """With ``detail``: where the time went between ``start`` and ``end`` (the page's clock, ms): until the
        browser asks the server (the frontend's start, or the click's handling), until the server's largest
        message and its last one (the script), then until drawn (the browser)."""
        if not self.detail:
            return
        within = [f for f in page.evaluate("window.__benchWs || []") if start <= f[0] <= end]
        sent = next((f[0] for f in within if f[2] == "out"), None)
        received = [f for f in within if f[2] == "in"]
        big = max(received, key=lambda f: f[1], default=None)
        s = lambda t: f"{(t - start) / 1000:.3f}" if t is not None else "?"  # noqa: E731
        print(f"  [{label}] {s(end)} s : requête au serveur à {s(sent)} s, plus gros message "
              f"({big[1] if big else 0} o) à {s(big[0] if big else None)} s, dernier message à "
              f"{s(received[-1][0] if received else None)} s, dessiné à {s(end)} s", file=sys.stderr)

    def load(self, path: str, condition: str, arg=None, label: str = "") -> tuple[float, object, object]:
        """A new context opens ``path``: seconds from the navigation's start until ``condition``."""
        ctx = self.context()
        page = self.page(ctx)
        page.goto(f"{self.url}{path}", wait_until="commit", timeout=TIMEOUT_MS)
        drawn = self.wait(page, condition, arg)
        origin = page.evaluate("performance.timeOrigin")
        if self.detail:
            self.phases(label, origin, drawn, page)
            print(f"    navigation (ms) : {json.dumps(page.evaluate(NAV_TIMING))}", file=sys.stderr)
        return (drawn - origin) / 1000, ctx, page

    def open_map(self, label: str) -> tuple[float, object, object]:
        return self.load(f"/carte_facilitateurs?espace={self.slug}", MAP_DRAWN, MAP_PATHS, label)

    # --- the figures ---------------------------------------------------------------------------

    def map_load(self) -> float:
        """New people (new browser contexts) open the map's link on the warm server."""
        runs = []
        for i in range(RUNS):
            seconds, ctx, _ = self.open_map(f"carte, nouveau navigateur {i + 1}")
            runs.append(seconds)
            ctx.close()
        return statistics.median(runs)

    def navigate(self, espace: str, link_name: str, condition: str, arg=None) -> float:
        """From the home page of ``espace``, a click on ``link_name`` in the sidebar until ``condition``:
        a person already in the app (their browser has its scripts) going to another page."""
        ctx = self.context()
        page = self.page(ctx)
        runs = []
        for _ in range(RUNS):
            page.goto(f"{self.url}/?espace={espace}", timeout=TIMEOUT_MS)
            page.wait_for_selector('[data-testid="stSidebarNav"]', timeout=TIMEOUT_MS)
            self.settle(page)
            link = page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=link_name, exact=True)
            link.wait_for(timeout=TIMEOUT_MS)
            clicked = link.evaluate(CLICK)
            drawn = self.wait(page, condition, arg)
            runs.append((drawn - clicked) / 1000)
            self.phases(f"navigation vers « {link_name} »", clicked, drawn, page)
            assert f"espace={espace}" in page.url, page.url  # that workspace's page, not the demo's
        ctx.close()
        return statistics.median(runs)

    def communes_layer(self, page) -> tuple[float, float]:
        """(first click, median of the next ones): « Communes » on, until every commune is drawn."""
        button = page.locator(".st-key-carte-couches").get_by_role("button", name="Communes", exact=True)
        expected = int(0.95 * self.communes)  # a commune without a geometry draws nothing
        runs = []
        for _ in range(RUNS + 1):
            button.wait_for(timeout=TIMEOUT_MS)
            clicked = button.evaluate(CLICK)
            drawn = self.wait(page, COMMUNES_DRAWN, expected)
            runs.append((drawn - clicked) / 1000)
            self.phases("couche Communes", clicked, drawn, page)
            self.settle(page)
            button.evaluate("el => el.click()")  # off again
            page.wait_for_function(COMMUNES_GONE, polling="raf", timeout=TIMEOUT_MS)
            self.settle(page)
        return runs[0], statistics.median(runs[1:])

    def click_card(self, page) -> float:
        """A click on each of a few areas, twice: the median of the second round (warm)."""
        n = min(4, page.evaluate(f"() => {MAP_DOC}.querySelectorAll('{AREAS}').length"))
        assert n >= 2, n
        runs = []
        for i in list(range(n)) * 2:
            before = page.evaluate(CARD_TEXT)
            clicked = page.evaluate(CLICK_AREA, i)
            shown = self.wait(page, CARD_SHOWN, before)
            runs.append((shown - clicked) / 1000)
            self.phases(f"clic sur l'aire {i}", clicked, shown, page)
            self.settle(page)
        return statistics.median(runs[n:])

    def blank(self) -> float:
        """The baseline: Streamlit's page of one line (``bench/blank_page.py``), warm."""
        def once() -> float:
            seconds, ctx, _ = self.load("/", BLANK_DRAWN, label="page vide")
            ctx.close()
            return seconds

        once()
        return statistics.median(once() for _ in range(RUNS))

    def indicators_load(self) -> float:
        """New people open the link of the demo's indicators page (its first run not counted)."""
        def once() -> float:
            seconds, ctx, _ = self.load("/indicateurs?espace=demo", CHARTS_DRAWN, label="indicateurs")
            ctx.close()
            return seconds

        once()  # the demo's indicators read once by the server
        return statistics.median(once() for _ in range(RUNS))


def _server_log(log: Path, detail: bool) -> None:
    """The end of the server's log when it holds a traceback (or always, with ``detail``)."""
    text = log.read_text(encoding="utf-8", errors="replace")
    if detail or "Traceback" in text:
        print(text[-3000:], file=sys.stderr)


def run(detail: bool = False) -> dict[str, float]:
    """Start a server on a fresh temporary store, measure the pages in Chromium; the figures."""
    from playwright.sync_api import sync_playwright

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from bench.load import prepare_store

    out: dict[str, float] = {}
    old = os.environ.get("DIAG_DONNEES")
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        store.mkdir()
        try:
            slug = prepare_store(store)
            from data.store import workspaces

            workspaces.ensure_demo()  # a store in use holds the demo: not generated during the cold load
            communes = len(workspaces.load(slug).communes)
        finally:
            if old is None:
                os.environ.pop("DIAG_DONNEES", None)
            else:
                os.environ["DIAG_DONNEES"] = old
        log = Path(tmp) / "streamlit.log"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
            try:
                # a server started by hand (streamlit run): the first person computes everything
                with serving(store, log, warmup=False) as (url, proc):
                    b = Bench(browser, url, slug, communes, detail)
                    out["map_draw_cold_unwarmed_s"], ctx, _ = b.open_map("carte à froid, sans préchauffage")
                    ctx.close()
                _server_log(log, detail)
                # the server as make run starts it (cli.py serve): the usual maps prepared at start
                with serving(store, log) as (url, proc):
                    b = Bench(browser, url, slug, communes, detail)
                    out["map_draw_cold_s"], ctx, _ = b.open_map("carte à froid")
                    ctx.close()
                    out["map_draw_warm_s"] = b.navigate(slug, "Carte des facilitateurs", MAP_DRAWN, MAP_PATHS)
                    out["map_page_load_warm_s"] = b.map_load()
                    _, ctx, page = b.open_map("carte pour les clics")
                    out["map_communes_layer_first_s"], out["map_communes_layer_s"] = b.communes_layer(page)
                    out["map_click_card_s"] = b.click_card(page)
                    ctx.close()
                    out["indicators_page_load_warm_s"] = b.indicators_load()
                    out["indicators_draw_warm_s"] = b.navigate("demo", "Indicateurs régionaux", CHARTS_DRAWN)
                    if b.external:
                        print(f"requêtes bloquées hors de la machine : {b.external[:5]}", file=sys.stderr)
                    if b.errors:
                        print(f"erreurs de la page : {b.errors[:5]}", file=sys.stderr)
                _server_log(log, detail)
                # the baseline: what any Streamlit page costs this browser before the app's work
                with serving(store, log, warmup=False, script="bench/blank_page.py") as (url, proc):
                    blank = Bench(browser, url, slug, communes, detail).blank()
                out["streamlit_blank_page_s"] = blank
                for name in ("map_page_load_warm", "indicators_page_load_warm"):
                    out[f"{name}_beyond_blank_s"] = out[f"{name}_s"] - blank  # the app's own part
                    out[f"{name}_ratio_blank"] = out[f"{name}_s"] / blank
            finally:
                browser.close()
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.browser")
    p.add_argument("--json", help="write the figures to this JSON file")
    p.add_argument("--detail", action="store_true",
                   help="also print, for each map page load, its navigation timing and the server's large messages")
    args = p.parse_args(argv)
    if not CHROMIUM.exists():
        print("Chromium de Debian absent (apt-get install chromium) : rien n'est mesuré.", file=sys.stderr)
        return 1
    out = run(detail=args.detail)
    print_figures(out, args.json)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
