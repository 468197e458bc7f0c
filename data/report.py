"""Validation reports: every message in French, naming the file, the line and the column.

Shared by the readers (``data.formats``) and the rules (``data.validation``): the bottom of ``data/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

ERROR = "erreur"
WARNING = "avertissement"


def agree(n, singular: str, plural: str) -> str:
    """The words that follow a count, agreed in French: the singular for 0 and 1 (any number below 2),
    the plural from 2 on (« 0 marché », « 1 marché », « 2 marchés »)."""
    try:
        value = abs(float(n))
    except (TypeError, ValueError):
        return plural
    return singular if value < 2 else plural


def number(n) -> str:
    """``1754`` -> ``1 754`` (narrow no-break space), as every message writes a count."""
    return f"{int(n):,}".replace(",", "\u202f")


def count(n, singular: str, plural: str) -> str:
    """A count and its words agreed: ``count(2, "marché", "marchés")`` -> ``2 marchés``."""
    return f"{number(n)} {agree(n, singular, plural)}"

UNIT_PLURALS = {"ligne": "lignes", "entité": "entités", "marché": "marchés"}
UNIT_HEADERS = {"ligne": "Ligne", "entité": "Entité", "marché": "Marché n°"}

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
    _units: dict[tuple, str] = field(default_factory=dict, repr=False)

    def add(self, level: str, file: str, message: str, line: int | None = None,
            column: str | None = None, unit: str = "ligne", rule: str | None = None) -> None:
        """Record one issue; past ``MAX_PER_RULE`` of a rule, count it silently."""
        key = (file, column, rule or message, level)
        n = self._counts.get(key, 0) + 1
        self._counts[key] = n
        self._units.setdefault(key, unit)
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
                rest = n - MAX_PER_RULE
                unit = self._units.get((file, column, rule, level), "ligne")
                others = count(rest, f"autre {unit}", f"autres {UNIT_PLURALS.get(unit, unit + 's')}")
                self.issues.append(Issue(level, file, f"… et {others} : {rule}", None, column, unit))
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

    def to_frame(self, titles: dict[str, str] | None = None) -> pd.DataFrame:
        """The report as a table for the screen (French headers): where (« Ligne » for a table,
        « Marché n° » for the records of a DECP file, « Entité » for a geographic file), the column by its
        French name (``titles``: the file kind's, see ``data.schemas.column_titles``), the message."""
        titles = titles or {}
        units = {i.unit for i in self.issues if i.line is not None}
        where = UNIT_HEADERS.get(next(iter(units)), "Emplacement") if len(units) == 1 else (
            "Emplacement" if units else "Ligne")
        mixed = len(units) > 1
        rows = [{"Niveau": i.level, "Fichier": i.file,
                 where: (f"{i.unit} {i.line}" if mixed else i.line) if i.line is not None else (
                     "" if mixed else pd.NA),
                 "Colonne": titles.get(i.column, i.column) if i.column else "", "Message": i.message}
                for i in self.issues]
        frame = pd.DataFrame(rows, columns=["Niveau", "Fichier", where, "Colonne", "Message"])
        if not units:  # no message names a line (a DECP file's contracts are named by their identifier)
            return frame.drop(columns=where)
        return frame if mixed else frame.astype({where: "Int64"})

    def summary(self) -> str:
        """What the checks found, in a few words (« 0 erreur, 9 avertissements »)."""
        e, w = len(self.errors), len(self.warnings)
        if not self.issues:
            return "aucune anomalie"
        return f"{count(e, 'erreur', 'erreurs')}, {count(w, 'avertissement', 'avertissements')}"

    def text(self) -> str:
        return "\n".join([*(str(i) for i in self.issues), self.summary().capitalize() + "."])

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

    def report_frame(self) -> pd.DataFrame:
        """The report as a table, each column named in French for this kind of file."""
        from data.schemas import column_titles

        return self.report.to_frame(column_titles(self.kind))

    def outcome(self, names: list[str] | str) -> str:
        """One sentence: what was read, and what became of it (kept, located elsewhere, non localisable,
        refused), with the plurals right. ``names``: the files' names."""
        return outcome(self, names)


def _files(names: list[str] | str, verdict: str) -> str:
    """« Le fichier « a.csv » est accepté » / « Les fichiers « a.csv » et « b.csv » sont acceptés »."""
    names = [names] if isinstance(names, str) else [n for n in names if n]
    quoted = [f"« {n} »" for n in names]
    if len(quoted) <= 1:
        return f"Le fichier {quoted[0] if quoted else ''} est {verdict}".replace("  ", " ")
    listed = ", ".join(quoted[:-1]) + " et " + quoted[-1]
    return f"Les fichiers {listed} sont {verdict}s"


def join_and(parts: list[str]) -> str:
    """« a », « a et b », « a, b et c »."""
    parts = [x for x in parts if x]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " et " + parts[-1] if parts else ""


def _agreed(n: int, word: str, feminine: bool = False) -> str:
    """A participle agreed with its count: ``_agreed(2, "gardé", True)`` -> ``gardées``."""
    e = "e" if feminine else ""
    return word + e + ("s" if n >= 2 else "")


def _read_kept(c: dict, singular: str, plural: str, feminine: bool = False, what: str = "") -> str:
    """« 30 QPV lus, tous gardés », or « 1 584 QPV lus, dont 30 gardés et 1 554 situés hors du territoire de
    l'espace écartés »; ``what``, said of the rows read (« (57 codes QPV différents) »)."""
    read, kept = int(c.get("lus", 0)), int(c.get("gardes", c.get("lus", 0)))
    out = int(c.get("hors_region", 0))
    text = f"{count(read, singular, plural)}{what} {_agreed(read, 'lu', feminine)}"
    if kept == read and not out:
        if read == 1:
            return f"{text} et {_agreed(1, 'gardé', feminine)}"
        return f"{text}, {'toutes' if feminine else 'tous'} {_agreed(read, 'gardé', feminine)}" if read else text
    others = read - kept - out
    return text + ", dont " + join_and([
        f"{number(kept)} {_agreed(kept, 'gardé', feminine)}",
        f"{number(out)} {_agreed(out, 'situé', feminine)} hors du territoire de l'espace "
        f"{_agreed(out, 'écarté', feminine)}" if out else "",
        f"{number(others)} en double {_agreed(others, 'écarté', feminine)}" if others > 0 else ""])


# an import's counts as the history writes them (in this order), with their words
_COUNT_WORDS = (("lus", "lu", "lus"), ("gardes", "gardé", "gardés"), ("hors_region", "hors région", "hors région"),
                ("non_localisables", "non localisable", "non localisables"),
                ("hors_champ", "hors champ", "hors champ"), ("doublons", "en double", "en double"))


def counts_summary(counts: dict) -> str:
    """An import's counts in a few words, for a line of the history: « 7 lus (dont 1 concession), 6 gardés,
    1 hors région, 3 non localisables »; a facilitator file's as « 9 structures, 10 périmètres ». Empty when
    the record has none (a restoration).
    """
    c = {k: v for k, v in (counts or {}).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if "structures" in c:
        return f"{count(c['structures'], 'structure', 'structures')}, " \
               f"{count(c.get('perimetres', 0), 'périmètre', 'périmètres')}"
    parts = [count(c[k], one, many) for k, one, many in _COUNT_WORDS if c.get(k) or (k == "gardes" and k in c)]
    if parts and c.get("concessions") and c.get("lus"):
        parts[0] += f" (dont {count(c['concessions'], 'concession', 'concessions')})"
    return ", ".join(parts)


def outcome(loaded: "Loaded", names: list[str] | str) -> str:
    """The sentence an import answers (see :meth:`Loaded.outcome`)."""
    c, rep = loaded.counts, loaded.report
    w = len(rep.warnings)
    if not rep.ok:
        e = len(rep.errors)
        found = count(e, "erreur", "erreurs") + (f" et {count(w, 'avertissement', 'avertissements')}" if w else "")
        return f"{_files(names, 'refusé')} ({found}) : rien n'en est importé."
    kind = loaded.kind
    if kind == "facilitateurs" and "structures" in c:
        s, p = int(c["structures"]), int(c.get("perimetres", 0))
        p_read = int(c.get("perimetres_lus", p))
        what = f"{count(s, 'structure', 'structures')} et {count(p_read, 'ligne de périmètre', 'lignes de périmètre')} lues"
        if p_read == p:
            what += ", toutes gardées"
        else:  # a commune nouvelle and one of its former communes in one perimeter: one row
            what += (f", dont {number(p)} {_agreed(p, 'gardée', True)} ({number(p_read - p)} en double une fois les "
                     "anciennes communes rattachées à leur commune actuelle)")
    elif kind == "qpv" and c.get("codes_qpv") and c["codes_qpv"] != c.get("gardes"):
        # rows holding several codes: the rows are counted, then the distinct codes they hold
        what = _read_kept(c, "ligne de QPV", "lignes de QPV", True,
                          f" ({count(c['codes_qpv'], 'code QPV différent', 'codes QPV différents')})")
    elif kind == "qpv":
        what = _read_kept(c, "QPV", "QPV")
    elif kind == "marches":
        what = _markets_outcome(c)
    elif kind == "communes":
        what = _read_kept(c, "commune", "communes", feminine=True)
    elif kind == "structures_inclusion":
        what = _inclusion_outcome(c)
    else:
        what = _read_kept(c, "ligne", "lignes", feminine=True)
    tail = f" ; {count(w, 'avertissement', 'avertissements')}, {agree(w, 'détaillé', 'détaillés')} ci-dessous" if w else ""
    return f"{_files(names, 'accepté')} : {what}{tail}."


def _inclusion_outcome(c: dict) -> str:
    """« 13 structures lues, dont 8 gardées (1 non localisée), 2 situées hors de la région écartées, 2 écartées
    qui ne sont pas des structures de l'inclusion et 1 publiée plusieurs fois écartée »."""
    read, kept = int(c.get("lus", 0)), int(c.get("gardes", c.get("lus", 0)))
    out, other, dup = int(c.get("hors_region", 0)), int(c.get("hors_champ", 0)), int(c.get("doublons", 0))
    nl = int(c.get("non_localisables", 0))
    text = f"{count(read, 'structure', 'structures')} {_agreed(read, 'lu', True)}"
    unlocated = f" ({number(nl)} {agree(nl, 'non localisée', 'non localisées')}, {agree(nl, 'listée', 'listées')})" \
        if nl else ""
    if kept == read:
        return f"{text}, {'toutes' if read > 1 else ''} {_agreed(read, 'gardé', True)}{unlocated}".replace(",  ", " et ")
    return text + ", dont " + join_and([
        f"{number(kept)} {_agreed(kept, 'gardé', True)}{unlocated}",
        f"{number(out)} {_agreed(out, 'situé', True)} hors de la région {_agreed(out, 'écarté', True)}" if out else "",
        f"{number(other)} {_agreed(other, 'écarté', True)} qui ne {'sont' if other > 1 else 'est'} pas "
        f"{'des structures' if other > 1 else 'une structure'} de l'inclusion (agences, missions locales…)"
        if other else "",
        f"{number(dup)} {_agreed(dup, 'publié', True)} plusieurs fois {_agreed(dup, 'écarté', True)}" if dup else ""])


def _markets_outcome(c: dict) -> str:
    """« 4 contrats lus (2 marchés et 2 concessions), tous gardés (2 à clause sociale non localisables : des
    concessions, dont le format DECP ne donne pas le lieu d'exécution) »."""
    read, kept = int(c.get("lus", 0)), int(c.get("gardes", c.get("lus", 0)))
    conc = int(c.get("concessions", 0))
    out, dup = int(c.get("hors_region", 0)), int(c.get("doublons", 0))
    nl, nl_conc = int(c.get("non_localisables", 0)), int(c.get("concessions_non_localisables", 0))
    fem = bool(conc) and conc == read
    if conc and conc < read:
        text = (f"{count(read, 'contrat', 'contrats')} {_agreed(read, 'lu')} ({count(read - conc, 'marché', 'marchés')} "
                f"et {count(conc, 'concession', 'concessions')})")
    elif fem:
        text = f"{count(read, 'concession', 'concessions')} {_agreed(read, 'lu', True)}"
    else:
        text = f"{count(read, 'marché', 'marchés')} {_agreed(read, 'lu')}"
    located = ""
    if nl:
        located = f" ({number(nl)} à clause sociale {agree(nl, 'non localisable', 'non localisables')}"
        why = "le format DECP ne donne pas le lieu d'exécution d'une concession"
        if nl_conc and (nl_conc == nl and not fem):
            located += f" : {agree(nl, 'une concession', 'des concessions')} ; {why}"
        elif nl_conc and fem:
            located += f" : {why}"
        elif nl_conc:
            located += f", dont {count(nl_conc, 'concession', 'concessions')} : {why}"
        located += ")"
    if kept == read and not out and not dup:
        if not read:
            return text
        if read == 1:
            return f"{text} et {_agreed(1, 'gardé', fem)}{located}"
        return f"{text}, {'toutes' if fem else 'tous'} {_agreed(read, 'gardé', fem)}{located}"
    return text + ", dont " + join_and([
        f"{number(kept)} {_agreed(kept, 'gardé', fem)}{located}",
        f"{number(out)} {_agreed(out, 'situé', fem)} hors de la région {_agreed(out, 'écarté', fem)}" if out else "",
        f"{number(dup)} {_agreed(dup, 'publié', fem)} plusieurs fois {_agreed(dup, 'écarté', fem)}" if dup else ""])
