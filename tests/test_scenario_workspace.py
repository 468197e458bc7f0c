"""Scenarios kept in a workspace: the store (history, undo and redo, bin, journal), adoption and restoration, the
command line and its rights, the export read back by an import, the Scénarios page (AppTest), and a real région
(Hauts-de-France from the shipped référentiel) where a changes file with every kind of operation gives, through
``cli.py scenario diagnose``, the JSON that ``cli.py diagnose`` gives for the facilitator file edited by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

APP = str(ROOT / "app.py")
CHANGES = """
[[operation]]
action = "ajouter"
structure = "S01"
territoires = ["EPCI:291000003"]

[[operation]]
action = "modifier"
structure = "S02"
etp = 2.0
nb_facilitateurs = 3
"""


@pytest.fixture()
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("DIAG_DONNEES", str(tmp_path))
    return tmp_path


def cli(store, *args, timeout=300):
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "DIAG_DONNEES": str(store)}, timeout=timeout)


def demo_copy(name: str = "Étude") -> str:
    """A writable workspace holding the demo's tables, as two imports would leave it."""
    from data import demo
    from data.store import workspaces

    ds = demo.generate()
    slug = workspaces.create(name)
    ds.meta = {"region": "99", "vintages": {"facilitateurs": "2024"}}
    workspaces.commit(slug, ds, {"action": "import", "kind": "facilitateurs", "file": "demo"})
    return slug


def prepared_of(slug):
    from data.store import workspaces
    from geo import engine

    ds = workspaces.load(slug)
    return ds, engine.prepare(ds.communes, ds.qpv, ds.structures, ds.perimetres)


def test_history_undo_redo_bin_and_journal(store):
    from data import scenarios as service
    from data.store import journal
    from data.store import scenarios as sc

    slug = demo_copy()
    ds, prep = prepared_of(slug)
    ops = service.read_changes(CHANGES)
    sid = service.create(slug, "Extension Valbourg", prep, operations=ops[:1], user="a@b.fr")
    assert sc.find(slug, "Extension Valbourg") == sid == sc.find(slug, sid)
    service.apply(slug, sid, ops[1:], prep, user="a@b.fr")
    assert sc.summary(sc.read(slug, sid))["operations"] == 2
    sc.undo(slug, sid)
    assert sc.applied(sc.read(slug, sid)) == ops[:1]
    sc.redo(slug, sid)
    assert sc.applied(sc.read(slug, sid)) == ops
    sc.undo(slug, sid)
    service.apply(slug, sid, [{"action": "supprimer", "structure": "S09"}], prep)  # a new branch: the redo goes
    record = sc.read(slug, sid)
    assert [o["action"] for o in sc.applied(record)] == ["ajouter", "supprimer"] and len(record["operations"]) == 2
    with pytest.raises(sc.StoreError):
        sc.redo(slug, sid)
    copy = service.duplicate(slug, sid, "Variante")
    assert sc.applied(sc.read(slug, copy)) == sc.applied(record)
    sc.rename(slug, copy, "Variante B")
    entry = sc.delete(slug, copy)
    assert [s["slug"] for s in sc.list_all(slug)] == [sid] and sc.bin_content(slug)[0]["entry"] == entry
    assert sc.undelete(slug, entry) == copy
    # a refused operation changes nothing, and names its number and key
    from geo.scenario import ScenarioError

    with pytest.raises(ScenarioError, match="Opération 2.*territoires"):
        service.apply(slug, sid, [{"action": "ajouter", "structure": "S01", "territoires": ["COM:91001"]},
                                  {"action": "ajouter", "structure": "S01", "territoires": ["COM:00000"]}], prep)
    assert sc.applied(sc.read(slug, sid)) == sc.applied(record)
    whats = [e["what"] for e in journal.read(slug).entries if e.get("scenario")]
    assert whats[:2] == ["scénario créé", "scénario : opération"]
    assert {"scénario : annulation", "scénario : rétablissement", "scénario supprimé",
            "scénario sorti de la corbeille", "scénario : renommage"} <= set(whats)


