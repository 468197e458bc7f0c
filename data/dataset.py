"""The active dataset: the six tables the diagnosis needs, plus what they are (label, vintage)."""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from data import schemas as S
from geo.codes import REGION_NAMES

DEMO_LABEL = "Région de démonstration – données fictives"


def empty_table(kind: str) -> pd.DataFrame:
    schema = S.SCHEMAS[kind]
    df = pd.DataFrame({c: pd.Series(dtype=object) for c in schema.columns})
    if schema.geometry != "none":
        return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries([], crs="EPSG:2154"), crs="EPSG:2154")
    return df


@dataclass
class Dataset:
    communes: gpd.GeoDataFrame
    qpv: gpd.GeoDataFrame
    structures: pd.DataFrame
    perimetres: pd.DataFrame
    marches: pd.DataFrame
    indicateurs: pd.DataFrame
    meta: dict = field(default_factory=dict)

    TABLES = ("communes", "qpv", "structures", "perimetres", "marches", "indicateurs")

    @property
    def label(self) -> str:
        return self.meta.get("label", DEMO_LABEL if self.is_demo else "Données importées")

    @property
    def is_demo(self) -> bool:
        return bool(self.meta.get("demo", False))

    @property
    def default_region(self) -> str:
        if self.meta.get("region"):
            return str(self.meta["region"])
        regs = self.communes["reg"].astype(str)
        regs = regs[regs != ""]
        return regs.value_counts().index[0] if len(regs) else ""

    def regions(self) -> dict[str, str]:
        """Région codes present in the référentiel, with their names when known."""
        c = self.communes
        out: dict[str, str] = {}
        names = c["reg_nom"] if "reg_nom" in c.columns else pd.Series("", index=c.index)
        for code, name in zip(c["reg"].astype(str), names.astype(str)):
            if code and code not in out:
                out[code] = name if name and name != "nan" else REGION_NAMES.get(code, f"Région {code}")
        return dict(sorted(out.items()))

    def counts(self) -> dict[str, int]:
        return {
            "communes": len(self.communes),
            "qpv": len(self.qpv),
            "structures": len(self.structures),
            "perimetres": len(self.perimetres),
            "marches": len(self.marches),
            "indicateurs": len(self.indicateurs),
        }

    def replace(self, **tables) -> "Dataset":
        """A copy with some tables replaced (an accepted import) and the demo flag dropped."""
        values = {name: getattr(self, name) for name in self.TABLES}
        values.update(tables)
        meta = dict(self.meta)
        meta["demo"] = False
        meta["label"] = "Données importées" + (" (sur la base de la démonstration)" if self.is_demo else "")
        return Dataset(**values, meta=meta)
