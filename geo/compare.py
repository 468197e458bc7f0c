"""Comparing structures: shared communes, pairwise overlaps and who covers which QPV / zone."""

from __future__ import annotations

import numpy as np
import pandas as pd


def shared_communes(result, ids: list[str]) -> list[str]:
    """Codes of the région's communes covered by two or more of the ``ids`` structures."""
    d = result.diagnosis
    lists = d.communes["structures"].str.split(";")
    chosen = set(ids)
    mask = lists.apply(lambda lst: len(chosen.intersection(lst)) >= 2)
    return d.communes.loc[mask.to_numpy(), "code_insee"].tolist()


def overlaps_between(overlaps: pd.DataFrame, ids: list[str], names: dict[str, str]) -> pd.DataFrame:
    """The pairwise overlap rows among ``ids`` (pairs that share nothing appear with zeros)."""
    rows = []
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            hit = overlaps[((overlaps["id_a"] == a) & (overlaps["id_b"] == b)) |
                           ((overlaps["id_a"] == b) & (overlaps["id_b"] == a))]
            r = hit.iloc[0] if len(hit) else None
            rows.append({"id_a": names.get(a, a), "id_b": names.get(b, b),
                         "communes_partagees": int(r["communes_partagees"]) if r is not None else 0,
                         "population_partagee": int(r["population_partagee"]) if r is not None else 0,
                         "qpv_partages": int(r["qpv_partages"]) if r is not None else 0})
    return pd.DataFrame(rows, columns=["id_a", "id_b", "communes_partagees", "population_partagee", "qpv_partages"])


def coverage_matrix(diag, ids: list[str], names: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """QPV x structures and zones d'emploi x structures, "oui" where the structure covers it."""
    counts = pd.Series([names.get(s, s) for s in ids]).value_counts()
    # a column per structure: its name, with its identifier when two structures share a name
    headers = [names.get(s, s) if counts[names.get(s, s)] == 1 else f"{names.get(s, s)} ({s})" for s in ids]

    def matrix(df: pd.DataFrame, key_cols: list[str]) -> pd.DataFrame:
        lists = df["structures"].fillna("").str.split(";")
        out = df[key_cols].copy()
        for sid, header in zip(ids, headers):
            out[header] = np.where(lists.apply(lambda lst: sid in lst), "oui", "")
        keep = (out[headers] == "oui").any(axis=1)
        return out[keep.to_numpy()].reset_index(drop=True)

    return (matrix(diag.qpv, ["code_qp", "nom_qp", "population", "statut"]),
            matrix(diag.zones_emploi, ["code", "nom", "population"]))
