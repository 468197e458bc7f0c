"""AppTest smoke tests of every page on the demo data, and figures equal to ``cli.py diagnose``."""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from views import fmt

APP = str(ROOT / "app.py")
PAGES = ["app_pages/accueil.py", "app_pages/carte_facilitateurs.py", "app_pages/diagnostic_couverture.py",
         "app_pages/comparer_facilitateurs.py", "app_pages/marches.py", "app_pages/indicateurs.py", "app_pages/donnees.py",
         "app_pages/rapport.py"]


def open_page(page: str, espace: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    if espace:
        at.query_params["espace"] = espace
    at.run()
    at.switch_page(page).run()
    return at


def save_workspace(name: str, ds) -> str:
    """A workspace holding ``ds``'s present tables (what imports would have made)."""
    from data.store import workspaces

    slug = workspaces.create(name)
    ds = ds.replace()
    ds.meta = {k: v for k, v in ds.meta.items() if k not in ("demo", "label")}
    workspaces.commit(slug, ds, {"action": "import", "kind": "", "file": "test"})
    return slug


def failed(at: AppTest) -> list[str]:
    """Exceptions, and the router's French message for a page that raised."""
    return [e.message for e in at.exception] + [e.value for e in at.error if "Erreur inattendue" in e.value]


def elements(at: AppTest, kind: str) -> list:
    def walk(node):
        yield node
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                yield from walk(child)
    return [n for n in walk(at._tree) if getattr(n, "type", None) == kind]


@pytest.fixture(scope="module")
def cli_json(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "diag.json"
    run = subprocess.run([sys.executable, str(ROOT / "cli.py"), "diagnose", "--json", str(out)], cwd=ROOT,
                         capture_output=True, text=True, env={**os.environ}, timeout=300)
    assert run.returncode == 0, run.stderr
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_without_exception(page):
    at = open_page(page)
    assert not failed(at), failed(at)
    assert at.title and at.title[0].value
    # every page is framed by the router's shared sidebar
    assert at.selectbox(key="sidebar.region").value == "99"


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_coverage_page_figures_equal_cli(cli_json):
    at = open_page("app_pages/diagnostic_couverture.py")
    assert len(at.metric) >= 8 and len(at.dataframe) >= 2
    assert metric(at, "Population non couverte") == fmt.integer(cli_json["population"]["non_couverte"])
    assert metric(at, "Zones blanches (communes)") == fmt.integer(cli_json["communes"]["non_couvertes"])
    assert metric(at, "QPV non couverts") == fmt.integer(cli_json["qpv"]["non_couverts"])
    assert metric(at, "Population des QPV non couverts") == fmt.integer(cli_json["qpv"]["population_non_couverte"])
    assert metric(at, "Structures porteuses") == fmt.integer(len(cli_json["structures"]))
    assert metric(at, "ETP") == fmt.decimal(sum(s["etp"] for s in cli_json["structures"]))
    blanches = at.dataframe[0].value
    assert len(blanches) == cli_json["communes"]["non_couvertes"]
    zones = at.dataframe[1].value
    assert sorted(zones["Code"]) == sorted(z["code"] for z in cli_json["zones_emploi"])


def test_markets_page_figures_equal_cli(cli_json, demo_ds):
    at = open_page("app_pages/marches.py")
    assert len(at.metric) >= 3 and len(at.dataframe) >= 1
    m = cli_json["marches"]
    assert metric(at, "Marchés retenus") == fmt.integer(m["total"])
    assert metric(at, "Avec considération sociale") == fmt.integer(m["avec_consideration_sociale"])
    assert metric(at, "Hors couverture") == fmt.integer(m["hors_couverture"])
    assert metric(at, "Plusieurs facilitateurs") == fmt.integer(m["multi_facilitateurs"])
    gaps = at.dataframe[0].value
    assert len(gaps) == m["avec_consideration_sociale"] - m["couvert"]
    # a filter narrows the list
    at.multiselect(key="marches.filtre.classe").set_value(["hors_couverture"]).run()
    assert len(at.dataframe[0].value) == m["hors_couverture"]
    at.multiselect(key="marches.filtre.classe").set_value([]).run()
    # the amount filter: round stops written the French way, up to the largest market
    from geo.markets import has_social_consideration

    slider = at.select_slider(key="marches.filtre.montant")
    assert slider.options[:3] == ["0\u202f€", "1\u202fk€", "2\u202fk€"] and slider.options[-1].endswith("M€")
    slider.set_value((0.0, 100_000.0)).run()
    assert not failed(at), failed(at)
    demo = demo_ds.marches
    amounts = pd.to_numeric(demo["montant_ht"], errors="coerce")[has_social_consideration(demo["considerations_sociales"])]
    expected = int((amounts.isna() | (amounts <= 100_000)).sum())  # a market without an amount stays
    shown = next(x for x in at.metric if x.label == "Avec considération sociale")
    assert shown.delta == f"{fmt.integer(expected)} après filtres", (shown.delta, expected)


def test_comparison_page_has_overlap_table(cli_json):
    at = open_page("app_pages/comparer_facilitateurs.py")
    assert len(at.dataframe) >= 1
    chosen = at.multiselect(key="comparer.structures").value
    assert len(chosen) == 2
    overlap = next(d.value for d in at.dataframe if "Communes partagées" in d.value.columns)
    assert overlap["Communes partagées"].iloc[0] > 0


def test_map_page_selection_shows_the_card(cli_json):
    at = open_page("app_pages/carte_facilitateurs.py")
    at.selectbox(key="carte.structure").set_value("S01").run()
    assert not failed(at)
    s01 = next(s for s in cli_json["structures"] if s["id_structure"] == "S01")
    assert metric(at, "Population couverte") == fmt.integer(s01["population_couverte"])
    assert any("Voisins" in md.value for md in at.markdown)


def test_indicators_page_shows_every_table():
    """One table at a time (a selector keeps the page short and quick): each of the 18 draws its chart
    and its table."""
    from data.schemas import INDICATOR_TABLES

    at = open_page("app_pages/indicateurs.py")
    picker = at.selectbox(key="indicateurs.tableau")
    assert sorted(picker.options) == sorted(f"{t} – {name}" for t, name in INDICATOR_TABLES.items())
    for table in INDICATOR_TABLES:
        at.selectbox(key="indicateurs.tableau").set_value(table).run()
        assert not failed(at), (table, failed(at))
        assert len(elements(at, "vega_lite_chart")) >= 1, table
        assert any("Part" in d.value.columns for d in at.dataframe), table


def test_indicators_page_draws_what_is_hidden_once_opened(demo_ds):
    """The closed expander and the other tab are not drawn with the page (a first visitor would wait
    for a chart and grids nobody sees), and are drawn, whole, once opened."""
    from data.indicators import measures_of

    at = open_page("app_pages/indicateurs.py")
    table = at.selectbox(key="indicateurs.tableau").value
    measure = measures_of(demo_ds.indicateurs, table)[0]
    assert len(elements(at, "vega_lite_chart")) == 1 and len(at.dataframe) == 1  # the chart, its values
    at.session_state[f"indicateurs.{table}.{measure}.onglets"] = "Évolution"
    at.run()
    assert not failed(at), failed(at)
    assert len(elements(at, "vega_lite_chart")) == 2  # the table's chart and the evolution's
    years = sorted(str(y) for y in demo_ds.indicateurs["annee"].unique())
    assert [list(d.value.columns)[1:] for d in at.dataframe] == [years]  # the evolution's, not the values'
    at.session_state["indicateurs.suivi.ouvert"] = True
    at.run()
    assert not failed(at), failed(at)
    assert [list(d.value.columns)[:3] for d in at.dataframe][0] == ["Indicateur", "Année", "Région"]
    assert len(at.dataframe) == 2  # the follow-up table, all years, beside the evolution's


def test_app_router_draws_the_shared_sidebar():
    at = AppTest.from_file(APP, default_timeout=180).run()
    assert not failed(at)
    assert at.selectbox(key="sidebar.region").value == "99"
    assert at.selectbox(key="sidebar.espace").value == "demo"
    assert any("Données fictives de démonstration" in i.value for i in at.sidebar.info)
    assert at.query_params["espace"] == "demo"  # the address bar names the workspace


def test_home_page_labels_the_demo():
    at = open_page("app_pages/accueil.py")
    assert any("Région de démonstration – données fictives" in i.value for i in at.info)
    assert len(at.metric) >= 6


def test_pages_without_any_geometry(tmp_path, monkeypatch, demo_ds):
    """A référentiel imported as a plain table (no outlines): every page still works."""
    import geopandas as gpd

    monkeypatch.setenv("DIAG_DONNEES", str(tmp_path))
    ds = demo_ds.replace(
        communes=gpd.GeoDataFrame(demo_ds.communes.drop(columns="geometry"), geometry=[None] * len(demo_ds.communes),
                                  crs="EPSG:2154"),
        qpv=gpd.GeoDataFrame(demo_ds.qpv.drop(columns="geometry"), geometry=[None] * len(demo_ds.qpv),
                             crs="EPSG:2154"))
    slug = save_workspace("Sans contours", ds)
    for page in PAGES:
        at = open_page(page, slug)
        assert not failed(at), (page, failed(at))
        assert at.selectbox(key="sidebar.espace").value == slug


def test_workspace_of_real_imports_shows_no_demo_table(tmp_path, monkeypatch, demo_ds):
    """Communes, QPV and facilitators imported: no page shows the demo's markets or indicators."""
    from data.store.dataset import Dataset

    monkeypatch.setenv("DIAG_DONNEES", str(tmp_path))
    ds = Dataset.empty().replace(communes=demo_ds.communes, qpv=demo_ds.qpv, structures=demo_ds.structures,
                                 perimetres=demo_ds.perimetres)
    slug = save_workspace("Hauts-de-France 2026", ds)
    demo_market_ids = set(demo_ds.marches["id_marche"])
    for page in PAGES:
        at = open_page(page, slug)
        assert not failed(at), (page, failed(at))
        for df in at.dataframe:
            value = df.value
            for col in ("id_marche", "Identifiant du marché"):
                if col in getattr(value, "columns", []):
                    assert not set(value[col].astype(str)) & demo_market_ids, page
        assert not any("fictives" in i.value for i in list(at.info) + list(at.sidebar.info)), page
    at = open_page("app_pages/marches.py", slug)
    assert any("Aucun fichier de marchés n'a été importé dans cet espace" in i.value for i in at.info)
    assert not at.metric
    at = open_page("app_pages/indicateurs.py", slug)
    assert any("Aucun fichier d'indicateurs" in i.value for i in at.info)
    assert not at.metric and not at.get("arrow_vega_lite_chart")
    at = open_page("app_pages/accueil.py", slug)
    assert any("les marchés" in i.value and "les indicateurs" in i.value for i in at.info)
    assert next(m.value for m in at.metric if m.label == "Marchés retenus") == "–"


def test_two_sessions_on_two_workspaces(tmp_path, monkeypatch, demo_ds):
    from data.store import workspaces
    from data.store.dataset import Dataset

    monkeypatch.setenv("DIAG_DONNEES", str(tmp_path))
    slug = save_workspace("Étude", Dataset.empty().replace(communes=demo_ds.communes))
    mine = open_page("app_pages/donnees.py", slug)
    other = open_page("app_pages/donnees.py")
    assert mine.selectbox(key="sidebar.espace").value == slug
    assert other.selectbox(key="sidebar.espace").value == "demo"
    # an import into the first workspace: its session sees the new version, the other nothing of it
    new = workspaces.load(slug).replace(structures=demo_ds.structures, perimetres=demo_ds.perimetres)
    workspaces.import_tables(slug, new, "facilitateurs", {"file": "f.xlsx"})
    mine.run()
    other.run()
    assert any("version 2" in m.value for m in mine.markdown)
    assert any("Région de démonstration" in m.value and "version 1" in m.value for m in other.markdown)
    # switching one session's workspace leaves the other where it was
    other.selectbox(key="sidebar.espace").select(slug).run()
    mine.selectbox(key="sidebar.espace").select("demo").run()
    assert other.query_params["espace"] == slug and mine.query_params["espace"] == "demo"


def test_link_to_a_workspace_that_does_not_exist_says_so():
    at = open_page("app_pages/accueil.py", "inexistant")
    assert not failed(at) and at.selectbox(key="sidebar.espace").value == "demo"
    assert any("n'existe pas ou ne vous est pas accessible" in e.value for e in at.error)
    assert not at.metric  # nothing of any workspace's figures under the refusal


def test_create_delete_and_restore_from_the_bin(tmp_path, monkeypatch):
    from data.store import workspaces

    monkeypatch.setenv("DIAG_DONNEES", str(tmp_path))
    at = open_page("app_pages/donnees.py")
    at.text_input(key="donnees.creer.nom").input("Normandie 2026")
    at.button(key="FormSubmitter:donnees.creer-Créer l'espace").click().run()
    assert not failed(at)
    at.run()
    assert at.selectbox(key="sidebar.espace").value == "normandie-2026"
    assert at.button(key="donnees.supprimer").disabled
    at.checkbox(key="donnees.supprimer.ok").check().run()
    at.button(key="donnees.supprimer").click().run()
    at.run()
    assert not failed(at)
    assert not workspaces.exists("normandie-2026") and at.selectbox(key="sidebar.espace").value == "demo"
    entry = workspaces.bin_content()[0]["entry"]
    at.button(key=f"donnees.corbeille.{entry}").click().run()
    at.run()
    assert workspaces.exists("normandie-2026") and at.selectbox(key="sidebar.espace").value == "normandie-2026"


def test_pages_with_empty_tables(tmp_path, monkeypatch, demo_ds):
    """A référentiel alone with indicators of one year without France: every page still works."""
    from data.store.dataset import Dataset

    monkeypatch.setenv("DIAG_DONNEES", str(tmp_path))
    ind = demo_ds.indicateurs
    ds = Dataset.empty().replace(communes=demo_ds.communes,
                                 indicateurs=ind[(ind["territoire"] != "FR") & (ind["annee"] == ind["annee"].max())])
    slug = save_workspace("Vide", ds)
    for page in PAGES:
        at = open_page(page, slug)
        assert not failed(at), (page, failed(at))


def test_a_failing_page_shows_french_not_a_traceback(monkeypatch):
    import geo.diagnosis

    def boom(*a, **k):
        raise RuntimeError("défaut simulé")

    from components import state

    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    monkeypatch.setattr(geo.diagnosis, "zones_blanches", boom)
    state._shared_frame.clear()  # the table is made once for every session: made again, it fails
    at.switch_page("app_pages/diagnostic_couverture.py").run()
    assert not at.exception
    assert any("Erreur inattendue" in e.value for e in at.error)


def test_uploaded_decp_read_once_cut_to_region_and_classified():
    import json as _json

    from components import state

    recs = [{"id": "X1", "lieuExecution": {"code": "92063", "typeCode": "Code commune"},
             "considerationsSociales": {"considerationSociale": ["Clause sociale"]}},
            {"id": "X2", "lieuExecution": {"code": "75056", "typeCode": "Code commune"},  # another région
             "considerationsSociales": {"considerationSociale": ["Clause sociale"]}}]
    data = _json.dumps({"marches": {"marche": recs}}).encode()
    from data.store import workspaces

    stamp = workspaces.stamp("demo")
    loaded, classified = state._uploaded_markets(stamp, "99", "upload-1", "decp.json", data)
    assert loaded.ok and loaded.tables["marches"]["id_marche"].tolist() == ["X1"]
    assert classified["couverture"].iloc[0] in {"couvert", "multi_facilitateurs", "partiellement_couvert",
                                                "hors_couverture"}
    again = state._uploaded_markets(stamp, "99", "upload-1", "decp.json", data)
    assert again[1] is classified  # cached: a filter change does not read the file again


def test_region_in_the_address_reopens_it(tmp_path, monkeypatch, demo_ds):
    """A link names its région (?region=): it opens on it; choosing another one updates the address."""
    from data.store.dataset import Dataset

    monkeypatch.setenv("DIAG_DONNEES", str(tmp_path))
    slug = save_workspace("Deux régions", Dataset.empty().replace(communes=demo_ds.communes))
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["espace"] = slug
    at.query_params["region"] = "98"
    at.run()
    assert not failed(at)
    assert at.selectbox(key="sidebar.region").value == "98" and at.query_params["region"] == "98"
    at.selectbox(key="sidebar.region").select("99").run()
    assert at.selectbox(key="sidebar.region").value == "99" and at.query_params["region"] == "99"
    at.run()
    assert at.selectbox(key="sidebar.region").value == "99"


def test_export_files_keep_their_address_across_reruns():
    """A click that arrives while the page reruns still finds its file (no "Deferred file not found")."""
    at = open_page("app_pages/diagnostic_couverture.py")
    buttons = at.get("download_button")
    urls = {b.proto.id: b.proto.url for b in buttons}
    assert urls and all(u and not b.proto.deferred_file_id for u, b in zip(urls.values(), buttons))
    at.run()
    assert {b.proto.id: b.proto.url for b in at.get("download_button")} == urls


def test_sidebar_opens_the_presentation_mode():
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.button(key="sidebar.presentation").click().run()
    assert not failed(at)
    assert at.query_params["presentation"] == "1" and at.query_params["ecran"] == "1"
    assert at.query_params["espace"] == "demo"


def test_coverage_page_without_qpv_says_so_rather_than_zero(tmp_path, monkeypatch, demo_ds):
    from data.store.dataset import Dataset

    monkeypatch.setenv("DIAG_DONNEES", str(tmp_path))
    slug = save_workspace("Sans QPV", Dataset.empty().replace(communes=demo_ds.communes, structures=demo_ds.structures,
                                                               perimetres=demo_ds.perimetres))
    at = open_page("app_pages/diagnostic_couverture.py", slug)
    assert not failed(at)
    assert metric(at, "QPV non couverts") == "–" and metric(at, "Population des QPV non couverts") == "–"


def test_markets_stored_before_amounts_were_checked_are_all_shown_with_no_filter_touched(tmp_path, monkeypatch,
                                                                                          demo_ds):
    """The probe's store: an infinite and a negative amount, imported by an earlier release. With no filter
    touched, every market with a social consideration is counted « après filtres »."""
    import numpy as np

    monkeypatch.setenv("DIAG_DONNEES", str(tmp_path))
    markets = demo_ds.marches.copy()
    social = markets["considerations_sociales"].str.contains("Clause", na=False)
    first = markets.index[social][:2]
    markets.loc[first[0], "montant_ht"], markets.loc[first[1], "montant_ht"] = np.inf, -5.0
    slug = save_workspace("Ancien import", demo_ds.replace(marches=markets))
    at = open_page("app_pages/marches.py", slug)
    assert not failed(at), failed(at)
    metric = next(m for m in at.metric if m.label == "Avec considération sociale")
    assert metric.delta == f"{metric.value} après filtres", (metric.value, metric.delta)
