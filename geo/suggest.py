"""Suggestions: who could take the zones blanches and the markets no single structure covers (DOMAIN.md,
« Suggestion »; fiche 3, § 3b).

A candidate is a pair (e, s): ``e`` an EPCI with at least one commune of the région outside every area, ``s`` a
structure whose area touches ``e`` (one of its communes shares a border with a commune of ``e``, or lies in a
zone d'emploi of ``e``). Its gains are exactly the differences of the diagnosis once ``e`` is added to E(s):
covered population, QPV whose status improves, social markets that become « couvert »; and its load after,
ETP(s) per 100,000 inhabitants of (E(s) ∪ e) ∩ C.

The gains are computed from the current diagnosis with a few vector operations per candidate (adding
communes to one area can only add coverage), not by running the diagnosis again for each candidate;
:func:`naive` does the latter, for the benchmark and the tests that check both agree.

Pure functions: no Streamlit, no store.
"""

from __future__ import annotations

from dataclasses import dataclass

import re

import numpy as np
import pandas as pd
import shapely

from geo.codes import as_text
from geo.markets import COUVERT, NON_LOCALISABLE, buyers
from geo.scenario import Network
from geo.territory import Referentiel

CRITERIA = {"population": "population couverte gagnée", "qpv": "QPV dont la couverture s'améliore",
            "marches": "marchés qui deviennent couverts par une seule structure",
            "charge": "charge après extension (ETP pour 100 000 habitants, la plus légère d'abord)"}
# ties broken by the other gains, then by the load after (the structure that stays the least loaded first)
SORT = {"population": ["population_gagnee", "qpv_ameliores", "marches_couverts", "etp_pour_100k_hab_apres"],
        "qpv": ["qpv_ameliores", "population_gagnee", "marches_couverts", "etp_pour_100k_hab_apres"],
        "marches": ["marches_couverts", "population_gagnee", "qpv_ameliores", "etp_pour_100k_hab_apres"],
        "charge": ["etp_pour_100k_hab_apres", "population_gagnee", "qpv_ameliores"]}
COLUMNS = ["epci_siren", "epci_nom", "id_structure", "nom", "communes_gagnees", "population_gagnee",
           "qpv_ameliores", "marches_couverts", "etp", "etp_pour_100k_hab_avant", "etp_pour_100k_hab_apres"]


def adjacency(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j) of communes whose outlines touch or overlap (a shared border), both ways.

    Computed once per référentiel (its outlines, in any CRS): a spatial index query, no pairwise loop."""
    has = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    idx = np.flatnonzero(has)
    if len(idx) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    tree = shapely.STRtree(geoms[idx])
    pairs = tree.query(geoms[idx], predicate="intersects")
    i, j = idx[pairs[0]], idx[pairs[1]]
    keep = i != j
    return i[keep], j[keep]


@dataclass
class Context:
    """What every candidate's gains are computed against: the current state and its diagnosis."""

    ref: Referentiel
    net: Network
    result: object  # engine.Result of ``net``
    marches: pd.DataFrame  # the markets the result classified (their places)
    epci: np.ndarray  # each commune's EPCI code
    epci_names: dict
    neighbours: tuple[np.ndarray, np.ndarray]  # adjacency pairs


def context(ref: Referentiel, communes: pd.DataFrame, net: Network, result, marches: pd.DataFrame,
            neighbours: tuple[np.ndarray, np.ndarray] | None = None) -> Context:
    c = communes.reset_index(drop=True)
    epci = as_text(c["epci_siren"]).to_numpy(dtype=object)
    names = dict(zip(epci, as_text(c["epci_nom"])))
    if neighbours is None:
        neighbours = adjacency(c.geometry.to_numpy()) if hasattr(c, "geometry") else (np.empty(0, int),
                                                                                      np.empty(0, int))
    return Context(ref, net, result, marches.reset_index(drop=True), epci, names, neighbours)


