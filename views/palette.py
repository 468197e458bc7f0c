"""The colours of the diagnosis, the same on the screens, the wall and the documents.

Colour-blind-safe palettes for the areas: Okabe-Ito, then Paul Tol's "muted" (yellows left out:
they are the QPV's). QPV statuses differ by lightness too: white, yellow, dark red, black outline.
A market's coverage class keeps its colour from one screen, slide or page to another.
"""

from __future__ import annotations

PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00",
           "#332288", "#117733", "#882255", "#44AA99", "#999933", "#AA4499", "#88CCEE"]
QPV_COLOURS = {"couvert": "#FFFFFF", "partiel": "#FFD400", "non couvert": "#B2182B"}
BLANCHE = "#3A3A3A"  # zones blanches: communes no facilitator covers
MARIANNE = "#000091"  # the State's blue: titles, key figures, the région's bars
CLASS_COLOURS = {"couvert": "#0072B2", "multi_facilitateurs": "#CC79A7", "partiellement_couvert": "#E69F00",
                 "hors_couverture": "#B2182B", "non_localisable": "#7F7F7F"}


def structure_colours(ids: list[str]) -> dict[str, str]:
    """Each structure's colour, in the order of ``ids`` (the palette repeats past 13 structures)."""
    return {sid: PALETTE[i % len(PALETTE)] for i, sid in enumerate(ids)}
# inclusion structures by type: the SIAE in blues and greens, GEIQ orange, the disability sector in purples
INCLUSION_COLOURS = {"EI": "#0072B2", "ETTI": "#56B4E9", "AI": "#009E73", "ACI": "#117733", "EITI": "#44AA99",
                     "GEIQ": "#E69F00", "EA": "#CC79A7", "EATT": "#AA4499", "ESAT": "#882255", "Autre": "#7F7F7F"}
# zones d'emploi by social markets per ETP present, against the région's median (geo.needs.ze_class)
NEEDS_COLOURS = {"tres_eleve": "#B2182B", "eleve": "#EF8A62", "moyen": "#F7F7F7", "faible": "#67A9CF",
                 "sans_etp": "#9E9E9E"}
