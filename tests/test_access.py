"""Access rules (data/access.py) and the journal (data/store/journal.py), without a browser.

What an administrator relies on: members by address or domain, roles that add up, the demo open
to all, nothing granted by a broken file, the creator admin, rules that follow a workspace to the
bin and never pass to a newcomer under the same identifier; a journal line for every change, in
one piece even when processes write at once, before the change is visible.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.fixture()
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("DIAG_DONNEES", str(tmp_path))
    return tmp_path


def write_rules(store, text: str) -> None:
    (store / "acces.toml").write_text(text, encoding="utf-8")


RULES = """
admins = ["chef@dreets.gouv.fr"]

[espaces.hdf]
lecteur = ["@dreets-hdf.gouv.fr", "Partenaire@PLIE-Lille.fr"]
editeur = ["editeur@dreets-hdf.gouv.fr"]
admin = ["admin@dreets-hdf.gouv.fr"]

[espaces.bzh]
lecteur = ["@dreets-bzh.gouv.fr"]
"""


# ---------------------------------------------------------------------------------------------
# Rules


def test_members_by_address_and_domain_roles_add_up(store):
    from data import access

    write_rules(store, RULES)
    assert access.role("quelquun@dreets-hdf.gouv.fr", "hdf") == "lecteur"
    assert access.role("QUELQUUN@Dreets-HDF.gouv.fr ", "hdf") == "lecteur"  # case and spaces do not matter
    assert access.role("partenaire@plie-lille.fr", "hdf") == "lecteur"
    assert access.role("autre@plie-lille.fr", "hdf") is None  # an address is not its domain
    assert access.role("x@sous.dreets-hdf.gouv.fr", "hdf") is None  # a domain is that exact domain
    assert access.role("x@dreets-hdf.gouv.fr.pirate.fr", "hdf") is None
    assert access.role("editeur@dreets-hdf.gouv.fr", "hdf") == "editeur"  # the highest role wins
    assert access.role("admin@dreets-hdf.gouv.fr", "hdf") == "admin"
    assert access.role("chef@dreets.gouv.fr", "bzh") == "admin"  # a global admin administers everything
    assert access.role("quelquun@dreets-hdf.gouv.fr", "bzh") is None

    assert access.can("quelquun@dreets-hdf.gouv.fr", "hdf", "voir")
    assert not access.can("quelquun@dreets-hdf.gouv.fr", "hdf", "importer")
    assert access.can("editeur@dreets-hdf.gouv.fr", "hdf", "importer")
    assert access.can("editeur@dreets-hdf.gouv.fr", "hdf", "restaurer")
    assert not access.can("editeur@dreets-hdf.gouv.fr", "hdf", "supprimer")
    assert not access.can("editeur@dreets-hdf.gouv.fr", "hdf", "membres")
    assert access.can("admin@dreets-hdf.gouv.fr", "hdf", "supprimer")
    assert access.can("admin@dreets-hdf.gouv.fr", "hdf", "journal")


def test_demo_open_to_all_and_visible_filters(store):
    from data import access

    write_rules(store, RULES)
    assert access.role("inconnu@ailleurs.fr", "demo") == "lecteur"
    assert access.role("", "demo") == "lecteur"  # even logged in without an address
    assert not access.can("inconnu@ailleurs.fr", "demo", "importer")
    assert access.visible("x@dreets-hdf.gouv.fr", ["demo", "hdf", "bzh"]) == ["demo", "hdf"]
    assert access.visible("x@dreets-bzh.gouv.fr", ["demo", "hdf", "bzh"]) == ["demo", "bzh"]
    assert access.visible("", ["demo", "hdf", "bzh"]) == ["demo"]


def test_without_login_everything_is_allowed(store):
    from data import access

    write_rules(store, RULES)
    assert access.role(None, "bzh") == "admin"
    assert access.visible(None, ["demo", "hdf", "bzh", "nouveau"]) == ["demo", "hdf", "bzh", "nouveau"]
    assert access.can(None, "hdf", "supprimer") and access.can_create(None) and access.is_admin(None)


def test_star_means_anyone_logged_in_with_an_address(store):
    from data import access

    write_rules(store, '[espaces.ouvert]\nlecteur = ["*"]\n')
    assert access.role("qui@que.ce.soit.fr", "ouvert") == "lecteur"
    assert access.role("", "ouvert") is None


def test_global_admins_as_a_table_and_creators(store):
    from data import access

    write_rules(store, '[admins]\nmembres = ["Chef@dreets.gouv.fr"]\n')
    assert access.is_admin("chef@dreets.gouv.fr") and access.role("chef@dreets.gouv.fr", "x") == "admin"
    assert access.can_create("n.importe@qui.fr")  # no `createurs`: anyone logged in
    assert not access.can_create("")  # but not without an address
    write_rules(store, 'admins = []\ncreateurs = ["@dreets.gouv.fr"]\n')
    assert access.can_create("a@dreets.gouv.fr") and not access.can_create("a@gmail.com")


def test_a_broken_file_grants_nothing(store):
    from data import access

    write_rules(store, RULES + "\n[espaces.hdf\nlecteur = [\n")
    assert access.role("chef@dreets.gouv.fr", "hdf") is None
    assert access.visible("admin@dreets-hdf.gouv.fr", ["demo", "hdf"]) == ["demo"]
    with pytest.raises(access.AccessError, match="TOML"):
        access.set_members("hdf", {"lecteur": ["a@b.fr"]}, by=None)


def test_set_members_validates_writes_atomically_and_journals(store):
    import tomllib

    from data import access
    from data.store import journal

    write_rules(store, RULES)
    with pytest.raises(access.AccessError, match="ni une adresse"):
        access.set_members("hdf", {"lecteur": ["pas une adresse"]}, by="admin@dreets-hdf.gouv.fr")
    with pytest.raises(access.AccessError, match="vous retirer"):  # no lock-out by mistake
        access.set_members("hdf", {"lecteur": ["@dreets-hdf.gouv.fr"]}, by="admin@dreets-hdf.gouv.fr")
    with pytest.raises(access.AccessError):
        access.set_members("demo", {"lecteur": ["a@b.fr"]}, by=None)
    assert tomllib.loads((store / "acces.toml").read_text())["espaces"]["hdf"]["admin"] == ["admin@dreets-hdf.gouv.fr"]

    new = access.set_members("hdf", {"lecteur": ["@DREETS-HDF.gouv.fr", "", "  @dreets-hdf.gouv.fr "],
                                     "editeur": [], "admin": ["admin@dreets-hdf.gouv.fr", "adjoint@dreets-hdf.gouv.fr"]},
                             by="admin@dreets-hdf.gouv.fr")
    assert new == {"lecteur": ["@dreets-hdf.gouv.fr"], "editeur": [],
                   "admin": ["admin@dreets-hdf.gouv.fr", "adjoint@dreets-hdf.gouv.fr"]}
    raw = tomllib.loads((store / "acces.toml").read_text(encoding="utf-8"))
    assert raw["admins"] == ["chef@dreets.gouv.fr"]  # the rest of the file is kept
    assert raw["espaces"]["bzh"] == {"lecteur": ["@dreets-bzh.gouv.fr"]}
    assert raw["espaces"]["hdf"] == {"lecteur": ["@dreets-hdf.gouv.fr"],
                                     "admin": ["admin@dreets-hdf.gouv.fr", "adjoint@dreets-hdf.gouv.fr"]}
    assert access.role("editeur@dreets-hdf.gouv.fr", "hdf") == "lecteur"  # the change applies at once
    assert not [p for p in store.iterdir() if p.name.endswith(".part")]  # no temporary file left
    last = journal.read("hdf").entries[-1]
    assert last["what"] == "droits d'accès" and last["who"] == "admin@dreets-hdf.gouv.fr"
    assert last["before"]["editeur"] == ["editeur@dreets-hdf.gouv.fr"] and "editeur" not in last["after"]
    # a global admin may remove every admin of a workspace
    access.set_members("hdf", {"lecteur": ["@dreets-hdf.gouv.fr"]}, by="chef@dreets.gouv.fr")


def test_creator_is_admin_and_rules_follow_the_workspace_to_the_bin(store):
    from data import access
    from data.store import workspaces

    slug = workspaces.create("Normandie", user="crea@dreets-nor.gouv.fr")
    access.on_created(slug, "crea@dreets-nor.gouv.fr")
    assert access.role("crea@dreets-nor.gouv.fr", slug) == "admin"
    access.set_members(slug, {"lecteur": ["@dreets-nor.gouv.fr"], "admin": ["crea@dreets-nor.gouv.fr"]},
                       by="crea@dreets-nor.gouv.fr")
    entry = workspaces.delete(slug, user="crea@dreets-nor.gouv.fr")
    access.on_deleted(slug, entry, "crea@dreets-nor.gouv.fr")
    assert access.bin_admin("crea@dreets-nor.gouv.fr", entry)
    assert not access.bin_admin("lecteur@dreets-nor.gouv.fr", entry)
    # someone else creates a workspace of the same name: never the same identifier, nobody inherits it
    again = workspaces.create("Normandie", user="autre@ailleurs.fr")
    assert again != slug and again.startswith("normandie-")
    access.on_created(again, "autre@ailleurs.fr")
    assert access.role("lecteur@dreets-nor.gouv.fr", again) is None
    assert access.role("crea@dreets-nor.gouv.fr", again) is None
    # the deleted one comes back under its own identifier (kept for it), with its own members
    back = workspaces.undelete(entry, user="crea@dreets-nor.gouv.fr")
    access.on_undeleted(entry, back, "crea@dreets-nor.gouv.fr")
    assert back == slug
    assert access.role("lecteur@dreets-nor.gouv.fr", back) == "lecteur"
    assert access.role("crea@dreets-nor.gouv.fr", back) == "admin"
    assert access.role("autre@ailleurs.fr", back) is None


def test_stale_rules_of_a_reused_identifier_are_dropped(store):
    from data import access
    from data.store import workspaces

    write_rules(store, '[espaces.essai]\nlecteur = ["@ancienne-equipe.fr"]\n')
    slug = workspaces.create("Essai", user="nouveau@equipe.fr")
    access.on_created(slug, "nouveau@equipe.fr")
    assert access.members(slug) == {"lecteur": [], "editeur": [], "admin": ["nouveau@equipe.fr"]}


# ---------------------------------------------------------------------------------------------
# Journal


def _append_many(args):
    store, n, who = args
    os.environ["DIAG_DONNEES"] = store
    from data.store import journal

    for i in range(n):
        journal.append("import", who=who, workspace="w", files=[{"name": f"{who}-{i}.csv" + "x" * 3000,
                                                                   "sha256": "0" * 64}])


def test_journal_lines_stay_whole_with_concurrent_writers(store):
    from data.store import journal

    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_append_many, [(str(store), 50, f"p{k}") for k in range(4)])
    lines = journal.path().read_bytes().splitlines()
    assert len(lines) == 200
    read = journal.read("w")
    assert read.unreadable == 0 and len(read.entries) == 200
    assert {e["who"] for e in read.entries} == {"p0", "p1", "p2", "p3"}


def test_journal_skips_a_cut_last_line_and_filters_by_workspace(store):
    from data.store import journal

    journal.append("création", who="a@b.fr", workspace="un")
    journal.append("création", who="a@b.fr", workspace="deux")
    with open(journal.path(), "ab") as fh:
        fh.write(b'{"when": "2026-01-01", "who": "a@b')  # a write cut by a crash
    read = journal.read("un")
    assert [e["workspace"] for e in read.entries] == ["un"] and read.unreadable == 1
    journal.append("import", who="a@b.fr", workspace="un")  # the next line starts on its own line
    read = journal.read("un")
    assert [e["what"] for e in read.entries] == ["création", "import"] and read.unreadable == 1


def test_journal_records_store_changes_with_file_checksum(store):
    from data.store import journal, workspaces

    slug = workspaces.create("Bretagne", user="a@dreets.gouv.fr")
    data = b"code_qp;nom_qp\nQN05301I;Quartier\n"
    ds = workspaces.load(slug)
    record = {"kind": "qpv", "file": "qpv.csv", "files": [journal.file_entry("qpv.csv", data)]}
    v = workspaces.import_tables(slug, ds.replace(), "qpv", record, user="a@dreets.gouv.fr")
    workspaces.restore(slug, v, user="b@dreets.gouv.fr")
    entry = workspaces.delete(slug, user="a@dreets.gouv.fr")
    back = workspaces.undelete(entry, user="a@dreets.gouv.fr")
    workspaces.delete(back, user="a@dreets.gouv.fr")
    workspaces.empty_bin(user="chef@dreets.gouv.fr")
    events = journal.read(slug).entries
    assert [e["what"] for e in events] == ["création", "import", "restauration", "suppression",
                                           "restauration depuis la corbeille", "suppression",
                                           "vidage de la corbeille"]
    imp = events[1]
    assert imp["who"] == "a@dreets.gouv.fr" and imp["version"] == 1 and imp["kind"] == "qpv"
    assert imp["files"] == [{"name": "qpv.csv", "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}]
    assert events[2]["who"] == "b@dreets.gouv.fr" and events[2]["restored"] == 1
    assert all(e["when"] and e["system_user"] is not None for e in events)
    # each line is one JSON object, the file only grows
    assert all(json.loads(line) for line in journal.path().read_text(encoding="utf-8").splitlines())


def test_a_change_that_cannot_be_journaled_is_not_made(store, monkeypatch):
    from data.store import journal, workspaces
    from data.store.workspaces import StoreError

    slug = workspaces.create("Occitanie")

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(journal, "append", full)
    ds = workspaces.load(slug)
    with pytest.raises(StoreError, match="journal"):
        workspaces.import_tables(slug, ds.replace(), "qpv", {"file": "q.csv"})
    assert workspaces.head(slug) == 0  # no new version
    with pytest.raises(StoreError, match="journal"):
        workspaces.delete(slug)
    assert workspaces.exists(slug)


def test_journal_csv_neutralises_formulas(store):
    from data.store import journal

    journal.append("import", who="a@b.fr", workspace="w",
                   files=[{"name": '=HYPERLINK("http://x","y")', "sha256": "ab" * 32}])
    text = journal.csv_bytes(journal.read().entries).decode("utf-8-sig")
    assert "Empreinte SHA-256" in text.splitlines()[0]
    cell = text.splitlines()[1].split(";")[6]
    assert cell.startswith("\"'=HYPERLINK")  # neutralised (a leading apostrophe), still readable


# ---------------------------------------------------------------------------------------------
# Command line with --user


def cli(store, *args):
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "DIAG_DONNEES": str(store)}, timeout=300)


def test_cli_user_sees_only_their_workspaces_and_roles_apply(store, tmp_path_factory):
    from data.formats.writers import csv_bytes
    from data import demo
    from data.store import journal

    write_rules(store, RULES)
    from data.store import workspaces

    workspaces.create("Hauts-de-France", slug="hdf")
    workspaces.create("Bretagne", slug="bzh")
    listing = cli(store, "workspaces", "--json", "--user", "x@dreets-hdf.gouv.fr")
    assert listing.returncode == 0
    assert [w["slug"] for w in json.loads(listing.stdout)] == ["demo", "hdf"]
    assert [w["slug"] for w in json.loads(cli(store, "workspaces", "--json").stdout)] == ["demo", "bzh", "hdf"]

    ind = tmp_path_factory.mktemp("f") / "indicateurs.csv"
    ind.write_bytes(csv_bytes(demo.generate().indicateurs))
    refused = cli(store, "import", "--workspace", "hdf", "--kind", "indicateurs", str(ind),
                  "--user", "lecteur@dreets-hdf.gouv.fr")
    assert refused.returncode == 1
    assert "lecteur" in refused.stderr and "réservé à ses éditeurs" in refused.stderr
    assert workspaces.head("hdf") == 0
    # a hidden workspace's name is answered as an unknown name: a workspace of one's own (not an oracle)
    for name in ("Bretagne", "Inconnu"):
        other = cli(store, "import", "--workspace", name, "--kind", "indicateurs", str(ind),
                    "--user", "editeur@dreets-hdf.gouv.fr")
        assert other.returncode == 0, other.stderr
        assert f"Espace de travail « {name} » créé (identifiant : {name.lower()}-" in other.stderr
    assert workspaces.head("bzh") == 0 and access_role("editeur@dreets-hdf.gouv.fr", "bzh") is None
    done = cli(store, "import", "--workspace", "hdf", "--kind", "indicateurs", str(ind),
               "--user", "editeur@dreets-hdf.gouv.fr")
    assert done.returncode == 0, done.stderr
    assert workspaces.head("hdf") == 1
    last = journal.read("hdf").entries[-1]
    assert last["who"] == "editeur@dreets-hdf.gouv.fr"
    assert last["files"][0]["sha256"] == hashlib.sha256(ind.read_bytes()).hexdigest()
    assert cli(store, "history", "--workspace", "bzh", "--user", "x@dreets-hdf.gouv.fr").returncode == 1
    assert cli(store, "journal", "--workspace", "hdf", "--user", "editeur@dreets-hdf.gouv.fr").returncode == 1
    out = tmp_path_factory.mktemp("j") / "journal.csv"
    assert cli(store, "journal", "--workspace", "hdf", "--csv", str(out), "--user",
               "admin@dreets-hdf.gouv.fr").returncode == 0
    assert "editeur@dreets-hdf.gouv.fr" in out.read_text(encoding="utf-8-sig")
    created = cli(store, "workspace", "create", "--name", "Étude HDF", "--user", "Admin@dreets-hdf.gouv.fr")
    assert created.returncode == 0, created.stderr
    from data import access

    slug = created.stdout.split("identifiant : ")[1].split(")")[0]
    assert slug.startswith("etude-hdf-") and access.role("admin@dreets-hdf.gouv.fr", slug) == "admin"


def access_role(user, slug):
    from data import access

    return access.role(user, slug)


# ---------------------------------------------------------------------------------------------
# Identifiers never given twice, journals that belong to their workspace, no existence oracle


def test_a_deleted_workspace_identifier_is_never_given_again_nor_its_journal(store):
    from data import access
    from data.store import journal, workspaces

    a = workspaces.create("Projet confidentiel", user="a@equipe-a.fr")
    access.on_created(a, "a@equipe-a.fr")
    ds = workspaces.load(a)
    record = {"kind": "qpv", "file": "marches_secret_plan_social_usine_X.csv",
              "files": [journal.file_entry("marches_secret_plan_social_usine_X.csv", b"secret")]}
    workspaces.import_tables(a, ds.replace(), "qpv", record, user="a@equipe-a.fr")
    other = workspaces.create("Autre équipe", user="b@equipe-b.fr")
    entry = workspaces.delete(a, user="a@equipe-a.fr")
    access.on_deleted(a, entry, "a@equipe-a.fr")
    workspaces.delete(other, user="b@equipe-b.fr")
    workspaces.empty_bin(user="chef@dreets.gouv.fr")
    # the same name again, by another team, without and with a login
    c = workspaces.create("Projet confidentiel", user="c@equipe-c.fr")
    access.on_created(c, "c@equipe-c.fr")
    local = workspaces.create("Projet confidentiel")  # without a login: no random part, never twice either
    workspaces.delete(local)
    workspaces.empty_bin()
    again = workspaces.create("Projet confidentiel")
    assert len({a, c, local, again}) == 4 and (local, again) == ("projet-confidentiel", "projet-confidentiel-2")
    seen = json.dumps(journal.read(c).entries, ensure_ascii=False)
    for secret in ("a@equipe-a.fr", "marches_secret_plan_social_usine_X", "b@equipe-b.fr", a, other, "sha256"):
        assert secret not in seen, secret
    assert [e["what"] for e in journal.read(c).entries] == ["création", "droits d'accès"]
    # the bin's lines: each workspace's journal names only its own entry
    emptied = [e for e in journal.read(a).entries if e["what"] == "vidage de la corbeille"]
    assert [e["entry"] for e in emptied] == [entry] and other not in json.dumps(emptied)


def test_a_journal_written_before_reserved_identifiers_shows_only_its_workspace(store):
    """An older store gave an identifier again and wrote the bin's emptying as one line for all teams."""
    from data.store import journal

    journal.append("création", who="a@equipe-a.fr", workspace="projet", name="Projet")
    journal.append("import", who="a@equipe-a.fr", workspace="projet", files=[{"name": "secret.csv"}], version=1)
    journal.append("suppression", who="a@equipe-a.fr", workspace="projet", entry="projet--20260101")
    journal.append("vidage de la corbeille", who="chef@x.fr", workspace="",
                   entries=["projet--20260101", "bzh--20260102"], workspaces=["projet", "bzh"])
    journal.append("création", who="c@equipe-c.fr", workspace="projet", name="Projet")
    journal.append("vidage de la corbeille", who="chef@x.fr", workspace="",
                   entries=["projet--20260301", "bzh--20260302"], workspaces=["projet", "bzh"])
    mine = journal.read("projet").entries
    assert [(e["what"], e["who"]) for e in mine] == [("création", "c@equipe-c.fr"),
                                                      ("vidage de la corbeille", "chef@x.fr")]
    assert mine[1]["entries"] == ["projet--20260301"] and mine[1]["workspaces"] == ["projet"]
    assert "bzh" not in json.dumps(mine)
    assert len(journal.read().entries) == 6  # the whole journal (global admins) is unchanged