def _qpv_links(result) -> list[np.ndarray]:
    codes = {c: i for i, c in enumerate(result.ref.codes)}
    return [np.array([codes[x] for x in str(v).split(";") if x in codes], dtype=np.int64)
            for v in result.diagnosis.qpv["communes"]]


def market_sets(result, marches: pd.DataFrame) -> tuple[list[np.ndarray], np.ndarray]:
    """For each social market that no single structure covers (and that is localisable): its communes,
    and its row number in ``marches``."""
    m = result.markets
    if len(m) == 0:
        return [], np.empty(0, dtype=np.int64)
    social = m["avec_consideration_sociale"].astype(bool).to_numpy()
    cls = m["couverture"].to_numpy()
    rows = np.flatnonzero(social & (cls != COUVERT) & (cls != NON_LOCALISABLE))
    types = marches["lieu_type"].fillna("").astype(str).to_numpy()
    codes = marches["lieu_code"].fillna("").astype(str).to_numpy()
    sets = []
    for r in rows:
        idx, _ = result.ref.expand_many(types[r], [x.strip() for x in re.split(r"[;|]", codes[r]) if x.strip()])
        sets.append(idx)
    return sets, rows


def candidates(ctx: Context) -> list[tuple[str, str]]:
    """Every pair (EPCI, structure) of DOMAIN.md's definition, EPCI by EPCI, structures in the network's order."""
    ref, net = ctx.ref, ctx.net
    region = ctx.result.diagnosis.region
    in_c = ref.region_mask(region) if region else np.ones(len(ref), dtype=bool)
    covered = np.zeros(len(ref), dtype=bool)
    for sid in net.ids:
        covered[net.area(sid)] = True
    open_epci = sorted({e for e in ctx.epci[in_c & ~covered] if e and e != "nan"})
    ze_of = ref.ze
    i, j = ctx.neighbours
    out = []
    for e in open_epci:
        members = ref.by["EPCI"].get(e, np.empty(0, dtype=np.int64))
        touch = np.zeros(len(ref), dtype=bool)  # communes that share a border with e, or lie in a zone of e
        touch[j[np.isin(i, members)]] = True
        touch[np.isin(ze_of, np.unique(ze_of[members]))] = True
        for sid in net.ids:
            if touch[net.area(sid)].any():
                out.append((e, sid))
    return out


def suggest(ctx: Context, criterion: str = "population", pairs: list[tuple[str, str]] | None = None) -> pd.DataFrame:
    """Every candidate with its gains, ranked by ``criterion`` (a key of ``CRITERIA``), best first."""
    if criterion not in CRITERIA:
        raise ValueError("critère inconnu : " + criterion + " (critères : " + ", ".join(CRITERIA) + ")")
    ref, net, res = ctx.ref, ctx.net, ctx.result
    region = res.diagnosis.region
    in_c = ref.region_mask(region) if region else np.ones(len(ref), dtype=bool)
    pop = ref.population
    covered = np.zeros(len(ref), dtype=bool)
    for sid in net.ids:
        covered[net.area(sid)] = True
    qpv = res.diagnosis.qpv
    links = _qpv_links(res)
    rank_before = np.array([{"non couvert": 0, "partiel": 1, "couvert": 2}[s] for s in qpv["statut"]], dtype=int)
    markets, _ = market_sets(res, ctx.marches)
    st = res.diagnosis.structures.set_index("id_structure")
    names = dict(zip(net.ids, as_text(net.structures["nom"])))
    rows = []
    for e, sid in (pairs if pairs is not None else candidates(ctx)):
        members = ref.by["EPCI"].get(e, np.empty(0, dtype=np.int64))
        area = np.zeros(len(ref), dtype=bool)
        area[net.area(sid)] = True
        gained = members[in_c[members] & ~covered[members]]
        after_cov = covered.copy()
        after_cov[members] = True
        area[members] = True
        improved = 0
        for k, lk in enumerate(links):
            if len(lk) == 0 or rank_before[k] == 2:
                continue
            cov = after_cov[lk]
            rank = 2 if cov.all() else (1 if cov.any() else 0)
            improved += rank > rank_before[k]
        newly = sum(1 for idx in markets if len(idx) and area[idx].all())
        etp = float(st.loc[sid, "etp"]) if sid in st.index else 0.0
        pop_after = float(pop[area & in_c].sum())
        rows.append({"epci_siren": e, "epci_nom": ctx.epci_names.get(e, e), "id_structure": sid, "nom": names[sid],
                     "communes_gagnees": int(len(gained)), "population_gagnee": int(pop[gained].sum()),
                     "qpv_ameliores": int(improved), "marches_couverts": int(newly), "etp": etp,
                     "etp_pour_100k_hab_avant": st.loc[sid, "etp_pour_100k_hab"] if sid in st.index else None,
                     "etp_pour_100k_hab_apres": etp / pop_after * 100_000 if pop_after else None})
    df = pd.DataFrame(rows, columns=COLUMNS)
    if df.empty:
        return df
    keys = SORT[criterion]
    ascending = [False] * len(keys)
    df = df.sort_values(keys + ["epci_siren", "id_structure"], ascending=ascending + [True, True],
                        na_position="last", kind="stable").reset_index(drop=True)
    return df


