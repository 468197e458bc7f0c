"""A crash-safe store: imports killed (SIGKILL) at several instants, readers during repeated saves,
a server starting while an import is being written, a full disk.

What a user checks afterwards: the workspace opens, with the previous version or the new one (never
a missing dataset, never the demo instead), nothing is left in the store's temporary folder once it
is cleaned at start, and the next import works. The writers are separate processes, as a command-line
import next to a running server is.
"""

from __future__ import annotations

import hashlib
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from data.store import workspaces
from tests.conftest import ROOT

# A writer: a workspace import of a market table tagged ``lot`` (so that a reader can tell which
# import it sees). ``pause:<where>`` stops before the file replacing ``objects``, ``versions`` or
# ``HEAD`` is moved in place (``pause:journal``: after HEAD, before the journal's line) and waits to be killed; ``loop:<n>`` imports n times in a row
# (``loop:0``: until killed); ``FAIL`` lines report a refused write.
CHILD = r'''
import os, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np, pandas as pd
from data.store import workspaces

slug, mode, rows, tag = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])


def markets(tag):
    rng = np.random.default_rng(tag)
    return pd.DataFrame({"id_marche": [f"T{tag}-{i}" for i in range(rows)],
                         "objet": pd.Series(rng.integers(0, 1 << 62, rows)).map(hex).to_numpy(),
                         "acheteur": pd.Series(rng.integers(0, 1 << 62, rows)).map(hex).to_numpy(),
                         "lot": tag})


def commit(tag):
    ds = workspaces.load(slug).replace(marches=markets(tag))
    return workspaces.import_tables(slug, ds, "marches", {"kind": "marches", "file": f"lot{tag}.csv",
                                                          "counts": {}, "vintage": ""})


kind, _, arg = mode.partition(":")
if mode == "pause:journal":  # after HEAD is switched, before the version's journal line
    from data.store import journal

    def append(*a, **k):
        print("PAUSE journal", flush=True)
        time.sleep(120)

    journal.append = append
elif kind == "pause":
    real = os.replace

    def replace(src, dst, *a, **k):
        parts = str(dst).replace(os.sep, "/").split("/")
        if arg in (parts[-1], parts[-2]):
            print("PAUSE", dst, flush=True)
            time.sleep(120)
        return real(src, dst, *a, **k)

    os.replace = replace
print("GO", flush=True)
n = int(arg) if kind == "loop" else 1
i = 0
while kind != "loop" or n == 0 or i < n:
    try:
        v = commit(tag + i)
        print("V", v, tag + i, flush=True)
    except workspaces.StoreError as exc:
        print("FAIL", exc, flush=True)
    i += 1
    if kind != "loop":
        break
print("DONE", flush=True)
'''


@pytest.fixture()
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("DIAG_DONNEES", str(tmp_path / "store"))
    return tmp_path / "store"


@pytest.fixture()
def child_script(tmp_path):
    path = tmp_path / "writer.py"
    path.write_text(CHILD, encoding="utf-8")
    return path


