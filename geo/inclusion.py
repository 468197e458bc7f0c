"""Inclusion structures (SIAE, GEIQ, EA/EATT, ESAT): their types, where they are, and the cut of a
national file to the région (DOMAIN.md, « Needs and offer » and « Structures de l'inclusion »).

An inclusion structure is *located* in the commune of its ``code_commune`` when the référentiel holds
it, else in the commune whose outline holds its coordinates, else (le marché de l'inclusion's list,
which gives neither) in the commune its postal code and town name designate; otherwise it is
*unlocated*: kept, listed with the reason. A national file is cut to the région by the markets' rule:
a row is dropped only when it positively lies in another région (its commune, postal code or
département belongs to one), and counted.

Pure functions on arrays and frames; no Streamlit, no file format. Coordinates in EPSG:2154.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from geo.codes import as_text, fold
from geo.places import DEP_REGION, place_region
from geo.territory import Referentiel

# The types of DOMAIN.md, in the order every table and legend shows them; anything else is « Autre ».
SIAE_TYPES = ("EI", "ETTI", "AI", "ACI", "EITI")
INCLUSION_TYPES = SIAE_TYPES + ("GEIQ", "EA", "EATT", "ESAT")
OTHER = "Autre"
ALL_TYPES = INCLUSION_TYPES + (OTHER,)
TYPE_LABELS = {
    "EI": "Entreprise d'insertion (EI)",
    "ETTI": "Entreprise de travail temporaire d'insertion (ETTI)",
    "AI": "Association intermédiaire (AI)",
    "ACI": "Atelier et chantier d'insertion (ACI)",
    "EITI": "Entreprise d'insertion par le travail indépendant (EITI)",
    "GEIQ": "Groupement d'employeurs pour l'insertion et la qualification (GEIQ)",
    "EA": "Entreprise adaptée (EA)",
    "EATT": "Entreprise adaptée de travail temporaire (EATT)",
    "ESAT": "Établissement et service d'accompagnement par le travail (ESAT)",
    OTHER: "Autre structure",
}
# the families a sentence names (« 47 SIAE et 3 ESAT »): (label singular, label plural, types)
FAMILIES = (("SIAE", "SIAE", SIAE_TYPES), ("GEIQ", "GEIQ", ("GEIQ",)),
            ("entreprise adaptée", "entreprises adaptées", ("EA", "EATT")), ("ESAT", "ESAT", ("ESAT",)),
            ("autre structure", "autres structures", (OTHER,)))

# how a structure was located
BY_CODE, BY_POINT, BY_POSTCODE = "code commune", "coordonnées", "code postal et ville"


def type_index(types: pd.Series) -> np.ndarray:
    """The position of each structure's type in :data:`ALL_TYPES` (« Autre » for anything else)."""
    pos = {t: i for i, t in enumerate(ALL_TYPES)}
    return as_text(types).map(lambda t: pos.get(t, len(ALL_TYPES) - 1)).to_numpy(dtype=np.int64)


def _strtree_locate(points: np.ndarray, geoms: np.ndarray) -> np.ndarray:
    """For each point (EPSG:2154), the index of the outline that holds it, -1 when none does."""
    out = np.full(len(points), -1, dtype=np.int64)
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms) if len(geoms) else np.zeros(0, bool)
    if not len(points) or not present.any():
        return out
    tree = shapely.STRtree(geoms[present])
    pts, owners = tree.query(points, predicate="within")
    if len(pts):
        first = np.unique(pts, return_index=True)[1]
        out[pts[first]] = np.flatnonzero(present)[owners[first]]
    return out


