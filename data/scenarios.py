"""Scenarios and comparisons of a stored workspace: what the Scénarios page and ``cli.py scenario …`` /
``cli.py compare`` both call, so that the page and the command line give the same figures.

A *state* of the facilitators is a version of the workspace (its facilitator tables at that version) or a
scenario (its base version's tables with its operations applied). Every state is diagnosed with the workspace's
current référentiel, QPV and markets, through the one engine (``geo.scenario.run`` → ``geo.engine.run``):

    state = resolve(slug, "7", ds, prepared)             # version 7
    state = resolve(slug, "scenario:Extension Lens", ds, prepared)
    result = diagnose(ds, prepared, state, "32")
    comparison = compare_states(ds, prepared, a, b, "32")

No Streamlit; the store is ``data.store.scenarios`` and ``data.store.workspaces``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

import pandas as pd

from data.store import scenarios as store
from data.store import workspaces
from data.store.dataset import Dataset
from data.store.workspaces import StoreError
from geo import engine, scenario
from geo.comparison import Comparison, compare
from geo.scenario import Network, ScenarioError

CURRENT = ("courant", "actuel", "current", "head")


@dataclass
class State:
    """One state of the facilitators' network, named for a person (« version 7 », « scénario … »)."""

    key: str  # "7" for a version, "scenario:<id>" for a scenario
    label: str
    network: Network
    base_version: int
    scenario: dict | None = None  # the scenario's record, for a scenario


def _version_label(slug: str, version: int) -> str:
    entry = next((h for h in workspaces.history(slug) if int(h["version"]) == version), None)
    if entry is None:
        return f"version {version}"
    what = entry.get("file") or entry.get("action") or ""
    vintage = entry.get("vintage") or ""
    return f"version {version}" + (f" – {what}" if what else "") + (f" ({vintage})" if vintage else "")


def version_network(slug: str, version: int, prepared: engine.Prepared) -> Network:
    """The facilitators of ``version``, their areas expanded on the current référentiel."""
    head = workspaces.head(slug)
    if not 1 <= version <= head:
        raise StoreError(f"la version {version} n'existe pas (versions 1 à {head}).")
    old = workspaces.load(slug, version)
    if not old.has("facilitateurs"):
        raise StoreError(f"la version {version} de l'espace ne contient pas de facilitateurs.")
    return scenario.network(prepared.ref, old.structures, old.perimetres)


def scenario_network(slug: str, record: dict, prepared: engine.Prepared) -> Network:
    """A scenario's network: its base version's, with its operations in force applied."""
    base = version_network(slug, int(record["base_version"]), prepared)
    return scenario.apply_all(prepared.ref, base, store.applied(record))


def resolve(slug: str, spec: str, prepared: engine.Prepared) -> State:
    """``7`` / ``v7`` (a version), ``courant`` (the current version), ``scenario:S`` (a scenario's name or id)."""
    text = str(spec or "").strip()
    if text.lower().startswith("scenario:") or text.lower().startswith("scénario:"):
        wanted = text.split(":", 1)[1].strip()
        sid = store.find(slug, wanted)
        if sid is None:
            raise StoreError(f"aucun scénario « {wanted} » dans cet espace.")
        record = store.read(slug, sid)
        return State(f"scenario:{sid}", f"scénario « {record['nom']} »", scenario_network(slug, record, prepared),
                     int(record["base_version"]), record)
    if text.lower() in CURRENT:
        text = str(workspaces.head(slug))
    m = re.fullmatch(r"[vV]?(\d+)", text)
    if not m:
        raise StoreError(f"« {spec} » ne désigne ni une version (un numéro) ni un scénario (scenario:NOM).")
    version = int(m.group(1))
    return State(str(version), _version_label(slug, version), version_network(slug, version, prepared), version)


def current_state(ds: Dataset, prepared: engine.Prepared) -> State:
    """The workspace's current facilitator data as a state (« données actuelles »)."""
    return State("courant", "données actuelles", scenario.network(prepared.ref, ds.structures, ds.perimetres),
                 int(ds.meta.get("version") or 0))


def proposition(slug: str, ds: Dataset, prepared: engine.Prepared, name: str, region: str) -> Comparison:
    """A scenario against the current facilitator data: what the « Proposition » screen, slide and section show."""
    return compare_states(ds, prepared, current_state(ds, prepared), resolve(slug, f"scenario:{name}", prepared),
                          region)


def diagnose(ds: Dataset, prepared: engine.Prepared, state: State, region: str) -> engine.Result:
    """The whole diagnosis of a state, on the workspace's current référentiel, QPV and markets."""
    return scenario.run(prepared, ds.communes, ds.qpv, state.network, ds.marches, region)


def compare_states(ds: Dataset, prepared: engine.Prepared, a: State, b: State, region: str) -> Comparison:
    return compare(a.network, diagnose(ds, prepared, a, region), b.network, diagnose(ds, prepared, b, region),
                   a.label, b.label)


# ------------------------------------------------------------------------------------------ changes


