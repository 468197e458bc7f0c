"""The workspace store, and the round trip demo -> files in the import formats -> import -> same dataset."""

import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import shapely

from data.store import imports, workspaces
from data.validation import validate
from tests.conftest import ROOT

MARKETS = ROOT / "tests" / "fixtures" / "marches_exemple.csv"


@pytest.fixture()
def tmp_store(tmp_path, monkeypatch):
    monkeypatch.setenv("DIAG_DONNEES", str(tmp_path / "store"))
    return tmp_path / "store"


def frames_equal(a, b, columns):
    pd.testing.assert_frame_equal(pd.DataFrame(a[columns]).reset_index(drop=True),
                                  pd.DataFrame(b[columns]).reset_index(drop=True), check_dtype=False)


def test_demo_workspace_round_trip(tmp_store, demo_ds):
    back = workspaces.load("demo")
    for name in back.TABLES:
        a, b = getattr(demo_ds, name), getattr(back, name)
        assert list(a.columns) == list(b.columns)
        frames_equal(a.drop(columns="geometry", errors="ignore"), b.drop(columns="geometry", errors="ignore"),
                     [c for c in a.columns if c != "geometry"])
    assert back.communes.crs.to_epsg() == 2154
    assert shapely.equals_exact(back.communes.geometry.to_numpy(), demo_ds.communes.geometry.to_numpy(), 0).all()
    assert back.is_demo and back.label == "Région de démonstration – données fictives"
    assert workspaces.info("demo").read_only


def import_file(slug, kind, path, **kw):
    ds = workspaces.load(slug)
    loaded = validate(kind, [path], communes=ds.communes if ds.has("communes") else None, **kw)
    assert loaded.ok, loaded.report.text()
    new, record = imports.apply(ds, loaded, [Path(path).name])
    return workspaces.import_tables(slug, new, kind, record)


def test_new_workspace_is_empty_and_never_shows_the_demo(tmp_store):
    slug = workspaces.create("Hauts-de-France 2026")
    assert slug == "hauts-de-france-2026"
    ds = workspaces.load(slug)
    assert not ds.is_demo and ds.present == frozenset() and all(n == 0 for n in ds.counts().values())
    import_file(slug, "marches", MARKETS)
    ds = workspaces.load(slug)
    assert ds.has("marches") and not ds.has("communes") and not ds.has("indicateurs")
    assert len(ds.indicateurs) == 0 and len(ds.communes) == 0
    assert ds.vintages["marches"]  # the period of the markets, from their dates


def test_import_survives_restart_and_history_records_it(tmp_store):
    slug = workspaces.create("Étude")
    v = import_file(slug, "marches", MARKETS)
    again = workspaces.load(slug)  # a restart reads the store again
    assert v == 1 and again.meta["version"] == 1 and "marches_exemple.csv" in again.meta["sources"]["marches"]
    (h,) = workspaces.history(slug)
    assert h["version"] == 1 and h["kind"] == "marches" and h["file"] == "marches_exemple.csv"
    assert h["counts"]["lus"] == h["counts"]["gardes"] == len(again.marches)


def test_refused_file_changes_nothing(tmp_store, demo_ds):
    slug = workspaces.create("Refus")
    import_file(slug, "marches", MARKETS)
    before = workspaces.history(slug)
    loaded = validate("marches", [MARKETS])
    loaded.report.error("x", "erreur simulée")
    ds = workspaces.load(slug)
    assert imports.apply(ds, loaded, ["x"]) == (ds, {})
    # the command line refuses it too, and the history is unchanged
    bad = tmp_store.parent / "bad.csv"
    bad.write_text("id_marche;lieu_type;lieu_code\nM1;planète;42\n", encoding="utf-8")
    out = run_cli("import", "--workspace", slug, "--kind", "marches", str(bad))
    assert out.returncode == 1 and "refusé" in out.stdout + out.stderr
    assert workspaces.history(slug) == before


def test_demo_is_read_only(tmp_store):
    ds = workspaces.load("demo")
    with pytest.raises(workspaces.StoreError, match="lecture seule"):
        workspaces.import_tables("demo", ds, "marches", {})
    with pytest.raises(workspaces.StoreError):
        workspaces.delete("demo")


