"""A French that never slips (issue 10, item 6).

Unit tests: French number formats, exports (XLSX with number formats Excel applies, autofilters,
shares as fractions with a percent format, rounding; CSV in percent), tables displayed with French
numbers whatever the browser, charts with 16 px labels that are never cut and French axis titles.

Browser tests (Debian's Chromium, the browser's language set to en-US, no network): tables painted
with French numbers, no English word of Streamlit's defaults in any visible text on any page, chart
labels of 16 px or more, export buttons not cut, the indicators page short and quick. Skipped, with
the reason, when /usr/bin/chromium is absent.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import openpyxl
import pandas as pd
import pytest

from tests.conftest import ARTIFACTS, ROOT
from tests.streamlit_server import serve
from views import fmt

NNBSP = "\u202f"
MINUS = "\u2212"


# ---------------------------------------------------------------- formats


def test_french_numbers():
    assert fmt.integer(1016984) == f"1{NNBSP}016{NNBSP}984"
    assert fmt.integer(-12.4) == f"{MINUS}12" and fmt.integer(0) == "0"
    assert fmt.decimal(12.54) == "12,5" and fmt.decimal(6.783999999999999, 2) == "6,78"
    assert fmt.decimal(-0.0001) == "0,0"  # no "−0,0"
    assert fmt.percent(0.163) == f"16{NNBSP}%" and fmt.percent(0.1254, 1) == f"12,5{NNBSP}%"
    assert fmt.points(-0.0582) == f"{MINUS}5,8{NNBSP}pt" and fmt.points(0.054) == f"+5,4{NNBSP}pt"
    assert fmt.year(2024.0) == "2024"
    for missing in (None, float("nan"), pd.NA):
        assert fmt.integer(missing) == fmt.decimal(missing) == fmt.percent(missing) == fmt.points(missing) == "–"


def test_structure_alert_keeps_its_abbreviation_points(demo_result):
    from geo.diagnosis import structure_flags

    st = demo_result.diagnosis.structures.copy()
    st["etp_pour_100k_hab"] = [0.49] + [5.0] * (len(st) - 1)
    alert = structure_flags(st).iloc[0]
    assert "0,49 ETP pour 100 000 hab., moins de la moitié" in alert and "hab,," not in alert


# ---------------------------------------------------------------- exports

TABLE = pd.DataFrame({
    "nom": ["=HYPERLINK(\"x\")", "Lunac"], "population": [1016984, 3], "etp": [6.783999999999999, 1.25],
    "part_couverte": [0.87345, np.nan], "ecart": [-0.0582, 0.01], "annee": [2024, 2023],
    "chevauche_region": [True, False], "type_entreprise": ["SIAE", "EA"]})


def test_csv_rounds_and_writes_shares_in_percent():
    from views.columns import table_csv

    rows = list(csv.reader(io.StringIO(table_csv(TABLE).decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Nom", "Population", "ETP", "Part de la population couverte (%)", "Écart (points)", "Année",
                       "Déborde de la région", "Type d'entreprise"]
    assert rows[1] == ["'=HYPERLINK(\"x\")", "1016984", "6,78", "87,3", "-5,8", "2024", "oui", "SIAE"]
    assert rows[2][3] == ""  # missing stays empty


def test_xlsx_has_real_number_formats_autofilter_and_full_values():
    from components.tables import table_xlsx

    ws = openpyxl.load_workbook(io.BytesIO(table_xlsx(TABLE, "Tableau")))["Tableau"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:H3"
    head = [c.value for c in ws[1]]
    assert "type_entreprise" not in head and "Type d'entreprise" in head
    cells = {h: ws.cell(row=2, column=j + 1) for j, h in enumerate(head)}
    assert cells["Nom"].value == "'=HYPERLINK(\"x\")" and cells["Nom"].data_type == "s"
    assert cells["Population"].value == 1016984 and cells["Population"].number_format == "#,##0"
    assert cells["ETP"].value == 6.784 and cells["ETP"].number_format == "#,##0.00"  # noise gone, value kept
    share = cells["Part de la population couverte"]
    assert share.value == pytest.approx(0.87345) and share.number_format == "0.0%"  # a fraction shown "87,3 %"
    gap = cells["Écart (points)"]
    assert gap.value == pytest.approx(-5.82) and gap.number_format == '+0.0" pt";-0.0" pt";0.0" pt"'
    assert cells["Année"].value == 2024 and cells["Année"].number_format == "0"
    assert cells["Déborde de la région"].value == "oui"
    for row in ws.iter_rows(min_row=2):
        for c in row:
            assert "# ##0" not in c.number_format  # a format Excel would store literally


def test_diagnosis_workbook(demo_ds, demo_result):
    from reports.workbook import diagnosis_workbook

    wb = openpyxl.load_workbook(io.BytesIO(diagnosis_workbook(demo_ds, demo_result, "99")))
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref, ws.title
        assert not [c.value for c in ws[1] if isinstance(c.value, str) and "_" in c.value], ws.title
    synth = {r[0].value: r[1] for r in wb["Synthèse"].iter_rows(min_row=2)}
    s = demo_result.diagnosis.summary
    assert synth["Population"].value == s["population"]["totale"] and synth["Population"].number_format == "#,##0"
    assert synth["Part de la population non couverte"].number_format == "0.0%"
    assert synth["ETP"].number_format == "#,##0.00"
    ze = wb["Zones d'emploi"]
    head = [c.value for c in ze[1]]
    col = head.index("Part de la population couverte") + 1
    assert ze.cell(row=2, column=col).number_format == "0.0%" and 0 <= ze.cell(row=2, column=col).value <= 1


# ---------------------------------------------------------------- tables on screen


def test_small_tables_show_french_numbers_and_keep_numbers():
    from components.tables import display

    data, config = display(TABLE)
    html = data.to_html()
    for text in (f"1{NNBSP}016{NNBSP}984", "6,78", f"87,3{NNBSP}%", f"{MINUS}5,8{NNBSP}pt", ">2024<", ">oui<"):
        assert text in html, text
    assert data.data["Population"].dtype.kind == "i"  # the cell keeps its number: sorting stays numeric
    assert all(getattr(c, "get", lambda k: None)("type_config", {}).get("format") in (None,)
               for c in config.values() if isinstance(c, dict))
    assert "Type d'entreprise" in config


def test_a_missing_number_reads_a_dash_not_none():
    """A validation report's file-level line has no line number: the data grid wrote « None » over the
    Styler's text of a missing number; such a column is sent as French text instead."""
    from components.tables import display

    df = pd.DataFrame({"Ligne": pd.array([2, None, 12345], dtype="Int64"), "Message": ["a", "b", "c"]})
    data, config = display(df)
    data = getattr(data, "data", data)  # a Styler's frame, or the frame itself when nothing is left to style
    assert data["Ligne"].tolist() == ["2", "–", f"12{NNBSP}345"]
    assert config["Ligne"]["type_config"]["type"] == "text"
    full = display(pd.DataFrame({"Ligne": pd.array([2, 3], dtype="Int64")}))[0]
    assert full.data["Ligne"].dtype.kind == "i"  # without a gap, the number stays a number (numeric sort)


