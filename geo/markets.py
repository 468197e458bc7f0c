"""Classification of markets against the facilitators' areas (DOMAIN.md, "a market m").

``hors_couverture``: no commune of L(m) covered; ``partiellement_couvert``: some are;
``multi_facilitateurs``: all are, but no single E(s) contains L(m); ``couvert``: one E(s)
contains L(m); ``non_localisable``: the place resolves to no commune. Independently, ``regional``
when the place is a département, a région, a country, or spans two départements or more.

Coverage is decided once per distinct place (type + codes), not once per market: a million
markets use a few thousand distinct places.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from geo.diagnosis import Coverage
from geo.territory import UNRESOLVABLE_TYPES, Referentiel

COUVERT = "couvert"
MULTI = "multi_facilitateurs"
PARTIEL = "partiellement_couvert"
HORS = "hors_couverture"
NON_LOCALISABLE = "non_localisable"
CLASSES = (COUVERT, MULTI, PARTIEL, HORS, NON_LOCALISABLE)
CLASS_LABELS = {COUVERT: "Couvert", MULTI: "Plusieurs facilitateurs", PARTIEL: "Partiellement couvert",
                HORS: "Hors couverture", NON_LOCALISABLE: "Non localisable"}
REGIONAL_TYPES = {"departement", "region", "pays"}
UNKNOWN_LABEL = {"commune": "commune inconnue", "code_postal": "code postal inconnu",
                 "departement": "département inconnu", "region": "région inconnue", "pays": "pays inconnu"}


# The social considerations that put a market in the diagnosis (DOMAIN.md, « Marchés »); anything else
# in the column (« Pas de considération sociale », « Sans objet », older spellings kept by an earlier
# import) means none.
SOCIAL_CONSIDERATIONS = ("Clause sociale", "Critère social", "Marché réservé")


def _is_social(cell: str) -> bool:
    return any(item.strip() in SOCIAL_CONSIDERATIONS for item in cell.split(";"))


def has_social_consideration(values: pd.Series) -> np.ndarray:
    """For each market, whether one of its ``;``-separated considerations is a social one.

    Decided once per distinct cell (a million markets hold a few dozen)."""
    s = values.fillna("").astype(str)
    distinct = pd.unique(s.to_numpy())
    return s.map({cell: _is_social(cell) for cell in distinct}).to_numpy(dtype=bool)


def unlocatable(ref: Referentiel, place_type: str, codes: list[str]) -> str | None:
    """Why a place (type + codes) designates no commune of the référentiel, ``None`` when it does."""
    if place_type in UNRESOLVABLE_TYPES:
        return UNRESOLVABLE_TYPES[place_type]
    idx, _ = ref.expand_many(place_type, codes)
    if len(idx) == 0:
        what = UNKNOWN_LABEL.get(place_type, f"type de lieu « {place_type} » inconnu")
        return f"{what} ({', '.join(codes) or 'vide'})"
    return None


def unlocatable_markets(ref: Referentiel, lieu_type: pd.Series, lieu_code: pd.Series) -> pd.Series:
    """For each market, why its place cannot be located (``""`` when it can); once per distinct place."""
    keys = lieu_type.fillna("").astype(str) + "|" + lieu_code.fillna("").astype(str)
    reasons = {}
    for key in pd.unique(keys.to_numpy()):
        t, c = key.split("|", 1)
        reasons[key] = unlocatable(ref, t, [x for x in c.split(";") if x]) or ""
    return keys.map(reasons)


def classify_place(ref: Referentiel, cov: Coverage, covered: np.ndarray, place_type: str,
                   codes: list[str], names: np.ndarray) -> dict:
    """Classification of one place (type + codes); ``names`` are the structures' names."""
    reason = unlocatable(ref, place_type, codes)
    if reason is not None:
        return {"couverture": NON_LOCALISABLE, "regional": False if place_type in UNRESOLVABLE_TYPES
                else place_type in REGIONAL_TYPES, "nb_communes": 0, "nb_aires": 0, "raison": reason,
                "structure": ""}
    idx, unknown = ref.expand_many(place_type, codes)
    n = len(idx)
    n_cov = int(covered[idx].sum())
    sub = cov.membership[:, idx]
    touching = sub.any(axis=1)
    containing = np.flatnonzero(sub.all(axis=1))
    regional = place_type in REGIONAL_TYPES or len(np.unique(ref.dep[idx])) >= 2
    structure = ""
    if n_cov == 0:
        cls = HORS
        raison = "commune hors de toute aire" if n == 1 else f"aucune des {n:,} communes dans une aire".replace(
            ",", "\u202f")
    elif n_cov < n:
        cls = PARTIEL
        out = n - n_cov
        raison = (f"{out:,} {'communes' if out >= 2 else 'commune'} sur {n:,} hors de toute aire"
                  .replace(",", "\u202f"))
    elif len(containing):
        cls = COUVERT
        structure = str(cov.structure_ids[containing[0]])
        raison = f"dans l'aire de {names[containing[0]]}"
    else:
        cls = MULTI
        raison = f"s'étend sur {int(touching.sum())} aires de facilitateurs"
    if unknown:
        raison += (f" ; {'codes ignorés, inconnus' if len(unknown) >= 2 else 'code ignoré, inconnu'} : "
                   f"{', '.join(unknown)}")
    return {"couverture": cls, "regional": bool(regional), "nb_communes": n, "nb_aires": int(touching.sum()),
            "raison": raison, "structure": structure}


