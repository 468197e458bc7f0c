"""The pages of issue 20 (AppTest): « Acheteurs » (filters, threshold, a buyer's card), « Besoins et moyens »
(figures equal to the engine's, a workspace without inclusion structures saying so, never 0), the markets'
potentiel inclusif, the map's layer « Structures d'insertion », and the Données page's new kind."""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.store.dataset import MISSING
from geo import engine
from tests.test_pages import failed, metric, open_page, save_workspace
from views import fmt


def test_buyers_page_threshold_filters_and_card(demo_ds):
    at = open_page("app_pages/acheteurs.py")
    assert not failed(at), failed(at)
    result = engine.run(demo_ds.communes, demo_ds.qpv, demo_ds.structures, demo_ds.perimetres, demo_ds.marches, "99")
    assert metric(at, "Acheteurs") == fmt.integer(len(engine.buyers(result)))
    assert any("Estimation à partir du fichier de marchés" in i.value for i in at.info)
    # a threshold of 5 M€: the buyers with an annual amount (by year of notification) at or above it
    m = demo_ds.marches.assign(annee=demo_ds.marches["date"].str[:4])
    annual = m.groupby(["acheteur", "annee"])["montant_ht"].sum().groupby(level=0).max()
    at.number_input(key="acheteurs.seuil").set_value(5.0).run()
    assert not failed(at), failed(at)
    assert metric(at, "Au-dessus du seuil SPASER") == fmt.integer(int((annual >= 5e6).sum()))
    table = at.dataframe[0].value
    assert "None" not in set(table["SIRET"].astype(str))  # a buyer without SIRET: an empty cell
    at.checkbox(key="acheteurs.filtre.seuil").check().run()
    table = at.dataframe[0].value
    assert len(table) == int((annual >= 5e6).sum())
    # a buyer's card lists its markets
    label = at.selectbox(key="acheteurs.fiche").options[0]
    at.selectbox(key="acheteurs.fiche").select_index(0).run()
    assert not failed(at), failed(at)
    buyer = label.rsplit(" (", 1)[0] if label[-15:-1].isdigit() else label  # « Nom (SIRET) »
    n = int((demo_ds.marches["acheteur"] == buyer).sum())
    assert n and any(f"Ses marchés ({fmt.integer(n)})" in md.value.replace("\\", "") for md in at.markdown)


def test_needs_page_figures_equal_the_engine(demo_ds):
    at = open_page("app_pages/besoins.py")
    assert not failed(at), failed(at)
    n = engine.run(demo_ds.communes, demo_ds.qpv, demo_ds.structures, demo_ds.perimetres, demo_ds.marches, "99",
                   inclusion=demo_ds.inclusion).needs()
    assert metric(at, "Structures de l'inclusion") == fmt.integer(n.inclusion["total"])
    assert metric(at, "Marchés sociaux par ETP (médiane)") == fmt.decimal(n.median, 1)
    assert any("dans des communes qu'aucun facilitateur ne couvre" in md.value.replace("\\", "")
               for md in at.markdown)
    # the page's help repeats the definitions
    assert any("Potentiel inclusif d'un marché" in md.value.replace("\\", "") for md in at.markdown)


def test_workspace_without_inclusion_structures_says_so_never_zero(tmp_path, monkeypatch, demo_ds):
    monkeypatch.setenv("DIAG_DONNEES", str(tmp_path))
    ds = demo_ds.replace()
    ds.present = ds.present - {"structures_inclusion"}
    slug = save_workspace("Sans structures de l'inclusion", ds)
    at = open_page("app_pages/besoins.py", slug)
    assert not failed(at), failed(at)
    assert metric(at, "Structures de l'inclusion") == "–"
    assert any(MISSING["structures_inclusion"] in i.value for i in at.info)
    at = open_page("app_pages/marches.py", slug)
    assert not failed(at), failed(at)
    assert any(MISSING["structures_inclusion"][1:] in c.value for c in at.caption)
    assert not any("Potentiel inclusif" in str(df.value.columns.tolist()) for df in at.dataframe)
    at = open_page("app_pages/carte_facilitateurs.py", slug)
    at.button_group(key="carte.couches").set_value(["zones_blanches", "inclusion"]).run()
    assert not failed(at), failed(at)
    assert any(MISSING["structures_inclusion"] in i.value for i in at.info)


def test_markets_page_shows_the_potentiel_inclusif(demo_ds):
    at = open_page("app_pages/marches.py")
    assert not failed(at), failed(at)
    table = at.dataframe[0].value
    assert "Potentiel inclusif" in table.columns
    n = engine.run(demo_ds.communes, demo_ds.qpv, demo_ds.structures, demo_ds.perimetres, demo_ds.marches, "99",
                   inclusion=demo_ds.inclusion).needs()
    expected = dict(zip(n.markets["id_marche"], n.markets["potentiel_inclusif"]))
    shown = table.set_index("Identifiant")["Potentiel inclusif"]
    for mid, value in shown.head(20).items():
        want = expected[mid]
        assert (pd.isna(want) and str(value) in ("–", "nan", "<NA>")) or float(value) == want, (mid, value, want)


def test_map_page_inclusion_layer_and_data_page_kind(tmp_path, monkeypatch):
    at = open_page("app_pages/carte_facilitateurs.py")
    at.button_group(key="carte.couches").set_value(["zones_blanches", "inclusion"]).run()
    assert not failed(at), failed(at)
    assert not any(MISSING["structures_inclusion"] in i.value for i in at.info)  # the demo has some
    from data.store import workspaces

    monkeypatch.setenv("DIAG_DONNEES", str(tmp_path))
    at = open_page("app_pages/donnees.py", workspaces.create("Vide"))
    assert not failed(at), failed(at)
    assert any(t.label == "Structures de l'inclusion" for t in at.tabs)


def test_a_market_file_analysed_on_the_page_has_its_potentiel_inclusif(demo_ds):
    """« Analyser un autre fichier »: the file's markets get the potentiel inclusif of the workspace's inclusion
    structures, as the stored markets do."""
    from geo.needs import market_potential

    sample = demo_ds.marches.head(30)
    raw = sample.to_csv(index=False, sep=";").encode("utf-8")
    from components import state
    from data.store import workspaces

    loaded, classified = state._uploaded_markets(workspaces.stamp("demo"), "99", "upload-p", "m.csv", raw)
    assert loaded.ok, loaded.report.issues
    result = engine.run(demo_ds.communes, demo_ds.qpv, demo_ds.structures, demo_ds.perimetres, demo_ds.marches,
                        "99", inclusion=demo_ds.inclusion)
    want = market_potential(result.ref, loaded.tables["marches"], demo_ds.inclusion)
    assert classified["potentiel_inclusif"].notna().any()
    np.testing.assert_array_equal(classified["potentiel_inclusif"].to_numpy(), want["potentiel_inclusif"].to_numpy())
