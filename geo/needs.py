"""Needs against offer (fiche 3, § 3a–b, § 4, § 5), exactly as DOMAIN.md defines them (« Needs and offer »).

- A social market *touches* an area when its place L(m) meets E(s); it counts in every area it touches
  (the sum over structures may exceed the région's total). Per structure: social markets touching, their
  amount and insertion hours, distinct buyers, inclusion structures located in E(s) ∩ C, population and
  QPV residents, each per ETP (``None``, shown « – », when ETP is 0). Flag: social markets per ETP above
  twice, or below half, the median over the structures with ETP > 0.
- Per zone d'emploi z: ETP present = Σ_s ETP(s) × pop(E(s) ∩ z ∩ C) / pop(E(s) ∩ C); social markets whose
  place touches z; inclusion structures located in z.
- Potentiel inclusif of a market: the number of inclusion structures located in L(m), by type.

Everything is decided once per distinct place (a région's markets name a few thousand). Pure functions;
no Streamlit, no file format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from geo import inclusion as inc
from geo.buyers import buyer_keys
from geo.codes import as_text
from geo.markets import has_social_consideration
from geo.territory import UNRESOLVABLE_TYPES, Referentiel

HIGH, LOW = 2.0, 0.5  # the flag: above twice, or below half, the median
MARKET_COLUMNS = ("id_marche", "acheteur", "acheteur_siret", "montant_ht", "lieu_type", "lieu_code",
                  "considerations_sociales", "heures_insertion")


def place_index(ref: Referentiel, types: pd.Series, codes: pd.Series) -> tuple[np.ndarray, list[np.ndarray]]:
    """Each market's distinct place (an index into the list), and the communes of each place (empty when
    the place designates none)."""
    keys = as_text(types) + "|" + as_text(codes)
    k, uniques = pd.factorize(keys)
    places = []
    for key in uniques:
        t, c = key.split("|", 1)
        if t in UNRESOLVABLE_TYPES:
            places.append(np.empty(0, dtype=np.int64))
            continue
        idx, _ = ref.expand_many(t, [x.strip() for x in re.split(r"[;|]", c) if x.strip()])
        places.append(idx)
    return np.asarray(k, dtype=np.int64), places


@dataclass
class InclusionIndex:
    """The workspace's inclusion structures against its référentiel."""

    located: np.ndarray  # commune index in the référentiel, -1 when unlocated
    types: np.ndarray  # index in geo.inclusion.ALL_TYPES
    per_commune: np.ndarray  # (communes x types) counts
    unlocated: pd.DataFrame  # the unlocated structures (listed wherever their counts show)


def index_inclusion(ref: Referentiel, table: pd.DataFrame) -> InclusionIndex:
    """Locate the stored structures in the référentiel (their ``code_commune``, set at import)."""
    codes = as_text(table["code_commune"]) if "code_commune" in table.columns else pd.Series("", index=table.index)
    keys, uniques = pd.factorize(codes)
    pos = np.array([(lambda a: int(a[0]) if a is not None and len(a) else -1)(ref.expand("commune", c) if c
                                                                             else None) for c in uniques],
                   dtype=np.int64)
    located = pos[keys] if len(keys) else np.zeros(0, dtype=np.int64)
    types = inc.type_index(table["type"]) if "type" in table.columns else np.full(len(table), len(inc.ALL_TYPES) - 1)
    unlocated = table[located < 0].copy()
    return InclusionIndex(located, types, inc.commune_type_counts(len(ref), located, types), unlocated)


