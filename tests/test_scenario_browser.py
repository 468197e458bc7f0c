"""The Scénarios page in Debian's Chromium at 1280×720, on a real région (Hauts-de-France from the shipped
référentiel): create a scenario, click three communes of a zone blanche into a structure's area and see the
figures and the map of the change follow, adopt it and compare two versions, and the « Proposition » screen of the
presentation mode fitting the wall."""

from __future__ import annotations

import os
import re

import pytest

from tests.conftest import ARTIFACTS
from tests.streamlit_server import serve
from tests.test_projection import (OVERFLOW_JS, TOLERANCE, WALL, Room, browser, folium_frame,  # noqa: F401 (browser: the suite's fixture)
                                   needs_chromium, settle)
from views.palette import BLANCHE
from views.proposition import CHANGE_COLOURS

STORE: dict[str, str] = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from data import referentiel

    if not referentiel.available():
        pytest.skip("référentiel officiel absent : pas de région réelle")
    STORE["dir"] = str(tmp_path_factory.mktemp("store_scenarios"))
    env = {**os.environ, "DIAG_DONNEES": STORE["dir"]}
    old = os.environ.get("DIAG_DONNEES")
    os.environ["DIAG_DONNEES"] = STORE["dir"]
    try:
        from data.demo import network

        STORE["slug"] = network.workspace("Hauts-de-France 2026", "32", n_markets=150)
    finally:
        if old is None:
            os.environ.pop("DIAG_DONNEES", None)
        else:
            os.environ["DIAG_DONNEES"] = old
    with serve(env, "streamlit_scenarios.log") as url:
        yield url


def figure(page, label: str) -> str:
    """The value of one of the page's four key figures (« Zones blanches (communes) » → « 251 »)."""
    box = page.locator(".sc-fig", has_text=label).first
    return box.locator(".sc-value").inner_text().strip()


def wait_rerun(page):
    page.wait_for_timeout(400)
    page.wait_for_function("!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    page.wait_for_timeout(700)


@needs_chromium
def test_create_click_three_communes_adopt_and_compare(server, browser):
    room = Room(browser, "1280x720")
    page = room.page
    slug = STORE["slug"]
    page.goto(f"{server}/scenarios?espace={slug}&region=32")
    settle(page)
    main = page.locator('[data-testid="stMain"]')
    main.get_by_role("button", name="Nouveau").click()
    page.get_by_label("Nom du scénario").fill("Trois communes")
    page.get_by_role("button", name="Créer le scénario").click()
    wait_rerun(page)
    settle(page, map_frame=True)
    assert "scenario=trois-communes" in page.url  # the new scenario chosen, and in the address
    blanches = int(figure(page, "Zones blanches").replace("\u202f", ""))
    covered = figure(page, "Population couverte")
    frame = folium_frame(page)
    frame.locator(f'path[fill="{BLANCHE}"]').first.wait_for(state="attached", timeout=60_000)
    clicked = []
    for _ in range(3):
        target = frame.locator(f'path[fill="{BLANCHE}"]').first  # a zone blanche, painted dark
        target.dispatch_event("click")
        wait_rerun(page)
        clicked.append(int(figure(page, "Zones blanches").replace("\u202f", "")))
    page.screenshot(path=str(ARTIFACTS / "scenarios_trois_communes.png"))
    assert clicked == [blanches - 1, blanches - 2, blanches - 3], (blanches, clicked)
    assert figure(page, "Population couverte") != covered
    assert "+3" not in figure(page, "Zones blanches")
    # the map of the change: the three communes that gain their coverage
    page.get_by_role("tab", name="Avant / après").click()
    wait_rerun(page)
    settle(page, map_frame=True)
    frames = [f for f in page.frames if "streamlit_folium" in f.url]
    painted = max(f.locator(f'path[fill="{CHANGE_COLOURS["gagne"]}"]').count() for f in frames)
    assert painted == 3, painted
    page.screenshot(path=str(ARTIFACTS / "scenarios_avant_apres.png"))
    # adopt it, then compare the two versions of the facilitators
    page.get_by_role("tab", name="Opérations et export").click()
    wait_rerun(page)
    main.get_by_text("Adopter ce scénario").click()
    main.get_by_text("Je confirme l'adoption").click()
    wait_rerun(page)
    page.get_by_role("button", name="Adopter", exact=True).click()
    wait_rerun(page)
    page.get_by_text("Scénario adopté : version 4").first.wait_for(timeout=15_000)  # its toast
    page.goto(f"{server}/scenarios?espace={slug}&region=32&comparer=3~4")
    settle(page)
    page.get_by_role("tab", name="Comparer deux états").click()
    wait_rerun(page)
    text = main.inner_text()
    assert re.search(r"0 structure créée, 0 supprimée, 1 modifiée", text), text[:600]
    page.screenshot(path=str(ARTIFACTS / "scenarios_comparer_versions.png"))
    assert not room.external, room.external
    room.close()


@needs_chromium
@pytest.mark.parametrize("size", list(WALL))
def test_the_proposition_screen_fits_the_wall(server, browser, size, monkeypatch):
    from data.store import scenarios as sc

    monkeypatch.setenv("DIAG_DONNEES", STORE["dir"])
    record = sc.list_all(STORE["slug"])[0]
    room = Room(browser, size)
    page = room.page
    width, height = WALL[size]
    page.goto(f"{server}/presentation?espace={STORE['slug']}&region=32&ecran=7&scenario={record['slug']}")
    settle(page, map_frame=True)
    page.screenshot(path=str(ARTIFACTS / f"presentation_proposition_{size}.png"))
    assert page.locator(".diag-p-title").inner_text() == "Proposition d'évolution du réseau"
    assert page.locator(".diag-p-count").inner_text() == "7 / 7"
    box = page.evaluate(OVERFLOW_JS)
    assert box["doc"] <= height + TOLERANCE and box["main"] <= box["mainClient"] + TOLERANCE, box
    values = page.locator(".diag-p-value").all_inner_texts()
    assert len(values) == 4
    legend = page.locator(".diag-p-legend").first.bounding_box()
    assert legend["y"] + legend["height"] <= height + TOLERANCE and legend["x"] + legend["width"] <= width + TOLERANCE
    room.close()
