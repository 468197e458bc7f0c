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


def buyer_keys(siret: pd.Series, names: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each market's buyer key (``S:`` + SIRET, else ``N:`` + folded name, else :data:`UNKNOWN_KEY`) and
    its SIRET (``""`` when none); once per distinct (SIRET, name) pair."""
    pairs = pd.Series(as_text(siret).to_numpy(dtype=object), dtype=object) + "\x1f" + \
        pd.Series(as_text(names).to_numpy(dtype=object), dtype=object)
    codes, uniques = pd.factorize(pairs)
    keys, sirets = [], []
    for pair in uniques:
        s, name = pair.split("\x1f", 1)
        s = clean_siret(s)
        folded = fold(name)
        if s and folded == s:  # a file that writes the SIRET where the name should be: no name
            folded = ""
        keys.append(f"S:{s}" if s else (f"N:{folded}" if folded else UNKNOWN_KEY))
        sirets.append(s)
    k = np.asarray(keys, dtype=object)[codes] if len(codes) else np.empty(0, dtype=object)
    s = np.asarray(sirets, dtype=object)[codes] if len(codes) else np.empty(0, dtype=object)
    return k, s


def _years_text(years: list[int]) -> str:
    if not years:
        return ""
    if years == list(range(years[0], years[-1] + 1)) and len(years) > 1:
        return f"{years[0]}–{years[-1]}"
    return ", ".join(str(y) for y in years)


def aggregate(markets: pd.DataFrame, social: np.ndarray, threshold: float = SPASER_THRESHOLD,
              structures: list[list[str]] | None = None) -> pd.DataFrame:
    """One row per buyer, the most active first.

    Parameters
    ----------
    markets : the workspace's markets (``acheteur``, optional ``acheteur_siret``, ``type_acheteur``,
        ``montant_ht``, ``date``, ``heures_insertion``), one row per market
    social : for each market, whether it has a social consideration
    threshold : the SPASER threshold in € HT a year
    structures : for each market, the facilitator structures whose area holds its place (names)

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
    names = as_text(markets["acheteur"]) if "acheteur" in markets.columns else pd.Series("", index=markets.index)
    sirets = (markets["acheteur_siret"] if "acheteur_siret" in markets.columns
              else pd.Series("", index=markets.index))
    keys, siret_of = buyer_keys(sirets, names)
    amount = pd.to_numeric(markets["montant_ht"], errors="coerce").to_numpy(dtype=float) \
        if "montant_ht" in markets.columns else np.full(n, np.nan)
    hours = pd.to_numeric(markets["heures_insertion"], errors="coerce").to_numpy(dtype=float) \
        if "heures_insertion" in markets.columns else np.full(n, np.nan)
    year = pd.to_numeric(as_text(markets["date"]).str.slice(0, 4), errors="coerce").to_numpy(dtype=float) \
        if "date" in markets.columns else np.full(n, np.nan)
    btype = as_text(markets["type_acheteur"]).to_numpy(dtype=object) if "type_acheteur" in markets.columns \
        else np.full(n, "", dtype=object)
    social = np.asarray(social, dtype=bool)
    df = pd.DataFrame({"cle": keys, "siret": siret_of, "nom": names.to_numpy(dtype=object), "type": btype,
                       "montant": amount, "social": social, "montant_social": np.where(social, amount, np.nan),
                       "heures": hours, "annee": year})
    g = df.groupby("cle", sort=False)
    out = pd.DataFrame({
        "marches": g.size(),
        "marches_sociaux": g["social"].sum().astype(np.int64),
        "montant_ht": g["montant"].sum(min_count=1),
        "montant_ht_social": g["montant_social"].sum(min_count=1),
        "heures_insertion": g["heures"].sum(min_count=1),
    })
    # social amount 0 (not missing) when the buyer has amounts but no social market
    has_amount = out["montant_ht"].notna()
    out.loc[has_amount & out["montant_ht_social"].isna(), "montant_ht_social"] = 0.0
    out["part_sociale"] = np.where(out["montant_ht"] > 0, out["montant_ht_social"] / out["montant_ht"], np.nan)
    first = g["siret"].first()
    out["siret"] = pd.Series([v or None for v in first.tolist()], index=first.index, dtype=object)
    out["nom"] = _mode(df[df["nom"] != ""], "nom").reindex(out.index)
    out["nom"] = out["nom"].astype(object).where(out["nom"].notna(), None)
    out["type_acheteur"] = _mode(df[df["type"] != ""], "type").reindex(out.index).fillna("")
    # annual amounts by calendar year of notification
    dated = df[~np.isnan(df["annee"].to_numpy()) & ~np.isnan(df["montant"].to_numpy())]
    annual = dated.groupby(["cle", "annee"])["montant"].sum()
    per_buyer = {k: {int(y): float(v) for (_, y), v in grp.items()} for k, grp in annual.groupby(level=0)}
    out["montants_annuels"] = [per_buyer.get(k, {}) for k in out.index]
    out["montant_annuel_max"] = [max(d.values()) if d else np.nan for d in out["montants_annuels"]]
    out["annee_montant_max"] = [max(d, key=d.get) if d else None for d in out["montants_annuels"]]
    out["spaser"] = (out["montant_annuel_max"] >= float(threshold)).fillna(False).astype(bool)
    years = df[~np.isnan(df["annee"].to_numpy())].groupby("cle")["annee"].agg(lambda s: sorted({int(v) for v in s}))
    out["annees"] = [_years_text(years.get(k, [])) for k in out.index]
    if structures is not None:
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


def _mode(df: pd.DataFrame, column: str) -> pd.Series:
    """The value of ``column`` most often written for each buyer (ties: the first written)."""
    if df.empty:
        return pd.Series(dtype=object)
    counts = df.groupby(["cle", column], sort=False).size().reset_index(name="n")
    counts["order"] = np.arange(len(counts))
    best = counts.sort_values(["cle", "n", "order"], ascending=[True, False, True]).drop_duplicates("cle")
    return best.set_index("cle")[column]


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
