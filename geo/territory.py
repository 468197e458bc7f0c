"""Territory keys (``COM:31555``, ``EPCI:…``, ``DEP:31``, ``REG:76``, ``ZE:7608``, ``CP:31000``,
``PAYS:FR``) expanded to sets of communes through the référentiel.

Communes are numbered 0..n-1 in the référentiel's order; a set of communes is a sorted
``numpy`` array of those indices. A key that resolves to nothing returns ``None``: callers
report it, never drop it silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from geo.codes import as_text, plm_parent

# Territory types (perimeters) and place types (markets) share one vocabulary.
KEY_TYPES = {
    "commune": "COM", "com": "COM",
    "epci": "EPCI",
    "departement": "DEP", "dep": "DEP",
    "region": "REG", "reg": "REG",
    "ze": "ZE",
    "code_postal": "CP", "cp": "CP",
    "pays": "PAYS",
}
UNRESOLVABLE_TYPES = {"arrondissement": "code d'arrondissement (non géré : trop imprécis)",
                      "canton": "code de canton (non géré : les cantons ne suivent pas les communes)",
                      # the DECP formats since 2022 give a concession no place of execution
                      "concession": "concession : le format DECP ne donne pas son lieu d'exécution"}


def _index(values: pd.Series) -> dict[str, np.ndarray]:
    """Map each distinct non-empty value to the sorted indices where it appears."""
    codes = as_text(values).to_numpy(dtype=object)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    uniq, starts = np.unique(sorted_codes, return_index=True)
    ends = np.r_[starts[1:], len(sorted_codes)]
    return {u: np.sort(order[s:e]) for u, s, e in zip(uniq, starts, ends) if u and u != "nan"}


@dataclass
class Referentiel:
    """Lookup tables from territory codes to commune indices, built once per référentiel."""

    codes: np.ndarray  # commune codes, str
    population: np.ndarray  # int64
    dep: np.ndarray
    reg: np.ndarray
    ze: np.ndarray
    by: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    @classmethod
    def from_communes(cls, communes: pd.DataFrame) -> "Referentiel":
        c = communes.reset_index(drop=True)
        ref = cls(codes=as_text(c["code_insee"]).to_numpy(dtype=object),
                  population=pd.to_numeric(c["population"]).fillna(0).to_numpy(dtype=np.int64),
                  dep=as_text(c["dep"]).to_numpy(dtype=object), reg=as_text(c["reg"]).to_numpy(dtype=object),
                  ze=as_text(c["ze2020"]).to_numpy(dtype=object))
        ref.by = {
            "COM": _index(c["code_insee"]),
            "EPCI": _index(c["epci_siren"]),
            "DEP": _index(c["dep"]),
            "REG": _index(c["reg"]),
            "ZE": _index(c["ze2020"]),
        }
        # postal codes: one commune may have several, one code may serve several communes
        cp = as_text(c["codes_postaux"]).str.split(";").explode()
        cp = cp[cp.str.strip() != ""].str.strip()
        ref.by["CP"] = {k: np.sort(v.to_numpy()) for k, v in
                        pd.Series(cp.index.to_numpy(), index=cp.to_numpy()).groupby(level=0)}
        ref.by["PAYS"] = {"FR": np.arange(len(c))}
        return ref

    def __len__(self) -> int:
        return len(self.codes)

    def expand(self, key_type: str, code: str) -> np.ndarray | None:
        """Communes of one key; ``None`` when the key resolves to nothing."""
        kt = KEY_TYPES.get(key_type, key_type.upper())
        table = self.by.get(kt)
        if table is None:
            return None
        code = str(code).strip()
        found = table.get(code)
        if found is None and kt == "COM":
            parent = plm_parent(code)
            found = table.get(parent) if parent else None
        if found is None and kt == "PAYS" and code.upper() in ("FRA", "FRANCE"):
            found = table.get("FR")
        return found

    def expand_many(self, key_type: str, codes: list[str]) -> tuple[np.ndarray, list[str]]:
        """Union of several codes of one type, and the codes that resolved to nothing."""
        parts, unknown = [], []
        for code in codes:
            idx = self.expand(key_type, code)
            if idx is None:
                unknown.append(code)
            else:
                parts.append(idx)
        if not parts:
            return np.empty(0, dtype=np.int64), unknown
        return np.unique(np.concatenate(parts)), unknown

    def region_mask(self, region: str) -> np.ndarray:
        return self.reg == str(region)
