"""The one-click report (issue 10, item 4): the PDF, the PowerPoint deck and the XLSX workbook.

Each document is opened the way a reader's tool opens it (pypdf, poppler's pdftoppm when present,
python-pptx, openpyxl), and its figures are compared with ``engine.to_json`` (what
``cli.py diagnose`` writes). The real-région test reads ../shared/realdata and is skipped when it
is absent.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import time

import numpy as np
import openpyxl
import pandas as pd
import pytest
from pptx import Presentation
from pptx.util import Pt

import reports
from data.indicators import followup_with_secrecy
from data.store.dataset import MISSING, Dataset, empty_table
from geo import engine
from reports import workbook
from tests.conftest import ARTIFACTS
from views import fmt
from views import text as T
from views.content import collect

SECTIONS = ["Chiffres clés", "Cartes", "Couverture par structure", "Zones blanches",
            "Quartiers prioritaires par statut de couverture", "Zones d'emploi et aires des structures",
            "Zones blanches et quartiers prioritaires", "Structures : moyens et charge",
            "Cohérence avec les zones d'emploi", "Chevauchements entre structures",
            "Marchés qu'aucune structure ne couvre seule", "Besoins et moyens", "Indicateurs ABC Clauses face à la France",
            "Suivi de l'impact sur les bénéficiaires", "Bilan des facilitateurs (fiche 3, § 6c)",
            "Aires d'intervention", "Coordinations régionale et départementales", "Postes de facilitateurs",
            "Financements mobilisés", "Définitions", "Annexes"]
MAP_TITLES = ["Couverture par structure", "Zones blanches", "Quartiers prioritaires par statut de couverture",
              "Zones d'emploi et aires des structures"]
EXCEL_FORMATS = {"General", "#,##0", "#,##0.0", "#,##0.00", "0.0%", "0", '+0.0" pt";-0.0" pt";0.0" pt"'}


def plain(text: str) -> str:
    """Extracted text with every kind of space as one plain space."""
    return re.sub(r"[\u00a0\u202f\u2009 ]+", " ", text)


def pdf_pages(path) -> list[str]:
    pypdf = pytest.importorskip("pypdf")
    return [plain(p.extract_text() or "") for p in pypdf.PdfReader(str(path)).pages]


def deck_texts(path) -> list[str]:
    prs = Presentation(str(path))
    out = []
    for slide in prs.slides:
        out.append(plain("\n".join(sh.text_frame.text for sh in slide.shapes if sh.has_text_frame)))
    return out


def build(ds, region: str, out, label: str | None = None):
    result = engine.run(ds.communes, ds.qpv, ds.structures, ds.perimetres, ds.marches, region)
    return reports.build(ds, result, region, out, workspace_label=label), result


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory, demo_ds, demo_result):
    out = tmp_path_factory.mktemp("rapport")
    files = reports.build(demo_ds, demo_result, "99", out)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for path in files.values():  # kept for a person to look at
        shutil.copy(path, ARTIFACTS / path.name)
    return files


@pytest.fixture(scope="module")
def expected(demo_result):
    return engine.to_json(demo_result)


# ------------------------------------------------------------------------------------------------
# the three files


def test_three_files_named_after_the_region(demo_files):
    assert {k: p.name for k, p in demo_files.items()} == {
        "pdf": "rapport_99.pdf", "pptx": "presentation_99.pptx", "xlsx": "diagnostic_99.xlsx"}
    assert all(p.stat().st_size > 10_000 for p in demo_files.values())


def test_pdf_opens_with_every_section_and_its_bookmarks(demo_files, demo_ds):
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(str(demo_files["pdf"]))
    pages = [plain(p.extract_text() or "") for p in reader.pages]
    text = "\n".join(pages)
    for section in SECTIONS:
        assert section in text, section
    cover = pages[0]
    assert "Région de démonstration (99)" in cover and plain(demo_ds.label) in cover
    assert plain(demo_ds.vintages_text()) in plain(cover.replace("\n", " "))
    assert "Données fictives de démonstration" in cover and "Sources des données" in cover
    titles = [o.title for o in reader.outline if not isinstance(o, list)]
    assert titles[0] == "1. Chiffres clés" and "11. Définitions" in titles
    assert reader.metadata.title.startswith(T.TITLE)
    # French formats only: no "16%" nor "0.49" written by the report itself
    assert not re.search(r"\d%", text)
    assert "ETP pour 100 000 habitants" in text and fmt.decimal(1.0, 2) in text


def test_pdf_figures_equal_the_cli(demo_files, expected):
    text = "\n".join(pdf_pages(demo_files["pdf"])[1:])  # after the cover and its table of contents
    key = text[text.index("1. Chiffres clés"):text.index("2. Cartes")]
    e = expected
    for value, label in ((e["population"]["non_couverte"], "Population non couverte"),
                         (e["communes"]["non_couvertes"], "Zones blanches"),
                         (e["communes"]["multi_couvertes"], "Communes couvertes par plusieurs"),
                         (e["qpv"]["non_couverts"], "QPV non couverts"),
                         (e["qpv"]["population_non_couverte"], "Population des QPV non couverts"),
                         (e["population"]["totale"], "Population de la région"),
                         (e["marches"]["hors_couverture"], "Marchés hors couverture"),
                         (e["marches"]["avec_consideration_sociale"] - e["marches"]["couvert"],
                          "Marchés qu'aucune structure ne couvre seule")):
        assert re.search(re.escape(plain(fmt.integer(value))) + r"( hab\.)? " + re.escape(label),
                         key.replace("\n", " ")), label
    # every structure's covered population is in its table
    structures = text[text.index("4. Structures : moyens et charge"):text.index("5. Cohérence")]
    for s in e["structures"]:
        assert plain(fmt.integer(s["population_couverte"])) in structures, s["id_structure"]
    assert f"{plain(fmt.integer(e['communes']['non_couvertes']))} communes de la région" in text
    assert "(s)" not in text  # every count agreed (issue 21)


def test_pdf_long_tables_repeat_their_header(demo_files, demo_result):
    pages = pdf_pages(demo_files["pdf"])
    start = next(i for i, p in enumerate(pages) if "12. Annexes" in p)
    annex = pages[start:]
    gaps = demo_result.market_summary["avec_consideration_sociale"] - demo_result.market_summary["couvert"]
    assert gaps > 60  # enough markets for several pages
    with_header = [p for p in annex if "Identifiant Objet Acheteur" in p.replace("\n", " ")]
    assert len(with_header) >= 2
    # the full list: every market that no single structure covers is in the annex
    ids = demo_result.markets.loc[demo_result.markets["avec_consideration_sociale"]
                                  & (demo_result.markets["couverture"] != "couvert"), "id_marche"]
    joined = "\n".join(annex).replace("\n", "")
    assert all(i in joined for i in ids)


def test_pdf_pages_rendered_show_the_maps(demo_files, tmp_path):
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm (poppler-utils) absent : rendu des pages non vérifié")
    from PIL import Image

    pages = pdf_pages(demo_files["pdf"])
    for title in ("Couverture par structure", "Quartiers prioritaires par statut de couverture"):
        n = next(i for i, p in enumerate(pages) if title in p) + 1
        subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", str(n), "-l", str(n), str(demo_files["pdf"]),
                        str(tmp_path / f"p{n}")], check=True, timeout=120)
        png = next(tmp_path.glob(f"p{n}*.png"))
        shutil.copy(png, ARTIFACTS / f"rapport_page_{n}.png")
        img = np.asarray(Image.open(png).convert("RGB")).astype(int)
        h, w, _ = img.shape
        # the map sits under its title: in the upper half of the page when it is the page's first map, else lower
        page = pages[n - 1]
        first = all(page.index(title) < page.index(t) for t in MAP_TITLES if t != title and t in page)
        half = img[int(0.1 * h):int(0.5 * h), int(0.1 * w):int(0.9 * w)] if first \
            else img[int(0.5 * h):int(0.9 * h), int(0.1 * w):int(0.9 * w)]
        coloured = (np.abs(half - 255).sum(axis=2) > 40).mean()
        colours = len(np.unique(half.reshape(-1, 3) // 16, axis=0))
        assert coloured > 0.25, (title, coloured)
        assert colours > 12, (title, colours)


def test_pdf_embeds_the_four_maps(demo_files):
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(str(demo_files["pdf"]))
    pages = [plain(p.extract_text() or "") for p in reader.pages]
    first = next(i for i, p in enumerate(pages) if "2. Cartes" in p and i > 0)
    images = [im for p in reader.pages[first:first + 3] for im in p.images]  # the coverage map has its page
    assert len(images) == 4
    for im in images:
        pixels = np.asarray(im.image.convert("RGB"))
        assert pixels.shape[1] > 1000 and (pixels.std(axis=(0, 1)) > 20).all()


def test_pptx_has_one_slide_per_screen_in_large_type(demo_files, expected):
    prs = Presentation(str(demo_files["pptx"]))
    assert len(prs.slides) == len(T.SCREENS) == 7
    assert abs(prs.slide_width / prs.slide_height - 16 / 9) < 0.01
    for slide, screen in zip(prs.slides, T.SCREENS):
        shapes = {sh.name: sh for sh in slide.shapes}
        assert shapes["titre"].text_frame.text == screen
        for sh in slide.shapes:
            if not sh.has_text_frame or sh.name == "source":
                continue
            for i, p in enumerate(sh.text_frame.paragraphs):
                for run in p.runs:
                    limit = 40 if (sh.name == "chiffre" and i == 0) else 24
                    assert run.font.size is not None and run.font.size >= Pt(limit), (screen, sh.name, run.text)
            if sh.name == "chiffre":
                assert sh.text_frame.paragraphs[0].runs[0].font.size >= Pt(40)
        for sh in slide.shapes:
            if sh.has_chart:
                chart = sh.chart
                assert chart.font.size >= Pt(24)
                assert chart.category_axis.tick_labels.font.size >= Pt(24)
    texts = deck_texts(demo_files["pptx"])
    e = expected
    assert plain(fmt.integer(e["population"]["totale"])) in texts[0]
    assert plain(fmt.integer(e["population"]["non_couverte"])) + "\nhabitants non couverts" in texts[2]
    assert plain(fmt.integer(e["communes"]["non_couvertes"])) + "\nzones blanches" in texts[2]
    assert plain(fmt.integer(e["qpv"]["non_couverts"])) + "\nQPV non couverts" in texts[2]
    assert plain(fmt.integer(e["qpv"]["population_non_couverte"])) in texts[2]
    assert plain(fmt.integer(e["marches"]["hors_couverture"])) + "\nhors couverture" in texts[4]
    assert plain(fmt.integer(len(e["zones_emploi"]))) + "\nzones d'emploi" in texts[3]
    # maps are pictures, on the screens that show one
    for i in (0, 2, 3):
        assert any(sh.shape_type == 13 for sh in prs.slides[i].shapes), i
    # the market chart is a real chart the team can edit, with the CLI's counts
    chart = next(sh.chart for sh in prs.slides[4].shapes if sh.has_chart)
    assert list(chart.plots[0].series[0].values) == [e["marches"][k] for k in ("couvert", "multi_facilitateurs",
                                                                               "partiellement_couvert",
                                                                               "hors_couverture", "non_localisable")]


def test_pptx_renders_when_libreoffice_is_present(demo_files, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice or not shutil.which("pdftoppm"):
        pytest.skip("LibreOffice ou pdftoppm absent : rendu des diapositives non vérifié")
    subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path),
                    str(demo_files["pptx"])], check=True, timeout=240, capture_output=True)
    pdf = tmp_path / "presentation_99.pdf"
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "3", "-l", "3", str(pdf), str(tmp_path / "s")],
                   check=True, timeout=120)
    png = next(tmp_path.glob("s*.png"))
    shutil.copy(png, ARTIFACTS / "presentation_diapositive_3.png")
    from PIL import Image

    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert (np.abs(img - 255).sum(axis=2) > 40).mean() > 0.1


def test_xlsx_real_formats_filters_and_cli_figures(demo_files, expected):
    wb = openpyxl.load_workbook(demo_files["xlsx"])
    used = set()
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:"), ws.title
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, (int, float)) and not isinstance(cell.value, bool):
                    assert cell.number_format in EXCEL_FORMATS - {"General"}, (ws.title, cell.coordinate,
                                                                                cell.number_format)
                    used.add(cell.number_format)
                    if cell.number_format == "0.0%":
                        assert -1 <= cell.value <= 1, (ws.title, cell.coordinate)
                assert cell.data_type != "f"
    assert {"#,##0", "#,##0.00", "0.0%"} <= used
    assert "# ##0" not in used
    # the summary sheet speaks to people: a label and its value, no developer's key (issue 21)
    assert [c.value for c in next(wb["Synthèse"].iter_rows(max_row=1))] == ["Indicateur", "Valeur"]
    summary = {r[0]: r[1] for r in wb["Synthèse"].iter_rows(min_row=2, values_only=True)}
    e = expected
    for label, key in (("Communes", "communes.total"), ("Zones blanches (communes non couvertes)",
                                                        "communes.non_couvertes"),
                       ("Communes couvertes par plusieurs structures", "communes.multi_couvertes"),
                       ("Population non couverte", "population.non_couverte"), ("QPV non couverts", "qpv.non_couverts"),
                       ("QPV partiellement couverts", "qpv.partiels"),
                       ("Population des QPV non couverts", "qpv.population_non_couverte"),
                       ("Marchés hors couverture", "marches.hors_couverture"), ("Marchés régionaux", "marches.regional"),
                       ("Marchés retenus", "marches.total")):
        group, name = key.split(".")
        assert summary[label] == e[group][name], label
    structures = pd.DataFrame(wb["Structures"].values)
    structures.columns = structures.iloc[0]
    structures = structures.iloc[1:]
    got = dict(zip(structures["Identifiant"], structures["Population couverte"]))
    assert got == {s["id_structure"]: s["population_couverte"] for s in e["structures"]}
    ze = {r[0]: r[3] for r in wb["Zones d'emploi"].iter_rows(min_row=2, values_only=True)}
    for z in e["zones_emploi"]:
        assert ze[z["code"]] == pytest.approx(z["part_couverte"], abs=5e-5)
    assert wb["Zones blanches"].max_row - 1 == e["communes"]["non_couvertes"]
    # ETP are rounded where the display matters, not 6.783999999999999
    etp = [c.value for c in wb["Structures"]["F"][1:]]
    assert all(round(v, 2) == v for v in etp)
    # the markets kept, and their dates as real dates that Excel shows the French way
    header = [c.value for c in next(wb["Marchés"].iter_rows(max_row=1))]
    dates = [row[header.index("Date")] for row in wb["Marchés"].iter_rows(min_row=2)]
    assert dates and all(c.is_date and c.number_format == "dd/mm/yyyy" for c in dates if c.value is not None)


def test_xlsx_neutralises_formulas_in_cells_headers_and_sheet_names(demo_ds):
    ds = demo_ds.replace(structures=demo_ds.structures.assign(
        nom=['=HYPERLINK("http://x","clic")', "+1+1", "-2", "@SUM(A1)"] + demo_ds.structures["nom"].tolist()[4:]))
    result = engine.run(ds.communes, ds.qpv, ds.structures, ds.perimetres, ds.marches, "99")
    wb = openpyxl.load_workbook(io.BytesIO(workbook.workbook_bytes(collect(ds, result, "99"))))
    names = [c.value for c in wb["Structures"]["B"][1:5]]
    assert names == ["'=HYPERLINK(\"http://x\",\"clic\")", "'+1+1", "'-2", "'@SUM(A1)"]
    assert all(c.data_type == "s" for c in wb["Structures"]["B"][1:5])
    assert all(c.data_type != "f" for ws in wb.worksheets for row in ws.iter_rows() for c in row)
    # the one writer (data.formats.xlsx) drops what XLSX cannot hold and names sheets safely
    from data.formats import xlsx

    odd = openpyxl.load_workbook(io.BytesIO(xlsx.workbook([xlsx.Sheet("=Feuille[1]", pd.DataFrame({"n": ["=1+1", "a\x01b"]}))])))
    assert odd.sheetnames[0][0] not in "=+-@'" and not set("[]") & set(odd.sheetnames[0])
    assert [c.value for c in odd.worksheets[0]["A"][1:]] == ["'=1+1", "ab"]


def test_statistical_secrecy_holds_in_the_three_documents(tmp_path, demo_ds):
    ind = demo_ds.indicateurs.copy()
    latest = int(pd.to_numeric(ind["annee"]).max())
    women = (ind["tableau"] == "T08") & (ind["mesure"] == "beneficiaires") & (ind["territoire"] == "99") \
        & (ind["modalite"] == "Femmes") & (pd.to_numeric(ind["annee"]) == latest)
    assert women.sum() == 1
    ind.loc[women, "valeur"] = 3.0
    ds = demo_ds.replace(indicateurs=ind)
    fu, hidden = followup_with_secrecy(ind, "99")
    row = fu[fu["indicateur"].str.startswith("Part des femmes") & (fu["annee"] == latest)].iloc[0]
    assert hidden == 1 and bool(row["secret"]) and np.isnan(row["region"])
    files, _ = build(ds, "99", tmp_path)
    text = "\n".join(pdf_pages(files["pdf"]))
    assert "1 part non affichée (secret statistique : calculée sur moins de 5 bénéficiaires" in text
    # the share is not shown, nor the gap with France
    assert re.search(rf"Part des femmes parmi les bénéficiaires\n{latest}\n–\n\d+ %\n–\n", text)
    assert re.search(r"\d+ cases masquées \(secret statistique : moins de 5 bénéficiaires", text)
    wb = openpyxl.load_workbook(files["xlsx"])
    rows = [r for r in wb["Suivi fiche 3 § 6b"].iter_rows(min_row=2, values_only=True)
            if r[0].startswith("Part des femmes") and r[1] == latest]
    assert rows[0][2] is None and rows[0][5] == "oui"
    secret = [r for r in wb["Indicateurs ABC Clauses"].iter_rows(min_row=2, values_only=True) if r[11] == "oui"]
    assert secret and all(r[9] is None for r in secret)
    assert not any(r[9] is not None and r[9] < 5 and r[2] == "bénéficiaires"
                   for r in wb["Indicateurs ABC Clauses"].iter_rows(min_row=2, values_only=True))
    slide = deck_texts(files["pptx"])[T.SCREENS.index(T.SCREEN_INDICATORS)]
    assert "secret\nFemmes parmi les bénéficiaires" in slide


def test_workspace_without_markets_or_indicators_says_so(tmp_path, demo_ds):
    ds = Dataset(communes=demo_ds.communes, qpv=demo_ds.qpv, structures=demo_ds.structures,
                 perimetres=demo_ds.perimetres, marches=empty_table("marches"), indicateurs=empty_table("indicateurs"),
                 meta={"name": "Sans marchés", "vintages": {"communes": "2026", "qpv": "2024", "facilitateurs": "2024"},
                       "referentiel_officiel": True,
                       "sources": {"communes": "Sources : INSEE COG 2026, IGN ADMIN EXPRESS, Licence Ouverte"}},
                 present=frozenset({"communes", "qpv", "structures", "perimetres"}))
    files, result = build(ds, "99", tmp_path)
    pages = pdf_pages(files["pdf"])
    assert "Sources : INSEE COG 2026, IGN ADMIN EXPRESS, Licence Ouverte" in pages[0]  # the référentiel's credit
    text = "\n".join(pages).replace("\n", " ")
    for kind in ("marches", "indicateurs"):
        assert MISSING[kind] in text
    assert "marchés lus" not in text and "Tableaux ABC Clauses" not in text  # never the demo's
    slides = deck_texts(files["pptx"])
    assert MISSING["marches"] in slides[4] and MISSING["indicateurs"] in slides[
        T.SCREENS.index(T.SCREEN_INDICATORS)].replace("\n", " ")
    assert MISSING["marches"] in slides[T.SCREENS.index(T.SCREEN_NEEDS)]
    wb = openpyxl.load_workbook(files["xlsx"])
    assert wb.sheetnames == openpyxl.load_workbook(io.BytesIO(workbook.diagnosis_workbook(ds, result, "99"))).sheetnames
    assert wb["Marchés"]["A2"].value == MISSING["marches"]
    assert wb["Indicateurs ABC Clauses"]["A2"].value == MISSING["indicateurs"]
    assert "Marchés retenus" not in [r[0] for r in wb["Synthèse"].iter_rows(values_only=True)]


def test_build_workspace_reads_the_store(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(reports, "build", lambda ds, result, region, out, workspace_label=None: calls.append(
        (ds.slug, region, workspace_label, result.diagnosis.summary["communes"]["total"])) or {})
    reports.build_workspace("demo", None, tmp_path)
    reports.build_workspace("Région de démonstration – données fictives", "99", tmp_path)
    assert calls == [("demo", "99", "Région de démonstration – données fictives", 440)] * 2
    with pytest.raises(LookupError, match="n'existe pas"):
        reports.build_workspace("espace inconnu", "99", tmp_path)
    with pytest.raises(ValueError, match="la région « 76 » n'est pas dans le référentiel"):
        reports.build_workspace("demo", "76", tmp_path)


def test_report_page_builds_and_offers_the_three_files():
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "app_pages" / "rapport.py"), default_timeout=300).run()
    assert not at.exception
    assert at.title[0].value == "Rapport"
    at.button(key="rapport.preparer").click().run()
    assert not at.exception, [e.message for e in at.exception]

    def walk(node):
        yield node
        for child in (getattr(node, "children", None) or {}).values():
            yield from walk(child)

    downloads = [n for n in walk(at._tree) if getattr(n, "type", None) == "download_button"]
    assert sorted(n.key for n in downloads) == [
        "rapport.telecharger.pdf", "rapport.telecharger.pptx", "rapport.telecharger.xlsx"]


# ------------------------------------------------------------------------------------------------
# a real région


def test_real_region_report(tmp_path, realdata):
    from data.validation import validate

    communes = validate("communes", [realdata / "communes_geom" /
                                     "communes_occitanie_cog2026_from_adminexpress2018.geojson"]).tables["communes"]
    qpv = validate("qpv", [realdata / "qpv" / "qpv2015_occitanie_polygones_hackaviz2021.geojson"]).tables["qpv"]
    epci = communes.groupby("epci_siren")["population"].sum().sort_values(ascending=False).index.tolist()
    structures = pd.DataFrame(
        [["P1", "PLIE de la métropole", "PLIE", "31555", 4, 3.5], ["P2", "MDE du littoral", "MDE", "34172", 2, 2.0],
         ["P3", "Département du Gard", "Département", "30189", 3, 2.4],
         ["P4", "Association ariégeoise", "Association", "09122", 1, 0.8], ["P5", "Agglo", "EPCI", "66136", 1, 1.0],
         ["P6", "Bassin d'emploi", "Autre", "81004", 1, 0.5]],
        columns=["id_structure", "nom", "type_structure", "code_commune", "nb_facilitateurs", "etp"])
    perimetres = pd.DataFrame([["P1", "epci", epci[0]], ["P1", "epci", epci[2]], ["P2", "epci", epci[1]],
                               ["P2", "epci", epci[3]], ["P3", "departement", "30"], ["P4", "departement", "09"],
                               ["P5", "epci", epci[4]], ["P5", "epci", epci[5]], ["P6", "ze", "7613"]],
                              columns=["id_structure", "type_territoire", "code_territoire"])
    ds = Dataset.empty().replace(communes=communes, qpv=qpv, structures=structures, perimetres=perimetres)
    ds.meta = {"name": "Occitanie (essai)", "vintages": {"communes": "2026", "qpv": "2015", "facilitateurs": "2025"}}
    result = engine.run(ds.communes, ds.qpv, ds.structures, ds.perimetres, ds.marches, "76")
    start = time.perf_counter()
    files = reports.build(ds, result, "76", tmp_path)
    elapsed = time.perf_counter() - start
    print(f"\nrapport d'une vraie région (Occitanie, {len(communes)} communes) : {elapsed:.1f} s pour les trois "
          "fichiers")
    e = engine.to_json(result)
    pages = pdf_pages(files["pdf"])
    text = "\n".join(pages)
    assert "Occitanie (76)" in pages[0]
    assert plain(fmt.integer(e["population"]["non_couverte"])) + " hab.\nPopulation non couverte" in text
    annex = [p for p in pages if "Code Commune Population EPCI" in p.replace("\n", " ")]
    assert len(annex) >= 10  # thousands of zones blanches: the annex runs on, its header on every page
    assert len(Presentation(str(files["pptx"])).slides) == len(T.SCREENS)
    if shutil.which("pdftoppm"):  # a wide région: its coverage map spans the page's width, legend included
        from PIL import Image

        n = next(i for i, p in enumerate(pages) if "Couverture par structure" in p) + 1
        subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", str(n), "-l", str(n), str(files["pdf"]),
                        str(tmp_path / "couverture")], check=True, timeout=120)
        png = next(tmp_path.glob("couverture*.png"))
        shutil.copy(png, ARTIFACTS / "rapport_occitanie_couverture.png")
        img = np.asarray(Image.open(png).convert("RGB")).astype(int)
        h, w, _ = img.shape
        band = (np.abs(img[int(0.12 * h):int(0.85 * h)] - 255).sum(axis=2) > 40)
        columns = np.flatnonzero(band.mean(axis=0) > 0.02)
        rows = np.flatnonzero(band.mean(axis=1) > 0.02)
        assert (columns[-1] - columns[0]) / w > 0.7, (columns[0], columns[-1], w)  # the text width is 85 %
        assert (rows[-1] - rows[0]) / h > 0.5, (rows[0], rows[-1], h)  # and half the page's height at least
    wb = openpyxl.load_workbook(files["xlsx"])
    assert wb["Zones blanches"].max_row - 1 == e["communes"]["non_couvertes"]
    assert wb["Communes"].max_row - 1 == e["communes"]["total"] == len(communes)


def test_bilan_compares_with_the_previous_import_of_facilitators(tmp_path, demo_ds):
    from data.store import workspaces
    from reports import pdf

    slug = workspaces.create("Bilan, deux imports")
    first = demo_ds.replace()
    first.meta = {"vintages": {"facilitateurs": "2023"}, "region": "99"}
    workspaces.commit(slug, first, {"action": "import", "kind": "facilitateurs", "file": "facilitateurs_2023.xlsx"})
    st = demo_ds.structures.copy()
    st.loc[st["id_structure"] == "S01", "etp"] = 6.0
    second = demo_ds.replace(structures=st[st["id_structure"] != "S10"],
                             perimetres=demo_ds.perimetres[demo_ds.perimetres["id_structure"] != "S10"])
    second.meta = {"vintages": {"facilitateurs": "2024"}}
    workspaces.import_tables(slug, second, "facilitateurs", {"kind": "facilitateurs", "file": "facilitateurs_2024.xlsx",
                                                              "vintage": "2024"})
    ds = workspaces.load(slug)
    result = engine.run(ds.communes, ds.qpv, ds.structures, ds.perimetres, ds.marches, "99")
    c = collect(ds, result, "99")
    ev = c.evolution
    assert ev is not None and ev.version == 1 and ev.vintage == "2023"
    assert [r for r in ev.removed if r.startswith("S10")] and not ev.added
    figures = ev.figures.set_index("indicateur")
    assert figures.loc["Structures porteuses", "avant"] == 10 and figures.loc["Structures porteuses", "maintenant"] == 9
    assert figures.loc["ETP", "maintenant"] == pytest.approx(c.summary["structures"]["etp"])
    assert "S01" in set(ev.changed["id_structure"])
    pdf.write(tmp_path / "r.pdf", c, {}, {})
    text = "\n".join(pdf_pages(tmp_path / "r.pdf")).replace("\n", " ")
    assert "Évolution depuis l'import précédent des facilitateurs (version 1" in text
    assert "Structures disparues : S10" in text
    wb = openpyxl.load_workbook(io.BytesIO(workbook.workbook_bytes(c)))
    sheet = wb["Évolution depuis v1"]
    rows = {r[0].value: r for r in sheet.iter_rows(min_row=2)}
    assert rows["Structures porteuses"][3].value == -1 and rows["Structures porteuses"][3].number_format == "#,##0"
    assert rows["Part de la population couverte"][1].number_format == "0.0%"
    assert rows["Part de la population couverte"][3].number_format.startswith('+0.0" pt"')


def test_pdf_table_cells_never_outgrow_a_page(tmp_path, demo_ds):
    from reports import pdf

    place = ";".join(demo_ds.communes["code_insee"].astype(str).head(400))
    marches = demo_ds.marches.copy()
    marches.loc[marches.index[0], ["lieu_type", "lieu_code", "considerations_sociales"]] = [
        "commune", place, "Clause sociale"]
    ds = demo_ds.replace(marches=marches)
    result = engine.run(ds.communes, ds.qpv, ds.structures, ds.perimetres, ds.marches, "99")
    pdf.write(tmp_path / "r.pdf", collect(ds, result, "99"), {}, {})  # a LayoutError would raise here
    assert "(suite dans le classeur XLSX)" in " ".join(pdf_pages(tmp_path / "r.pdf")).replace("\n", " ")


# ------------------------------------------------------------------------------------------------
# the launch meeting's words: load ranking, agreement, page foot, the main map's size


def _structures(ratios: dict[str, float], etp: dict[str, float] | None = None) -> pd.DataFrame:
    etp = etp or {k: 1.0 for k in ratios}
    return pd.DataFrame({"id_structure": list(ratios), "nom": [f"Structure {k}" for k in ratios],
                         "etp": [etp[k] for k in ratios], "etp_pour_100k_hab": list(ratios.values())})


def test_load_ranking_is_by_ratio_with_both_ends_and_says_so():
    from views.screens import load_ranking

    # as in Occitanie: a small structure (1 ETP) with a high ratio, a large one (3.5 ETP) with the lowest
    ratios = {"A": 2.82, "B": 1.73, "C": 1.26, "D": 0.97, "E": 0.96, "F": 0.89, "G": 0.76, "H": 0.65, "I": 0.51,
              "J": 0.49, "K": 0.36}
    etp = {"A": 1.5, "B": 1.0, "C": 1.6, "D": 2.6, "E": 1.7, "F": 2.5, "G": 2.0, "H": 0.5, "I": 0.8, "J": 2.8,
           "K": 3.5}
    r = load_ranking(_structures(ratios, etp), 8)
    assert list(r.top["id_structure"]) == ["A", "B", "C", "D"]  # B (1.73, 1 ETP) is not left out
    assert list(r.bottom["id_structure"]) == ["H", "I", "J", "K"]  # the most loaded: each ETP for the most people
    shown = list(r.top["etp_pour_100k_hab"]) + list(r.bottom["etp_pour_100k_hab"])
    assert shown == sorted(shown, reverse=True)
    assert plain(r.between) == "3 autres structures, de 0,96 à 0,76"
    assert plain(r.note) == ("Les 4 structures aux ratios les plus élevés et les 4 aux ratios les plus faibles "
                             "(les plus chargées), sur 11.")
    assert plain(r.short) == "les 4 plus élevés et les 4 plus faibles, sur 11"
    # nine structures for eight bars: the ninth is shown (saying « 1 autre structure » would take its bar's room)
    nine = load_ranking(_structures(dict(list(ratios.items())[:9])), 8)
    assert len(nine.top) == 9 and nine.bottom.empty and not nine.between and nine.note == ""
    ten = load_ranking(_structures(dict(list(ratios.items())[:10])), 8)
    assert plain(ten.between) == "2 autres structures, de 0,96 à 0,89"
    # as many as the chart holds: all of them, highest first, nothing to say
    few = load_ranking(_structures({"X": 0.5, "Y": 1.5, "Z": 1.0}), 8)
    assert list(few.top["id_structure"]) == ["Y", "Z", "X"] and few.bottom.empty and not few.between
    assert few.note == ""
    # a structure that covers no one in the région has no ratio: not ranked, and said so
    none = load_ranking(_structures({"X": 0.5, "Y": float("nan")}), 8)
    assert list(none.top["id_structure"]) == ["X"]
    assert plain(none.note) == "1 structure sans population couverte dans la région, non classée."


def test_counts_agree_in_french():
    from types import SimpleNamespace

    from views.screens import employment
    from views.text import agree

    assert [agree(n, "aire", "aires") for n in (0, 1, 1.5, 2, 11)] == ["aire", "aire", "aire", "aires", "aires"]
    for n, label in ((0, "aire sur plus de 3 zones"), (1, "aire sur plus de 3 zones"),
                     (2, "aires sur plus de 3 zones")):
        c = SimpleNamespace(zones_emploi=pd.DataFrame({"part_couverte": [0.9, 0.2], "nb_structures": [2, 1]}),
                            structures=pd.DataFrame({"nb_ze": [5] * n + [1] * (3 - n)}))
        figures = employment(c)
        assert figures[3] == (str(n), label), figures
        assert figures[0] == ("2", "zones d'emploi") and figures[1] == ("1", "couverte à moins de 50 %")
        assert figures[2] == ("1", "partagée entre structures")


def test_fitting_ranking_shows_every_structure_when_their_names_fit():
    from views.screens import Room, fitting_ranking, name_lines

    names = ("PLIE 5", "Conseil départemental 45", "Maison de l'emploi du Pays de Châteaudun")
    assert [name_lines(n, 16) for n in names] == [1, 2, 3]
    ratios = {k: v for k, v in zip("ABCDEFGHIJK", (2.8, 1.7, 1.3, 0.97, 0.96, 0.89, 0.76, 0.65, 0.51, 0.49, 0.36))}
    st = _structures(ratios)  # « Structure A »: 11 characters, one line
    roomy = fitting_ranking(st, Room(height=11 * 30, line=30, gap=0, chars=20))
    assert len(roomy.top) == 11 and not roomy.between
    tight = fitting_ranking(st, Room(height=7 * 30, line=30, gap=0, chars=20))  # 6 bars and the gap row
    assert len(tight.top) + len(tight.bottom) == 6 and tight.between.startswith("5 autres structures")
    assert list(tight.top["id_structure"]) == ["A", "B", "C"] and list(tight.bottom["id_structure"]) == ["I", "J", "K"]
    # names of two lines take twice the room: five of them and the gap row's line in eleven lines
    wrapped = fitting_ranking(st, Room(height=11 * 30, line=30, gap=0, chars=6))
    assert len(wrapped.top) + len(wrapped.bottom) == 5 and wrapped.between.startswith("6 autres structures")


def test_deck_load_chart_is_ranked_by_ratio(demo_files, demo_result):
    st = demo_result.diagnosis.structures.dropna(subset=["etp_pour_100k_hab"])
    slide = Presentation(str(demo_files["pptx"])).slides[1]
    chart = next(sh.chart for sh in slide.shapes if sh.has_chart)
    values = [v for v in chart.plots[0].series[0].values if v is not None]
    assert values == sorted(values, reverse=True) and len(values) >= 4
    ranked = st.sort_values("etp_pour_100k_hab", ascending=False)
    assert values[0] == round(ranked["etp_pour_100k_hab"].iloc[0], 2)
    assert values[-1] == round(ranked["etp_pour_100k_hab"].iloc[-1], 2)
    # the names beside the bars, whole, in the order of the bars; what is left out said between them
    names = [sh.text_frame.text for sh in slide.shapes if sh.name == "nom_barre"]
    k = len(values)
    assert names == list(ranked["nom"].head(k // 2)) + list(ranked["nom"].tail(k - k // 2))
    gap = [sh.text_frame.text for sh in slide.shapes if sh.name == "ecart_classement"]
    assert (gap == []) == (k == len(st))
    if gap:
        assert plain(gap[0]).startswith(f"{len(st) - k} autres structures, de ")
    title = next(sh for sh in slide.shapes if sh.name == "legende_graphique").text_frame.text
    assert plain(title) == "ETP pour 100 000 habitants couverts"


def test_pdf_foot_keeps_every_vintage_whole(tmp_path, demo_ds, demo_result):
    from reports import pdf

    c = collect(demo_ds, demo_result, "99")
    vintages = ["COG 2026", "QPV 2024 (contours publiés par l'ANCT en janvier)",
                "facilitateurs 2025 (enquête régionale auprès des structures porteuses)",
                "marchés janv. 2023 – déc. 2026", "indicateurs 2023–2024"]
    c.vintages = " · ".join(vintages)
    pdf.write(tmp_path / "r.pdf", c, {}, {})
    pages = pdf_pages(tmp_path / "r.pdf")
    assert len(pages) > 5
    for text in pages[1:]:  # the cover has no foot
        lines = text.split("\n")
        assert not any("…" in line for line in lines[-4:]), lines[-4:]
        for v in vintages:  # each vintage on one line, whole
            assert any(plain(v) in line for line in lines), (v, lines[-4:])


def test_needs_section_slide_and_sheets_say_what_the_engine_says(demo_files, demo_ds):
    """Issue 20, item 6: the « Besoins et moyens » section of the PDF, its slide and the workbook's sheets hold
    the engine's figures (``cli.py diagnose`` and ``cli.py acheteurs``); the definitions page repeats DOMAIN.md's."""
    from geo.inclusion import families_sentence

    result = engine.run(demo_ds.communes, demo_ds.qpv, demo_ds.structures, demo_ds.perimetres, demo_ds.marches, "99",
                        inclusion=demo_ds.inclusion)
    out = engine.to_json(result)
    buyers = engine.buyers(result)
    pages = pdf_pages(demo_files["pdf"])
    text = "\n".join(pages[1:])
    section = plain(text[text.index("8. Besoins et moyens"):text.index("9. Indicateurs ABC")].replace("\n", " "))
    white = families_sentence(out["structures_inclusion"]["dans_zones_blanches"],
                              "dans des communes qu'aucun facilitateur ne couvre")
    assert plain(white) in section and T.BUYERS_ESTIMATE.split(" :")[0] in section
    assert f"{plain(fmt.integer(len(buyers)))} acheteurs" in section
    definitions = plain(text[text.index("11. Définitions"):].replace("\n", " "))
    for term, _ in T.NEEDS_DEFINITIONS:
        assert term in definitions, term
    slide = deck_texts(demo_files["pptx"])[T.SCREENS.index(T.SCREEN_NEEDS)]
    n_white = sum(out["structures_inclusion"]["dans_zones_blanches"].values())
    assert f"{fmt.integer(out['marches']['avec_consideration_sociale'])}\nmarchés à clause sociale" in slide
    assert f"{n_white}\nstructures de l'inclusion en zone blanche" in slide
    wb = openpyxl.load_workbook(demo_files["xlsx"], read_only=True)
    rows = list(wb["Acheteurs"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(buyers) and sum(r[3] for r in rows) == len(demo_ds.marches)
    per = {r[0]: r[3] for r in wb["Besoins par structure"].iter_rows(min_row=2, values_only=True)}
    assert per == {s["id_structure"]: s["marches_sociaux"] for s in out["structures"]}
    inc = {r[0]: r[-1] for r in wb["Inclusion par structure"].iter_rows(min_row=2, values_only=True)}
    assert inc == {s["id_structure"]: s["structures_inclusion"] for s in out["structures"]}
    synth = {r[0]: r[1] for r in wb["Synthèse"].iter_rows(min_row=2, values_only=True)}
    assert synth["Structures de l'inclusion"] == out["structures_inclusion"]["total"]
    assert synth["Acheteurs"] == len(buyers)


def test_documents_without_inclusion_structures_say_so(tmp_path, demo_ds):
    ds = demo_ds.replace()
    ds.present = ds.present - {"structures_inclusion"}
    files, _ = build(ds, "99", tmp_path)
    text = "\n".join(pdf_pages(files["pdf"])[1:]).replace("\n", " ")  # after the cover and its contents
    section = text[text.index("8. Besoins et moyens"):text.index("9. Indicateurs ABC")]
    assert plain(MISSING["structures_inclusion"]) in plain(section)
    slide = deck_texts(files["pptx"])[T.SCREENS.index(T.SCREEN_NEEDS)]
    assert "–\nstructures de l'inclusion : non importées" in slide
    wb = openpyxl.load_workbook(files["xlsx"], read_only=True)
    assert wb["Structures de l'inclusion"]["A2"].value == MISSING["structures_inclusion"]


def _soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if not found:
        pytest.skip("LibreOffice absent (Debian : libreoffice-impress) : rendu des diapositives non vérifié")
    return found


LONG_NAME = ("Centre-Val de Loire 2026 – diagnostic partagé du comité régional de pilotage des clauses sociales, "
             "version de travail")


@pytest.fixture(scope="module")
def region_files(tmp_path_factory, region_store):
    """The three documents of a real région's workspace, under a long workspace name."""
    store, slug = region_store
    before = os.environ["DIAG_DONNEES"]
    os.environ["DIAG_DONNEES"] = str(store)
    try:
        from data.store import workspaces

        ds = workspaces.load(slug)
    finally:
        os.environ["DIAG_DONNEES"] = before
    out = tmp_path_factory.mktemp("region_docs")
    files, _ = build(ds, "24", out, label=LONG_NAME)
    return ds, files