@dataclass
class Needs:
    structures: pd.DataFrame  # one row per facilitator structure: needs, offer, per ETP, flag
    zones_emploi: pd.DataFrame  # one row per zone d'emploi of the région
    median: float | None  # social markets per ETP: the median over structures with ETP > 0
    markets: pd.DataFrame  # one row per market (the workspace's order): potentiel inclusif by type
    inclusion: dict | None  # total, par_type, dans_zones_blanches, non_localisees (None: no file)
    inclusion_by_structure: pd.DataFrame | None  # id_structure, nom, then one column per type, total
    inclusion_by_ze: pd.DataFrame | None
    unlocated: pd.DataFrame | None  # the inclusion structures that could not be located (listed)
    notes: list[str] = field(default_factory=list)
    place_of: np.ndarray | None = None  # per market: its distinct place (an index of ``touch``)
    buyer_keys: tuple[np.ndarray, np.ndarray] | None = None  # per market: its buyer's key and SIRET
    touch: np.ndarray | None = None  # places x structures: the place meets the structure's area


def _ratio(num, den):
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def flag(value: float, median: float | None, high: float = HIGH, low: float = LOW) -> str:
    """The flag of a structure's social markets per ETP, in French, with both figures."""
    if median is None or np.isnan(median) or median <= 0 or value is None or np.isnan(value):
        return ""
    v, m = (f"{x:.1f}".replace(".", ",") for x in (value, median))
    if value > high * median:
        return f"{v} marchés sociaux par ETP : plus du double de la médiane régionale ({m})"
    if value < low * median:
        return f"{v} marchés sociaux par ETP : moins de la moitié de la médiane régionale ({m})"
    return ""


