"""The buyers of a workspace's markets (fiche 3, § 2), as DOMAIN.md defines them (« Needs and offer »).

A buyer is identified by its SIRET (14 digits) when the file gives one, else by its name folded (case,
accents, spaces); the markets counted are those kept in the workspace (after the cut to the région),
social or not, each once. Per buyer: markets, social markets, amounts (all and social), insertion hours
when known, years; the annual amount (Σ ``montant_ht`` by calendar year of notification) and the SPASER
flag: an annual amount at or above the threshold in at least one year. Always an estimate from the
market file (framework agreements carry maximum amounts, small markets are not published, a regional
extract misses the buyer's markets elsewhere): the screens and documents say so.

Pure functions on frames; no Streamlit, no file format.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from geo.codes import as_text, fold

SPASER_THRESHOLD = 50_000_000.0  # € HT a year: décret 2022-767, since 1 January 2023 (100 M€ in the 2014 law)
SIRET_RE = re.compile(r"^\d{14}$")
UNKNOWN_KEY = "?"  # the markets whose file names no buyer: one line, so that every market is counted


def clean_siret(value: object) -> str:
    """A SIRET as 14 digits (spaces and dots removed), ``""`` when the cell is not one."""
    s = re.sub(r"[\s.\u00a0\u202f]", "", "" if value is None else str(value))
    if s.endswith(".0") and s[:-2].isdigit():  # a number read by a spreadsheet
        s = s[:-2]
    return s if SIRET_RE.match(s) else ""


def _cells(values) -> np.ndarray:
    """A column as stripped strings, missing values as ``""`` (once per distinct value)."""
    arr = pd.Series(values).to_numpy(dtype=object, na_value="") if len(values) else np.empty(0, dtype=object)
    codes, uniques = pd.factorize(arr)
    text = np.asarray([str(u).strip() for u in uniques], dtype=object)
    return text[codes] if len(codes) else np.empty(0, dtype=object)


def buyer_keys(siret, names) -> tuple[np.ndarray, np.ndarray]:
    """Each market's buyer key (``S:`` + SIRET, else ``N:`` + folded name, else :data:`UNKNOWN_KEY`) and
    its SIRET (``""`` when none); worked out once per distinct (SIRET, name) pair."""
    s_codes, s_uniq = pd.factorize(_cells(siret))
    n_codes, n_uniq = pd.factorize(_cells(names))
    if not len(s_codes):
        return np.empty(0, dtype=object), np.empty(0, dtype=object)
    width = max(len(n_uniq), 1)
    codes, pairs = pd.factorize(s_codes.astype(np.int64) * width + n_codes)
    keys, sirets = [], []
    for pair in pairs:
        s, name = clean_siret(s_uniq[pair // width]), n_uniq[pair % width]
        folded = fold(name)
        if s and folded == s:  # a file that writes the SIRET where the name should be: no name
            folded = ""
        keys.append(f"S:{s}" if s else (f"N:{folded}" if folded else UNKNOWN_KEY))
        sirets.append(s)
    return np.asarray(keys, dtype=object)[codes], np.asarray(sirets, dtype=object)[codes]


def _years_text(years: list[int]) -> str:
    if not years:
        return ""
    if years == list(range(years[0], years[-1] + 1)) and len(years) > 1:
        return f"{years[0]}–{years[-1]}"
    return ", ".join(str(y) for y in years)


def aggregate(markets: pd.DataFrame, social: np.ndarray, threshold: float = SPASER_THRESHOLD,
              structures: list[list[str]] | None = None,
              places: tuple[np.ndarray, np.ndarray, list[str]] | None = None,
              keys: tuple[np.ndarray, np.ndarray] | None = None) -> pd.DataFrame:
    """One row per buyer, the most active first.

    Parameters
    ----------
    markets : the workspace's markets (``acheteur``, optional ``acheteur_siret``, ``type_acheteur``,
        ``montant_ht``, ``date``, ``heures_insertion``), one row per market
    social : for each market, whether it has a social consideration
    threshold : the SPASER threshold in € HT a year
    structures : for each market, the facilitator structures whose area holds its place (names)
    places : the same, as each market's place (an index), whether each place touches each structure (places x
        structures) and the structures' names: what ``geo.needs`` computes once per place
    keys : each market's buyer key and SIRET (:func:`buyer_keys`), when already worked out

    Returns
    -------
    DataFrame
        ``cle, siret`` (``None`` when none), ``nom`` (as most often written; ``None`` when the file gives
        none), ``type_acheteur`` (the most frequent), ``marches, marches_sociaux, montant_ht,
        montant_ht_social, part_sociale, heures_insertion, annees, montant_annuel_max,
        annee_montant_max, spaser, structures, montants_annuels`` (``{year: amount}``).
    """
    cols = ["cle", "siret", "nom", "type_acheteur", "marches", "marches_sociaux", "montant_ht", "montant_ht_social",
            "part_sociale", "heures_insertion", "annees", "montant_annuel_max", "annee_montant_max", "spaser",
            "structures", "montants_annuels"]
    if not len(markets):
        return pd.DataFrame(columns=cols)
    n = len(markets)
    def column(name):  # stripped text, once per distinct cell
        return _cells(markets[name]) if name in markets.columns else np.full(n, "", dtype=object)

    names = column("acheteur")
    keys, siret_of = keys if keys is not None else buyer_keys(column("acheteur_siret"), names)
    amount = pd.to_numeric(markets["montant_ht"], errors="coerce").to_numpy(dtype=float) \
        if "montant_ht" in markets.columns else np.full(n, np.nan)
    hours = pd.to_numeric(markets["heures_insertion"], errors="coerce").to_numpy(dtype=float) \
        if "heures_insertion" in markets.columns else np.full(n, np.nan)
    dates = column("date")
    y_codes, y_uniq = pd.factorize(np.asarray([d[:4] for d in dates], dtype=object) if n else dates)
    year = pd.to_numeric(pd.Series(y_uniq, dtype=object), errors="coerce").to_numpy(dtype=float)[y_codes] \
        if n else np.zeros(0)
    btype = column("type_acheteur")
    social = np.asarray(social, dtype=bool)
    # buyers as integers (first seen first): every figure is a bincount, never a loop over markets
    code, uniq = pd.factorize(np.asarray(keys, dtype=object))
    nb = len(uniq)

    def total(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Σ of the known values of each buyer's markets in ``mask``; NaN when none is known."""
        ok = mask & ~np.isnan(values)
        sums = np.bincount(code, weights=np.where(ok, values, 0.0), minlength=nb)
        return np.where(np.bincount(code, weights=ok, minlength=nb) > 0, sums, np.nan)

    every = np.ones(n, dtype=bool)
    out = pd.DataFrame({"marches": np.bincount(code, minlength=nb),
                        "marches_sociaux": np.bincount(code, weights=social, minlength=nb).astype(np.int64),
                        "montant_ht": total(amount, every), "montant_ht_social": total(amount, social),
                        "heures_insertion": total(hours, every)}, index=pd.Index(uniq, name="cle"))
    # social amount 0 (not missing) when the buyer has amounts but no social market
    has_amount = out["montant_ht"].notna()
    out.loc[has_amount & out["montant_ht_social"].isna(), "montant_ht_social"] = 0.0
    out["part_sociale"] = np.where(out["montant_ht"] > 0, out["montant_ht_social"] / out["montant_ht"], np.nan)
    first = np.unique(code, return_index=True)[1]
    out["siret"] = pd.Series([v or None for v in np.asarray(siret_of, dtype=object)[first].tolist()], index=out.index,
                             dtype=object)
    noms = _mode(code, names, nb)
    out["nom"] = pd.Series([v or None for v in noms], index=out.index, dtype=object)
    out["type_acheteur"] = _mode(code, btype, nb)
    # annual amounts by calendar year of notification (one pass over the (buyer, year) sums)
    dated = ~np.isnan(year) & ~np.isnan(amount)
    annual = pd.DataFrame({"b": code[dated], "y": year[dated].astype(np.int64), "m": amount[dated]}) \
        .groupby(["b", "y"], sort=True)["m"].sum()
    per_buyer: list[dict[int, float]] = [{} for _ in range(nb)]
    for bb, y, v in zip(annual.index.get_level_values(0).tolist(), annual.index.get_level_values(1).tolist(),
                        annual.to_numpy().tolist()):
        per_buyer[bb][int(y)] = float(v)
    out["montants_annuels"] = per_buyer
    out["montant_annuel_max"] = [max(d.values()) if d else np.nan for d in per_buyer]
    out["annee_montant_max"] = [max(d, key=d.get) if d else None for d in per_buyer]
    out["spaser"] = (out["montant_annuel_max"] >= float(threshold)).fillna(False).astype(bool)
    has_year = ~np.isnan(year)
    seen = np.unique(code[has_year].astype(np.int64) * 10_000 + year[has_year].astype(np.int64))
    years: list[list[int]] = [[] for _ in range(nb)]
    for v in seen.tolist():
        years[v // 10_000].append(v % 10_000)
    out["annees"] = [_years_text(y) for y in years]
    if places is not None:
        out["structures"] = _structures_by_place(code, nb, *places)
    elif structures is not None:
        lists: dict[str, dict] = {}
        for k, names_m in zip(keys, structures):
            if names_m:
                bucket = lists.setdefault(k, {})
                for name in names_m:
                    bucket[name] = bucket.get(name, 0) + 1
        out["structures"] = ["; ".join(sorted(lists.get(k, {}), key=lambda s: (-lists[k][s], s))) if k in lists
                             else "" for k in out.index]
    else:
        out["structures"] = ""
    out = out.reset_index().rename(columns={"index": "cle"})
    out = out.sort_values(["marches_sociaux", "marches", "montant_ht", "cle"], ascending=[False, False, False, True],
                          na_position="last", kind="stable")
    return out[cols].reset_index(drop=True)


def _structures_by_place(code: np.ndarray, nb: int, place_of: np.ndarray, touch: np.ndarray, names: list[str],
                         chunk: int = 20_000) -> list[str]:
    """For each buyer (``code``: its number for each market), the structures whose areas hold its markets'
    places, the most often first: (buyer, place) pairs counted once, then summed by structure in chunks
    (buyers x structures, no per-market loop)."""
    if not len(code) or not touch.shape[1]:
        return [""] * nb
    width = max(touch.shape[0], 1)
    pairs, n = np.unique(code.astype(np.int64) * width + place_of, return_counts=True)
    b, p = pairs // width, pairs % width
    counts = np.zeros((nb, touch.shape[1]))
    for start in range(0, len(pairs), chunk):
        sl = slice(start, start + chunk)
        np.add.at(counts, b[sl], touch[p[sl]] * n[sl, None].astype(float))
    label = np.asarray(names, dtype=object)
    out = []
    for row in counts:
        hit = np.flatnonzero(row)
        out.append("; ".join(label[sorted(hit, key=lambda j: (-row[j], label[j]))]) if len(hit) else "")
    return out


def _mode(code: np.ndarray, values: np.ndarray, nb: int) -> list[str]:
    """For each buyer, the value most often written among its markets (ties: the first written; ``""`` when
    none is written)."""
    out = [""] * nb
    written = np.asarray([bool(v) for v in values], dtype=bool) if len(values) else np.zeros(0, dtype=bool)
    if not written.any():
        return out
    v_codes, v_uniq = pd.factorize(np.asarray(values, dtype=object)[written])
    pairs = pd.DataFrame({"b": code[written], "v": v_codes, "order": np.arange(int(written.sum()))})
    counted = pairs.groupby(["b", "v"], sort=False).agg(n=("order", "size"), first=("order", "min")).reset_index()
    best = counted.sort_values(["b", "n", "first"], ascending=[True, False, True]).drop_duplicates("b")
    for bb, vv in zip(best["b"].tolist(), best["v"].tolist()):
        out[bb] = v_uniq[vv]
    return out


def filter_buyers(df: pd.DataFrame, types=None, spaser_only: bool = False, min_social_share: float | None = None,
                  ) -> pd.DataFrame:
    """Buyers matching every given filter (``None`` or empty: no filter on that field)."""
    keep = np.ones(len(df), dtype=bool)
    if types:
        keep &= df["type_acheteur"].isin(types).to_numpy()
    if spaser_only:
        keep &= df["spaser"].astype(bool).to_numpy()
    if min_social_share:
        share = pd.to_numeric(df["part_sociale"], errors="coerce").to_numpy(dtype=float)
        keep &= ~np.isnan(share) & (share >= float(min_social_share))
    return df[keep]


def buyer_markets(markets: pd.DataFrame, key: str) -> pd.DataFrame:
    """The markets of one buyer (its card), in the order of the file."""
    names = as_text(markets["acheteur"]) if "acheteur" in markets.columns else pd.Series("", index=markets.index)
    sirets = markets["acheteur_siret"] if "acheteur_siret" in markets.columns else pd.Series("", index=markets.index)
    keys, _ = buyer_keys(sirets, names)
    return markets[keys == key]
