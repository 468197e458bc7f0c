"""Shared fixtures. The store lives in a temporary folder: tests never touch the user's data."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DIAG_DONNEES"] = tempfile.mkdtemp(prefix="diag-test-store-")
# tests read the real error (the app itself never shows one: see .streamlit/config.toml)
os.environ["STREAMLIT_CLIENT_SHOW_ERROR_DETAILS"] = "full"
REALDATA = ROOT.parent / "shared" / "realdata"
ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="session")
def demo_ds():
    from data import demo

    return demo.generate()


@pytest.fixture(scope="session")
def demo_result(demo_ds):
    from geo import engine

    d = demo_ds
    return engine.run(d.communes, d.qpv, d.structures, d.perimetres, d.marches, "99")


@pytest.fixture(scope="session")
def realdata() -> Path:
    if not REALDATA.exists():
        pytest.skip("../shared/realdata absent : tests sur données réelles ignorés")
    return REALDATA


@pytest.fixture(scope="session")
def region_store(tmp_path_factory):
    """A real région's workspace (Centre-Val de Loire, from the shipped référentiel, with QPV, facilitators and
    a DECP file imported as the Données page does: ``tests.region_workspace``), in a store of its own:
    (the store's folder, the workspace's identifier)."""
    from data import referentiel

    if not referentiel.available():
        pytest.skip("référentiel officiel absent")
    from tests import region_workspace

    store = tmp_path_factory.mktemp("region-store")
    before = os.environ.get("DIAG_DONNEES")
    os.environ["DIAG_DONNEES"] = str(store)
    try:
        slug = region_workspace.build()
    finally:
        os.environ["DIAG_DONNEES"] = before or ""
    return store, slug