def test_creating_or_opening_a_hidden_name_answers_as_an_unknown_one(store, capsys):
    import cli
    from data.store import workspaces

    write_rules(store, RULES)
    workspaces.create("Equipe B BZH", slug="bzh")

    def run(*args):
        code = cli.main(list(args))
        out = capsys.readouterr()
        return code, out.out + out.err

    answers = {}
    for name in ("Equipe B BZH", "Equipe Z"):
        code, text = run("workspace", "create", "--name", name, "--user", "c@dreets-c.gouv.fr")
        answers[name] = (code, text.replace(name, "NOM").replace(workspaces.slugify(name), "ident"))
        code, text = run("history", "--workspace", name + " ancien", "--user", "c@dreets-c.gouv.fr")
        assert code == 1 and "n'existe pas ou ne vous est pas accessible" in text
    shapes = {k: (c, t.split("ident-")[0], len(t.split("ident-")[1].split(")")[0])) for k, (c, t) in answers.items()}
    assert shapes["Equipe B BZH"] == shapes["Equipe Z"] and shapes["Equipe Z"][0] == 0
    for name in ("bzh", "Equipe B BZH", "inconnu"):  # a hidden workspace's identifier or name: as unknown
        code, text = run("history", "--workspace", name, "--user", "d@dreets-d.gouv.fr")
        assert (code, text.replace(name, "X")) == (1, "Erreur : l'espace de travail « X » n'existe pas ou ne vous "
                                                      "est pas accessible.\n")
    assert workspaces.head("bzh") == 0


