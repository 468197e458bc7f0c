"""Statistical secrecy of the ABC Clauses beneficiary tables (issue 21): after the primary secret (fewer than 5
beneficiaries), secondary suppression, so that no hidden cell can be computed back from what is shown of the same
territory and year: from another table sharing its total, nor from a cross table's row and column margins.

The property test draws linked tables at random and checks the published result with its own exact arithmetic
(fractions, Gaussian elimination): a hidden cell is computable when its unit vector lies in the row space of the
relations (every total and margin known) restricted to the hidden cells.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data.indicators import SECRET_THRESHOLD, followup_with_secrecy, protect, table_data

COLUMNS = ["annee", "territoire", "tableau", "dimension", "modalite", "dimension_2", "modalite_2", "mesure", "valeur"]


def rank(rows: list[list[Fraction]]) -> int:
    """The rank of a matrix of fractions (exact Gaussian elimination)."""
    m = [r[:] for r in rows if any(r)]
    rk, col, ncols = 0, 0, len(m[0]) if m else 0
    while rk < len(m) and col < ncols:
        pivot = next((i for i in range(rk, len(m)) if m[i][col] != 0), None)
        if pivot is None:
            col += 1
            continue
        m[rk], m[pivot] = m[pivot], m[rk]
        for i in range(len(m)):
            if i != rk and m[i][col] != 0:
                f = m[i][col] / m[rk][col]
                m[i] = [a - f * b for a, b in zip(m[i], m[rk])]
        rk, col = rk + 1, col + 1
    return rk


def computable_hidden(cells: list[tuple], relations: list[list[tuple]], hidden: set[tuple]) -> list[tuple]:
    """The hidden cells that the relations give from the shown ones (every relation's sum known)."""
    order = sorted(hidden)
    at = {c: k for k, c in enumerate(order)}
    a = []
    for rel in relations:
        row = [Fraction(0)] * len(order)
        for cell, coef in rel:
            if cell in at:
                row[at[cell]] += coef
        a.append(row)
    base = rank(a) if order else 0
    out = []
    for cell in order:
        unit = [Fraction(int(c == cell)) for c in order]
        if rank(a + [unit]) == base:
            out.append(cell)
    return out


@st.composite
def linked_tables(draw):
    """One territory and year: a cross table A x B drawn with small cells, its margins as the one-way tables of
    A and B, and further one-way tables that share its total (a random split of it)."""
    n_a, n_b = draw(st.integers(2, 5)), draw(st.integers(2, 4))
    cell = st.integers(0, 40) | st.integers(0, 6)  # often below the threshold
    cross = np.array(draw(st.lists(cell, min_size=n_a * n_b, max_size=n_a * n_b)), dtype=float).reshape(n_a, n_b)
    total = int(cross.sum())
    tables = {"T12": ("categorie", "sexe", cross)}
    one_way = {"T06": ("categorie", cross.sum(axis=1)), "T08": ("sexe", cross.sum(axis=0))}
    for t in draw(st.lists(st.sampled_from(["T09", "T10", "T11"]), unique=True, max_size=3)):
        k = draw(st.integers(2, 4))
        cuts = sorted(draw(st.lists(st.integers(0, total), min_size=k - 1, max_size=k - 1)))
        parts = np.diff([0, *cuts, total]).astype(float)
        one_way[t] = ({"T09": "origine", "T10": "qualification", "T11": "age"}[t], parts)
    rows = []
    for t, (dim, values) in one_way.items():
        rows += [(2024, "76", t, dim, f"{dim}{i}", "", "", "beneficiaires", v) for i, v in enumerate(values)]
    for t, (d1, d2, m) in tables.items():
        rows += [(2024, "76", t, d1, f"{d1}{i}", d2, f"{d2}{j}", "beneficiaires", m[i, j])
                 for i in range(m.shape[0]) for j in range(m.shape[1])]
    return pd.DataFrame(rows, columns=COLUMNS)


def relations_of(df: pd.DataFrame) -> tuple[list[tuple], list[list[tuple]]]:
    """The test's own statement of what is known: each table's total; each row and column of a cross table
    equal to the cell of the one-way table of that dimension."""
    cells = [tuple(r) for r in df[["tableau", "modalite", "modalite_2"]].itertuples(index=False)]
    rels = []
    for t, grp in df.groupby("tableau"):
        rels.append([((t, m, m2), 1) for m, m2 in zip(grp["modalite"], grp["modalite_2"])])
    one_way = {(r.dimension, r.modalite): (r.tableau, r.modalite, "") for r in df[df["modalite_2"] == ""].itertuples()}
    cross = df[df["modalite_2"] != ""]
    for t, grp in cross.groupby("tableau"):
        for dim_col, mod_col in (("dimension", "modalite"), ("dimension_2", "modalite_2")):
            for (d, m), part in grp.groupby([dim_col, mod_col]):
                rel = [((t, a, b), 1) for a, b in zip(part["modalite"], part["modalite_2"])]
                if (d, m) in one_way:
                    rel.append((one_way[(d, m)], -1))
                rels.append(rel)
    return cells, rels


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(linked_tables())
def test_no_hidden_cell_can_be_computed_back(df):
    out = protect(df)
    hidden = {(r.tableau, r.modalite, r.modalite_2) for r in out[out["secret"]].itertuples()}
    small = {(r.tableau, r.modalite, r.modalite_2) for r in df[df["valeur"] < SECRET_THRESHOLD].itertuples()}
    assert small <= hidden  # the primary secret
    assert out.loc[out["secret"], "valeur"].isna().all() and out.loc[~out["secret"], "valeur"].notna().all()
    cells, rels = relations_of(df)
    assert computable_hidden(cells, rels, hidden) == []
    if not small:
        assert not hidden  # nothing to protect, nothing hidden


def test_one_hidden_cell_of_a_table_is_not_given_back_by_another_tables_total():
    """The case of the issue: T06 and T08 count the same beneficiaries; a single hidden cell of T08 would be
    T06's total minus T08's other cells."""
    rows = [(2024, "76", "T06", "categorie", c, "", "", "beneficiaires", v)
            for c, v in (("A", 40), ("B", 30), ("C", 20))]
    rows += [(2024, "76", "T08", "sexe", c, "", "", "beneficiaires", v) for c, v in (("Hommes", 87), ("Femmes", 3))]
    df = pd.DataFrame(rows, columns=COLUMNS)
    out = protect(df).set_index("modalite")
    assert out.loc["Femmes", "secret"] and out.loc["Hommes", "secret"]  # 90 − 87 would give 3
    assert not out.loc[["A", "B", "C"], "secret"].any()


def test_a_cross_tables_hidden_cell_is_not_given_back_by_its_margins():
    cats, sexes = ["A", "B", "C"], ["Hommes", "Femmes"]
    m = {("A", "Hommes"): 50, ("A", "Femmes"): 20, ("B", "Hommes"): 40, ("B", "Femmes"): 3, ("C", "Hommes"): 30,
         ("C", "Femmes"): 15}
    rows = [(2024, "76", "T12", "categorie", c, "sexe", s, "beneficiaires", m[(c, s)]) for c in cats for s in sexes]
    rows += [(2024, "76", "T06", "categorie", c, "", "", "beneficiaires", sum(m[(c, s)] for s in sexes)) for c in cats]
    rows += [(2024, "76", "T08", "sexe", s, "", "", "beneficiaires", sum(m[(c, s)] for c in cats)) for s in sexes]
    df = pd.DataFrame(rows, columns=COLUMNS)
    out = protect(df)
    hidden = {(r.tableau, r.modalite, r.modalite_2) for r in out[out["secret"]].itertuples()}
    assert ("T12", "B", "Femmes") in hidden
    cells, rels = relations_of(df)
    assert computable_hidden(cells, rels, hidden) == []
    # the smallest complement: a rectangle of four cells of T12, the one-way tables shown whole
    assert len(hidden) == 4 and all(t == "T12" for t, _, _ in hidden)


def test_secrecy_reaches_the_page_the_exports_and_the_follow_up(demo_ds):
    """table_data (the page, the workbook and the PDF) and the § 6b shares hide what protect hides."""
    ind = demo_ds.indicateurs.copy()
    region = ind.loc[ind["territoire"] != "FR", "territoire"].iloc[0]
    year = int(ind["annee"].max())
    at = ((ind["tableau"] == "T08") & (ind["territoire"] == region) & (ind["annee"] == year)
          & (ind["modalite"] == "Femmes") & (ind["mesure"] == "beneficiaires"))
    ind.loc[at, "valeur"] = 4
    t08 = table_data(ind, "T08", region, "beneficiaires")
    mine = t08[(t08["territoire"] == region) & (t08["annee"] == year)].set_index("modalite")
    assert mine.loc["Femmes", "secret"] and mine.loc["Hommes", "secret"]  # a two-cell table: both, or none
    assert mine["valeur"].isna().all() and mine["part"].isna().all()
    fu, hidden = followup_with_secrecy(ind, region)
    women = fu[(fu["annee"] == year) & fu["indicateur"].str.startswith("Part des femmes")].iloc[0]
    assert women["secret"] and np.isnan(women["region"]) and hidden >= 1
    # the category table, sharing the total, stays whole (a hidden pair cannot be told apart)
    t06 = table_data(ind, "T06", region, "beneficiaires")
    assert not t06[(t06["territoire"] == region) & (t06["annee"] == year)]["secret"].any()


@pytest.mark.parametrize("territory", ["76", "FR"])
def test_each_territory_and_year_on_its_own(territory):
    rows = []
    for terr in ("76", "FR"):
        for year in (2023, 2024):
            small = 2 if (terr == territory and year == 2024) else 50
            rows += [(year, terr, "T09", "origine", "Hors QPV", "", "", "beneficiaires", 100),
                     (year, terr, "T09", "origine", "Résident d'un QPV", "", "", "beneficiaires", small)]
    out = protect(pd.DataFrame(rows, columns=COLUMNS))
    hid = out[out["secret"]]
    assert set(zip(hid["territoire"], hid["annee"])) == {(territory, 2024)} and len(hid) == 2
