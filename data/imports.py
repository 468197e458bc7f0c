"""Applying an accepted import to the active dataset (pure: no Streamlit, no disk)."""

from __future__ import annotations

import datetime as dt

from data.dataset import Dataset
from data.validation import Loaded


def apply(ds: Dataset, loaded: Loaded, file_names: list[str]) -> Dataset:
    """The dataset with the tables of an accepted file; a refused file changes nothing."""
    if not loaded.ok or not loaded.tables:
        return ds
    new = ds.replace(**loaded.tables)
    sources = dict(new.meta.get("sources", {}))
    sources[loaded.kind] = ", ".join(file_names) + f" (importé le {dt.date.today():%d/%m/%Y})"
    new.meta["sources"] = sources
    if loaded.kind == "communes":
        regs = loaded.tables["communes"]["reg"].astype(str)
        regs = regs[regs != ""]
        new.meta["region"] = regs.value_counts().index[0] if len(regs) else ""
    if loaded.kind == "indicateurs" and len(loaded.tables["indicateurs"]):
        new.meta["millesime"] = str(int(loaded.tables["indicateurs"]["annee"].max()))
    return new