def test_dates_read_the_french_way_on_screen_and_in_exports():
    """A market's date « 2024-12-16 » reads 16/12/2024 in a table (sorted by date), in the CSV, and is a
    real date shown dd/mm/yyyy in the XLSX."""
    from components.tables import display, table_xlsx
    from views.columns import csv_frame

    df = pd.DataFrame({"id_marche": ["A", "B", "C"], "date": ["2024-12-16", "", "2025-01-03"]})
    data, _ = display(df)
    html = data.to_html()
    assert ">16/12/2024<" in html and ">03/01/2025<" in html and ">–<" in html and "2024-12-16<" not in html
    assert data.data["Date"].tolist()[0] == "2024-12-16"  # the cell keeps its ISO text: sorting is by date
    assert display(pd.concat([df] * 20_000), styler_cells=10)[0]["Date"].iloc[0] == "16/12/2024"
    assert csv_frame(df)["Date"].tolist() == ["16/12/2024", "", "03/01/2025"]
    ws = openpyxl.load_workbook(io.BytesIO(table_xlsx(df))).active
    cell = ws["B2"]
    assert cell.is_date and cell.value.date().isoformat() == "2024-12-16" and cell.number_format == "dd/mm/yyyy"
    assert ws["B3"].value is None
    assert [fmt.date(x) for x in ("2026-12-04T10:53:57", "hier", None)] == ["04/12/2026 10:53", "hier", "–"]