def test_deck_in_libreoffice_names_every_structure_of_a_real_region(tmp_path, region_files):
    """Issue 21: the deck of a real région (nine structures, names of 6 to 40 characters) opened by LibreOffice
    Impress shows every structure's name on slide 2, whole, and every class of markets on slide 5."""
    soffice = _soffice()
    ds, files = region_files
    names = list(ds.structures["nom"])
    assert len(names) == 9
    shapes = [sh.text_frame.text for sh in Presentation(str(files["pptx"])).slides[1].shapes if sh.has_text_frame]
    assert not any("…" in t for t in shapes)  # never a name cut in the file
    subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path / "lo"),
                    str(files["pptx"])], check=True, timeout=240, capture_output=True,
                   env={**os.environ, "HOME": str(tmp_path)})
    pages = pdf_pages(tmp_path / "lo" / "presentation_24.pdf")
    assert len(pages) == len(T.SCREENS)
    needs = " ".join(pages[T.SCREENS.index(T.SCREEN_NEEDS)].split())  # issue 20's slide, drawn by LibreOffice too
    assert "Besoins et moyens" in needs and "Marchés sociaux par ETP" in needs and "marchés à clause sociale" in needs
    slide2 = " ".join(pages[1].split())
    for name in names:
        assert " ".join(name.split()) in slide2, (name, slide2)
    slide5 = " ".join(pages[4].split())
    for label in ("Couvert", "Plusieurs facilitateurs", "Partiellement couvert", "Hors couverture", "Non localisable"):
        assert label in slide5
    if shutil.which("pdftoppm"):  # kept for a person to look at
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "2", "-l", "2", str(tmp_path / "lo" / "presentation_24.pdf"),
                        str(ARTIFACTS / "presentation_region_diapositive")], check=True, timeout=120)