def compute(ref: Referentiel, membership: np.ndarray, structure_ids: list[str], structures: pd.DataFrame,
            zones_emploi: pd.DataFrame, marches: pd.DataFrame, region: str | None,
            inclusion: pd.DataFrame | None = None) -> Needs:
    """Every figure of « Needs and offer » for the communes of ``region`` (all when ``None``).

    Parameters
    ----------
    ref, membership, structure_ids : the référentiel and the areas E(s) (``geo.diagnosis.Coverage``)
    structures : the diagnosis' structures (``etp``, ``nom``, ``population_couverte``, ``population_qpv``)
    zones_emploi : the diagnosis' zones d'emploi (``code``, ``nom``)
    marches : the workspace's markets, one row per market
    inclusion : the workspace's inclusion structures (``None`` when none was imported)
    """
    in_c = ref.region_mask(region) if region else np.ones(len(ref), dtype=bool)
    c_idx = np.flatnonzero(in_c)
    marches = marches.reindex(columns=list(dict.fromkeys([*marches.columns, *MARKET_COLUMNS])))
    m = membership
    n_k = len(structure_ids)
    n = len(marches)
    social = has_social_consideration(marches["considerations_sociales"]) if n else np.zeros(0, dtype=bool)
    place_of, places = place_index(ref, marches["lieu_type"], marches["lieu_code"]) if n else (
        np.zeros(0, dtype=np.int64), [])
    n_p = len(places)
    # touch[p, k]: the place p meets E(s_k)
    touch = np.zeros((n_p, n_k), dtype=bool)
    m_t = np.ascontiguousarray(m.T)  # communes x structures: a place's rows gathered at once
    for p, idx in enumerate(places):
        if len(idx) and n_k:
            touch[p] = m_t[idx].any(axis=0)
    amount = pd.to_numeric(marches["montant_ht"], errors="coerce").to_numpy(dtype=float) if n else np.zeros(0)
    hours = pd.to_numeric(marches["heures_insertion"], errors="coerce").to_numpy(dtype=float) if n else np.zeros(0)
    sp = place_of[social]
    count_p = np.bincount(sp, minlength=n_p).astype(float)
    amount_p = np.bincount(sp, weights=np.nan_to_num(amount[social]), minlength=n_p)
    known_amount_p = np.bincount(sp, weights=~np.isnan(amount[social]), minlength=n_p)
    hours_p = np.bincount(sp, weights=np.nan_to_num(hours[social]), minlength=n_p)
    known_hours_p = np.bincount(sp, weights=~np.isnan(hours[social]), minlength=n_p)
    social_p = np.c_[count_p, amount_p, known_amount_p, hours_p, known_hours_p]  # places x 5
    sums = np.array([social_p[touch[:, k]].sum(axis=0) for k in range(n_k)]).reshape(n_k, 5)  # no float copy
    n_social = sums[:, 0]
    amount_s = np.where(sums[:, 2] > 0, sums[:, 1], np.nan)
    hours_s = np.where(sums[:, 4] > 0, sums[:, 3], np.nan)
    # distinct buyers of the social markets touching each area
    names = marches["acheteur"] if "acheteur" in marches.columns else pd.Series("", index=marches.index)
    sirets = marches["acheteur_siret"] if "acheteur_siret" in marches.columns else pd.Series("", index=marches.index)
    buyers_n = np.zeros(n_k, dtype=np.int64)
    all_keys = buyer_keys(sirets, names) if n else (np.empty(0, dtype=object), np.empty(0, dtype=object))
    if n and social.any() and n_k:
        bk, _ = pd.factorize(all_keys[0][social])
        pairs = np.unique(bk.astype(np.int64) * max(n_p, 1) + sp)  # (buyer, place), sorted by buyer
        pb, pp = pairs // max(n_p, 1), pairs % max(n_p, 1)
        for k in range(n_k):
            b = pb[touch[pp, k]]  # sorted: its distinct values are where it changes
            buyers_n[k] = int(np.count_nonzero(np.diff(b))) + 1 if len(b) else 0
    # inclusion structures located in E(s) ∩ C, by type
    has_inc = inclusion is not None
    ii = index_inclusion(ref, inclusion) if has_inc else None
    inc_k = None
    if has_inc:  # only the communes of C that hold a structure: a small product
        held = c_idx[ii.per_commune[c_idx].any(axis=1)]
        inc_k = (m[:, held].astype(np.int64) @ ii.per_commune[held] if n_k and len(held)
                 else np.zeros((n_k, len(inc.ALL_TYPES)), dtype=np.int64))
    st = structures.set_index(as_text(structures["id_structure"])).reindex(structure_ids)
    etp = pd.to_numeric(st["etp"], errors="coerce").fillna(0).to_numpy(dtype=float)
    pop = pd.to_numeric(st["population_couverte"], errors="coerce").fillna(0).to_numpy(dtype=float)
    qpop = pd.to_numeric(st["population_qpv"], errors="coerce").fillna(0).to_numpy(dtype=float)
    inc_total = inc_k.sum(axis=1).astype(float) if has_inc else np.full(n_k, np.nan)
    per_etp = _ratio(n_social, etp)
    with_etp = etp > 0
    median = float(np.median(per_etp[with_etp])) if with_etp.any() else None
    rows = pd.DataFrame({
        "id_structure": structure_ids, "nom": st["nom"].astype(str).to_numpy(), "etp": etp,
        "marches_sociaux": n_social.astype(np.int64), "montant_social": amount_s, "heures_sociales": hours_s,
        "acheteurs": buyers_n, "structures_inclusion": inc_total, "population_couverte": pop.astype(np.int64),
        "population_qpv": qpop.astype(np.int64),
        "marches_sociaux_par_etp": per_etp, "montant_social_par_etp": _ratio(amount_s, etp),
        "heures_sociales_par_etp": _ratio(hours_s, etp), "acheteurs_par_etp": _ratio(buyers_n, etp),
        "structures_inclusion_par_etp": _ratio(inc_total, etp) if has_inc else np.full(n_k, np.nan),
        "population_par_etp": _ratio(pop, etp), "population_qpv_par_etp": _ratio(qpop, etp),
    })
    rows["alerte"] = [flag(v, median) for v in per_etp]
    notes = []
    zero = [nm for nm, e in zip(rows["nom"], etp) if e <= 0]
    if zero:
        shown = ", ".join(f"« {x} »" for x in zero[:5]) + (" …" if len(zero) > 5 else "")
        if len(zero) == 1:
            notes.append(f"La structure {shown} ne déclare aucun ETP : ses ratios par ETP ne sont pas calculés "
                         "(« – ») et elle n'entre pas dans la médiane.")
        else:
            notes.append(f"{len(zero)} structures ne déclarent aucun ETP ({shown}) : leurs ratios par ETP ne sont "
                         "pas calculés (« – ») et elles n'entrent pas dans la médiane.")

    # --- zones d'emploi
    ze_codes = as_text(zones_emploi["code"]).tolist() if len(zones_emploi) else []
    ze_pos = {z: i for i, z in enumerate(ze_codes)}
    ze_of = np.array([ze_pos.get(z, -1) for z in ref.ze], dtype=np.int64)
    n_z = len(ze_codes)
    pop_c = ref.population[c_idx].astype(float)
    etp_present = np.zeros(n_z)
    if n_k and n_z:
        zc = ze_of[c_idx]
        ok = zc >= 0
        per_kz = np.zeros((n_k, n_z))
        for k in range(n_k):  # pop(E(s) ∩ z ∩ C) for every zone z, one bincount per structure
            mine = ok & m[k, c_idx]
            per_kz[k] = np.bincount(zc[mine], weights=pop_c[mine], minlength=n_z)
        tot = per_kz.sum(axis=1)  # pop(E(s) ∩ C), the same as population_couverte when z cover C
        share = np.divide(per_kz, tot[:, None], out=np.zeros_like(per_kz), where=tot[:, None] > 0)
        etp_present = (etp[:, None] * share).sum(axis=0)
    ztouch = np.zeros((n_p, n_z), dtype=bool)
    for p, idx in enumerate(places):
        zs = ze_of[idx]
        zs = zs[zs >= 0]
        if len(zs):
            ztouch[p, np.unique(zs)] = True
    ze_social = np.array([count_p[ztouch[:, zi]].sum() for zi in range(n_z)]) if n_p else np.zeros(n_z)
    ze_inc = None
    if has_inc and n_z:
        ze_inc = np.zeros((n_z, len(inc.ALL_TYPES)), dtype=np.int64)
        ok = ze_of >= 0
        np.add.at(ze_inc, ze_of[ok], ii.per_commune[ok])
    zrows = pd.DataFrame({
        "code": ze_codes, "nom": as_text(zones_emploi["nom"]).tolist() if n_z else [],
        "etp_present": etp_present, "marches_sociaux": ze_social.astype(np.int64),
        "structures_inclusion": ze_inc.sum(axis=1).astype(float) if ze_inc is not None else np.full(n_z, np.nan),
    })
    zrows["marches_sociaux_par_etp"] = _ratio(zrows["marches_sociaux"], zrows["etp_present"])

    # --- potentiel inclusif of each market (non-localisable places: unknown)
    pot = _potential(place_of, places, ii, as_text(marches["id_marche"]).to_numpy() if n else np.empty(0, object))
    pot["avec_consideration_sociale"] = social

    # --- the inclusion structures' summary
    summary = by_structure = by_ze = None
    if has_inc:
        covered = m.any(axis=0) if n_k else np.zeros(len(ref), dtype=bool)
        white = in_c & ~covered
        in_region = ii.per_commune[c_idx].sum(axis=0)
        summary = {"total": int(in_region.sum() + len(ii.unlocated)),
                   "par_type": inc.by_type(in_region + np.bincount(ii.types[ii.located < 0],
                                                                   minlength=len(inc.ALL_TYPES))),
                   "dans_zones_blanches": inc.by_type(ii.per_commune[white].sum(axis=0)),
                   "non_localisees": int(len(ii.unlocated)),
                   "localisees": int(in_region.sum())}
        by_structure = pd.DataFrame(inc_k, columns=list(inc.ALL_TYPES))
        by_structure.insert(0, "nom", rows["nom"])
        by_structure.insert(0, "id_structure", structure_ids)
        by_structure["total"] = inc_k.sum(axis=1)
        if ze_inc is not None:
            by_ze = pd.DataFrame(ze_inc, columns=list(inc.ALL_TYPES))
            by_ze.insert(0, "nom", zrows["nom"])
            by_ze.insert(0, "code", ze_codes)
            by_ze["total"] = ze_inc.sum(axis=1)
    return Needs(rows, zrows, median, pot, summary, by_structure, by_ze,
                 ii.unlocated if has_inc else None, notes, place_of, all_keys, touch)


