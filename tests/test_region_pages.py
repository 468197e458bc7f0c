"""The pages of a real région's workspace (issue 21), read as AppTest reads them (data grids included, which a
browser draws on a canvas): places and host communes in words, French headers, no « non précisé »; the Données
page says the référentiel is already loaded and asks the facilitators' year."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT
from views.columns import PLACE_TYPE_LABELS

APP = str(ROOT / "app.py")


@pytest.fixture()
def region(region_store, monkeypatch):
    store, slug = region_store
    monkeypatch.setenv("DIAG_DONNEES", str(store))
    return slug


def open_page(page: str, espace: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["espace"] = espace
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def frames(at: AppTest) -> list[pd.DataFrame]:
    out = []
    for d in at.dataframe:
        v = d.value
        out.append(v.data if hasattr(v, "data") else v)
    return out


def texts(at: AppTest) -> list[str]:
    return [e.value for kind in ("markdown", "caption", "info", "success", "warning", "error")
            for e in getattr(at, kind)]


def test_markets_page_writes_kinds_of_place_in_words(region):
    at = open_page("app_pages/marches.py", region)
    grids = [f for f in frames(at) if "Type de lieu" in f.columns]
    assert grids
    values = set(grids[0]["Type de lieu"])
    assert values and values <= set(PLACE_TYPE_LABELS.values()), values
    assert "Aucun (concession)" in values  # the concession, kept as non localisable
    assert not any("non précisé" in t for t in texts(at))


def test_structures_table_names_the_host_commune(region):
    at = open_page("app_pages/diagnostic_couverture.py", region)
    grid = next(f for f in frames(at) if "Commune d'implantation" in f.columns)
    hosts = set(grid["Commune d'implantation"])
    assert "Tours (37261)" in hosts and not any(re.fullmatch(r"\d{5}", h) for h in hosts), hosts
    for f in frames(at):
        assert not [c for c in f.columns if re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)+", str(c))], f.columns


def test_donnees_page_after_a_workspace_made_from_its_region(region):
    at = open_page("app_pages/donnees.py", region)
    said = " ".join(texts(at))
    assert "référentiel officiel des communes de la région est déjà chargé" in said
    assert "1\u202f754 communes" in said
    assert "importez-le d'abord" not in said  # the référentiel is there
    year = at.number_input(key="donnees.millesime_facilitateurs")
    assert year.value >= 2025  # the import's year by default, editable
    assert "non précisé" not in said


def test_each_kinds_size_limit_is_said_once_and_the_same_everywhere(region):
    """The tab's limits, its drop zone and the widget's own limit agree (« 20 Mo » for the facilitators, not
    « 200 Mo » in the drop zone and the page's header)."""
    from components import uploads
    from data.formats.limits import limits_text

    for kind in ("communes", "qpv", "facilitateurs", "marches", "indicateurs"):
        mb = uploads.kind_max_mb(kind)
        assert f"{mb}\u00a0Mo au plus par fichier" in limits_text(kind), kind
        assert f"{mb}\u202fMo au plus par fichier" in uploads.french_css("k", ["csv"], max_size_mb=mb)
    assert uploads.kind_max_mb("facilitateurs") == 20 and uploads.kind_max_mb("qpv") == 100
    at = open_page("app_pages/donnees.py", region)
    said = " ".join(texts(at))
    assert "Taille maximale" not in said and "200 Mo par fichier" not in said