def test_region_pdf_has_no_lonely_page_and_keeps_a_long_name_whole(region_files):
    """No page holds only a sentence or a table's last rows; the running head writes a long workspace name
    whole (on its own line); counts agree (« 1 marché », never « marché(s) »)."""
    import pypdf

    _, files = region_files
    reader = pypdf.PdfReader(str(files["pdf"]))
    for i, page in enumerate(reader.pages[1:], start=2):
        text = plain(page.extract_text() or "")
        head = text.split("\n")[:3]
        assert plain(LONG_NAME) in " ".join(head), (i, head)
        assert "…" not in " ".join(head)
        body = [line for line in text.split("\n")[3:-2] if line.strip()]
        assert page.images or len(body) >= 6, (i, body)  # a map, or more than a title and a sentence
        assert "(s)" not in text, i


def test_legend_labels_never_break_inside_a_short_name():
    from reports.maps import _wrap

    for text in ("S8 – Maison de l'emploi MDE / 2 Indre nord", "S4 – Conseil départemental 45 et partenaires"):
        for line in _wrap(text, 14).split("\n"):
            assert not line.endswith("/") and not line.startswith("/"), line
            assert not re.fullmatch(r"\d{1,3}", line.strip().split(" ")[0]), line  # « 45 » alone on a line