def _potential(place_of: np.ndarray, places: list[np.ndarray], ii: InclusionIndex | None,
               ids: np.ndarray) -> pd.DataFrame:
    """The potentiel inclusif of each market from its place (``place_index``): NaN when the place
    designates no commune or when no inclusion file was imported."""
    n, n_p = len(ids), len(places)
    if ii is None:
        pot = pd.DataFrame({"id_marche": ids, "potentiel_inclusif": np.full(n, np.nan)})
        pot["potentiel_inclusif_detail"] = ""
        return pot
    per_place = np.array([ii.per_commune[idx].sum(axis=0) if len(idx) else np.full(len(inc.ALL_TYPES), -1)
                          for idx in places], dtype=np.int64).reshape(n_p, len(inc.ALL_TYPES))
    pm = per_place[place_of] if n else np.zeros((0, len(inc.ALL_TYPES)), dtype=np.int64)
    known = pm[:, 0] >= 0 if n else np.zeros(0, dtype=bool)
    pot = pd.DataFrame({"id_marche": ids, "potentiel_inclusif": np.where(known, pm.sum(axis=1), np.nan)})
    for j, t_ in enumerate(inc.ALL_TYPES):
        pot[f"inclusion_{t_}"] = np.where(known, pm[:, j], np.nan)
    per_place_text = np.asarray([detail(row) if row.any() and row[0] >= 0 else "" for row in per_place] or [""],
                                dtype=object)
    pot["potentiel_inclusif_detail"] = per_place_text[place_of] if n else []  # written once per place
    return pot


