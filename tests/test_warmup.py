"""The server's warm-up (components.warmup): the maps a meeting opens first are ready before anyone asks."""

import pytest
from streamlit.testing.v1 import AppTest

from components import maps, state, warmup
from components.presentation import MAP_SCREENS
from tests.test_pages import APP, failed, open_page, save_workspace


def _refuse(*args, **kwargs):
    raise AssertionError("la carte a été recalculée par la page")


@pytest.fixture
def cold():
    """A server that has drawn nothing yet."""
    for cache in (maps._cached_parts, state._layers, state._result, state._dataset, state._prepared):
        cache.clear()
    yield
    maps._cached_parts.clear()


def test_warm_workspace_prepares_the_coverage_map_as_it_opens(cold, monkeypatch):
    assert warmup.warm_workspace("demo") == 1 + len(MAP_SCREENS)  # the page's map, the projection's
    monkeypatch.setattr(maps, "coverage_map", _refuse)
    at = open_page("app_pages/carte_facilitateurs.py")
    assert not failed(at), failed(at)  # the page found its map: it did not build it
    maps._cached_parts.clear()
    at = open_page("app_pages/carte_facilitateurs.py")
    assert failed(at)  # the control: without the warm-up, the same page builds its map


@pytest.mark.parametrize("screen", sorted(MAP_SCREENS))
def test_warm_workspace_prepares_the_projection_maps(cold, monkeypatch, screen):
    warmup.warm_workspace("demo")
    monkeypatch.setattr(maps, "coverage_map", _refuse)
    at = AppTest.from_file(APP, default_timeout=180)
    at.query_params["ecran"] = str(screen)
    at.run()
    at.switch_page("app_pages/presentation.py").run()
    assert not failed(at), failed(at)
    assert at.query_params["ecran"] == [str(screen)] or at.query_params["ecran"] == str(screen)


def test_targets_are_the_demo_and_the_most_recently_changed(demo_ds, monkeypatch, tmp_path):
    from data.store import workspaces

    monkeypatch.setenv("DIAG_DONNEES", str(tmp_path))  # a store of its own: only these four workspaces
    made = []
    for i in range(warmup.RECENT + 1):  # one a day, the oldest first
        monkeypatch.setattr(workspaces, "_now", lambda i=i: f"2026-11-{10 + i}T09:00:00")
        made.append(save_workspace(f"Préchauffage {i}", demo_ds))
    chosen = warmup.targets()
    assert chosen[0] == "demo"
    assert chosen[1:] == made[::-1][:warmup.RECENT]  # the oldest of the four is left to its first visitor


def test_a_failing_workspace_does_not_stop_the_others(cold, monkeypatch):
    real = warmup.warm_workspace

    def failing(slug):
        if slug == "demo":
            raise OSError("disque illisible")
        return real(slug)

    monkeypatch.setattr(warmup, "targets", lambda limit=warmup.RECENT: ["demo", "demo-bis"])
    seen = []
    monkeypatch.setattr(warmup, "warm_workspace", lambda slug: seen.append(slug) or failing(slug))
    spent = warmup.warm()
    assert seen == ["demo", "demo-bis"] and set(spent) == {"demo", "demo-bis"}