def classify_markets(ref: Referentiel, cov: Coverage, marches: pd.DataFrame,
                     structure_names: list[str] | None = None) -> pd.DataFrame:
    """One row per market: ``avec_consideration_sociale``, ``couverture``, ``regional``, ``raison``...

    Markets without a social consideration are counted but not classified (empty ``couverture``).
    """
    names = np.array(structure_names if structure_names is not None else cov.structure_ids, dtype=object)
    covered = cov.covered
    social = has_social_consideration(marches["considerations_sociales"]) if len(marches) else np.zeros(0, bool)
    types = marches["lieu_type"].fillna("").astype(str).to_numpy()
    codes = marches["lieu_code"].fillna("").astype(str).to_numpy()
    keys = pd.Series(types, dtype=object) + "|" + pd.Series(codes, dtype=object)
    codes_k, uniques = pd.factorize(keys[social] if len(keys) else keys)
    results = []
    for key in uniques:
        t, c = key.split("|", 1)
        parts = [x.strip() for x in re.split(r"[;|]", c) if x.strip()]
        results.append(classify_place(ref, cov, covered, t, parts, names))
    res = pd.DataFrame(results, columns=["couverture", "regional", "nb_communes", "nb_aires", "raison",
                                         "structure"])
    out = pd.DataFrame({"id_marche": marches["id_marche"].astype(str).to_numpy(),
                        "avec_consideration_sociale": social})
    for col, empty in (("couverture", ""), ("regional", False), ("nb_communes", 0), ("nb_aires", 0),
                       ("raison", ""), ("structure", "")):
        values = np.full(len(out), empty, dtype=object)
        if len(res):
            values[social] = res[col].to_numpy(dtype=object)[codes_k]
        out[col] = values
    out["regional"] = out["regional"].astype(bool)
    out["nb_communes"] = out["nb_communes"].astype(np.int64)
    out["nb_aires"] = out["nb_aires"].astype(np.int64)
    return out


def market_summary(classified: pd.DataFrame) -> dict:
    soc = classified[classified["avec_consideration_sociale"]]
    counts = soc["couverture"].value_counts()
    return {"total": int(len(classified)), "avec_consideration_sociale": int(len(soc)),
            **{c: int(counts.get(c, 0)) for c in CLASSES}, "regional": int(soc["regional"].sum())}