def start_writer(script: Path, store: Path, slug: str, mode: str, rows: int, tag: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(script), str(ROOT), slug, mode, str(rows), str(tag)],
                            env={**os.environ, "DIAG_DONNEES": str(store)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for(proc: subprocess.Popen, prefix: str, timeout: float = 60) -> str:
    """The first line of the writer's output starting with ``prefix``."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if sel.select(timeout=max(0.0, deadline - time.time())):
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith(prefix):
                return line
    proc.kill()
    pytest.fail(f"le processus d'import n'a pas écrit « {prefix} » : {proc.stderr.read()[-2000:]}")


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def small_markets(tag: int, rows: int = 200) -> pd.DataFrame:
    return pd.DataFrame({"id_marche": [f"T{tag}-{i}" for i in range(rows)], "objet": "x", "acheteur": "y",
                         "lot": tag})


def import_lot(slug: str, tag: int, rows: int = 200) -> int:
    ds = workspaces.load(slug).replace(marches=small_markets(tag, rows))
    return workspaces.import_tables(slug, ds, "marches", {"kind": "marches", "file": f"lot{tag}.csv",
                                                          "counts": {}, "vintage": ""})


def lots(slug: str) -> list[int]:
    return sorted(set(workspaces.load(slug).marches["lot"].astype(int)))


def leftovers(store: Path) -> list[str]:
    tmp = store / "tmp"
    return sorted(p.name for p in tmp.iterdir()) if tmp.exists() else []


def objects_intact(store: Path, slug: str) -> bool:
    """Every stored table is whole: its content still hashes to its name."""
    folder = store / "espaces" / slug / "objects"
    return all(hashlib.sha256(p.read_bytes()).hexdigest() == p.stem for p in folder.glob("*.parquet"))


@pytest.mark.parametrize("where", ["objects", "versions", "HEAD"])
def test_import_killed_before_each_move_leaves_the_previous_version(store, child_script, where):
    slug = workspaces.create("Coupure")
    assert import_lot(slug, 1) == 1
    proc = start_writer(child_script, store, slug, f"pause:{where}", 20_000, 2)
    wait_for(proc, "PAUSE")
    kill(proc)
    assert leftovers(store), "le processus tué devait laisser un fichier en cours d'écriture"
    # the workspace opens on its previous version, never on nothing nor on the demo
    ds = workspaces.load(slug)
    assert ds.meta["version"] == 1 and not ds.is_demo and lots(slug) == [1]
    assert [h["version"] for h in workspaces.history(slug)] == [1]
    assert objects_intact(store, slug)
    # at the next start the temporary folder is emptied, what no version refers to is collected, and the
    # next import works
    assert workspaces.cleanup() >= 1 and leftovers(store) == []
    assert stored_files(store, slug) == referenced_files(slug)
    assert import_lot(slug, 3) == 2 and lots(slug) == [3]
    assert [h["version"] for h in workspaces.history(slug)] == [1, 2]
    assert journal_versions(slug) == [1, 2]


def stored_files(store: Path, slug: str) -> set[str]:
    folder = store / "espaces" / slug
    return {f"objects/{p.name}" for p in (folder / "objects").glob("*")} | \
        {f"versions/{p.name}" for p in (folder / "versions").glob("*")}


def referenced_files(slug: str) -> set[str]:
    """The manifests up to HEAD and the objects they name: nothing else belongs to the workspace."""
    import json

    folder = workspaces.space_dir(slug)
    out = set()
    for v in range(1, workspaces.head(slug) + 1):
        out.add(f"versions/{v:06d}.json")
        manifest = json.loads((folder / "versions" / f"{v:06d}.json").read_text(encoding="utf-8"))
        out |= {f"objects/{sha}.parquet" for sha in manifest["tables"].values()}
    return out


def journal_versions(slug: str) -> list[int]:
    """The versions the journal tells, in its order (each should appear once, as HEAD went); a failure line
    takes back the line of its version."""
    from data.store import journal

    out: list[int] = []
    for e in journal.read(slug).entries:
        if e.get("version") and e.get("result") == "échec" and e["version"] in out:
            del out[len(out) - 1 - out[::-1].index(e["version"])]
        elif e.get("version"):
            out.append(e["version"])
    return out


def test_kill_between_head_and_journal_then_restart_agree(store, child_script):
    slug = workspaces.create("Entre deux", user="a@dreets.gouv.fr")
    assert import_lot(slug, 1) == 1
    proc = start_writer(child_script, store, slug, "pause:journal", 200, 2)
    wait_for(proc, "PAUSE journal")
    kill(proc)
    assert workspaces.head(slug) == 2 and journal_versions(slug) == [1]  # the window the probe found
    workspaces.cleanup()  # the server's next start
    assert journal_versions(slug) == [1, 2]
    recovered = [e for e in _journal(slug) if e.get("version") == 2][0]
    assert recovered["what"] == "import" and recovered["files"] == [{"name": "lot2.csv"}] and recovered["recovered"]
    assert import_lot(slug, 3) == 3  # journaled as 3, never as 2 again
    assert journal_versions(slug) == [1, 2, 3] == [h["version"] for h in workspaces.history(slug)]
    # a line written before the switch by an earlier release, then a kill: the journal says it did not happen
    from data.store import journal

    journal.append("import", who="a@dreets.gouv.fr", workspace=slug, version=4, files=[{"name": "lot4.csv"}])
    workspaces.cleanup()
    assert journal_versions(slug) == [1, 2, 3] and _journal(slug)[-1]["result"] == "échec"
    assert import_lot(slug, 5) == 4 and journal_versions(slug) == [1, 2, 3, 4]


def _journal(slug: str) -> list[dict]:
    from data.store import journal

    return journal.read(slug).entries


def test_import_killed_at_random_instants_leaves_a_whole_version(store, child_script):
    slug = workspaces.create("Coupures")
    import_lot(slug, 1)
    tag = 100
    seen_new = 0
    for delay in (0.05, 0.25, 0.6, 1.1):
        before = workspaces.head(slug)
        proc = start_writer(child_script, store, slug, "loop:0", 60_000, tag)
        wait_for(proc, "GO")
        time.sleep(delay)
        kill(proc)
        ds = workspaces.load(slug)  # never FileNotFoundError
        version = ds.meta["version"]
        assert version >= before and not ds.is_demo
        (lot,) = lots(slug)  # one whole import, not a mix
        expected = workspaces.history(slug)[-1]["file"]
        assert expected == f"lot{lot}.csv"
        seen_new += version > before
        assert objects_intact(store, slug)
        workspaces.cleanup()
        assert leftovers(store) == []
        tag += 100
    assert import_lot(slug, 9) == workspaces.head(slug) and lots(slug) == [9]
    assert seen_new, "aucun import n'a abouti avant d'être tué : les délais sont trop courts pour tester"


def test_readers_never_miss_a_file_during_repeated_saves(store, child_script):
    slug = workspaces.create("Lecture")
    import_lot(slug, 1)
    proc = start_writer(child_script, store, slug, "loop:8", 20_000, 10)
    wait_for(proc, "GO")
    errors, versions = [], set()
    while proc.poll() is None:
        try:
            ds = workspaces.load(slug)
            versions.add(ds.meta["version"])
            assert len(set(ds.marches["lot"])) == 1
        except Exception as exc:  # FileNotFoundError above all
            errors.append(f"{type(exc).__name__}: {exc}")
    out = proc.stdout.read()
    assert proc.returncode == 0 and "FAIL" not in out, out
    assert errors == []
    assert len(versions) >= 3, f"le lecteur n'a vu que les versions {sorted(versions)}"
    assert workspaces.head(slug) == 9


def test_a_server_starting_during_an_import_does_not_break_it(store, child_script):
    """``cleanup()`` runs when a server starts; an import written meanwhile by another process (the
    command line, a second server) must not lose its temporary file."""
    slug = workspaces.create("Démarrage")
    import_lot(slug, 1)
    proc = start_writer(child_script, store, slug, "loop:5", 40_000, 10)
    wait_for(proc, "GO")
    while proc.poll() is None:
        workspaces.cleanup()
    out = proc.stdout.read()
    assert "FAIL" not in out, out
    assert workspaces.head(slug) == 6 and lots(slug) == [14]


# ---------------------------------------------------------------------------------------------
# A full disk


@pytest.fixture()
def tiny_disk(tmp_path, monkeypatch):
    """A 4 MB file system for the store; skipped when mounting is not permitted."""
    mount = tmp_path / "petit_disque"
    mount.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True,
                              text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"montage d'un tmpfs impossible ({exc})")
    if done.returncode != 0:
        pytest.skip(f"montage d'un tmpfs non permis : {done.stderr.strip()}")
    monkeypatch.setenv("DIAG_DONNEES", str(mount / "donnees"))
    try:
        yield mount / "donnees"
    finally:
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_full_disk_gives_a_french_message_and_leaves_nothing_behind(tiny_disk):
    slug = workspaces.create("Disque")
    assert import_lot(slug, 1) == 1
    rng = np.random.default_rng(0)
    n = 400_000  # about 8 MB of incompressible text: twice the disk
    big = pd.DataFrame({"id_marche": [f"G{i}" for i in range(n)], "lot": 2,
                        "objet": pd.Series(rng.integers(0, 1 << 62, n)).map(hex).to_numpy(),
                        "acheteur": pd.Series(rng.integers(0, 1 << 62, n)).map(hex).to_numpy()})
    ds = workspaces.load(slug).replace(marches=big)
    with pytest.raises(workspaces.StoreError) as refused:
        workspaces.import_tables(slug, ds, "marches", {"kind": "marches", "file": "gros.csv", "counts": {},
                                                       "vintage": ""})
    assert "disque est plein" in str(refused.value) and "n'ont pas été modifiées" in str(refused.value)
    # no partial file, the previous version intact
    assert leftovers(tiny_disk) == []
    assert objects_intact(tiny_disk, slug)
    assert workspaces.head(slug) == 1 and lots(slug) == [1]
    # the next (reasonable) import works: nothing of the failed one is in its way
    assert import_lot(slug, 3) == 2 and lots(slug) == [3]


def test_full_disk_during_a_creation_leaves_nothing_listed(tiny_disk):
    from data.store import journal

    workspaces.create("Première")
    workspaces.list_workspaces()  # the demo generated first
    filler = tiny_disk / "remplissage"
    try:  # the disk full
        with open(filler, "wb") as fh:
            while True:
                fh.write(b"\0" * 4096)
                fh.flush()
    except OSError:
        pass
    before = [w.slug for w in workspaces.list_workspaces()]
    for _ in range(2):  # a retry leaves nothing either
        with pytest.raises(workspaces.StoreError) as refused:
            workspaces.create_from_referentiel("Bretagne 2026", "53", user="a@dreets.gouv.fr")
        assert "disque est plein" in str(refused.value) and "n'a pas été créé" in str(refused.value)
        assert "l'import" not in str(refused.value)
        assert [w.slug for w in workspaces.list_workspaces()] == before
        assert not [e for e in journal.read().entries if e.get("name") == "Bretagne 2026"]
    # the command line says the same, in French, and lists nothing more
    done = subprocess.run([sys.executable, str(ROOT / "cli.py"), "workspace", "create", "--name", "Bretagne 2026",
                           "--region", "53"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "DIAG_DONNEES": str(tiny_disk)})
    assert done.returncode == 1 and "disque est plein" in done.stderr and "Traceback" not in done.stderr
    filler.unlink()
    workspaces.cleanup()
    assert [w.slug for w in workspaces.list_workspaces()] == before
    assert not [p for p in (tiny_disk / "espaces").iterdir() if not (p / "workspace.json").exists()]


def test_a_full_disk_message_names_the_action_refused(store, monkeypatch):
    import errno

    from data import atomic

    slug = workspaces.create("Mots")
    import_lot(slug, 1)
    import_lot(slug, 2)
    workspaces.list_workspaces()  # the demo generated first

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic, "write", full)
    for action, words in ((lambda: workspaces.restore(slug, 1), "le retour à la version n'a pas été enregistré"),
                          (lambda: workspaces.create("Nouveau"), "l'espace de travail n'a pas été créé"),
                          (lambda: import_lot(slug, 3), "l'import n'a pas été enregistré")):
        with pytest.raises(workspaces.StoreError) as refused:
            action()
        assert str(refused.value).startswith(f"le disque est plein : {words}"), str(refused.value)
    assert workspaces.head(slug) == 2 and [w.name for w in workspaces.list_workspaces()][1:] == ["Mots"]