def test_adopt_makes_a_version_and_restore_undoes_it(store):
    from data import scenarios as service
    from data.store import workspaces
    from geo import engine

    slug = demo_copy()
    ds, prep = prepared_of(slug)
    sid = service.create(slug, "Adoptée", prep, operations=service.read_changes(CHANGES))
    expected = service.diagnose(ds, prep, service.resolve(slug, f"scenario:{sid}", prep), "99")
    before = workspaces.head(slug)
    version = service.adopt(slug, sid, prep, user="x@y.fr")
    assert version == before + 1 and workspaces.history(slug)[-1]["action"] == "adoption d'un scénario"
    now = workspaces.load(slug)
    assert engine.to_json(engine.run(now.communes, now.qpv, now.structures, now.perimetres, now.marches, "99")) \
        == engine.to_json(expected)
    workspaces.restore(slug, before)
    back = workspaces.load(slug)
    pd.testing.assert_frame_equal(back.structures.reset_index(drop=True), ds.structures.reset_index(drop=True))
    # built on version 1, the scenario says so once the facilitators changed after it
    from data.store import scenarios as sc

    other = service.create(slug, "Ancienne", prep, from_version=1)
    assert service.older_base(slug, sc.read(slug, other)) is None
    workspaces.restore(slug, version)
    assert "version 1" in service.older_base(slug, sc.read(slug, other))


def test_cli_scenarios_rights_and_export_read_back(store, tmp_path):
    from data import access

    slug = demo_copy("Hauts")
    (store / access.FILE_NAME).write_text(f'[espaces.{slug}]\nlecteur = ["l@x.fr"]\nediteur = ["e@x.fr"]\n',
                                          encoding="utf-8")
    changes = tmp_path / "changements.toml"
    changes.write_text(CHANGES, encoding="utf-8")
    refused = cli(store, "scenario", "create", "--workspace", slug, "--name", "Essai", "--changes", str(changes),
                  "--user", "l@x.fr")
    assert refused.returncode == 1 and "réservé à ses éditeurs" in refused.stderr
    made = cli(store, "scenario", "create", "--workspace", slug, "--name", "Essai", "--changes", str(changes),
               "--user", "e@x.fr")
    assert made.returncode == 0, made.stderr
    listed = json.loads(cli(store, "scenario", "list", "--workspace", slug, "--json", "--user", "l@x.fr").stdout)
    assert [(s["nom"], s["operations"], s["base_version"]) for s in listed] == [("Essai", 2, 1)]
    bad = tmp_path / "faux.toml"
    bad.write_text('[[operation]]\naction = "retirer"\nstructure = "S03"\nterritoires = ["DEP:93"]\n', "utf-8")
    out = cli(store, "scenario", "apply", "--workspace", slug, "--scenario", "Essai", "--changes", str(bad))
    assert out.returncode == 1 and "Opération 1" in out.stderr and "Traceback" not in out.stderr
    assert "plus aucun territoire" in out.stderr
    diag = tmp_path / "scenario.json"
    assert cli(store, "scenario", "diagnose", "--workspace", slug, "--scenario", "essai", "--json", str(diag),
               "--user", "l@x.fr").returncode == 0
    export = tmp_path / "facilitateurs.xlsx"
    assert cli(store, "scenario", "export", "--workspace", slug, "--scenario", "Essai", "--out",
               str(export)).returncode == 0
    # the exported file, imported as a team would, gives the same diagnosis
    again = tmp_path / "import.json"
    run = cli(store, "diagnose", "--facilitateurs", str(export), "--region", "99", "--json", str(again))
    assert run.returncode == 0, run.stderr
    assert json.loads(again.read_text(encoding="utf-8")) == json.loads(diag.read_text(encoding="utf-8"))
    compared = tmp_path / "comparaison.json"
    done = cli(store, "compare", "--workspace", slug, "--from", "1", "--to", "scenario:Essai", "--json",
               str(compared), "--xlsx", str(tmp_path / "comparaison.xlsx"))
    assert done.returncode == 0, done.stderr
    c = json.loads(compared.read_text(encoding="utf-8"))
    assert c["apres"] == json.loads(diag.read_text(encoding="utf-8"))
    by_key = {f["cle"]: f for f in c["indicateurs"]}
    assert by_key["communes.non_couvertes"]["apres"] == c["apres"]["communes"]["non_couvertes"]
    assert by_key["communes.non_couvertes"]["avant"] == c["avant"]["communes"]["non_couvertes"]
    s02 = next(s for s in c["structures"] if s["id_structure"] == "S02")
    assert (s02["etp_apres"], s02["nb_facilitateurs_apres"], s02["statut"]) == (2.0, 3, "modifiée")
    sug = tmp_path / "suggestions.json"
    assert cli(store, "scenario", "suggest", "--workspace", slug, "--region", "99", "--critere", "qpv", "--json",
               str(sug), "--user", "l@x.fr").returncode == 0
    s = json.loads(sug.read_text(encoding="utf-8"))
    assert s["candidats"] == len(s["suggestions"]) > 0 and s["suggestions"][0]["operation"]["action"] == "ajouter"
    assert cli(store, "scenario", "adopt", "--workspace", slug, "--scenario", "Essai", "--user",
               "l@x.fr").returncode == 1