def test_large_tables_never_use_the_browsers_format():
    from components.tables import display

    big = pd.concat([TABLE] * 6000, ignore_index=True)
    data, config = display(big)
    formats = {k: (v.get("type_config") or {}).get("format") for k, v in config.items()}
    assert "localized" not in formats.values()
    assert formats["Population"] == "%'\u202f,d" and formats["Année"] == "%d"
    assert data["ETP"].iloc[0] == "6,78"  # a decimal comma no printf format gives
    assert data["Part de la population couverte"].iloc[0] == 87


def test_column_config_for_plain_dataframes_is_not_localized(demo_result):
    from components.tables import column_config

    config = column_config(demo_result.diagnosis.zones_emploi)
    assert "localized" not in str(config) and "Population" in config  # (shares: "percent"; see show_frame)


# ---------------------------------------------------------------- charts


def _axes_and_legends(spec):
    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("axis", "legend") and isinstance(v, dict):
                    yield k, v
                yield from walk(v)
        elif isinstance(node, list):
            for v in node:
                yield from walk(v)
    return list(walk(spec))


@pytest.mark.parametrize("table", [f"T{i:02d}" for i in range(1, 19)])
def test_indicator_charts_large_uncut_french(demo_ds, table):
    from data.indicators import measures_of, table_data
    from data.schemas import INDICATOR_TABLES
    from views.charts import FONT_SIZE, indicator_chart

    raw = {"type_maitre_ouvrage", "tranche_montant", "secteur", "fondement", "type_entreprise",
           "taille_entreprise", "categorie", "type_contrat", "sexe", "origine", "qualification", "age",
           "prescripteur", "metier", "delai", "situation", "modalite", "modalite_2", "valeur", "part",
           "territoire_lib", "annee"}
    ind = demo_ds.indicateurs
    for measure in measures_of(ind, table):
        spec = indicator_chart(table_data(ind, table, "99", measure), table, INDICATOR_TABLES[table], "bénéficiaires",
                               "ABC Clauses").to_dict()
        assert spec["config"]["locale"]["number"]["decimal"] == ","
        assert spec["config"]["locale"]["number"]["thousands"] == NNBSP
        found = _axes_and_legends(spec)
        assert found
        for kind, props in found:
            assert props.get("labelFontSize", FONT_SIZE) >= 16, (table, kind, props)
            assert props.get("labelLimit", 0) == 0, (table, kind, props)  # never cut ("Bâtiment et trava…")
            assert props.get("title") not in raw, (table, props.get("title"))
        for enc in ("x", "y", "color"):
            for layer in spec.get("layer", [spec]):
                e = layer.get("encoding", {}).get(enc)
                if e and "axis" not in e and "legend" not in e and "field" in e:
                    assert e.get("title", "") not in raw or layer is not spec, (table, enc)


def test_long_category_names_are_wrapped_not_cut():
    from views.charts import lines_expr, wrap

    name = "Construction, bâtiment et travaux publics (F)"
    assert wrap(name) == ["Construction, bâtiment et", "travaux publics (F)"]
    assert '"travaux publics (F)"' in lines_expr([name])


def test_dimension_names_become_words():
    from data.indicators import dimension_label

    assert dimension_label("type_entreprise") == "Type d'entreprise"
    assert dimension_label("mon_axe_perso") == "Mon axe perso"


# ---------------------------------------------------------------- pages (AppTest)