def operation(row) -> dict:
    """The scenario operation that applies a suggestion (« ajouter » the EPCI to the structure's area)."""
    return {"action": "ajouter", "structure": str(row["id_structure"]), "territoires": [f"EPCI:{row['epci_siren']}"]}


def naive(ctx: Context, prepared, communes, qpv, marches, pairs: list[tuple[str, str]]) -> pd.DataFrame:
    """The same gains, the slow way: the whole diagnosis run again for every candidate (benchmark baseline)."""
    from geo import scenario
    from geo.comparison import figure_values

    base = figure_values(ctx.result)
    rank = {"non couvert": 0, "partiel": 1, "couvert": 2}
    before = dict(zip(ctx.result.diagnosis.qpv["code_qp"], ctx.result.diagnosis.qpv["statut"]))
    rows = []
    for e, sid in pairs:
        net = scenario.apply(ctx.ref, ctx.net, operation({"epci_siren": e, "id_structure": sid}))
        res = scenario.run(prepared, communes, qpv, net, marches, ctx.result.diagnosis.region)
        after = figure_values(res)
        q = res.diagnosis.qpv
        improved = sum(rank[s] > rank[before[c]] for c, s in zip(q["code_qp"], q["statut"]) if c in before)
        st = res.diagnosis.structures.set_index("id_structure")
        rows.append({"epci_siren": e, "id_structure": sid,
                     "population_gagnee": int(base["population.non_couverte"] - after["population.non_couverte"]),
                     "qpv_ameliores": int(improved),
                     "marches_couverts": int(after["marches.couvert"] - base["marches.couvert"]),
                     "etp_pour_100k_hab_apres": st.loc[sid, "etp_pour_100k_hab"]})
    return pd.DataFrame(rows)


def coordination(result, marches: pd.DataFrame) -> pd.DataFrame:
    """What a regional coordination (a structure whose area is the whole région) would take over: the social
    markets that no single structure covers and whose place lies in the région, by buyer
    (:func:`geo.markets.buyers`)."""
    region = result.diagnosis.region
    in_c = result.ref.region_mask(region) if region else np.ones(len(result.ref), dtype=bool)
    sets, rows = market_sets(result, marches)
    take = [r for r, idx in zip(rows, sets) if len(idx) and in_c[idx].all()]
    sub = marches.reset_index(drop=True).iloc[take]
    for col in ("acheteur", "type_acheteur", "montant_ht", "heures_insertion"):
        if col not in sub.columns:
            sub = sub.assign(**{col: np.nan})
    sub = sub.assign(acheteur=as_text(sub["acheteur"]).replace("", "Acheteur non renseigné"),
                     type_acheteur=as_text(sub["type_acheteur"]))
    return buyers(sub)
