"""The server's warm-up: what the first visitors of a meeting open, prepared before they ask.

A server just started knows nothing: the first person to open the map of a real région waited for
the workspace to be read, the diagnosis computed, the map layers simplified and the map rendered
(about two seconds for Hauts-de-France, on top of the browser's own work). At start, a background
thread fills the same shared caches the pages read (``components.state``, ``components.maps``),
with the same keys, for the demo and the most recently changed workspaces: their default région,
the coverage map as it opens and the projection mode's map screens.

Nothing here changes what a page shows: a person who arrives first simply finds the work done, or
waits for the computation under way (a cache computes a key once, whoever asks). A failure is
logged and ignored: the page computes again and shows its own French message.
"""

from __future__ import annotations

import logging
import threading
import time

from components import maps, state
from components import presentation as P
from data.store import workspaces
from views import palette

LOG = logging.getLogger("diagnostic.warmup")
THREAD_NAME = "diag-warmup"
RECENT = 3  # workspaces warmed beside the demo (the caches keep 6 datasets, 24 maps)
_started = threading.Event()


def _quiet_bare_mode() -> None:
    """Streamlit warns, for each cached call outside a page, that the thread has no script context;
    this thread is meant to have none."""

    class _NotWarmup(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return not (record.threadName == THREAD_NAME and "ScriptRunContext" in record.getMessage())

    for name in ("streamlit.runtime.scriptrunner_utils.script_run_context",
                 "streamlit.runtime.caching.cache_data_api", "streamlit.runtime.state.session_state_proxy"):
        logging.getLogger(name).addFilter(_NotWarmup())


def targets(limit: int = RECENT) -> list[str]:
    """The workspaces to warm: the demo (where a session opens), then the last ``limit`` changed."""
    spaces = workspaces.list_workspaces()
    others = sorted((w for w in spaces if w.slug != workspaces.DEMO), key=lambda w: w.changed, reverse=True)
    return [w.slug for w in spaces if w.slug == workspaces.DEMO] + [w.slug for w in others[:limit]]


def warm_workspace(slug: str) -> int:
    """Fill the caches a session on ``slug`` reads first; the number of maps prepared."""
    stamp = workspaces.stamp(slug)
    ds = state._dataset(stamp)
    if not ds.has("communes"):
        return 0
    region = ds.default_region
    result = state._result(stamp, region)
    layers = state._layers(stamp, region)
    if not layers.drawable:
        return 0
    structures = result.diagnosis.structures
    colours = palette.structure_colours(structures["id_structure"].tolist())
    drawn = 0

    def draw(key: str, widget_key: str, returned: tuple, show: dict[str, bool], wall: bool = False) -> None:
        nonlocal drawn
        maps.cached_parts(key, widget_key, returned,
                          lambda: maps.coverage_map(layers, structures, colours, show=show, basemap=False, wall=wall))
        drawn += 1

    shown = set(maps.carte_default_layers(not ds.has("facilitateurs")))
    carte = {k: k in shown for k in maps.LAYER_LABELS}
    draw(maps.map_key("carte", stamp, region, carte), maps.CARTE_KEY, maps.CARTE_RETURNED, carte)
    for n, show in P.MAP_SCREENS.items():
        draw(maps.map_key("presentation", stamp, region, show, screen=n), f"presentation.carte.{n}", (), show,
             wall=True)
    return drawn


def warm(limit: int = RECENT) -> dict[str, float]:
    """Warm the demo and the ``limit`` most recent workspaces; seconds spent on each."""
    spent: dict[str, float] = {}
    try:
        slugs = targets(limit)
    except Exception:  # an unreadable store: the pages say so themselves
        LOG.exception("préchauffage : lecture de la liste des espaces")
        return spent
    for slug in slugs:
        t = time.perf_counter()
        try:
            warm_workspace(slug)
        except Exception:
            LOG.exception("préchauffage de l'espace %s", slug)
        spent[slug] = time.perf_counter() - t
    LOG.info("préchauffage terminé : %s", ", ".join(f"{k} {v:.1f} s" for k, v in spent.items()))
    return spent


def _when_served(limit: int, wait_s: float = 120.0) -> None:
    """Warm once Streamlit's runtime exists: a custom component (the map's, streamlit-folium) is
    registered with the runtime when its module is first imported; imported earlier, the server
    would not know it and every map would stay blank."""
    from streamlit import runtime

    deadline = time.monotonic() + wait_s
    while not runtime.exists():
        if time.monotonic() > deadline:
            LOG.warning("préchauffage abandonné : le serveur n'a pas démarré")
            return
        time.sleep(0.05)
    warm(limit)


def start(limit: int = RECENT) -> bool:
    """Start the warm-up in a background thread, once per process; False if it already was.

    Called before ``streamlit run`` starts its server (``cli.py serve``): the thread waits for the
    server's runtime, then fills the caches while the server answers."""
    if _started.is_set():
        return False
    _started.set()
    _quiet_bare_mode()
    threading.Thread(target=_when_served, args=(limit,), name=THREAD_NAME, daemon=True).start()
    return True