def test_no_raw_column_name_on_any_table_header():
    from streamlit.testing.v1 import AppTest

    from views.columns import LABELS

    pages = ["app_pages/diagnostic_couverture.py", "app_pages/comparer_facilitateurs.py", "app_pages/marches.py",
             "app_pages/indicateurs.py", "app_pages/carte_facilitateurs.py", "app_pages/acheteurs.py",
             "app_pages/besoins.py"]
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    for page in pages:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        for df in at.dataframe:
            for col in df.value.columns:
                assert "_" not in str(col) and str(col) not in LABELS, (page, col)


def test_indicators_page_is_quick_when_warm():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("app_pages/indicateurs.py").run()
    times = []
    for table in ("T03", "T12", "T18", "T08"):
        at.selectbox(key="indicateurs.tableau").set_value(table)
        t = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t)
        assert not at.exception
    assert max(times) < 2.0, times


def test_every_widget_has_a_namespaced_key():
    """Each widget of the pages of this item carries an explicit key ``page.…``."""
    import ast

    for page in ("app_pages/indicateurs.py", "app_pages/marches.py", "app_pages/diagnostic_couverture.py",
                 "components/tables.py", "components/uploads.py", "app_pages/acheteurs.py", "app_pages/besoins.py"):
        tree = ast.parse((ROOT / page).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in {
                    "selectbox", "multiselect", "slider", "radio", "text_input", "toggle", "segmented_control",
                    "download_button", "button", "file_uploader", "number_input", "tabs", "expander"}:
                keys = [k for k in node.keywords if k.arg == "key"]
                assert keys, f"{page}:{node.lineno} {node.func.attr} sans clé"


# ---------------------------------------------------------------- browser

CHROMIUM = Path("/usr/bin/chromium")
browser_only = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium de Debian absent (apt-get install chromium)")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", ""}
# English words Streamlit writes by default (uploads, inputs, selects, menus, status)
ENGLISH = ["Upload", "Browse files", "per file", "Drag and drop", "Press Enter", "Choose an option", "No options",
           "No results", "Add files", "Remove", "Running", "Clear caches", "Rerun", "Settings", "Deploy",
           "Made with Streamlit", "Show more", "Show less", "Please wait", "Select all", "Download as CSV",
           "Fullscreen", "Copy to clipboard", "Loading", "No data", "Search"]
ENGLISH_RE = re.compile(r"\b(" + "|".join(re.escape(w) for w in ENGLISH) + r")\b")
# every visible text node of the page (icons' ligature names and screen-reader-only links left out)
VISIBLE_TEXTS = """() => {
  const out = [], walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const n = walker.currentNode, el = n.parentElement, text = n.textContent.trim();
    if (!text || !el || el.closest('script,style,[data-testid="stIconMaterial"],[aria-hidden="true"] svg')) continue;
    if (el.checkVisibility && !el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1 || r.right < 0 || r.bottom < -5000) continue;
    out.push(text);
  }
  return out;
}"""
# record what canvases paint (the tables are drawn on a canvas: their text is not in the DOM)
RECORD_CANVAS = """
(() => {
  window.__painted = [];
  const f = CanvasRenderingContext2D.prototype.fillText;
  CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
    if (window.__painted.length < 20000) window.__painted.push(String(text));
    return f.call(this, text, ...rest);
  };
})();
"""


@pytest.fixture(scope="module")
def french_server(tmp_path_factory):
    """The app, on its own temporary store holding the real Occitanie référentiel as a workspace."""
    if not CHROMIUM.exists():
        pytest.skip("Chromium de Debian absent (apt-get install chromium)")
    store = tmp_path_factory.mktemp("store_fr")
    env = {**os.environ, "DIAG_DONNEES": str(store)}
    from data import referentiel

    occ = None
    if referentiel.available():
        run = subprocess.run([sys.executable, str(ROOT / "cli.py"), "workspace", "create", "--name", "Occitanie FR",
                              "--region", "76"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        occ = "occitanie-fr"
    with serve(env, "streamlit_french.log") as url:
        yield {"url": url, "occ": occ}


@pytest.fixture(scope="module")
def english_browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        yield b
        b.close()


def open_page(browser, url: str):
    """A 1280x720 page of an English-speaking browser, offline, recording what canvases paint."""
    context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="en-US",
                                  extra_http_headers={"Accept-Language": "en-US,en;q=0.9"})
    context.add_init_script(RECORD_CANVAS)
    external: list[str] = []

    def route(r):
        host = urlparse(r.request.url).hostname or ""
        if r.request.url.startswith(("data:", "blob:", "about:")) or host in LOCAL_HOSTS:
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()
    context.route("**/*", route)
    page = context.new_page()
    page.goto(url)
    wait_app(page)
    return context, page, external


def go(page, link: str):
    """As a user would: a link of the navigation."""
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text=link).first.click()
    wait_app(page)