def read_changes(text: str, name: str = "fichier de changements") -> list[dict]:
    """The operations of a changes file (TOML, one ``[[operation]]`` table per edit, applied in order).

    Raises ``ScenarioError`` in French: a file that is not TOML (with its line), a key other than
    ``operation`` at the top, an operation without ``action``."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"line (\d+), column (\d+)", str(exc))
        at = f" (ligne {where.group(1)}, colonne {where.group(2)})" if where else ""
        raise ScenarioError(f"{name} : ce n'est pas un fichier TOML valide{at}. Chaque opération commence par "
                            "une ligne [[operation]], suivie de ses clés (action = \"ajouter\", …).") from None
    other = [k for k in doc if k != "operation"]
    if other:
        raise ScenarioError(f"{name} : clé « {other[0]} » inattendue ; le fichier ne contient que des tables "
                            "[[operation]].")
    ops = doc.get("operation", [])
    if not isinstance(ops, list) or not ops:
        raise ScenarioError(f"{name} : aucune opération ([[operation]]) dans le fichier.")
    for number, op in enumerate(ops, start=1):
        if not isinstance(op, dict) or "action" not in op:
            raise ScenarioError("clé obligatoire absente", number, None, "action")
    return [dict(op) for op in ops]


def check(slug: str, record_or_base, operations: list[dict], prepared: engine.Prepared) -> Network:
    """The network once ``operations`` are applied after those in force; ``ScenarioError`` naming the
    first one refused, numbered from the first operation given."""
    if isinstance(record_or_base, dict):
        net = scenario_network(slug, record_or_base, prepared)
    else:
        net = version_network(slug, int(record_or_base), prepared)
    return scenario.apply_all(prepared.ref, net, operations)


def create(slug: str, name: str, prepared: engine.Prepared, from_version: int | None = None,
           operations: list[dict] | None = None, user: str = "") -> str:
    """A new scenario on ``from_version`` (the current version by default), its operations checked first:
    one refused, and nothing is created."""
    version = int(from_version or workspaces.head(slug))
    check(slug, version, list(operations or []), prepared)
    return store.create(slug, name, version, operations, user=user)


def duplicate(slug: str, sid: str, name: str, user: str = "") -> str:
    record = store.read(slug, sid)
    return store.create(slug, name, int(record["base_version"]), store.applied(record), user=user,
                        origin=f"copie de « {record['nom']} »")


def apply(slug: str, sid: str, operations: list[dict], prepared: engine.Prepared, user: str = "") -> dict:
    """Keep ``operations`` in the scenario once every one of them applies (else ``ScenarioError``, nothing kept)."""
    record = store.read(slug, sid)
    check(slug, record, operations, prepared)
    return store.add_operations(slug, sid, operations, user=user)


def older_base(slug: str, record: dict) -> str | None:
    """The sentence that warns before adopting a scenario built on facilitator data older than the current."""
    base, head = int(record["base_version"]), workspaces.head(slug)
    if base >= head:
        return None
    then, now = workspaces.load(slug, base), workspaces.load(slug, head)
    same = (then.structures.reset_index(drop=True).equals(now.structures.reset_index(drop=True))
            and then.perimetres.reset_index(drop=True).equals(now.perimetres.reset_index(drop=True)))
    if same:
        return None
    return (f"Ce scénario part des facilitateurs de la version {base} ; les facilitateurs de l'espace ont changé "
            f"depuis (version actuelle : {head}). L'adopter remplacera les facilitateurs actuels par ceux du "
            "scénario.")


def tables(slug: str, sid: str, prepared: engine.Prepared) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A scenario's facilitators in the import format (``structures``, ``perimetres``), areas written compactly."""
    return scenario.tables(prepared.ref, scenario_network(slug, store.read(slug, sid), prepared))


def export_xlsx(slug: str, sid: str, prepared: engine.Prepared) -> bytes:
    """The facilitator import file of a scenario (sheets ``structures`` and ``perimetres``)."""
    from data.formats.writers import xlsx_bytes

    st, pe = tables(slug, sid, prepared)
    return xlsx_bytes({"structures": st, "perimetres": pe})


def adopt(slug: str, sid: str, prepared: engine.Prepared, user: str = "") -> int:
    """The scenario becomes the workspace's facilitator data, as a new version (journaled, restorable)."""
    record = store.read(slug, sid)
    st, pe = tables(slug, sid, prepared)
    ds = workspaces.load(slug)
    vintage = ds.vintages.get("facilitateurs") or ""
    new = ds.replace(structures=st, perimetres=pe)
    new.meta = {**ds.meta, "vintages": {"facilitateurs": vintage}, "sources": {
        "facilitateurs": f"scénario « {record['nom']} » adopté"}}
    version = workspaces.import_tables(slug, new, "facilitateurs", {
        "kind": "facilitateurs", "file": f"scénario « {record['nom']} »", "vintage": vintage,
        "counts": {"lus": len(st), "gardes": len(st)}, "scenario": sid, "action": "adoption d'un scénario"},
        user=user)
    store.note_adopted(slug, sid, version, user=user)
    return version