def market_potential(ref: Referentiel, marches: pd.DataFrame, inclusion: pd.DataFrame | None) -> pd.DataFrame:
    """The potentiel inclusif of each market of ``marches`` (one row each, in order): the inclusion
    structures located in its place, by type (DOMAIN.md). The figure :func:`compute` gives for the
    workspace's markets, for a file analysed without being stored (the Marchés page).

    Parameters
    ----------
    ref : the référentiel
    marches : markets with ``id_marche``, ``lieu_type``, ``lieu_code``
    inclusion : the workspace's inclusion structures (``None`` when none was imported: every value NaN)

    Returns
    -------
    pandas.DataFrame
        ``id_marche``, ``potentiel_inclusif`` (float, NaN when unknown), ``inclusion_<TYPE>`` per type,
        ``potentiel_inclusif_detail`` (« 3 ACI, 1 EI »).
    """
    n = len(marches)
    place_of, places = place_index(ref, marches["lieu_type"], marches["lieu_code"]) if n else (
        np.zeros(0, dtype=np.int64), [])
    ids = as_text(marches["id_marche"]).to_numpy() if n else np.empty(0, dtype=object)
    return _potential(place_of, places, index_inclusion(ref, inclusion) if inclusion is not None else None, ids)


def detail(counts: np.ndarray) -> str:
    """« 3 ACI, 1 EI » from one row of type counts (types with no structure left out)."""
    parts = [f"{int(v)} {t}" for t, v in zip(inc.ALL_TYPES, counts) if v > 0]
    return ", ".join(parts)


def ze_class(value: float, median: float | None) -> str:
    """The class of a zone d'emploi on the choropleth (social markets per ETP present)."""
    if value is None or np.isnan(value):
        return "sans_etp"
    if median is None or np.isnan(median) or median <= 0:
        return "moyen"
    if value > HIGH * median:
        return "tres_eleve"
    if value > median:
        return "eleve"
    if value >= LOW * median:
        return "moyen"
    return "faible"


ZE_CLASSES = ("tres_eleve", "eleve", "moyen", "faible", "sans_etp")
