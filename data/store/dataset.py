"""A workspace's dataset: the tables the diagnosis needs, which of them were really imported,
and what they are (workspace, version, vintages, sources)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from data import schemas as S
from geo.codes import REGION_NAMES

DEMO_LABEL = "Région de démonstration – données fictives"
TABLES = ("communes", "qpv", "structures", "perimetres", "marches", "indicateurs", "structures_inclusion")
# the kind of file each table comes from (facilitators bring two tables)
KIND_OF_TABLE = {"communes": "communes", "qpv": "qpv", "structures": "facilitateurs",
                 "perimetres": "facilitateurs", "marches": "marches", "indicateurs": "indicateurs",
                 "structures_inclusion": "structures_inclusion"}
TABLES_OF_KIND = {"communes": ("communes",), "qpv": ("qpv",), "facilitateurs": ("structures", "perimetres"),
                  "marches": ("marches",), "indicateurs": ("indicateurs",),
                  "structures_inclusion": ("structures_inclusion",)}
# what a page says when a table is missing from the workspace (never a fall-back on another one)
MISSING = {
    "communes": "Aucun référentiel des communes n'a été importé dans cet espace.",
    "qpv": "Aucun fichier de QPV n'a été importé dans cet espace.",
    "facilitateurs": "Aucun fichier de facilitateurs n'a été importé dans cet espace.",
    "marches": "Aucun fichier de marchés n'a été importé dans cet espace.",
    "indicateurs": "Aucun fichier d'indicateurs ABC Clauses n'a été importé dans cet espace.",
    "structures_inclusion": "Aucun fichier de structures de l'inclusion (SIAE, GEIQ, EA, ESAT) n'a été importé dans "
                            "cet espace.",
}


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
    present: frozenset = frozenset(TABLES)  # tables that hold imported data (the others are empty)
    structures_inclusion: pd.DataFrame | None = None  # SIAE, GEIQ, EA/EATT, ESAT (an empty table when None)

    TABLES = TABLES

    def __post_init__(self) -> None:
        if self.structures_inclusion is None:
            self.structures_inclusion = empty_table("structures_inclusion")
            if "structures_inclusion" in self.present and self.present == frozenset(TABLES):
                # a dataset built with every table but this one (an older caller): this one was not imported
                self.present = self.present - {"structures_inclusion"}

    @classmethod
    def empty(cls, meta: dict | None = None) -> "Dataset":
        return cls(**{t: empty_table(t) for t in TABLES}, meta=dict(meta or {}), present=frozenset())

    @property
    def label(self) -> str:
        return self.meta.get("name") or self.meta.get("label") or (DEMO_LABEL if self.is_demo else "Espace de travail")

    @property
    def slug(self) -> str:
        return str(self.meta.get("slug", ""))

    @property
    def is_demo(self) -> bool:
        return bool(self.meta.get("demo", False))

    def has(self, kind: str) -> bool:
        """Whether the tables of ``kind`` (a table or a file kind) were imported into this workspace."""
        return all(t in self.present for t in TABLES_OF_KIND.get(kind, (kind,)))

    @property
    def vintages(self) -> dict[str, str]:
        """Vintage of each imported kind (COG year, QPV generation, years, market period)."""
        return dict(self.meta.get("vintages", {}))

    def vintages_text(self) -> str:
        """« COG 2026 · QPV 2024 · facilitateurs 2025 »: the vintage of each table present that has one (a wall
        never reads « non précisé »: the facilitators' year is asked at import); ``""`` when none has."""
        labels = {"communes": "COG", "qpv": "QPV", "facilitateurs": "facilitateurs", "marches": "marchés",
                  "indicateurs": "indicateurs", "structures_inclusion": "structures de l'inclusion"}
        vint = self.vintages
        return " · ".join(f"{labels[k]} {vint[k]}" for k in labels if self.has(k) and vint.get(k))

    def sources(self) -> list[tuple[str, str]]:
        """For each table present, its French name and where it comes from (the files imported, or the
        référentiel's credit), without a leading « Sources : »."""
        src = self.meta.get("sources", {}) or {}
        return [(S.KINDS[k], re.sub(r"^\s*Sources?\s*:\s*", "", str(src.get(k) or "fichier importé")))
                for k in S.KINDS if self.has(k)]

    def sources_note(self) -> str:
        """What the maps, tables and exports credit: the official référentiel's sources when it is used."""
        if self.meta.get("referentiel_officiel"):
            return self.meta.get("sources", {}).get("communes", "")
        return ""

    def credit(self) -> str:
        """The footnote of a map or an export: workspace, vintages and, when used, the référentiel's sources."""
        note = self.sources_note()
        vint = self.vintages_text()
        return self.label + (f" ({vint})" if vint else "") + (f". {note}" if note else "")

    @property
    def default_region(self) -> str:
        if self.meta.get("region") and str(self.meta["region"]) in self.regions():
            return str(self.meta["region"])
        return self._memo("default_region", self._most_common_region)

    def _most_common_region(self) -> str:
        regs = self.communes["reg"].astype(str)
        regs = regs[regs != ""]
        return regs.value_counts().index[0] if len(regs) else ""

    def _memo(self, name: str, compute):
        """``compute()`` once for this object, which is read by every page and every session (a loaded
        dataset is never changed in place: an import makes a new one, see :meth:`replace`)."""
        cached = self.__dict__.get(f"_memo_{name}")
        if cached is None or cached[0] is not self.communes:  # the référentiel replaced in place: again
            cached = (self.communes, compute())
            self.__dict__[f"_memo_{name}"] = cached
        return cached[1]

    def regions(self) -> dict[str, str]:
        """Région codes present in the référentiel, with their names when known."""
        return dict(self._memo("regions", self._regions))

    def _regions(self) -> dict[str, str]:
        c = self.communes
        out: dict[str, str] = {}
        names = c["reg_nom"] if "reg_nom" in c.columns else pd.Series("", index=c.index)
        for code, name in zip(c["reg"].astype(str), names.astype(str)):
            if code and code not in out:
                out[code] = name if name and name != "nan" else REGION_NAMES.get(code, f"Région {code}")
        return dict(sorted(out.items()))

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in TABLES}

    def replace(self, **tables) -> "Dataset":
        """A copy with some tables replaced (an accepted import); they become present."""
        values = {name: getattr(self, name) for name in TABLES}
        values.update(tables)
        return Dataset(**values, meta=dict(self.meta), present=self.present | frozenset(tables))

    @property
    def inclusion(self) -> pd.DataFrame | None:
        """The inclusion structures, ``None`` when none were imported (every figure counting them is then
        unknown, never zero): what ``geo.engine.run(..., inclusion=)`` takes."""
        return self.structures_inclusion if self.has("structures_inclusion") else None
