"""Shaping the ABC Clauses tables (T01-T18) for reading: shares, national comparison,
evolution, statistical secrecy and grouping of small categories into "Autres".

Pure pandas; the page draws what these functions return.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.schemas import INDICATOR_TABLES

SECRET_THRESHOLD = 5  # counts of beneficiaries below 5 are not shown
MAX_CATEGORIES = 8
OTHERS = "Autres"
MEASURE_LABELS = {"heures": "heures d'insertion", "marches": "marchés", "beneficiaires": "bénéficiaires",
                  "contrats": "contrats", "montant": "montant (€)"}
CROSS_TABLES = {"T04", "T05", "T12", "T13", "T14"}
# the dimensions of the ABC Clauses tables, in French (a name from a file never reaches an axis raw)
DIMENSION_LABELS = {
    "type_maitre_ouvrage": "Type de maître d'ouvrage", "tranche_montant": "Tranche de montant",
    "secteur": "Secteur économique", "fondement": "Fondement juridique", "type_entreprise": "Type d'entreprise",
    "taille_entreprise": "Taille d'entreprise", "categorie": "Catégorie de bénéficiaires",
    "type_contrat": "Type de contrat", "sexe": "Sexe", "origine": "Origine géographique",
    "qualification": "Niveau de qualification", "age": "Tranche d'âge", "prescripteur": "Prescripteur",
    "metier": "Métier (famille ROME)", "delai": "Délai après le premier contrat", "situation": "Situation",
    "type_acheteur": "Type d'acheteur",
}
FIRST = ("T03", "T08", "T16")  # singled out by the instruction


def dimension_label(name) -> str:
    """A dimension's French name: the known ones by their label, another one written as words
    (``type_de_marche`` -> ``Type de marche``), never as a raw identifier."""
    text = "" if name is None or (isinstance(name, float) and np.isnan(name)) else str(name).strip()
    if text in DIMENSION_LABELS:
        return DIMENSION_LABELS[text]
    if text.lower() in DIMENSION_LABELS:
        return DIMENSION_LABELS[text.lower()]
    words = " ".join(text.replace("_", " ").replace(".", " ").split())
    return words[:1].upper() + words[1:]


def table_order() -> list[str]:
    """T03, T08 and T16 first (the instruction singles them out), then the others in order."""
    return list(FIRST) + [t for t in INDICATOR_TABLES if t not in FIRST]


def secret(df: pd.DataFrame) -> pd.DataFrame:
    """Hide counts of beneficiaries below the threshold: ``valeur`` becomes NaN, ``secret`` True (the primary
    secret alone; :func:`protect` adds the cells that would give them back)."""
    out = df.copy()
    mask = (out["mesure"] == "beneficiaires") & (pd.to_numeric(out["valeur"], errors="coerce") < SECRET_THRESHOLD)
    out["secret"] = mask.to_numpy()
    out["valeur"] = pd.to_numeric(out["valeur"], errors="coerce").astype(float).mask(mask)
    return out


# ---------------------------------------------------------------------------------------------
# Secondary suppression (INSEE's rules for linked tables)
#
# The beneficiary tables of one territory and one year are linked: T06, T08 to T11, T15, T16 count the same
# beneficiaries (one total), and a cross table (T12 to T14: category x sex, age, qualification; T18: delay x
# situation) has margins that are the cells of the one-way tables of its dimensions. Every total and margin
# is taken as known (published, or derivable from a table shown whole): a hidden cell must then not be
# computable, by any linear combination of those relations, from the cells shown. After the primary secret
# (fewer than SECRET_THRESHOLD beneficiaries), the smallest cells that leave a hidden cell computable are
# hidden too, until none is.

_TOL = 1e-9


def _relations(group: pd.DataFrame) -> list[list[tuple[int, float]]]:
    """The linear relations between the cells of one territory-year's beneficiary tables, each a list of
    (cell position, coefficient) whose sum is known: one per one-way table (its total), and for a cross table
    one per row and per column (its margin: a cell of the one-way table of that dimension when there is one,
    known otherwise) and its total."""
    tab = group["tableau"].astype(str).to_numpy()
    dim = group["dimension"].fillna("").astype(str).to_numpy()
    mod = group["modalite"].fillna("").astype(str).to_numpy()
    dim2 = group["dimension_2"].fillna("").astype(str).to_numpy() if "dimension_2" in group else np.full(len(group), "")
    mod2 = group["modalite_2"].fillna("").astype(str).to_numpy() if "modalite_2" in group else np.full(len(group), "")
    pos = np.arange(len(group))
    one_way: dict[tuple[str, str], int] = {}  # (dimension, category) -> the cell of a one-way table
    cross_tables = set()
    for t in dict.fromkeys(tab):
        rows = pos[tab == t]
        if (mod2[rows] != "").any():
            cross_tables.add(t)
            continue
        for i in rows:
            one_way.setdefault((dim[i], mod[i]), int(i))
    out: list[list[tuple[int, float]]] = []
    for t in dict.fromkeys(tab):
        rows = pos[tab == t]
        out.append([(int(i), 1.0) for i in rows])  # the table's total
        if t not in cross_tables:
            continue
        for d, m, other in ((dim, mod, mod2), (dim2, mod2, mod)):
            for key in dict.fromkeys(zip(d[rows], m[rows])):
                cells = [int(i) for i in rows if (d[i], m[i]) == key]
                margin = one_way.get(key)
                out.append([(i, 1.0) for i in cells] + ([(margin, -1.0)] if margin is not None else []))
    return out


def _computable(relations: list[list[tuple[int, float]]], unknown: np.ndarray) -> np.ndarray:
    """For each cell, whether the relations give it from the known cells (``~unknown``): true for every known
    cell, and for an unknown one whose unit vector lies in the row space of the relations restricted to the
    unknown cells."""
    cols = np.flatnonzero(unknown)
    done = ~unknown.copy()
    if not len(cols):
        return done
    where = {int(c): k for k, c in enumerate(cols)}
    a = np.zeros((len(relations), len(cols)))
    for r, rel in enumerate(relations):
        for i, coef in rel:
            if i in where:
                a[r, where[i]] += coef
    a = a[np.abs(a).sum(axis=1) > 0]
    if not len(a):
        return done
    _, sv, vt = np.linalg.svd(a)
    rank = int((sv > _TOL * max(1.0, sv[0])).sum())
    null = vt[rank:]  # the directions the unknown cells can move together while every relation holds
    free = np.abs(null).sum(axis=0) > 1e-7 if len(null) else np.zeros(len(cols), dtype=bool)
    done[cols] = ~free
    return done


def secondary_secret(values: np.ndarray, primary: np.ndarray, relations: list[list[tuple[int, float]]]) -> np.ndarray:
    """The cells to hide so that no hidden cell can be computed back (INSEE's secondary suppression): the
    ``primary`` ones; then, for each relation left with a single unknown cell, its smallest shown cell; then,
    while the relations together still give a hidden cell (a linear combination of several), the shown cell
    whose hiding leaves the fewest hidden cells computable, the smallest first. Missing values (NaN) are
    unknown to everybody: they protect like hidden cells and are never counted as hidden."""
    hidden = primary.copy()
    missing = np.isnan(values)
    by_cell: dict[int, list[int]] = {}
    for r, rel in enumerate(relations):
        for i, _ in rel:
            by_cell.setdefault(i, []).append(r)

    def smallest(cells) -> int:
        return min(cells, key=lambda i: (values[i], i))

    while hidden.any():
        # a relation with one unknown cell gives it: hide the smallest shown cell beside it
        changed = True
        while changed:
            changed = False
            for rel in relations:
                unknown = [i for i, _ in rel if hidden[i] or missing[i]]
                shown = [i for i, _ in rel if not hidden[i] and not missing[i]]
                if len(set(unknown)) == 1 and hidden[unknown[0]] and shown:
                    hidden[smallest(shown)] = True
                    changed = True
        # several relations together may still give a hidden cell
        exposed = np.flatnonzero(hidden & _computable(relations, hidden | missing))
        if not len(exposed):
            break
        candidates = sorted({i for j in exposed for r in by_cell.get(int(j), [])
                             for i, _ in relations[r] if not hidden[i] and not missing[i]})
        if not candidates:
            break  # a cell equal to a known total: nothing left to hide that would protect it

        def left_exposed(c: int) -> int:
            trial = hidden.copy()
            trial[c] = True
            return int((trial & _computable(relations, trial | missing)).sum())

        hidden[min(candidates, key=lambda c: (left_exposed(c), values[c], c))] = True
    return hidden


def protect(ind: pd.DataFrame) -> pd.DataFrame:
    """The indicator rows with statistical secrecy applied: ``secret`` is true for the counts of beneficiaries
    below ``SECRET_THRESHOLD`` and for the cells hidden so that they cannot be computed back from what is shown
    of the same territory and year (linked tables, margins); ``valeur`` is NaN where ``secret``."""
    out = ind.copy()
    values = pd.to_numeric(out["valeur"], errors="coerce").astype(float)
    ben = (out["mesure"] == "beneficiaires").to_numpy()
    hidden = ben & (values < SECRET_THRESHOLD).to_numpy()
    if hidden.any():
        keys = out["territoire"].astype(str) + "|" + out["annee"].astype(str)
        for key in pd.unique(keys[hidden]):
            at = np.flatnonzero(ben & (keys == key).to_numpy())
            group = out.iloc[at]
            hidden[at] = secondary_secret(values.to_numpy()[at], hidden[at], _relations(group))
    out["secret"] = hidden
    out["valeur"] = values.mask(hidden)
    return out


def group_others(df: pd.DataFrame, by: str = "modalite", max_categories: int = MAX_CATEGORIES) -> pd.DataFrame:
    """Keep the ``max_categories - 1`` largest categories and sum the others into "Autres".

    Largest over all rows (all territories and years), so that the same categories are kept
    everywhere. A hidden (secret) cell stays hidden: "Autres" never reveals it by difference,
    because a group holding a secret cell is marked secret too.
    """
    totals = df.groupby(by)["valeur"].sum(min_count=1).fillna(0).sort_values(ascending=False)
    if len(totals) <= max_categories:
        return df
    keep = set(totals.index[: max_categories - 1])
    out = df.copy()
    out[by] = np.where(out[by].isin(keep), out[by], OTHERS)
    keys = [c for c in out.columns if c not in ("valeur", "secret")]
    agg = {"valeur": ("valeur", lambda v: v.sum(min_count=1))}
    if "secret" in out.columns:
        agg["secret"] = ("secret", "any")
    grouped = out.groupby(keys, dropna=False, sort=False).agg(**agg).reset_index()
    if "secret" in grouped.columns:
        grouped.loc[grouped["secret"], "valeur"] = np.nan
    return grouped


def shares(df: pd.DataFrame, within: list[str]) -> pd.DataFrame:
    """Add ``part``: each value's share of the total of its group ``within`` (NaN when hidden)."""
    out = df.copy()
    total = out.groupby(within, dropna=False)["valeur"].transform(lambda v: v.sum(min_count=1))
    out["part"] = out["valeur"] / total.replace(0, np.nan)
    return out


def table_data(ind: pd.DataFrame, table: str, region: str, measure: str | None = None) -> pd.DataFrame:
    """One table for the région and France, all years: secrecy applied (primary and secondary, over every
    table of the territory and year: see :func:`protect`; ``ind`` may already be protected), "Autres"
    grouped, shares.

    Shares are computed within (year, territory, measure, and the second dimension's category
    for cross tables), so that région and France compare as shares side by side.
    """
    if "secret" not in ind.columns:  # secrecy needs every table of the territory and year: before the cut
        ind = protect(ind[ind["territoire"].isin([region, "FR"])])
    df = ind[(ind["tableau"] == table) & ind["territoire"].isin([region, "FR"])].copy()
    if measure:
        df = df[df["mesure"] == measure]
    if df.empty:
        return df.assign(part=pd.Series(dtype=float), secret=pd.Series(dtype=bool))
    df["annee"] = df["annee"].astype(int)
    df["dimension_2"] = df["dimension_2"].fillna("").astype(str)
    df["modalite_2"] = df["modalite_2"].fillna("").astype(str)
    df = group_others(df, "modalite")
    if df["modalite_2"].ne("").any():
        df = group_others(df, "modalite_2")
    within = ["annee", "territoire", "mesure"]
    if table == "T18":
        within.append("modalite")  # situation shares at each delay
    df = shares(df, within)
    df["territoire_lib"] = np.where(df["territoire"] == "FR", "France", "Région")
    return df.reset_index(drop=True)


def measures_of(ind: pd.DataFrame, table: str) -> list[str]:
    return sorted(ind.loc[ind["tableau"] == table, "mesure"].unique().tolist())


def missing_tables(ind: pd.DataFrame, region: str) -> list[str]:
    present = set(ind.loc[ind["territoire"] == region, "tableau"])
    return [t for t in INDICATOR_TABLES if t not in present]


def evolution(df: pd.DataFrame) -> pd.DataFrame:
    """Région shares by year for each category: ``modalite`` then one column per year (``"2023"``,
    ``"2024"``…), in the order of the latest year's shares."""
    reg = df[df["territoire"] != "FR"]
    wide = reg.pivot_table(index="modalite", columns="annee", values="part", aggfunc="sum")
    if wide.empty:
        return pd.DataFrame(columns=["modalite"])
    wide = wide.sort_values(wide.columns.max(), ascending=False)
    wide.columns = [str(int(c)) for c in wide.columns]
    return wide.reset_index()


def followup(ind: pd.DataFrame, region: str) -> pd.DataFrame:
    """Fiche 3 §6b: positive exits, women, QPV residents, disabled workers, région vs France."""
    def share(table, measure, pick, dim_filter=None, within_modalite=None):
        df = ind[(ind["tableau"] == table) & (ind["mesure"] == measure)]
        if within_modalite is not None:
            df = df[df["modalite"] == within_modalite]
        rows = []
        for (year, terr), grp in df.groupby(["annee", "territoire"]):
            col = "modalite_2" if within_modalite is not None else "modalite"
            total = grp["valeur"].sum()
            hit = grp.loc[grp[col].str.contains(pick, case=False, regex=False), "valeur"].sum()
            rows.append({"annee": int(year), "territoire": terr, "part": hit / total if total else np.nan})
        return rows

    specs = [
        ("Sorties positives : emploi durable (CDI, CDD de 6 mois et plus) à 12 mois",
         share("T18", "beneficiaires", "Emploi durable", within_modalite="12 mois")),
        ("Contrats en CDI ou CDD", share("T07", "contrats", "CD")),
        ("Part des femmes parmi les bénéficiaires", share("T08", "beneficiaires", "Femmes")),
        ("Part des résidents de QPV", share("T09", "beneficiaires", "Résident")),
        ("Part des travailleurs handicapés", share("T06", "beneficiaires", "handicap")),
        ("Part des marchés hors BTP (diversification)", [
            {**r, "part": 1 - r["part"]} for r in share("T03", "marches", "Bâtiment")]),
    ]
    rows = []
    for label, values in specs:
        for r in values:
            if r["territoire"] in (region, "FR"):
                rows.append({"indicateur": label, **r})
    out = pd.DataFrame(rows, columns=["indicateur", "annee", "territoire", "part"])
    if out.empty:
        return pd.DataFrame(columns=["indicateur", "annee", "region", "france", "ecart"])
    wide = out.pivot_table(index=["indicateur", "annee"], columns="territoire", values="part").reset_index()
    wide = wide.rename(columns={region: "region", "FR": "france"})
    for col in ("region", "france"):
        if col not in wide.columns:
            wide[col] = np.nan
    wide["ecart"] = wide["region"] - wide["france"]
    order = {label: i for i, (label, _) in enumerate(specs)}
    wide = wide.sort_values(["indicateur", "annee"], key=lambda s: s.map(order) if s.name == "indicateur" else s)
    return wide[["indicateur", "annee", "region", "france", "ecart"]].reset_index(drop=True)


# secrecy may hide (label prefix in data.indicators.followup, table, column, value picked, delay)
_BENEFICIARY_SHARES = [
    ("Sorties positives", "T18", "modalite_2", "Emploi durable", "12 mois"),
    ("Part des femmes", "T08", "modalite", "Femmes", None),
    ("Part des résidents de QPV", "T09", "modalite", "Résident", None),
    ("Part des travailleurs handicapés", "T06", "modalite", "handicap", None),
]


def followup_with_secrecy(ind: pd.DataFrame, region: str) -> tuple[pd.DataFrame, int]:
    """``followup`` with statistical secrecy: a share whose numerator counts fewer than ``SECRET_THRESHOLD``
    beneficiaries, or holds a cell hidden so that no secret can be computed back (:func:`protect`), is not
    shown (NaN, and the gap with France too).

    Returns the table (``indicateur, annee, region, france, ecart, secret``) and the number of
    shares hidden.
    """
    if "secret" in ind.columns:
        raise ValueError("followup_with_secrecy reads the indicators as imported, not already protected")
    fu = followup(ind, region)
    fu["secret"] = False
    if fu.empty:
        return fu, 0
    hidden = 0
    shown = protect(ind[ind["territoire"].isin([region, "FR"])])
    raw = pd.to_numeric(ind["valeur"], errors="coerce")
    for prefix, table, col, pick, delay in _BENEFICIARY_SHARES:
        pick_rows = (shown["tableau"] == table) & (shown["mesure"] == "beneficiaires")
        if delay is not None:
            pick_rows &= shown["modalite"] == delay
        pick_rows &= shown[col].fillna("").astype(str).str.contains(pick, case=False, regex=False)
        df = shown[pick_rows].assign(brut=raw.reindex(shown.index)[pick_rows])
        counts = df.groupby(["annee", "territoire"])["brut"].sum()
        masked = df.groupby(["annee", "territoire"])["secret"].any()
        rows = fu.index[fu["indicateur"].str.startswith(prefix)]
        for i in rows:
            year = fu.at[i, "annee"]
            for terr, column in ((region, "region"), ("FR", "france")):
                n = counts.get((year, terr), counts.get((str(year), terr)))
                any_secret = bool(masked.get((year, terr), masked.get((str(year), terr), False)))
                value = fu.at[i, column]
                if n is not None and (n < SECRET_THRESHOLD or any_secret) and value == value:
                    fu.at[i, column] = np.nan
                    fu.at[i, "ecart"] = np.nan
                    fu.at[i, "secret"] = True
                    hidden += 1
    return fu, hidden
