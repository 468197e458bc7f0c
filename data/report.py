"""Validation reports: every message in French, naming the file, the line and the column.

Shared by the readers (``data.formats``) and the rules (``data.validation``): the bottom of ``data/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

ERROR = "erreur"
WARNING = "avertissement"

# At most this many messages of one kind (same file, column and rule) are listed; the rest
# are summed up in one line so that a 35,000-line file with one systematic defect stays readable.
MAX_PER_RULE = 20


@dataclass(frozen=True)
class Issue:
    level: str
    file: str
    message: str
    line: int | None = None  # as a spreadsheet shows it: header = 1, first data row = 2
    column: str | None = None
    unit: str = "ligne"  # "ligne" for tables, "entité" for geographic files

    @property
    def where(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(f"{self.unit} {self.line}")
        if self.column:
            parts.append(f"colonne « {self.column} »")
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.level.capitalize()} — {self.where} : {self.message}"


@dataclass
class Report:
    issues: list[Issue] = field(default_factory=list)
    _counts: dict[tuple, int] = field(default_factory=dict, repr=False)

    def add(self, level: str, file: str, message: str, line: int | None = None,
            column: str | None = None, unit: str = "ligne", rule: str | None = None) -> None:
        """Record one issue; past ``MAX_PER_RULE`` of a rule, count it silently."""
        key = (file, column, rule or message, level)
        n = self._counts.get(key, 0) + 1
        self._counts[key] = n
        if rule is None or n <= MAX_PER_RULE:
            self.issues.append(Issue(level, file, message, line, column, unit))

    def error(self, file: str, message: str, **kw) -> None:
        self.add(ERROR, file, message, **kw)

    def warning(self, file: str, message: str, **kw) -> None:
        self.add(WARNING, file, message, **kw)

    def close(self) -> "Report":
        """Add one summary line for each rule that hit more than ``MAX_PER_RULE`` lines."""
        for (file, column, rule, level), n in list(self._counts.items()):
            if n > MAX_PER_RULE:
                self.issues.append(Issue(level, file, f"… et {n - MAX_PER_RULE:,} autre(s) ligne(s) : {rule}".replace(",", "\u202f"),
                                         None, column))
                self._counts[(file, column, rule, level)] = MAX_PER_RULE
        return self

    def extend(self, other: "Report") -> None:
        self.issues.extend(other.issues)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.level == ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.level == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_frame(self) -> pd.DataFrame:
        """The report as a table for the screen (French headers)."""
        rows = [{"Niveau": i.level, "Fichier": i.file,
                 "Ligne": i.line if i.line is not None else pd.NA,
                 "Colonne": i.column or "", "Message": i.message} for i in self.issues]
        return pd.DataFrame(rows, columns=["Niveau", "Fichier", "Ligne", "Colonne", "Message"]).astype(
            {"Ligne": "Int64"})

    def summary(self) -> str:
        e, w = len(self.errors), len(self.warnings)
        if not self.issues:
            return "Aucune anomalie : le fichier est accepté."
        verdict = "refusé" if e else "accepté"
        return f"{e} erreur(s), {w} avertissement(s) : le fichier est {verdict}."

    def text(self) -> str:
        return "\n".join([*(str(i) for i in self.issues), self.summary()])

    def first_errors(self, n: int = 3) -> list[str]:
        """The first ``n`` errors in full (where, then what): what a refusal says before its table."""
        return [f"{i.where} : {i.message}" for i in self.errors[:n]]


@dataclass
class Loaded:
    """The outcome of reading one user file (or one pair of facilitator tables)."""

    kind: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    report: Report = field(default_factory=Report)
    # rows read, kept, dropped as located outside the région... (the import's record in the history)
    counts: dict[str, int] = field(default_factory=dict)
    # the layers of a file of several (a GeoPackage) when none was chosen: the page asks which
    layers: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.report.ok