def wait_app(page):
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    page.wait_for_timeout(500)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000)
    page.wait_for_timeout(1200)


def english_words(page) -> list[str]:
    return sorted({t for t in page.evaluate(VISIBLE_TEXTS) if ENGLISH_RE.search(t)})


NUMBER = re.compile(r"^[\u2212-]?\d[\d\u202f\u00a0 ,.]*(\u202f%|\u202fpt)?$")


def english_numbers(painted: list[str]) -> list[str]:
    """Numbers written the English way: 1,016,984 or 12.5 (a code such as 92080 is neither)."""
    return sorted({t for t in painted if NUMBER.match(t.strip()) and re.search(r"\d,\d{3}(\D|$)|\d\.\d", t)})


@browser_only
def test_tables_are_painted_in_french_in_an_english_browser(french_server, english_browser):
    context, page, external = open_page(english_browser, french_server["url"])
    go(page, "Diagnostic de couverture")
    page.locator('[data-testid="stDataFrame"]').first.wait_for()
    page.wait_for_timeout(1500)
    painted = page.evaluate("window.__painted")
    assert any(re.fullmatch(r"\d{1,3}(\u202f\d{3})+", t) for t in painted), painted[:80]  # 24 000
    assert any(re.fullmatch(r"\d+,\d{2}", t) for t in painted), painted[:80]  # 1,50 (ETP)
    assert any(re.fullmatch(r"\d+,\d\u202f%", t) for t in painted), painted[:80]  # 92,6 %
    assert not english_numbers(painted), english_numbers(painted)
    page.screenshot(path=str(ARTIFACTS / "fr_diagnostic_en_us.png"))
    assert not external, external
    context.close()


@browser_only
def test_no_english_word_on_any_page(french_server, english_browser):
    url = french_server["url"]
    context, page, external = open_page(english_browser, url)
    links = page.locator('[data-testid="stSidebarNav"] a')
    pages = {links.nth(i).inner_text().strip().splitlines()[-1].strip(): links.nth(i).get_attribute("href")
             for i in range(links.count())}
    assert len(pages) >= 6, pages
    found = {}
    for name, href in pages.items():
        page.goto(href if href.startswith("http") else url + "/" + href.lstrip("/"))
        wait_app(page)
        words = english_words(page)
        if words:
            found[name] = words
    page.goto(url)
    wait_app(page)
    # the markets page's own upload (another file, analysed without being saved)
    go(page, "Marchés")
    page.get_by_text("Analyser un autre fichier").click()
    wait_app(page)
    assert page.get_by_text("Choisir un fichier").count() or page.locator('[data-testid="stFileUploader"]').count()
    words = english_words(page)
    if words:
        found["Marchés (autre fichier)"] = words
    page.screenshot(path=str(ARTIFACTS / "fr_marches_upload_en_us.png"))
    if french_server["occ"]:  # a workspace one may import into: the Données page draws its uploads
        page.goto(f"{url}/donnees?espace={french_server['occ']}")
        wait_app(page)
        words = english_words(page)
        if words:
            found["Données (imports)"] = words
        page.screenshot(path=str(ARTIFACTS / "fr_donnees_en_us.png"))
    assert not found, found
    assert not external, external
    context.close()


def test_streamlit_words_translated_never_loop():
    """The observer replaces each English word by its French: a French word that is itself a key would
    be replaced again, endlessly."""
    from components.style import STREAMLIT_FRENCH

    assert not set(STREAMLIT_FRENCH.values()) & set(STREAMLIT_FRENCH)
    assert all(w in STREAMLIT_FRENCH for w in ("No results", "Download as CSV", "Search", "Fullscreen"))


