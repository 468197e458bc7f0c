"""A région's workspace created from the shipped official référentiel, then the user's own files.

Figures are checked against an independent computation on the real COG table of ../shared/realdata
(skipped when it is absent); former commune codes in perimeters are read as their current commune.
"""

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from data import referentiel
from data.formats.writers import xlsx_bytes
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(not referentiel.available(), reason="référentiel officiel absent")


@pytest.fixture()
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("DIAG_DONNEES", str(tmp_path / "store"))
    return tmp_path


def cli(*args):
    out = subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, cwd=ROOT,
                         timeout=300, env={**os.environ})
    return out


def facilitators(path, perimeters: list[tuple[str, str, str]]):
    ids = sorted({p[0] for p in perimeters})
    st = pd.DataFrame({"id_structure": ids, "nom": [f"Structure {i}" for i in ids], "type_structure": "PLIE",
                       "code_commune": [next(p[2] for p in perimeters if p[0] == i and p[1] == "commune")
                                        if any(p[0] == i and p[1] == "commune" for p in perimeters) else "59350"
                                        for i in ids],
                       "nb_facilitateurs": 2, "etp": 1.5})
    pe = pd.DataFrame(perimeters, columns=["id_structure", "type_territoire", "code_territoire"])
    path.write_bytes(xlsx_bytes({"structures": st, "perimetres": pe}))
    return path


def test_hauts_de_france_workspace_from_the_referentiel(store, realdata):
    cog = pd.read_csv(realdata / "admin" / "communes_cog2026_epci_pop_ze2020.csv", dtype=str)
    hdf = cog[cog["reg"] == "32"]
    out = cli("workspace", "create", "--name", "hdf", "--region", "32")
    assert out.returncode == 0, out.stderr
    # two structures: the Métropole européenne de Lille's EPCI and the communes of one zone d'emploi
    lille_epci = hdf.loc[hdf["code_insee"] == "59350", "epci_siren"].iloc[0]
    ze = hdf.loc[hdf["code_insee"] == "80021", "ze2020"].iloc[0]  # Amiens
    path = facilitators(store / "f.xlsx", [("A", "epci", lille_epci), ("B", "ze", ze)])
    out = cli("import", "--workspace", "hdf", "--kind", "facilitateurs", str(path))
    assert out.returncode == 0, out.stdout + out.stderr
    out = cli("diagnose", "--workspace", "hdf", "--region", "32", "--json", str(store / "d.json"))
    assert out.returncode == 0, out.stderr
    d = json.loads((store / "d.json").read_text(encoding="utf-8"))
    pop = hdf["population"].astype(int)
    covered = hdf["epci_siren"].eq(lille_epci) | hdf["ze2020"].eq(ze)
    assert d["communes"]["total"] == len(hdf)
    assert d["population"]["totale"] == int(pop.sum())
    assert d["communes"]["couvertes"] == int(covered.sum())
    assert d["population"]["non_couverte"] == int(pop[~covered].sum())
    assert d["marches"]["total"] == 0 and d["marches_detail"] == []  # no market imported: none shown


def test_every_metropolitan_region_gives_exactly_its_cog_communes(realdata):
    cog = pd.read_csv(realdata / "admin" / "communes_cog2026_epci_pop_ze2020.csv", dtype=str)
    for reg in sorted(set(cog["reg"]) - {"01", "02", "03", "04", "06"}):
        ours = referentiel.region_communes(reg)
        theirs = cog[cog["reg"] == reg]
        assert sorted(ours["code_insee"]) == sorted(theirs["code_insee"]), reg
        assert int(ours["population"].sum()) == int(theirs["population"].astype(int).sum()), reg
        assert ours.geometry.is_valid.all() and not ours.geometry.is_empty.any(), reg


def test_former_codes_in_perimeters_give_the_same_coverage(store):
    hist = referentiel.history()
    hdf = referentiel.region_communes("32")
    merged = hist[hist["code_actuel"].isin(hdf["code_insee"]) & hist["nom_ancien"].notna()]
    merged = merged.drop_duplicates("code_actuel").head(6)
    assert len(merged) >= 3, "Hauts-de-France has communes nouvelles"
    old = facilitators(store / "old.xlsx", [("A", "commune", c) for c in merged["code_ancien"]])
    new = facilitators(store / "new.xlsx", [("A", "commune", c) for c in merged["code_actuel"]])
    results = {}
    for name, path in (("old", old), ("new", new)):
        assert cli("workspace", "create", "--name", name, "--region", "32").returncode == 0
        out = cli("import", "--workspace", name, "--kind", "facilitateurs", str(path))
        assert out.returncode == 0, out.stdout + out.stderr
        if name == "old":
            for a, n, c, cn in merged[["code_ancien", "nom_ancien", "code_actuel", "nom_actuel"]].itertuples(
                    index=False):
                assert f"{a} ({n}) fait partie de {c} ({cn}) : rattaché" in out.stdout
        cli("diagnose", "--workspace", name, "--json", str(store / f"{name}.json"))
        results[name] = json.loads((store / f"{name}.json").read_text(encoding="utf-8"))
    assert results["old"]["communes"] == results["new"]["communes"]
    assert results["old"]["population"] == results["new"]["population"]
    assert results["old"]["communes"]["couvertes"] == len(merged)


def test_unknown_code_stays_an_error(store):
    assert cli("workspace", "create", "--name", "x", "--region", "32").returncode == 0
    path = facilitators(store / "bad.xlsx", [("A", "commune", "59350"), ("A", "commune", "59999")])
    out = cli("import", "--workspace", "x", "--kind", "facilitateurs", str(path))
    assert out.returncode == 1 and "59999" in out.stdout


def test_workspace_shows_the_sources_of_the_referentiel(store):
    from data.store import workspaces

    slug = workspaces.create_from_referentiel("Occitanie", "76")
    ds = workspaces.load(slug)
    assert ds.sources_note() == "Sources : INSEE COG 2026, IGN ADMIN EXPRESS, Licence Ouverte"
    assert ds.vintages["communes"] == "2026" and len(ds.communes) == 4446
    with pytest.raises(workspaces.StoreError):
        workspaces.create_from_referentiel("Nulle part", "00")