def test_restore_gives_back_the_exact_earlier_diagnosis(tmp_store, demo_ds, tmp_path):
    out = run_cli("demo", "--out", str(tmp_path / "demo"))
    assert out.returncode == 0, out.stderr
    slug = workspaces.create("Restauration")
    import_file(slug, "communes", tmp_path / "demo" / "communes.geojson")
    import_file(slug, "facilitateurs", tmp_path / "demo" / "facilitateurs.xlsx")
    first = run_cli("diagnose", "--workspace", slug, "--json", str(tmp_path / "a.json"))
    assert first.returncode == 0, first.stderr
    # a second facilitator file with one structure less changes the diagnosis
    st = pd.read_excel(tmp_path / "demo" / "facilitateurs.xlsx", sheet_name="structures", dtype=str)
    pe = pd.read_excel(tmp_path / "demo" / "facilitateurs.xlsx", sheet_name="perimetres", dtype=str)
    gone = st["id_structure"].iloc[0]
    with pd.ExcelWriter(tmp_path / "moins.xlsx") as xw:
        st[st["id_structure"] != gone].to_excel(xw, sheet_name="structures", index=False)
        pe[pe["id_structure"] != gone].to_excel(xw, sheet_name="perimetres", index=False)
    import_file(slug, "facilitateurs", tmp_path / "moins.xlsx")
    run_cli("diagnose", "--workspace", slug, "--json", str(tmp_path / "b.json"))
    a, b = (json.loads((tmp_path / f).read_text(encoding="utf-8")) for f in ("a.json", "b.json"))
    assert a != b
    out = run_cli("restore", "--workspace", slug, "--version", "2")
    assert out.returncode == 0, out.stderr
    run_cli("diagnose", "--workspace", slug, "--json", str(tmp_path / "c.json"))
    assert json.loads((tmp_path / "c.json").read_text(encoding="utf-8")) == a
    hist = json.loads(run_cli("history", "--workspace", slug, "--json").stdout)
    assert [h["version"] for h in hist] == [1, 2, 3, 4] and hist[-1]["action"] == "restauration"
    assert {"version", "date", "kind", "file"} <= set(hist[0])


def test_unchanged_tables_are_not_copied(tmp_store, tmp_path):
    slug = workspaces.create("Partage")
    import_file(slug, "marches", MARKETS)
    size = workspaces.size_bytes(slug)
    workspaces.restore(slug, 1)
    # a restore adds a manifest, not a copy of the tables
    assert workspaces.size_bytes(slug) - size < 4000


def test_delete_moves_to_the_bin_and_back(tmp_store):
    slug = workspaces.create("Corbeille")
    import_file(slug, "marches", MARKETS)
    entry = workspaces.delete(slug)
    assert not workspaces.exists(slug) and [b["slug"] for b in workspaces.bin_content()] == [slug]
    back = workspaces.undelete(entry)
    assert back == slug and len(workspaces.load(slug).marches) > 0 and workspaces.bin_content() == []
    workspaces.delete(slug)
    assert workspaces.empty_bin() == 1 and workspaces.bin_content() == []


def _import_worker(store, slug, path, n):
    os.environ["DIAG_DONNEES"] = store
    for _ in range(n):
        import_file(slug, "marches", path)


def test_concurrent_imports_are_serialised(tmp_store):
    """Two processes import into one workspace at the same moment: every version is recorded."""
    slug = workspaces.create("Concurrence")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_import_worker, args=(str(tmp_store), slug, MARKETS, 3)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    assert [h["version"] for h in workspaces.history(slug)] == list(range(1, 7))
    assert len(workspaces.load(slug).marches) > 0
    assert not list((tmp_store / "tmp").iterdir())  # nothing left half-written


def test_cli_workspaces_and_export(tmp_store, tmp_path):
    out = run_cli("import", "--workspace", "Export test", "--kind", "marches", str(MARKETS))
    assert out.returncode == 0, out.stderr
    listing = run_cli("workspaces").stdout
    assert "export-test" in listing and "demo" in listing
    out = run_cli("export", "--workspace", "export-test", "--kind", "marches", "--out", str(tmp_path / "m.csv"))
    assert out.returncode == 0, out.stderr
    again = validate("marches", [tmp_path / "m.csv"])
    assert again.ok and len(again.tables["marches"]) == len(workspaces.load("export-test").marches)


def run_cli(*args):
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300, env={**os.environ})


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
