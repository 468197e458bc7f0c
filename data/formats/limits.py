"""Limits of what a file may hold and of the time its reading may take, and how they are said in French.

A file is a guest, not a master: before anything heavy is done, its size, its number of rows and
columns, an archive's members and a layer's vertices are checked against :data:`LIMITS`, limits a
person can read on the Données page (:func:`limits_text`); a DECP file as published has its own
(``DECP_MAX_*``). ``fmt_int``, ``fmt_size`` and ``fmt_seconds`` say numbers as the messages do.

Time is bounded too: :func:`time_limit` starts the deadline of one import (``max_seconds`` of its
kind) and :func:`check_time`, called in every chunk loop (CSV chunks, XLSX rows, archive members,
vertex counts, DECP batches) and between the validation's heavy steps, raises :class:`TimeUp` once
it has passed. The deadline is cooperative (a single library call, such as GDAL reading a layer,
is not interrupted) and belongs to the thread that started it: one session's import never stops
another's. Whoever starts the deadline turns :class:`TimeUp` into a French error of its report
(``data.validation.validate``); without a deadline, :func:`check_time` does nothing. The deadlines
read the clock :data:`CLOCK` of this module.

The bottom of ``data.formats``: it imports nothing of the project, every reader imports it.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from dataclasses import dataclass

# ---------------------------------------------------------------------------------------------
# Limits, per kind of file

MB = 1024 * 1024


@dataclass(frozen=True)
class Limit:
    """What one file of a kind may hold. ``0`` means "not applicable"."""

    label: str  # how the page names the kind ("le référentiel des communes")
    max_bytes: int  # size of the file as uploaded
    max_rows: int  # data rows of a CSV table (or features of a geographic layer)
    max_xlsx_rows: int  # data rows of an XLSX sheet (read far more slowly than CSV)
    max_vertices: int = 0  # points of all the outlines of a layer
    max_vertices_feature: int = 0  # points of one outline
    max_seconds: float = 0  # reading and checking one import of the kind (files, rows, outlines)


# Time limits: about three times what a legitimate file at the kind's row (or vertex) limit takes on
# a 2-core machine already busy with other work (load average 2 to 3.5), so that no legitimate file is
# refused, while a file that slips past the other limits cannot hold a server thread for long:
# 2,000,000 markets in CSV, cut to a région, 38 s (200,000 in XLSX 20 s); 100,000 structures and
# 100,000 perimeters in one XLSX 23 s (in CSV 4 s); 500,000 indicator rows in CSV 12 s (200,000 in
# XLSX 15 s); the French référentiel (34,875 communes, 4.9 million vertices) in GeoPackage 3 s, 2.2
# million in GeoJSON 5 s; 19,000 QPV (1.9 million vertices) in GeoJSON 4 s.
LIMITS: dict[str, Limit] = {
    "communes": Limit("le référentiel des communes", 200 * MB, 100_000, 100_000, 5_000_000, 250_000, max_seconds=120),
    "qpv": Limit("les QPV", 100 * MB, 20_000, 20_000, 2_000_000, 100_000, max_seconds=60),
    "facilitateurs": Limit("les facilitateurs", 20 * MB, 100_000, 100_000, max_seconds=60),
    "marches": Limit("les marchés", 200 * MB, 2_000_000, 200_000, max_seconds=120),
    "indicateurs": Limit("les indicateurs", 50 * MB, 500_000, 200_000, max_seconds=60),
    # the national data·inclusion file (about 100,000 structures) is read and cut in a few seconds from CSV or
    # Parquet; its XLSX (read far more slowly) within the time limit too
    "structures_inclusion": Limit("les structures de l'inclusion", 400 * MB, 500_000, 200_000, max_seconds=120),
}
# a reader called without a kind applies the widest limits of every kind
ANY = Limit("ce fichier", max(x.max_bytes for x in LIMITS.values()), max(x.max_rows for x in LIMITS.values()),
            max(x.max_xlsx_rows for x in LIMITS.values()), max(x.max_vertices for x in LIMITS.values()),
            max(x.max_vertices_feature for x in LIMITS.values()), max(x.max_seconds for x in LIMITS.values()))
# A DECP file as published: the national consolidated file (about 210 MB in Parquet) is read by
# batches, its région cut first; JSON has to be parsed whole, so it is kept smaller.
DECP_MAX_BYTES = 1024 * MB
DECP_JSON_MAX_BYTES = 100 * MB
DECP_MAX_ROWS = 20_000_000  # rows read (market x holder x modification), before the cut
# Time: 4 million rows cut to a région take 12 s from Parquet and 21 s from CSV (400 MB) on a busy
# 2-core machine, so a national file at these limits (20 million rows, or 1 GB of CSV) takes about a
# minute: the 2 minutes of a market table would leave no margin. A DECP file as published has its own
# time limit, counted from the start of its import.
DECP_MAX_SECONDS = 300
MAX_COLUMNS = 500  # columns of a table (the widest format has 14; a national DECP file a few dozen)
MAX_HEADER_BYTES = 1 * MB  # a header line longer than this is not a header
# archives (zipped Shapefile, and the XLSX container): checked from their directory, before extraction
ARCHIVE_MAX_MEMBERS = 200
ARCHIVE_MAX_UNCOMPRESSED = 1024 * MB  # all members together, once extracted
ARCHIVE_MAX_RATIO = 200  # uncompressed / compressed, for a member of more than ARCHIVE_RATIO_FROM
ARCHIVE_RATIO_FROM = 10 * MB
CHUNK_ROWS = 100_000
BLOCK = 1 * MB


def limit_of(kind: str | None) -> Limit:
    return LIMITS.get(kind or "", ANY)


def fmt_int(n: int) -> str:
    """``2000000`` -> ``2 000 000`` (narrow no-break spaces, as everywhere in the app)."""
    return f"{int(n):,}".replace(",", "\u202f")


def fmt_size(n: int) -> str:
    """A size as a person says it: ``250 Mo``, ``1 Go``, ``12 ko``."""
    if n >= 1024 * MB:
        v = n / (1024 * MB)
        return (f"{v:.0f}" if v >= 10 or v.is_integer() else f"{v:.1f}".replace(".", ",")) + "\u00a0Go"
    if n >= MB:
        v = n / MB
        return (f"{v:.0f}" if v >= 10 or v.is_integer() else f"{v:.1f}".replace(".", ",")) + "\u00a0Mo"
    return f"{max(1, round(n / 1024))}\u00a0ko"


def fmt_seconds(s: float) -> str:
    """A duration as a person says it: ``2 min``, ``30 s``, ``0,5 s``."""
    if s >= 60 and float(s) % 60 == 0:
        return f"{int(s) // 60}\u00a0min"
    return (f"{int(s)}" if float(s).is_integer() else f"{s:g}".replace(".", ",")) + "\u00a0s"


def limits_text(kind: str) -> str:
    """The limits of a kind of file, in French, as the Données page states them."""
    lim = limit_of(kind)
    parts = [f"{fmt_size(lim.max_bytes)} au plus par fichier",
             f"{fmt_int(lim.max_rows)} lignes au plus en CSV",
             f"{fmt_int(lim.max_xlsx_rows)} en XLSX" + (" (au-delà, enregistrez le tableau en CSV)"
                                                        if lim.max_xlsx_rows < lim.max_rows else "")]
    if lim.max_seconds:
        parts.append(f"lu et vérifié en {fmt_seconds(lim.max_seconds)} au plus (au-delà, la lecture est arrêtée "
                     "et le fichier refusé)")
    text = f"Limites pour {lim.label} : " + ", ".join(parts)
    if lim.max_vertices:
        text += (f" ; contours : {fmt_int(lim.max_vertices)} sommets au plus pour la couche et "
                 f"{fmt_int(lim.max_vertices_feature)} par entité (simplifiez les contours au-delà) ; "
                 f"Shapefile zippé : {fmt_int(ARCHIVE_MAX_MEMBERS)} fichiers et "
                 f"{fmt_size(ARCHIVE_MAX_UNCOMPRESSED)} une fois décompressé, au plus")
    if kind == "marches":
        text += (f" ; fichier DECP tel que publié : {fmt_size(DECP_MAX_BYTES)} au plus en Parquet ou CSV "
                 "depuis la ligne de commande (lu par morceaux, ramené à la région d'abord), "
                 f"{fmt_size(DECP_JSON_MAX_BYTES)} en JSON, {fmt_int(DECP_MAX_ROWS)} lignes lues au plus, "
                 f"en {fmt_seconds(DECP_MAX_SECONDS)} au plus")
    return text + "."


# ---------------------------------------------------------------------------------------------
# Time: one deadline per import, checked cooperatively

CLOCK = time.monotonic  # the deadlines' clock (a test may replace it)


class TimeUp(Exception):
    """The reading of an import went past its time limit: ``file`` and a French ``message``."""

    def __init__(self, file: str, message: str):
        super().__init__(message)
        self.file, self.message = file, message


@dataclass
class Deadline:
    """The time limit of one import: ``seconds`` from ``start`` (``CLOCK``), for ``label``."""

    seconds: float
    label: str  # "les facilitateurs", "un fichier DECP tel que publié"
    files: str  # the import's files, named when no reader names one
    start: float
    advice: str

    def passed(self) -> bool:
        return CLOCK() - self.start > self.seconds

    def message(self) -> str:
        return f"lecture arrêtée après {fmt_seconds(self.seconds)}, la limite pour {self.label} ; {self.advice}"


_DEADLINE: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("diag_deadline", default=None)
TABLE_ADVICE = ("enregistrez le tableau en CSV (lu bien plus vite que le XLSX), ne gardez que les lignes et les "
                "colonnes utiles ou découpez-le, puis réimportez-le.")
LAYER_ADVICE = ("enregistrez la couche en GeoPackage avec des contours simplifiés (par exemple avec QGIS ou "
                "mapshaper), ou le tableau en CSV, ou découpez le fichier, puis réimportez-le.")


@contextlib.contextmanager
def time_limit(kind: str | None, files: str = "", seconds: float | None = None):
    """The deadline of one import of ``kind`` (its ``max_seconds``, or ``seconds``), for the block.

    Inside an import already timed, the block shares that deadline. The deadline is the calling
    thread's (a context variable): each Streamlit session runs its page in its own thread.
    """
    if _DEADLINE.get() is not None:
        yield _DEADLINE.get()
        return
    lim = limit_of(kind)
    seconds = lim.max_seconds if seconds is None else seconds
    if not seconds:
        yield None
        return
    deadline = Deadline(seconds, lim.label, files or lim.label, CLOCK(),
                        LAYER_ADVICE if lim.max_vertices else TABLE_ADVICE)
    token = _DEADLINE.set(deadline)
    try:
        yield deadline
    finally:
        _DEADLINE.reset(token)


def allow_time(seconds: float, label: str, advice: str | None = None) -> None:
    """Give the current import ``seconds`` in all (from its start) when it turns out to be of a
    slower kind (a DECP file as published); nothing without a deadline."""
    deadline = _DEADLINE.get()
    if deadline is not None:
        deadline.seconds, deadline.label = seconds, label
        if advice:
            deadline.advice = advice


def check_time(file: str | None = None) -> None:
    """Raise :class:`TimeUp` (naming ``file``) when the current import's deadline has passed."""
    deadline = _DEADLINE.get()
    if deadline is not None and deadline.passed():
        raise TimeUp(file or deadline.files, deadline.message())
