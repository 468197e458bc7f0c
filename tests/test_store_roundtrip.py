"""The local store, and the round trip demo -> files in the import formats -> import -> same dataset."""

import os
import subprocess
import sys

import pandas as pd
import pytest
import shapely

from data import imports, store
from data.validation import validate
from tests.conftest import ROOT


@pytest.fixture()
def tmp_store(tmp_path, monkeypatch):
    monkeypatch.setenv("DIAG_DONNEES", str(tmp_path / "store"))
    return tmp_path / "store"


def frames_equal(a, b, columns):
    pd.testing.assert_frame_equal(pd.DataFrame(a[columns]).reset_index(drop=True),
                                  pd.DataFrame(b[columns]).reset_index(drop=True), check_dtype=False)


def test_store_round_trip(tmp_store, demo_ds):
    store.save(demo_ds, tmp_store / "x")
    back = store.load(tmp_store / "x")
    for name in back.TABLES:
        a, b = getattr(demo_ds, name), getattr(back, name)
        assert list(a.columns) == list(b.columns)
        frames_equal(a.drop(columns="geometry", errors="ignore"), b.drop(columns="geometry", errors="ignore"),
                     [c for c in a.columns if c != "geometry"])
    assert back.communes.crs.to_epsg() == 2154
    assert shapely.equals_exact(back.communes.geometry.to_numpy(), demo_ds.communes.geometry.to_numpy(), 0).all()
    assert back.meta["label"] == "Région de démonstration – données fictives"


def test_active_dataset_is_demo_then_import_survives_restart(tmp_store, demo_ds):
    first = store.load_active()
    assert first.is_demo and (tmp_store / "demo" / "communes.parquet").exists()
    loaded = validate("marches", [ROOT / "tests" / "fixtures" / "marches_exemple.csv"])
    assert loaded.ok, loaded.report.text()
    store.save_active(imports.apply(first, loaded, ["marches_exemple.csv"]))
    again = store.load_active()  # a restart reads the store again
    assert not again.is_demo and len(again.marches) == len(loaded.tables["marches"])
    assert "marches_exemple.csv" in again.meta["sources"]["marches"]
    store.reset_to_demo()
    assert store.load_active().is_demo


def test_refused_file_changes_nothing(demo_ds):
    loaded = validate("marches", [ROOT / "tests" / "fixtures" / "marches_exemple.csv"])
    loaded.report.error("x", "erreur simulée")
    assert imports.apply(demo_ds, loaded, ["x"]) is demo_ds


def test_demo_files_round_trip(tmp_path, demo_ds):
    out = subprocess.run([sys.executable, str(ROOT / "cli.py"), "demo", "--out", str(tmp_path)], capture_output=True,
                         text=True, cwd=ROOT, timeout=300, env={**os.environ})
    assert out.returncode == 0, out.stderr
    communes = validate("communes", [tmp_path / "communes.geojson"])
    qpv = validate("qpv", [tmp_path / "qpv.gpkg"])
    facil_xlsx = validate("facilitateurs", [tmp_path / "facilitateurs.xlsx"], communes=communes.tables["communes"])
    facil_csv = validate("facilitateurs", [tmp_path / "facilitateurs_csv"], communes=communes.tables["communes"])
    marches = validate("marches", [tmp_path / "marches.csv"])
    ind = validate("indicateurs", [tmp_path / "indicateurs.csv"])
    for loaded in (communes, qpv, facil_xlsx, facil_csv, marches, ind):
        assert loaded.ok and not loaded.report.errors, loaded.report.text()
    c = communes.tables["communes"]
    frames_equal(c, demo_ds.communes, ["code_insee", "nom", "dep", "reg", "epci_siren", "population", "ze2020",
                                       "codes_postaux"])
    # geometries went through GeoJSON (WGS84, 7 decimals): same areas to within a few square metres
    assert (abs(c.geometry.area.to_numpy() - demo_ds.communes.geometry.area.to_numpy()) < 50).all()
    frames_equal(qpv.tables["qpv"], demo_ds.qpv, ["code_qp", "nom_qp", "code_commune", "population"])
    for facil in (facil_xlsx, facil_csv):
        frames_equal(facil.tables["structures"], demo_ds.structures,
                     ["id_structure", "nom", "type_structure", "code_commune", "nb_facilitateurs", "etp",
                      "fin_collectivites", "fin_fse"])
        frames_equal(facil.tables["perimetres"], demo_ds.perimetres,
                     ["id_structure", "type_territoire", "code_territoire"])
    frames_equal(marches.tables["marches"], demo_ds.marches,
                 ["id_marche", "lieu_type", "lieu_code", "considerations_sociales", "montant_ht", "date", "statut"])
    frames_equal(ind.tables["indicateurs"], demo_ds.indicateurs, ["annee", "territoire", "tableau", "modalite",
                                                                  "mesure", "valeur"])
