"""A file's headers read as the product's column names: the names, their official aliases and the headers a
person writes from the templates' French labels, compared folded (case, accents, spaces). Shared by the rules of
every kind (``rules``) and the inclusion structures (``inclusion``)."""

from __future__ import annotations

import re

import pandas as pd

from data import schemas as S
from geo.codes import fold


def label_header(label: str) -> str:
    """The header a person writes from a column's French label: « Nom de la structure » from « Nom de la
    structure », « Type » from « Type : PLIE, MDE… », « Commune d'implantation » from « Commune
    d'implantation (code INSEE) », « Code du lieu » from « Code(s) du lieu, séparés par « ; » »."""
    head = label.split(" : ")[0].split(",")[0]
    return re.sub(r"\s*\([^)]*\)", "", head).strip()


def rename_columns(df: pd.DataFrame, schema: S.TableSchema) -> pd.DataFrame:
    """The file's columns the schema knows, renamed to canonical names (names, official aliases and the headers of
    the templates' French labels, compared folded); the others left out. Exact canonical names first, so that
    an alias never hides the real column."""
    by_fold: dict[str, str] = {}
    for f in schema.fields:
        by_fold.setdefault(fold(f.name), f.name)
    for f in schema.fields:
        for alias in f.aliases:
            by_fold.setdefault(fold(alias), f.name)
    for f in schema.fields:
        if f.label:
            by_fold.setdefault(fold(label_header(f.label)), f.name)
    rename: dict[str, str] = {}
    taken: set[str] = set()
    canonical = {fold(f.name) for f in schema.fields}
    for col in sorted(df.columns, key=lambda c: fold(c) not in canonical):
        target = by_fold.get(fold(col))
        if target and target not in taken:
            rename[col] = target
            taken.add(target)
    return df[list(rename)].rename(columns=rename)