def locate(ref: Referentiel, codes: pd.Series, postcodes: pd.Series, towns: pd.Series, x: np.ndarray,
           y: np.ndarray, commune_geoms: np.ndarray | None = None,
           commune_names: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each structure is: the index of its commune in ``ref`` (-1 unlocated), how it was found and,
    for the unlocated ones, why (French).

    Parameters
    ----------
    ref : the workspace's référentiel
    codes, postcodes, towns : the structures' commune codes, postal codes and town names, as written
    x, y : coordinates in EPSG:2154 (NaN when unknown)
    commune_geoms : the référentiel's outlines (EPSG:2154), aligned with ``ref``; ``None`` without
    commune_names : the référentiel's commune names (for a postal code shared by several communes)
    """
    n = len(codes)
    idx = np.full(n, -1, dtype=np.int64)
    how = np.full(n, "", dtype=object)
    why = np.full(n, "", dtype=object)
    code_text = as_text(codes).to_numpy(dtype=object)
    com = ref.by.get("COM", {})
    # 1. the commune code, once per distinct code
    keys, uniques = pd.factorize(pd.Series(code_text, dtype=object))
    found = np.array([(lambda a: int(a[0]) if a is not None and len(a) else -1)(
        ref.expand("commune", c) if c else None) for c in uniques], dtype=np.int64)
    by_code = found[keys] if n else np.zeros(0, dtype=np.int64)
    idx[by_code >= 0] = by_code[by_code >= 0]
    how[by_code >= 0] = BY_CODE
    # 2. the coordinates, in the outlines of the référentiel
    todo = idx < 0
    has_xy = todo & ~np.isnan(np.asarray(x, dtype=float)) & ~np.isnan(np.asarray(y, dtype=float))
    if has_xy.any() and commune_geoms is not None and len(commune_geoms) == len(ref):
        where = _strtree_locate(shapely.points(np.asarray(x, float)[has_xy], np.asarray(y, float)[has_xy]),
                                np.asarray(commune_geoms, dtype=object))
        rows = np.flatnonzero(has_xy)
        hit = where >= 0
        idx[rows[hit]] = where[hit]
        how[rows[hit]] = BY_POINT
    # 3. the postal code and the town's name (le marché de l'inclusion's list)
    todo = idx < 0
    cp_text = as_text(postcodes).to_numpy(dtype=object)
    town_text = as_text(towns).to_numpy(dtype=object)
    cps = ref.by.get("CP", {})
    names = np.asarray(commune_names, dtype=object) if commune_names is not None else None
    memo: dict[tuple[str, str], tuple[int, str]] = {}
    for i in np.flatnonzero(todo & (cp_text != "")):
        key = (cp_text[i], fold(town_text[i]))
        if key not in memo:
            memo[key] = _by_postcode(cps.get(cp_text[i]), key[1], cp_text[i], town_text[i], names)
        idx[i], reason = memo[key]
        if idx[i] >= 0:
            how[i] = BY_POSTCODE
        else:
            why[i] = reason
    # why the others are not located
    for i in np.flatnonzero((idx < 0) & (why == "")):
        if code_text[i]:
            why[i] = f"commune {code_text[i]} absente du référentiel de l'espace"
        elif has_xy[i]:
            why[i] = "coordonnées hors des communes du référentiel"
        else:
            why[i] = "ni code commune, ni coordonnées, ni code postal"
    if len(com) == 0:
        why[idx < 0] = "aucun référentiel des communes"
    return idx, how, why


def _by_postcode(candidates, town: str, cp: str, town_written: str, names) -> tuple[int, str]:
    if candidates is None or not len(candidates):
        return -1, f"code postal {cp} inconnu du référentiel de l'espace"
    if len(candidates) == 1:
        return int(candidates[0]), ""
    if names is not None and town:
        same = [int(c) for c in candidates if fold(names[int(c)]) == town]
        if len(same) == 1:
            return same[0], ""
    shown = f"« {town_written} »" if town_written else "sans nom de ville"
    return -1, f"ville {shown} introuvable parmi les {len(candidates)} communes du code postal {cp}"


def outside_region(ref: Referentiel, located: np.ndarray, codes: pd.Series, postcodes: pd.Series,
                   departements: pd.Series, region: str, dep_region: dict[str, str] | None = None,
                   point_regions: list[str] | np.ndarray | None = None) -> np.ndarray:
    """Which structures positively lie in another région than ``region``: located in a commune of
    another région, or unlocated with a commune code, a postal code or a département of another one,
    or, with none of these, with coordinates in another région (``point_regions``: the région of each
    structure's point, ``""`` when unknown, for instance from the national outlines).

    An unlocated structure whose codes and coordinates designate no known territory is not dropped: it
    is kept and listed (DOMAIN.md: dropped only when located in another région)."""
    table = {**DEP_REGION, **(dep_region or {})}
    out = np.zeros(len(located), dtype=bool)
    here = located >= 0
    if here.any():
        out[here] = ref.reg[located[here]] != str(region)
    rest = np.flatnonzero(~here)
    if not len(rest):
        return out
    code_text = as_text(codes).to_numpy(dtype=object)
    cp_text = as_text(postcodes).to_numpy(dtype=object)
    dep_text = as_text(departements).to_numpy(dtype=object)
    memo: dict[tuple, str] = {}  # the région the codes designate, "" when none
    for i in rest:
        key = (code_text[i], cp_text[i], dep_text[i])
        if key not in memo:
            reg = ""
            for place_type, code in (("commune", key[0]), ("code_postal", key[1]), ("departement", key[2])):
                if code:
                    reg = place_region(place_type, code, table)
                    if reg:
                        break
            memo[key] = reg
        reg = memo[key] or (str(point_regions[i]) if point_regions is not None else "")
        out[i] = bool(reg) and reg not in (str(region), "FR")
    return out


def commune_type_counts(n_communes: int, located: np.ndarray, types: np.ndarray) -> np.ndarray:
    """(communes x types) the number of structures of each type located in each commune."""
    out = np.zeros((n_communes, len(ALL_TYPES)), dtype=np.int64)
    ok = located >= 0
    np.add.at(out, (located[ok], types[ok]), 1)
    return out


def by_type(counts: np.ndarray) -> dict[str, int]:
    """A row of type counts as ``{type: n}`` (every type, zeros included)."""
    return {t: int(v) for t, v in zip(ALL_TYPES, counts)}


def families_sentence(counts: dict[str, int], where: str) -> str:
    """« 47 SIAE et 3 ESAT dans des communes qu'aucun facilitateur ne couvre » (zero families left out;
    « aucune structure de l'inclusion » when every count is zero)."""
    parts = []
    for singular, plural, types in FAMILIES:
        n = sum(int(counts.get(t, 0)) for t in types)
        if n:
            parts.append(f"{n:,}".replace(",", "\u202f") + " " + (singular if n < 2 else plural))
    if not parts:
        return f"aucune structure de l'inclusion {where}"
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " et " + parts[-1]
    return f"{text} {where}"