@browser_only
def test_streamlit_words_shown_on_use_are_french(french_server, english_browser):
    """What only shows when used: a select box's empty search, a table's toolbar and its tooltips, a
    column's menu."""
    context, page, external = open_page(english_browser, french_server["url"])
    go(page, "Indicateurs régionaux")
    page.get_by_label("Tableau", exact=True).click()
    page.keyboard.type("zzz")
    expect_text = page.get_by_text("Aucun résultat", exact=True)
    expect_text.wait_for(timeout=10_000)
    assert not english_words(page), english_words(page)
    page.keyboard.press("Escape")
    go(page, "Diagnostic de couverture")
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.hover()
    toolbar = page.locator('[data-testid="stElementToolbar"]').first
    toolbar.wait_for(timeout=10_000)
    labels = [b.get_attribute("aria-label") or "" for b in toolbar.locator("button").all()]
    assert labels and not [x for x in labels if ENGLISH_RE.search(x)], labels
    toolbar.locator("button").first.hover()
    page.wait_for_timeout(800)
    assert not english_words(page), english_words(page)  # the tooltip shown
    page.screenshot(path=str(ARTIFACTS / "fr_barre_tableau_en_us.png"))
    assert not external, external
    context.close()


@browser_only
def test_real_region_pages_speak_french(french_server, english_browser):
    if not french_server["occ"]:
        pytest.skip("référentiel officiel absent")
    url = french_server["url"]
    context, page, external = open_page(english_browser, f"{url}/diagnostic_couverture?espace={french_server['occ']}")
    assert not english_words(page), english_words(page)
    page.screenshot(path=str(ARTIFACTS / "fr_occitanie_diagnostic_en_us.png"))
    assert not english_numbers(page.evaluate("window.__painted"))
    assert not external, external
    context.close()


@browser_only
def test_indicator_charts_large_type_short_page_whole_buttons(french_server, english_browser):
    url = french_server["url"]
    context, page, external = open_page(english_browser, url)
    go(page, "Indicateurs régionaux")
    page.locator(".vega-embed svg text").first.wait_for(timeout=60_000)
    sizes = page.evaluate("""() => [...document.querySelectorAll('.vega-embed svg text')].map(
        t => [t.textContent, parseFloat(getComputedStyle(t).fontSize)])""")
    assert sizes and min(s for _, s in sizes) >= 16, sorted(sizes, key=lambda x: x[1])[:5]
    assert not [t for t, _ in sizes if t.endswith("…")]  # nothing cut
    assert any("%" in t and NNBSP in t for t, _ in sizes)  # "20 %" on the axis
    height = page.evaluate("document.querySelector('[data-testid=\"stMainBlockContainer\"]').scrollHeight")
    assert height < 3200, height  # one table at a time (11,800 px when the 18 were stacked)
    for b in page.locator('[data-testid="stDownloadButton"] button').all():
        if b.is_visible():
            assert b.evaluate("e => e.scrollWidth <= e.clientWidth + 1"), b.inner_text()
    page.screenshot(path=str(ARTIFACTS / "fr_indicateurs_en_us.png"))
    # warm (the browser has the chart library, the server its caches): the page, then another table,
    # each drawn in under 2 s
    go(page, "Accueil")
    t = time.time()
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text="Indicateurs régionaux").first.click()
    page.locator(".vega-embed svg text").first.wait_for(timeout=30_000)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000)
    page_s = time.time() - t
    times = []
    for table in ("T04", "T16"):
        page.get_by_label("Tableau", exact=True).click()
        t = time.time()
        page.get_by_role("option", name=re.compile("^" + table)).click()
        page.wait_for_function(f"[...document.querySelectorAll('.vega-embed svg text')].some("
                               f"t => t.textContent.startsWith('{table}'))", timeout=30_000, polling=50)
        page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000)
        times.append(time.time() - t)
        page.wait_for_timeout(500)
    assert page_s < 2.0 and times[-1] < 2.0, (page_s, times)
    assert not external, external
    context.close()
