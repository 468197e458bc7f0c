"""The session's workspace, and Streamlit caches of workspaces and of their diagnosis.

Which workspace a browser session reads lives here (session state, mirrored in the URL as
``?espace=<slug>``): the store knows nothing of sessions. A session only ever reads a workspace its
user may see (``data.access``); a link to another one is refused with a message, never silently
replaced by another workspace. Cache keys are simple values (a
workspace's stamp ``slug@version``, a région code) and every cache is bounded; a new version
is a new key, so an import never needs to clear what other sessions see. Cached objects are
shared between sessions: callers must not mutate them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from components import auth
from data import access
from data.store import workspaces
from data.store.dataset import MISSING, Dataset
from geo import engine

# What a run reads of the store (a workspace's version, the list of workspaces) is asked many times a
# run and by every session: kept this long, or until this process writes to the store. A change made by
# another process (the command line) shows within this delay.
STORE_READ_TTL_S = 1.0
_reads: dict[tuple, tuple[float, object]] = {}
_reads_lock = threading.Lock()

WORKSPACE_KEY = "sidebar.espace"
DENIED_KEY = "acces.refuse"
DATA_PAGE = "app_pages/donnees.py"


# ---------------------------------------------------------------------------------------------
# The session's workspace


def _recent(what: tuple, read: Callable[[], object]):
    """``read()`` of the store, kept for :data:`STORE_READ_TTL_S` unless this process writes meanwhile
    (file reads release Python's lock: thirty sessions reading the same small files wait on each other)."""
    key = (what, str(workspaces.store_dir()), workspaces.writes())
    now = time.monotonic()
    with _reads_lock:
        hit = _reads.get(key)
    if hit is not None and now - hit[0] < STORE_READ_TTL_S:
        return hit[1]
    value = read()
    with _reads_lock:
        if len(_reads) > 512:
            _reads.clear()
        _reads[key] = (now, value)
    return value


def may_see(slug: str) -> bool:
    """Does the workspace exist, and may this session's user see it?"""
    return (_recent(("exists", slug), lambda: workspaces.exists(slug))
            and access.can(auth.current_user(), slug, "voir"))


def visible_workspaces() -> list[workspaces.Workspace]:
    """The workspaces this session's user may see, the demo first."""
    spaces = _recent(("list",), workspaces.list_workspaces)
    allowed = set(access.visible(auth.current_user(), [w.slug for w in spaces]))
    return [w for w in spaces if w.slug in allowed]


def resolve_workspace() -> str:
    """Settle the session's workspace at the top of a run, before the sidebar's selector exists.

    A link (``?espace=``) or a switch asked by a page (:func:`use_workspace`) wins over the
    previous choice. A link to a workspace that does not exist or that the user may not see is
    refused (:func:`denied` names it; the session keeps a workspace it may see, the demo at worst),
    and so is the session's own workspace once deleted or once the user's access is withdrawn.
    """
    chosen = st.session_state.get(WORKSPACE_KEY)
    asked = st.query_params.get("espace")
    refused = None
    if asked and asked != chosen:
        if may_see(asked):
            chosen = asked  # a link opened, the address edited by hand, or a page's switch
        else:
            refused = asked
    if chosen and not may_see(chosen):
        refused = refused or chosen
        chosen = None
    if not chosen:
        chosen = workspaces.DEMO
    if st.session_state.get(WORKSPACE_KEY) != chosen:
        st.session_state[WORKSPACE_KEY] = chosen
    st.session_state[DENIED_KEY] = refused
    return chosen


def denied() -> str | None:
    """The workspace a link asked for that this session may not see (settled by :func:`resolve_workspace`)."""
    return st.session_state.get(DENIED_KEY)


def current_workspace() -> str:
    """The workspace this session reads (settled by :func:`resolve_workspace`)."""
    return st.session_state.get(WORKSPACE_KEY) or resolve_workspace()


def use_workspace(slug: str) -> None:
    """Switch this session to ``slug`` at the next run (after a creation, a deletion...)."""
    st.query_params["espace"] = slug


def sync_url() -> None:
    """Keep the address bar on the session's workspace, so that a copied link reopens it."""
    slug = current_workspace()
    if denied():
        return  # the address keeps what was asked for, with its refusal on screen
    if st.query_params.get("espace") != slug:
        st.query_params["espace"] = slug


# ---------------------------------------------------------------------------------------------
# Caches, keyed by the workspace's stamp


@st.cache_resource(max_entries=6, show_spinner="Chargement des données…")
def _dataset(stamp: str) -> Dataset:
    slug, version = stamp.rsplit("@", 1)
    return workspaces.load(slug, int(version))


@st.cache_resource(max_entries=6, show_spinner="Préparation du référentiel…")
def _prepared(stamp: str) -> engine.Prepared:
    ds = _dataset(stamp)
    return engine.prepare(ds.communes, ds.qpv, ds.structures, ds.perimetres)


@st.cache_resource(max_entries=16, show_spinner="Calcul du diagnostic…")
def _result(stamp: str, region: str) -> engine.Result:
    ds = _dataset(stamp)
    return engine.run(ds.communes, ds.qpv, ds.structures, ds.perimetres, ds.marches, region, inclusion=ds.inclusion,
                      prepared=_prepared(stamp))


def stamp() -> str:
    """The session's workspace and its current version (``slug@version``), the key of every cache."""
    slug = current_workspace()
    return _recent(("stamp", slug), lambda: workspaces.stamp(slug))


def dataset() -> Dataset:
    """The session's workspace, as its current version."""
    return _dataset(stamp())


def prepared() -> engine.Prepared:
    return _prepared(stamp())


def dataset_at(stamp_: str) -> Dataset:
    """The dataset of a workspace version named by its stamp (``slug@version``), from the shared cache."""
    return _dataset(stamp_)


def prepared_at(stamp_: str) -> engine.Prepared:
    """The référentiel's index and the QPV's communes of a workspace version, from the shared cache."""
    return _prepared(stamp_)


def diagnosis(region: str) -> engine.Result:
    return _result(stamp(), region)


@st.cache_resource(max_entries=8, show_spinner="Préparation de la carte…")
def _layers(stamp: str, region: str):
    from geo.display import build_layers

    ds = _dataset(stamp)
    res = _result(stamp, region)
    return build_layers(ds.communes, ds.qpv, ds.structures, res.coverage.membership, res.coverage.structure_ids,
                        region, res.diagnosis.communes, res.diagnosis.qpv)


def display_layers(region: str):
    """Simplified, dissolved map layers in EPSG:4326, prepared once per workspace version and région."""
    return _layers(stamp(), region)


@st.cache_resource(max_entries=8, show_spinner=False)
def _inclusion_points(stamp: str, region: str):
    from geo.codes import as_text
    from geo.display import inclusion_points

    ds = _dataset(stamp)
    if not ds.has("structures_inclusion"):
        return None
    res = _result(stamp, region)
    return inclusion_points(res.ref, ds.structures_inclusion, _layers(stamp, region).commune_xy,
                            as_text(ds.communes["nom"]).to_numpy(dtype=object), region)


def inclusion_points(region: str):
    """The région's located inclusion structures placed for the map (``None`` when the workspace has none)."""
    return _inclusion_points(stamp(), region)


@st.cache_resource(max_entries=16, show_spinner=False)
def _buyers(stamp: str, region: str, threshold: float):
    return engine.buyers(_result(stamp, region), threshold)


def buyers(region: str, threshold: float):
    """The buyers of the workspace's markets (``geo.buyers``), once per version, région and threshold (shared:
    do not mutate)."""
    return _buyers(stamp(), region, float(threshold))


@st.cache_resource(max_entries=2, show_spinner="Lecture et classement des marchés…")
def _uploaded_markets(stamp: str, region: str, file_id: str, name: str, _data: bytes):
    from data.formats.upload import Upload
    from data.validation import validate_marches
    from geo.markets import classify_markets

    ds = _dataset(stamp)
    # a national DECP file is cut down to the région first
    loaded = validate_marches(Upload(name, _data), communes=ds.communes, region=region)
    if not loaded.ok:
        return loaded, None
    p = _prepared(stamp)
    names = dict(zip(ds.structures["id_structure"].astype(str), ds.structures["nom"].astype(str)))
    classified = classify_markets(p.ref, p.coverage, loaded.tables["marches"],
                                  [names.get(s, s) for s in p.coverage.structure_ids])
    if ds.has("structures_inclusion"):  # the potentiel inclusif, as for the workspace's own markets
        from geo.needs import market_potential

        pot = market_potential(p.ref, loaded.tables["marches"], ds.inclusion)
        classified = pd.concat([classified.reset_index(drop=True),
                                pot[["potentiel_inclusif", "potentiel_inclusif_detail"]]], axis=1)
    return loaded, classified


def uploaded_markets(region: str, file_id: str, name: str, data: bytes):
    """A market file uploaded on the markets page, read and classified once (not at every filter
    change); keyed by the upload's id, the bytes themselves are not hashed."""
    return _uploaded_markets(stamp(), region, file_id, name, data)


# ---------------------------------------------------------------------------------------------
# What every session shows alike: tables and charts made once per workspace version and région


@dataclass(frozen=True)
class SharedFrame:
    """A table that every session shows alike, named by ``key`` (workspace version, région, table):
    ``components.tables`` renders it, and makes its exports, once for everybody instead of once per
    person (a Styler of a few thousand cells costs tenths of a second; a launch meeting is thirty
    people opening the same page at once)."""

    key: str
    df: pd.DataFrame


@st.cache_resource(max_entries=64, show_spinner=False)
def _shared_frame(stamp: str, region: str, name: str, _build: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    return _build()


def shared_frame(name: str, region: str, build: Callable[[], pd.DataFrame]) -> SharedFrame:
    """``build()`` (a table derived from the diagnosis only: nothing of the session) computed once per
    workspace version and région; ``name`` tells the tables of a page apart. Callers must not mutate it."""
    s = stamp()
    return SharedFrame(f"{s}|{region}|{name}", _shared_frame(s, region, name, build))


@st.cache_resource(max_entries=128, show_spinner=False)
def _drawn(content_key: str, _draw: Callable[[], None]) -> None:
    _draw()


def draw_once(content_key: str, draw: Callable[[], None]) -> None:
    """Run ``draw`` (elements without widgets: a table, a chart) once for ``content_key``; every later
    run, in any session, replays the elements it made (Streamlit records the elements a cached function
    draws) instead of building them again. ``content_key`` must name everything the elements show."""
    _drawn(content_key, draw)


# ---------------------------------------------------------------------------------------------
# Pages that need a table


def require(ds: Dataset, *kinds: str) -> None:
    """Stop the page with a French message when the workspace lacks one of ``kinds``.

    Never a fall-back on another workspace: the message points to the Données page.
    """
    missing = [k for k in kinds if not ds.has(k)]
    if not missing:
        return
    for kind in missing:
        st.info(MISSING[kind], icon=":material/info:")
    st.page_link(DATA_PAGE, label="Importer les fichiers sur la page Données", icon=":material/upload_file:")
    st.stop()