def test_workspace_names_hold_on_one_line_and_are_bounded(store):
    from data.store import workspaces

    for bad, why in (("Projet\nsecret", "retour à la ligne"), ("Projet\u202esecret", "caractère invisible"),
                     ("x" * (workspaces.NAME_MAX + 1), f"{workspaces.NAME_MAX} au plus"), ("   ", "donnez un nom")):
        with pytest.raises(workspaces.StoreError, match=why):
            workspaces.create(bad, user="a@b.fr")
    assert workspaces.list_workspaces()[1:] == []
    assert workspaces.create("É" * workspaces.NAME_MAX, user="a@b.fr")


def test_creations_are_bounded_per_person_without_a_creators_list(store):
    from data import access
    from data.store import workspaces

    write_rules(store, 'admins = ["chef@dreets.gouv.fr"]\nmax_espaces_par_personne = 2\n')
    for i in range(2):
        access.check_can_create("a@b.fr")
        workspaces.create(f"Étude {i}", user="a@b.fr")
    with pytest.raises(access.AccessError, match="déjà créé 2 espaces de travail"):
        access.check_can_create("a@b.fr")
    workspaces.delete(workspaces.list_workspaces()[1].slug, user="a@b.fr")  # the bin still counts
    with pytest.raises(access.AccessError, match="corbeille comprise"):
        access.check_can_create("A@B.fr")
    access.check_can_create("autre@b.fr")  # per person
    access.check_can_create("chef@dreets.gouv.fr")  # a global admin has no bound
    access.check_can_create(None)  # no login: the single local user