def test_page_edits_undoes_and_compares(store):
    from data import scenarios as service
    from data.store import scenarios as sc

    slug = demo_copy()
    ds, prep = prepared_of(slug)
    sid = service.create(slug, "Page", prep)
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["espace"] = slug
    at.query_params["scenario"] = sid
    at.run()
    at.switch_page("app_pages/scenarios.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="scenarios.choix").value == sid
    at.selectbox(key="scenarios.structure").set_value("S01").run()
    at.selectbox(key="scenarios.operation").set_value("ajouter").run()
    at.multiselect(key="scenarios.territoires.EPCI").set_value(["EPCI:291000003"]).run()
    at.button(key="scenarios.appliquer").click().run()
    assert not at.exception, at.exception
    assert sc.applied(sc.read(slug, sid)) == [{"action": "ajouter", "structure": "S01",
                                               "territoires": ["EPCI:291000003"]}]
    shown = " ".join(str(h.value) for h in at.html)
    assert "Zones blanches" in shown
    at.button(key="scenarios.annuler").click().run()
    assert sc.applied(sc.read(slug, sid)) == []
    # a refused edit is said in French, nothing kept
    at.selectbox(key="scenarios.operation").set_value("retirer").run()
    at.selectbox(key="scenarios.structure").set_value("S03").run()
    at.multiselect(key="scenarios.territoires.EPCI").set_value([]).run()
    at.segmented_control(key="scenarios.territoires.type").set_value("DEP").run()
    at.multiselect(key="scenarios.territoires.DEP").set_value(["DEP:93"]).run()
    at.button(key="scenarios.appliquer").click().run()
    assert any("plus aucun territoire" in e.value for e in at.error), [e.value for e in at.error]
    assert sc.applied(sc.read(slug, sid)) == []


def test_a_reader_sees_scenarios_but_cannot_edit(store):
    from data import access
    from data import scenarios as service

    slug = demo_copy()
    ds, prep = prepared_of(slug)
    service.create(slug, "Lecture", prep, operations=service.read_changes(CHANGES))
    (store / access.FILE_NAME).write_text(f'[espaces.{slug}]\nlecteur = ["l@x.fr"]\n', encoding="utf-8")
    from tests.test_auth import AUTH

    at = AppTest.from_file(APP, default_timeout=180)
    at.secrets["auth"] = AUTH
    # an ID token says when the login happened (iat): the app ends logins older than 8 hours (issue 22)
    at.user = {"is_logged_in": True, "email": "l@x.fr", "email_verified": True, "iat": int(time.time())}
    at.query_params["espace"] = slug
    at.run()
    at.switch_page("app_pages/scenarios.py").run()
    assert not at.exception, at.exception
    assert at.button(key="scenarios.annuler").disabled
    assert not [b for b in at.button if b.key == "scenarios.appliquer"]
    assert any("pas de les modifier" in i.value for i in at.info)


# ------------------------------------------------------------------------------------------------
# a real région: every kind of operation, against the facilitator file edited by hand


CHANGES_HDF = """
[[operation]]
action = "ajouter"
structure = "S02"
territoires = ["EPCI:{open_epci}", "COM:{open_commune}"]

[[operation]]
action = "retirer"
structure = "S14"
territoires = ["EPCI:{dep_epci}"]

[[operation]]
action = "transferer"
de = "S05"
vers = "S01"
territoires = ["EPCI:{s05_epci}"]

[[operation]]
action = "modifier"
structure = "S07"
etp = 0.5
nb_facilitateurs = 1
fin_fse = 10

[[operation]]
action = "creer"
structure = "R1"
nom = "Coordination régionale"
type_structure = "Région"
code_commune = "59350"
nb_facilitateurs = 1
etp = 1.0
territoires = ["REG:32"]

[[operation]]
action = "supprimer"
structure = "S10"

[[operation]]
action = "fusionner"
structures = ["S03", "S04"]
"""


def test_a_real_region_scenario_equals_the_file_edited_by_hand(store, tmp_path):
    from data import referentiel
    from data.demo import network
    from data.formats.writers import xlsx_bytes
    from data.store import workspaces

    if not referentiel.available():
        pytest.skip("référentiel officiel absent")
    slug = network.workspace("Hauts-de-France 2026", "32", n_markets=200)
    ds = workspaces.load(slug)
    st, pe = ds.structures.copy(), ds.perimetres.copy()
    c = ds.communes
    covered_epci = set(pe.loc[pe["type_territoire"] == "epci", "code_territoire"])
    dep = pe.loc[pe["id_structure"] == "S14", "code_territoire"].iloc[0]
    in_dep = c[c["dep"] == dep]
    dep_epci = next(e for e in in_dep["epci_siren"] if set(c.loc[c["epci_siren"] == e, "dep"]) == {dep})
    open_epci = next(e for e in c["epci_siren"].unique() if e not in covered_epci and e != dep_epci
                     and dep not in set(c.loc[c["epci_siren"] == e, "dep"]))
    open_commune = next(x for x, e, d in zip(c["code_insee"], c["epci_siren"], c["dep"])
                        if e not in covered_epci and e != open_epci and d != dep)
    s05_epci = pe.loc[pe["id_structure"] == "S05", "code_territoire"].iloc[0]
    changes = tmp_path / "changements.toml"
    changes.write_text(CHANGES_HDF.format(open_epci=open_epci, open_commune=open_commune, dep_epci=dep_epci,
                                          s05_epci=s05_epci), encoding="utf-8")
    assert cli(store, "scenario", "create", "--workspace", slug, "--name", "Tout", "--changes",
               str(changes)).returncode == 0
    got = tmp_path / "scenario.json"
    out = cli(store, "scenario", "diagnose", "--workspace", slug, "--scenario", "Tout", "--region", "32", "--json",
              str(got))
    assert out.returncode == 0, out.stderr

    # the same edits, by hand, on the two tables a team keeps
    lines = [tuple(r) for r in pe[["id_structure", "type_territoire", "code_territoire"]].itertuples(index=False)
             if r[0] != "S14"]
    lines += [("S02", "epci", open_epci), ("S02", "commune", open_commune)]
    for e, g in in_dep.groupby("epci_siren"):  # the département minus one EPCI: its other EPCI, whole or in part
        if e == dep_epci:
            continue
        if set(c.loc[c["epci_siren"] == e, "dep"]) == {dep}:
            lines.append(("S14", "epci", e))
        else:
            lines += [("S14", "commune", code) for code in g["code_insee"]]
    lines = [("S01", t, code) if (sid, code) == ("S05", s05_epci) else (sid, t, code) for sid, t, code in lines]
    lines.append(("R1", "region", "32"))
    lines = [("S03", t, code) if sid == "S04" else (sid, t, code) for sid, t, code in lines if sid != "S10"]
    pe = pd.DataFrame(lines, columns=["id_structure", "type_territoire", "code_territoire"])
    st.loc[st["id_structure"] == "S07", ["etp", "nb_facilitateurs", "fin_fse"]] = [0.5, 1, 10.0]
    st = pd.concat([st, pd.DataFrame([{"id_structure": "R1", "nom": "Coordination régionale",
                                       "type_structure": "Région", "code_commune": "59350", "nb_facilitateurs": 1,
                                       "etp": 1.0}])], ignore_index=True)
    st = st[st["id_structure"] != "S10"]
    s3, s4 = st.set_index("id_structure").loc["S03"], st.set_index("id_structure").loc["S04"]
    st.loc[st["id_structure"] == "S03", ["nb_facilitateurs", "etp"]] = [s3["nb_facilitateurs"] + s4["nb_facilitateurs"],
                                                                         s3["etp"] + s4["etp"]]
    st = st[st["id_structure"] != "S04"]
    hand = tmp_path / "a_la_main.xlsx"
    hand.write_bytes(xlsx_bytes({"structures": st.drop(columns=[c for c in st.columns if c.startswith("fin_")]),
                                 "perimetres": pe}))
    communes = tmp_path / "communes.gpkg"
    ds.communes.to_file(communes, driver="GPKG")
    marches = tmp_path / "marches.csv"
    from data.formats.spreadsheet import csv_bytes

    marches.write_bytes(csv_bytes(ds.marches))
    want = tmp_path / "main.json"
    run = cli(store, "diagnose", "--region", "32", "--communes", str(communes), "--facilitateurs", str(hand),
              "--marches", str(marches), "--json", str(want))
    assert run.returncode == 0, run.stderr
    got_json, want_json = json.loads(got.read_text("utf-8")), json.loads(want.read_text("utf-8"))
    assert got_json == want_json
    assert got_json["communes"]["non_couvertes"] < json.loads(cli(
        store, "diagnose", "--workspace", slug, "--region", "32").stdout)["communes"]["non_couvertes"]