def naive_classify(ref: Referentiel, cov: Coverage, marches: pd.DataFrame) -> list[str]:
    """Baseline for the benchmark: expand every market and test each commune, one by one."""
    areas = [set(np.flatnonzero(row).tolist()) for row in cov.membership]
    covered = set().union(*areas) if areas else set()
    out = []
    for t, c, cs in zip(marches["lieu_type"], marches["lieu_code"], marches["considerations_sociales"]):
        if not _is_social(str(cs or "")):
            out.append("")
            continue
        idx, _ = ref.expand_many(t, [x for x in str(c).split(";") if x])
        communes = set(idx.tolist())
        if not communes:
            out.append(NON_LOCALISABLE)
        elif not communes & covered:
            out.append(HORS)
        elif not communes <= covered:
            out.append(PARTIEL)
        elif any(communes <= a for a in areas):
            out.append(COUVERT)
        else:
            out.append(MULTI)
    return out


def place_points(ref: Referentiel, xy: np.ndarray, marches: pd.DataFrame) -> pd.DataFrame:
    """Each market placed at the mean of its place's commune points (``xy`` per commune, 4326).

    Markets whose place resolves to nothing get NaN coordinates.
    """
    types = marches["lieu_type"].fillna("").astype(str)
    codes = marches["lieu_code"].fillna("").astype(str)
    keys, uniques = pd.factorize(types + "|" + codes)
    pts = np.full((len(uniques), 2), np.nan)
    for k, key in enumerate(uniques):
        t, c = key.split("|", 1)
        idx, _ = ref.expand_many(t, [x for x in re.split(r"[;|]", c) if x.strip()]) \
            if t not in UNRESOLVABLE_TYPES else (np.empty(0, dtype=np.int64), [])
        if len(idx):
            pts[k] = np.nanmean(xy[idx], axis=0)
    out = pts[keys] if len(keys) else np.empty((0, 2))
    return pd.DataFrame({"x": out[:, 0], "y": out[:, 1]}, index=marches.index)


def amount_steps(top: float) -> list[float]:
    """Round amounts from 0 to the first at or above ``top`` (1, 2, 5 times a power of ten, from
    1 000 €): the stops of an amount filter, each written simply (« 50 k€ », « 2,0 M€ »)."""
    steps = [0.0]
    for e in range(3, 13):
        for m in (1, 2, 5):
            steps.append(float(m * 10 ** e))
            if steps[-1] >= top:
                return steps
    return steps


def filter_markets(df: pd.DataFrame, statuts=None, types_acheteur=None, montant=None, annees=None,
                   classes=None, regional: bool | None = None) -> pd.DataFrame:
    """Rows matching every given filter (``None`` or empty means no filter on that field)."""
    keep = np.ones(len(df), dtype=bool)
    if statuts:
        keep &= df["statut"].isin(statuts).to_numpy()
    if types_acheteur:
        keep &= df["type_acheteur"].isin(types_acheteur).to_numpy()
    if montant is not None:
        lo, hi = montant
        m = pd.to_numeric(df["montant_ht"], errors="coerce")
        keep &= (m.isna() | ((m >= lo) & (m <= hi))).to_numpy()
    if annees:
        keep &= df["date"].astype(str).str.slice(0, 4).isin([str(a) for a in annees]).to_numpy()
    if classes:
        keep &= df["couverture"].isin(classes).to_numpy()
    if regional is not None:
        keep &= (df["regional"].astype(bool) == regional).to_numpy()
    return df[keep]


def buyers(markets: pd.DataFrame) -> pd.DataFrame:
    """Buyers of the given markets: how many, for what amount and how many insertion hours."""
    m = markets.assign(montant=pd.to_numeric(markets["montant_ht"], errors="coerce"),
                       heures=pd.to_numeric(markets["heures_insertion"], errors="coerce"))
    out = (m.groupby(["acheteur", "type_acheteur"], dropna=False)
           .agg(marches=("id_marche", "size"), montant_ht=("montant", "sum"), heures_insertion=("heures", "sum"))
           .reset_index())
    return out.sort_values(["marches", "montant_ht"], ascending=False).reset_index(drop=True)
