"""Markets of a file that covers more than the région: which ones positively lie elsewhere.

DOMAIN.md, "Markets of a file that covers more than the région": a market is dropped only when
its place positively designates a territory outside the région (a commune, postal code, canton
or arrondissement whose département belongs to another région; another région's département;
another région; another country). Every other market is kept: places in the région, and places
that designate no known territory (``99999``, ``00000``, ``7A001``, a canton or an arrondissement
of the région), which the classification then calls ``non_localisable`` with their reason.

Pure functions on raw codes, before any expansion: a national file of millions of rows is cut
down before anything heavy is done. One rule for every market format (table, DECP JSON, DECP
tabular).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

# Départements of the COG and their région (2016 régions; stable since).
DEP_REGION: dict[str, str] = {
    **{d: "84" for d in ("01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74")},
    **{d: "32" for d in ("02", "59", "60", "62", "80")},
    **{d: "93" for d in ("04", "05", "06", "13", "83", "84")},
    **{d: "44" for d in ("08", "10", "51", "52", "54", "55", "57", "67", "68", "88")},
    **{d: "76" for d in ("09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82")},
    **{d: "28" for d in ("14", "27", "50", "61", "76")},
    **{d: "75" for d in ("16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87")},
    **{d: "24" for d in ("18", "28", "36", "37", "41", "45")},
    **{d: "27" for d in ("21", "25", "39", "58", "70", "71", "89", "90")},
    **{d: "53" for d in ("22", "29", "35", "56")},
    **{d: "94" for d in ("2A", "2B")},
    **{d: "52" for d in ("44", "49", "53", "72", "85")},
    **{d: "11" for d in ("75", "77", "78", "91", "92", "93", "94", "95")},
    "971": "01", "972": "02", "973": "03", "974": "04", "976": "06",
}
REGIONS = frozenset(DEP_REGION.values())
FRANCE = {"FR", "FRA", "FRANCE"}
COUNTRY_RE = re.compile(r"^[A-Z]{2,3}$")

# Why a market was dropped, by kind of place (for the report).
DROP_LABELS = {
    "commune": "commune d'une autre région",
    "code_postal": "code postal d'une autre région",
    "canton": "canton d'une autre région",
    "arrondissement": "arrondissement d'une autre région",
    "departement": "département d'une autre région",
    "region": "autre région",
    "pays": "autre pays",
}


def dep_of_place(place_type: str, code: str) -> str:
    """The département a commune, postal code, canton or arrondissement code starts with ("" if none).

    >>> dep_of_place("commune", "2A004"), dep_of_place("code_postal", "20000"), dep_of_place("canton", "9741")
    ('2A', '2A', '974')
    """
    code = code.strip().upper()
    if place_type == "code_postal":
        if not re.fullmatch(r"\d{5}", code):
            return ""
        if code.startswith("20"):  # Corsica's postal codes: 200xx-201xx Corse-du-Sud, 202xx-206xx Haute-Corse
            return "2A" if code[2] in "01" else "2B"
        return code[:3] if code.startswith("97") else code[:2]
    if place_type in ("commune", "canton", "arrondissement"):
        return code[:3] if code.startswith("97") else code[:2]
    return ""


def place_region(place_type: str, code: str, dep_region: dict[str, str]) -> str:
    """The région a single raw place code positively designates, ``"FR"`` for France, or ``""``."""
    code = code.strip().upper()
    if not code:
        return ""
    if place_type == "region":
        c = code.zfill(2) if code.isdigit() else code
        return c if c in REGIONS or c in dep_region.values() else ""
    if place_type == "pays":
        if code in FRANCE:
            return "FR"
        return "ETRANGER" if COUNTRY_RE.match(code) else ""
    if place_type == "departement":
        c = code.zfill(2) if code.isdigit() and len(code) < 2 else code
        return dep_region.get(c, "")
    width = {"commune": 5, "code_postal": 5, "canton": None, "arrondissement": None}
    if place_type not in width:
        return ""
    if place_type in ("commune", "code_postal") and not re.fullmatch(r"(\d{5}|2[AB]\d{3})", code):
        return ""
    if place_type == "canton" and not re.fullmatch(r"(\d{2}|2[AB])\d{2}|97\d\d{2}", code):
        return ""
    if place_type == "arrondissement" and not re.fullmatch(r"(\d{2}|2[AB])\d|97\d\d", code):
        return ""
    return dep_region.get(dep_of_place(place_type, code), "")


def outside_region(place_types: pd.Series, place_codes: pd.Series, region: str,
                   dep_region: dict[str, str] | None = None) -> tuple[np.ndarray, pd.Series]:
    """Which markets positively lie outside ``region``, and why.

    Parameters
    ----------
    place_types : normalised place types (``commune``, ``code_postal``, ``canton``...)
    place_codes : raw codes, several separated by ``;``
    region : the région studied
    dep_region : the référentiel's own départements and régions, which win over the national table
        (the demo's fictitious codes, a référentiel of another vintage)

    Returns
    -------
    (dropped, reason)
        a boolean mask, and the label of the reason for dropped rows (``""`` elsewhere). A market
        with several codes is dropped only when every one of them lies in another région.
    """
    table = {**DEP_REGION, **(dep_region or {})}
    types = place_types.fillna("").astype(str).to_numpy()
    codes = place_codes.fillna("").astype(str).to_numpy()
    keys, uniques = pd.factorize(pd.Series(types, dtype=object) + "|" + pd.Series(codes, dtype=object))
    verdict = np.zeros(len(uniques), dtype=bool)
    for k, key in enumerate(uniques):
        t, c = key.split("|", 1)
        parts = [x for x in re.split(r"[;|]", c) if x.strip()]
        regs = [place_region(t, p, table) for p in parts]
        verdict[k] = bool(regs) and all(r and r != str(region) and r != "FR" for r in regs)
    dropped = verdict[keys] if len(keys) else np.zeros(0, dtype=bool)
    reason = pd.Series(np.where(dropped, pd.Series(types).map(DROP_LABELS).fillna("autre territoire"), ""),
                       index=place_types.index)
    return dropped, reason
