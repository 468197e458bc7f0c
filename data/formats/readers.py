"""Reading raw files (tables and geometries) into string-typed frames.

Nothing here interprets the content: ``data.validation`` maps columns and checks values.
Every failure is reported in French in a :class:`~data.report.Report`, never raised.

A file is a guest, not a master: before anything heavy is done, its size, its number of rows,
its encoding, an archive's members and a layer's vertices are checked against :data:`LIMITS`,
limits a person can read on the Données page (:func:`limits_text`). A file past a limit is
refused with a French message naming it; nothing is written anywhere. Tables are read in chunks
from the file (or from the uploaded bytes) so that memory stays bounded by the row limit, not by
what the file claims; XLSX formulas are read as the values Excel saved, never evaluated.

Time is bounded too: :func:`time_limit` starts the deadline of one import (``max_seconds`` of its
kind) and :func:`check_time`, called in every chunk loop (CSV chunks, XLSX rows, archive members,
vertex counts, DECP batches) and between the validation's heavy steps, raises :class:`TimeUp` once
it has passed. The deadline is cooperative (a single library call, such as GDAL reading a layer,
is not interrupted) and belongs to the thread that started it: one session's import never stops
another's. Whoever starts the deadline turns :class:`TimeUp` into a French error of its report
(``data.validation.validate``); without a deadline, :func:`check_time` does nothing.
"""

from __future__ import annotations

import codecs
import contextlib
import contextvars
import csv
import datetime as dt
import io
import logging
import os
import re
import stat
import tempfile
import time
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data.report import Report

WORK_CRS = "EPSG:2154"  # Lambert-93: every area and distance is computed in it
LOG = logging.getLogger(__name__)
LOG.addHandler(logging.NullHandler())  # no English detail on a terminal unless logging is configured

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


# ---------------------------------------------------------------------------------------------
# A file, from the disk or from a browser upload


class Upload:
    """A file with its name: bytes (a browser upload) or a path on disk, read only when needed.

    ``Upload(name, data)`` for bytes; ``Upload.of(path)`` for a file, which is never read whole
    by the readers of this package (they stream it).
    """

    __slots__ = ("name", "_data", "path")

    def __init__(self, name: str, data: bytes | None = None, *, path: "str | os.PathLike | None" = None):
        if data is None and path is None:
            raise ValueError("Upload needs data or a path")
        self.name = str(name)
        self._data = data
        self.path = Path(path) if path is not None else None

    @classmethod
    def of(cls, source: "str | os.PathLike | Upload") -> "Upload":
        if isinstance(source, Upload):
            return source
        p = Path(source)
        if p.is_dir():
            raise IsADirectoryError(21, "Is a directory", str(p))
        p.stat()  # FileNotFoundError now, as when the file was read here
        return cls(p.name, path=p)

    @property
    def data(self) -> bytes:
        """The whole content (read from disk when the upload is a path: prefer :meth:`open`)."""
        if self._data is None:
            return self.path.read_bytes()
        return self._data

    @property
    def size(self) -> int:
        return len(self._data) if self._data is not None else self.path.stat().st_size

    def open(self) -> BinaryIO:
        """A binary stream of the content (a real file for a path: nothing is copied)."""
        if self._data is not None:
            return io.BytesIO(self._data)
        return open(self.path, "rb")

    def head(self, n: int = 65536) -> bytes:
        if self._data is not None:
            return self._data[:n]
        with open(self.path, "rb") as fh:
            return fh.read(n)

    def blank(self) -> bool:
        """Empty, or only white space (looked at by blocks: a huge file is not loaded)."""
        with self.open() as fh:
            while block := fh.read(BLOCK):
                if block.strip():
                    return False
                check_time(self.name)
        return True

    @property
    def suffix(self) -> str:
        return Path(self.name).suffix.lower()

    def __repr__(self) -> str:
        return f"Upload({self.name!r}, {self.size} octets)"

    def __eq__(self, other) -> bool:
        return isinstance(other, Upload) and (self.name, self.path, self._data) == (other.name, other.path,
                                                                                   other._data)

    def __hash__(self) -> int:
        return hash((self.name, self.path, None if self._data is None else len(self._data)))


def check_size(src: Upload, report: Report, kind: str | None = None, max_bytes: int | None = None,
               label: str | None = None) -> bool:
    """Refuse a file larger than its kind allows (before reading a byte of it)."""
    lim = limit_of(kind)
    cap = max_bytes or lim.max_bytes
    size = src.size
    if size > cap:
        shown = fmt_size(size) if fmt_size(size) != fmt_size(cap) else f"plus de {fmt_size(cap)}"
        report.error(label or src.name, f"fichier trop volumineux ({shown}) : la limite est de "
                                        f"{fmt_size(cap)} pour {lim.label}. Réduisez-le (par exemple aux "
                                        "seules colonnes et lignes utiles) ou découpez-le.")
        return False
    return True


# ---------------------------------------------------------------------------------------------
# Text: encoding and binary content

MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "une image PNG"), (b"\xff\xd8\xff", "une image JPEG"), (b"GIF8", "une image GIF"),
    (b"%PDF", "un document PDF"), (b"PK\x03\x04", "une archive ZIP ou un classeur XLSX/ODS"),
    (b"PK\x05\x06", "une archive ZIP vide"), (b"\xd0\xcf\x11\xe0", "un ancien classeur Excel (.xls) ou un document Office"),
    (b"\x1f\x8b", "une archive GZIP"), (b"BZh", "une archive BZIP2"), (b"7z\xbc\xaf\x27\x1c", "une archive 7-Zip"),
    (b"Rar!", "une archive RAR"), (b"PAR1", "un fichier Parquet"), (b"SQLite format 3\x00", "une base SQLite ou un GeoPackage"),
    (b"\x7fELF", "un programme"), (b"MZ", "un programme Windows"),
)
ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 (avec BOM)", "cp1252": "Windows-1252", "utf-16": "UTF-16",
                  "utf-16-le": "UTF-16 (petit-boutiste, sans BOM)", "utf-16-be": "UTF-16 (gros-boutiste, sans BOM)",
                  "utf-32": "UTF-32"}


def binary_kind(head: bytes) -> str | None:
    """``"une image PNG"``… when ``head`` starts a known binary format, ``"des données binaires"``
    for other content with control bytes, ``None`` for text."""
    for magic, what in MAGIC:
        if head.startswith(magic):
            return what
    sample = head[:8192]
    if b"\x00" in sample:
        return "des données binaires"
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32)
    if sample and controls / len(sample) > 0.05:
        return "des données binaires"
    return None


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 text without BOM shows as a NUL byte every other byte (for Latin text)."""
    sample = head[:8192]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    z_even, z_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if z_odd > 0.3 and z_even < 0.05:
        return "utf-16-le"
    if z_even > 0.3 and z_odd < 0.05:
        return "utf-16-be"
    return None


def detect_encoding(src: Upload) -> tuple[str | None, str | None]:
    """(encoding, None) for a text file, (None, what it is) for binary content.

    UTF-8 (with or without BOM) when the whole file decodes as such (checked by blocks), UTF-16
    and UTF-32 by their BOM or by their NUL bytes, else Windows-1252.
    """
    head = src.head(65536)
    if head.startswith(codecs.BOM_UTF8):
        enc = "utf-8-sig"
    elif head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32", None
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", None
    elif (u16 := _utf16_without_bom(head)) is not None:
        return u16, None
    else:
        what = binary_kind(head)
        if what:
            return None, what
        enc = "utf-8"
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with src.open() as fh:
            while block := fh.read(BLOCK):
                decoder.decode(block)
                check_time(src.name)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252", None
    return enc, None


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 (BOM or not), else Windows-1252."""
    enc, _ = detect_encoding(Upload("texte", data))
    return data.decode(enc or "cp1252", errors="replace")


def sniff_separator(text: str) -> str:
    """The separator among ``;``, ``,`` and tab that splits the header best."""
    header = text.split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in (";", "\t", ",")}
    return max(counts, key=counts.get) if max(counts.values()) else ","


def not_text_message(what: str) -> str:
    return (f"le fichier n'est pas un tableau texte (contenu binaire : {what}). Enregistrez-le au format CSV "
            "(UTF-8 ou Windows-1252, séparateur « ; » ou « , ») ou XLSX, puis réimportez-le.")


@contextlib.contextmanager
def open_text(src: Upload, encoding: str):
    """A text stream of the file in ``encoding`` (nothing decoded in advance)."""
    raw = src.open()
    text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
    try:
        yield text
    finally:
        text.close()


def _first_line(src: Upload, encoding: str) -> str | None:
    """The header line, or ``None`` when none ends within MAX_HEADER_BYTES."""
    with open_text(src, encoding) as fh:
        line = fh.readline(MAX_HEADER_BYTES)
    if len(line) >= MAX_HEADER_BYTES and not line.endswith(("\n", "\r")):
        return None
    return line


# ---------------------------------------------------------------------------------------------
# Library errors in French

_EXPECTED_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_EOF_IN_STRING = re.compile(r"EOF inside string starting at row (\d+)")


def csv_problem(exc: Exception) -> tuple[str, int | None]:
    """A pandas CSV parser failure as a French sentence, and the line it names (if any)."""
    text = str(exc)
    if m := _EXPECTED_FIELDS.search(text):
        expected, line, saw = (int(g) for g in m.groups())
        return (f"cette ligne compte {saw} champs alors que l'en-tête en annonce {expected} : vérifiez le "
                "séparateur (« ; » ou « , ») et les guillemets.", line)
    if m := _EOF_IN_STRING.search(text):
        return ("un guillemet ouvert à cette ligne n'est jamais refermé : la fin du fichier est lue comme un seul "
                "champ.", int(m.group(1)) + 1)
    if isinstance(exc, pd.errors.ParserWarning):
        return ("des lignes comptent plus de champs que l'en-tête : vérifiez le séparateur (« ; » ou « , ») et les "
                "guillemets.", None)
    if isinstance(exc, MemoryError):
        return "le fichier demande trop de mémoire pour être lu.", None
    if isinstance(exc, UnicodeError):
        return "le fichier mélange plusieurs encodages de caractères : enregistrez-le en UTF-8.", None
    return ("fichier illisible : il n'a pas pu être lu comme un tableau CSV (séparateur, guillemets ou encodage) ; "
            "ouvrez-le dans un tableur et enregistrez-le au format CSV UTF-8.", None)


def log_failure(name: str, exc: BaseException) -> None:
    """The technical detail goes to the server log, never to the screen."""
    LOG.warning("lecture de %s : %s: %s", name, type(exc).__name__, str(exc)[:500])


# ---------------------------------------------------------------------------------------------
# CSV, read by chunks


def _count_rows(src: Upload, encoding: str, sep: str) -> int:
    """Data rows of a CSV, counted by chunks of one column (memory: one chunk)."""
    n = 0
    with open_text(src, encoding) as fh:
        for chunk in pd.read_csv(fh, sep=sep, dtype=str, keep_default_na=False, na_filter=False, usecols=[0],
                                 quoting=csv.QUOTE_MINIMAL, chunksize=CHUNK_ROWS * 5):
            n += len(chunk)
            check_time(src.name)
    return n


def _newlines_at_most(src: Upload, cap: int) -> bool:
    """Whether the file has at most ``cap`` line ends (a fast upper bound of its rows)."""
    n = 0
    with src.open() as fh:
        while block := fh.read(BLOCK * 4):
            n += block.count(b"\n")
            if n > cap:
                return False
            check_time(src.name)
    return True


def read_csv_stream(src: Upload, report: Report, label: str, kind: str | None = None,
                    usecols=None) -> pd.DataFrame | None:
    """A CSV file as a frame of strings, read by chunks; ``None`` (and a French error) if refused."""
    lim = limit_of(kind)
    encoding, binary = detect_encoding(src)
    if binary:
        report.error(label, not_text_message(binary))
        return None
    header = _first_line(src, encoding)
    if header is None:
        report.error(label, f"la première ligne dépasse {fmt_size(MAX_HEADER_BYTES)} sans retour à la ligne : ce "
                            "n'est pas l'en-tête d'un tableau.", line=1)
        return None
    sep = sniff_separator(header)
    if header.count(sep) + 1 > MAX_COLUMNS:
        report.error(label, f"l'en-tête compte {fmt_int(header.count(sep) + 1)} colonnes : au-delà de "
                            f"{MAX_COLUMNS}, ce n'est pas un tableau de ce type.", line=1)
        return None
    try:
        # +1: the header line, +1: a last line without its line end
        if not _newlines_at_most(src, lim.max_rows + 1):
            n = _count_rows(src, encoding, sep)
            if n > lim.max_rows:
                report.error(label, f"le fichier compte {fmt_int(n)} lignes : la limite est de "
                                    f"{fmt_int(lim.max_rows)} lignes pour {lim.label}. Découpez-le ou ne gardez "
                                    "que les lignes utiles.")
                return None
        chunks = []
        with open_text(src, encoding) as fh, warnings.catch_warnings():
            # a row longer than the header would silently become an index (or lose cells): an error
            warnings.simplefilter("error", pd.errors.ParserWarning)
            reader = pd.read_csv(fh, sep=sep, dtype=str, keep_default_na=False, na_filter=False,
                                 quoting=csv.QUOTE_MINIMAL, skipinitialspace=False, chunksize=CHUNK_ROWS,
                                 usecols=usecols, index_col=False)
            for chunk in reader:
                chunks.append(chunk)
                check_time(src.name)
    except TimeUp:
        raise  # reported by whoever started the deadline
    except Exception as exc:  # any parser failure becomes a French message
        log_failure(label, exc)
        message, line = csv_problem(exc)
        report.error(label, message, line=line)
        return None
    if not chunks:
        return None
    return pd.concat(chunks) if len(chunks) > 1 else chunks[0]


def read_csv_text(data: bytes) -> pd.DataFrame:
    """A CSV given as bytes (tests, small files); raises on a defect, unlike :func:`read_table`."""
    report = Report()
    df = read_csv_stream(Upload("tableau.csv", data), report, "tableau.csv")
    if df is None:
        raise ValueError(report.text())
    return df


# ---------------------------------------------------------------------------------------------
# Archives (zipped Shapefile, and the XLSX container), checked before anything is extracted


def _unsafe_member(info: zipfile.ZipInfo) -> bool:
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or "\x00" in name:
        return True
    if any(part == ".." for part in PurePosixPath(name).parts):
        return True
    mode = info.external_attr >> 16
    return stat.S_ISLNK(mode)


def check_archive(zf: zipfile.ZipFile, label: str, report: Report, max_total: int = ARCHIVE_MAX_UNCOMPRESSED) -> bool:
    """Refuse an archive from its directory alone: too many members, too large once extracted, a
    suspicious compression ratio, or a member that would be written outside the extraction folder."""
    infos = zf.infolist()
    if len(infos) > ARCHIVE_MAX_MEMBERS:
        report.error(label, f"l'archive contient {fmt_int(len(infos))} fichiers : la limite est de "
                            f"{ARCHIVE_MAX_MEMBERS}. Une archive ne doit contenir que la couche à importer.")
        return False
    for info in infos:
        if _unsafe_member(info):
            report.error(label, f"l'archive contient un fichier au chemin dangereux (« {info.filename[:120]} » : "
                                "chemin absolu, remontée « .. » ou lien symbolique) : elle est refusée sans "
                                "rien extraire.")
            return False
    total = sum(i.file_size for i in infos)
    if total > max_total:
        report.error(label, f"l'archive ferait {fmt_size(total)} une fois décompressée : la limite est de "
                            f"{fmt_size(max_total)}. Rien n'a été extrait.")
        return False
    for info in infos:
        if info.file_size > ARCHIVE_RATIO_FROM and info.file_size > ARCHIVE_MAX_RATIO * max(info.compress_size, 1):
            report.error(label, f"le fichier « {info.filename[:120]} » de l'archive est compressé de façon anormale "
                                f"({fmt_size(info.compress_size)} qui deviendraient {fmt_size(info.file_size)}) : "
                                "l'archive est refusée sans rien extraire.")
            return False
    return True


def _extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path) -> None:
    """Copy one member to ``target``, never more bytes than its directory declares."""
    left = info.file_size
    with zf.open(info) as src, open(target, "wb") as out:
        while left > 0 and (block := src.read(min(BLOCK, left))):
            out.write(block)
            left -= len(block)
            check_time()


# ---------------------------------------------------------------------------------------------
# XLSX: streamed, formulas as their saved values


def _cell_to_str(v: object) -> str:
    """An Excel cell as the string a person typed: 1001.0 -> "1001", dates -> ISO."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if float(v).is_integer() else repr(float(v))
    if isinstance(v, (dt.datetime, pd.Timestamp)):
        return v.date().isoformat() if v.time() == dt.time(0) else v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.time):
        return v.isoformat()
    return str(v).strip()


class XlsxRefused(Exception):
    """A workbook refused for a reason the message (French) gives; ``line`` and ``column`` if any."""

    def __init__(self, message: str, line: int | None = None, column: str | None = None):
        super().__init__(message)
        self.line, self.column = line, column


@contextlib.contextmanager
def _workbook(src: Upload, label: str):
    """The workbook in read-only mode with saved values (``data_only``), after its container is checked."""
    import openpyxl

    fh = src.open()
    try:
        try:
            zf = zipfile.ZipFile(fh)
        except zipfile.BadZipFile:
            what = binary_kind(src.head(4096))
            raise XlsxRefused("fichier illisible : ce n'est pas un classeur XLSX valide" +
                              (f" (c'est {what})" if what and "XLSX" not in what else "") +
                              " : ouvrez-le dans un tableur et enregistrez-le au format XLSX ou CSV.")
        report = Report()
        if not check_archive(zf, label, report):
            raise XlsxRefused(report.errors[0].message)
        check_time(src.name)  # loading reads the shared strings at once (2 s for 100,000 distinct ones)
        try:
            wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
        except Exception as exc:
            log_failure(label, exc)
            raise XlsxRefused("fichier illisible : le classeur XLSX est endommagé ou d'un format inattendu : ouvrez-le dans un tableur "
                              "et enregistrez-le à nouveau au format XLSX.") from exc
        try:
            yield wb
        finally:
            wb.close()
    finally:
        fh.close()


_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s>/]")


def _unsaved_formula(wb, ws) -> str | None:
    """The first cell of ``ws`` holding a formula without a saved value (``"B7"``), else ``None``.

    A formula's value is what Excel saved with it; a file written by a program that does not
    compute (or with computation off) has none, and nothing here will evaluate it.
    """
    import xml.etree.ElementTree as ET

    archive, path = wb._archive, ws._worksheet_path
    with archive.open(path) as fh:  # a fast scan first: most sheets hold no formula at all
        tail, found = b"", False
        while block := fh.read(BLOCK):
            if _FORMULA_TAG.search(tail + block):
                found = True
                break
            tail = block[-64:]
            check_time()
    if not found:
        return None
    with archive.open(path) as fh:
        for _, el in ET.iterparse(fh, events=("end",)):
            if el.tag.rsplit("}", 1)[-1] != "c":
                if el.tag.rsplit("}", 1)[-1] == "row":
                    el.clear()
                    check_time()
                continue
            children = {child.tag.rsplit("}", 1)[-1]: child for child in el}
            if "f" in children and (children.get("v") is None or not (children["v"].text or "").strip()) \
                    and el.get("t") != "inlineStr":
                return el.get("r") or "?"
    return None


def read_xlsx(src: Upload, report: Report, sheet: str | int | None, label: str,
              kind: str | None = None) -> pd.DataFrame | None:
    """One sheet as a frame of strings, streamed; dimensions, formulas and rows checked first."""
    lim = limit_of(kind)
    with _workbook(src, label) as wb:
        if sheet is None or sheet == 0:
            ws = wb.worksheets[0]
        elif isinstance(sheet, str):
            if sheet not in wb.sheetnames:
                report.error(src.name, f"la feuille « {sheet} » est absente du classeur.")
                return None
            ws = wb[sheet]
        else:
            ws = wb.worksheets[sheet]
        # metadata first: the dimension the file declares (A1:M1048576)
        max_row, max_col = ws.max_row, ws.max_column
        if max_row is not None and max_row - 1 > lim.max_xlsx_rows:
            raise XlsxRefused(f"la feuille « {ws.title} » déclare {fmt_int(max_row)} lignes : la limite est de "
                              f"{fmt_int(lim.max_xlsx_rows)} lignes en XLSX pour {lim.label}. Enregistrez le "
                              "tableau en CSV (ou, si ces lignes sont vides, supprimez-les sous le tableau).")
        if max_col is not None and max_col > MAX_COLUMNS:
            raise XlsxRefused(f"la feuille « {ws.title} » déclare {fmt_int(max_col)} colonnes : au-delà de "
                              f"{MAX_COLUMNS}, ce n'est pas un tableau de ce type.")
        check_time(src.name)
        cell = _unsaved_formula(wb, ws)
        check_time(src.name)
        if cell is not None:
            col = re.match(r"[A-Z]+", cell)
            row = re.search(r"\d+", cell)
            raise XlsxRefused(f"la cellule {cell} contient une formule sans valeur enregistrée : l'application "
                              "ne calcule jamais les formules. Ouvrez le classeur dans un tableur, laissez-le "
                              "calculer, puis enregistrez-le (ou remplacez les formules par leurs valeurs).",
                              line=int(row.group()) if row else None, column=col.group() if col else None)
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            return pd.DataFrame()
        width = len(header)
        buffer: list[tuple] = []
        chunks: list[pd.DataFrame] = []
        n = 0

        def flush():
            if buffer:
                w = max(width, max(len(r) for r in buffer))
                cols = {j: [(_cell_to_str(r[j]) if j < len(r) else "") for r in buffer] for j in range(w)}
                chunks.append(pd.DataFrame(cols, index=pd.RangeIndex(n - len(buffer), n), dtype=object))
                buffer.clear()

        for values in rows:
            n += 1
            if not n % 1024:  # openpyxl reads about 20,000 rows a second: a check every 50 ms
                check_time(src.name)
            if n > lim.max_xlsx_rows:
                raise XlsxRefused(f"la feuille « {ws.title} » compte plus de {fmt_int(lim.max_xlsx_rows)} lignes, "
                                  f"la limite en XLSX pour {lim.label} : enregistrez le tableau en CSV.")
            if len(values) > MAX_COLUMNS:
                raise XlsxRefused(f"la ligne {n + 1} compte plus de {MAX_COLUMNS} colonnes.", line=n + 1)
            buffer.append(values)
            if len(buffer) >= CHUNK_ROWS:
                flush()
        flush()
    names = _column_names([_cell_to_str(v) for v in header])
    if not chunks:
        return pd.DataFrame(columns=names, dtype=object)
    df = pd.concat(chunks) if len(chunks) > 1 else chunks[0]
    extra = [f"Unnamed: {j}" for j in range(len(names), df.shape[1])]
    df.columns = names + extra
    return df


def _column_names(raw: list[str]) -> list[str]:
    """Header cells as pandas names them: a blank one ``Unnamed: j``, a repeated one ``name.1``."""
    out, seen = [], {}
    for j, name in enumerate(raw):
        name = name or f"Unnamed: {j}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        out.append(name)
    return out


def xlsx_sheets(data: bytes) -> list[str]:
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def read_xlsx_sheet(data: bytes, sheet: str | int = 0) -> pd.DataFrame:
    """A sheet given as bytes; raises on a defect, unlike :func:`read_table`."""
    report = Report()
    df = read_xlsx(Upload("classeur.xlsx", data), report, sheet, "classeur.xlsx")
    if df is None:
        raise ValueError(report.text())
    return df


# ---------------------------------------------------------------------------------------------
# Tables


def read_table(src: Upload, report: Report, sheet: str | None = None, kind: str | None = None) -> pd.DataFrame | None:
    """A CSV or XLSX file (one sheet) as a frame of strings; ``None`` (and an error) if unreadable.

    ``kind`` (``communes``, ``marches``…) sets the limits (:data:`LIMITS`); without it the widest apply.
    """
    label = f"{src.name} (feuille « {sheet} »)" if sheet else src.name
    if not check_size(src, report, kind, label=label):
        return None
    if src.blank():
        report.error(label, "le fichier est vide.")
        return None
    try:
        if src.suffix in (".xlsx", ".xlsm"):
            df = read_xlsx(src, report, sheet, label, kind)
        elif src.suffix in (".csv", ".txt", ""):
            df = read_csv_stream(src, report, label, kind)
        else:
            report.error(label, f"format « {src.suffix} » non pris en charge pour un tableau "
                                "(formats acceptés : CSV, XLSX).")
            return None
    except XlsxRefused as exc:
        report.error(label, str(exc), line=exc.line, column=exc.column)
        return None
    except TimeUp:
        raise  # reported by whoever started the deadline
    except MemoryError as exc:
        log_failure(label, exc)
        report.error(label, "le fichier demande trop de mémoire pour être lu : réduisez-le ou découpez-le.")
        return None
    except Exception as exc:  # any other failure of a library becomes a French message
        log_failure(label, exc)
        report.error(label, "fichier illisible : ouvrez-le dans un tableur et enregistrez-le au format CSV "
                            "(UTF-8) ou XLSX, puis réimportez-le.")
        return None
    if df is None:
        return None
    check_time(label)
    # rows where every cell is blank (a classic trailing ",,,,") are skipped; the index keeps
    # each row's position so that line numbers stay those of the file
    if len(df.columns):
        blank = df.apply(lambda col: col.astype(str).str.strip().isin(["", "nan", "None"])).all(axis=1)
        df = df[~blank.to_numpy()]
        check_time(label)
    df = df.loc[:, [c for c in df.columns if str(c).strip() and not str(c).startswith("Unnamed")]]
    if df.empty and not len(df.columns):
        report.error(label, "le fichier est vide.")
        return None
    return df


# ---------------------------------------------------------------------------------------------
# Geographic layers

GEO_FORMATS = "formats acceptés : GeoJSON, GeoPackage, GeoParquet, Shapefile zippé"
SHAPE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def _geo_problem(exc: Exception) -> str:
    """A GDAL / pyogrio / pyarrow failure as a French sentence."""
    text = str(exc).lower()
    if "too complex" in text or "max_obj_size" in text:
        return ("un objet du fichier GeoJSON est trop volumineux pour être lu : simplifiez les contours ou "
                "enregistrez la couche en GeoPackage.")
    if "not recognized as" in text or "not a supported" in text or "unsupported" in text:
        return f"fichier géographique illisible : ce n'est pas une couche géographique reconnue ({GEO_FORMATS})."
    if isinstance(exc, MemoryError):
        return "la couche demande trop de mémoire pour être lue : simplifiez les contours ou découpez-la."
    return ("fichier géographique illisible : ouvrez-le dans un SIG (QGIS…) et enregistrez la couche en GeoPackage "
            "ou en GeoJSON, avec son système de coordonnées.")


def _count_features(path_or_buffer) -> int | None:
    import pyogrio

    with contextlib.suppress(Exception):
        n = pyogrio.read_info(path_or_buffer).get("features")
        return None if n is None or n < 0 else int(n)
    return None


def _vertex_error(per_feature: np.ndarray, label: str, report: Report, lim: Limit, estimated: bool = False) -> bool:
    """Report (and return ``True``) when an outline, or the layer, has more points than allowed.
    ``estimated``: the counts are lower bounds computed from the file's bytes."""
    if not len(per_feature):
        return False
    at_least = "au moins " if estimated else ""
    advice = "Simplifiez les contours (par exemple avec QGIS ou mapshaper, à quelques mètres près) et réimportez."
    biggest = int(np.argmax(per_feature))
    top = int(per_feature[biggest])
    if lim.max_vertices_feature and top > lim.max_vertices_feature:
        report.error(label, f"cette entité a {at_least}{fmt_int(top)} sommets : la limite est de "
                            f"{fmt_int(lim.max_vertices_feature)} par entité pour {lim.label}. {advice}",
                     line=biggest + 1, unit="entité")
        return True
    total = int(np.sum(per_feature))
    if lim.max_vertices and total > lim.max_vertices:
        report.error(label, f"la couche compte {at_least}{fmt_int(total)} sommets : la limite est de "
                            f"{fmt_int(lim.max_vertices)} pour {lim.label}. {advice}")
        return True
    return False


def check_vertices(gdf: gpd.GeoDataFrame, label: str, report: Report, kind: str | None = None) -> bool:
    """Refuse outlines with more points than the kind allows, before any repair or reprojection."""
    check_time(label)
    n = shapely.get_num_coordinates(gdf.geometry.to_numpy())
    return not _vertex_error(n, label, report, limit_of(kind))


def _gpkg_vertices(path: Path) -> np.ndarray | None:
    """Lower bounds of the points of each outline of a GeoPackage, from the size of its geometry
    blobs (SQLite computes them; no geometry is read): 16 bytes a point in 2D, 32 with Z and M."""
    import sqlite3

    try:
        con = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        return None
    try:
        layers = con.execute("SELECT g.table_name, g.column_name, g.z, g.m FROM gpkg_geometry_columns g "
                             "JOIN gpkg_contents c ON c.table_name = g.table_name "
                             "WHERE c.data_type = 'features'").fetchall()
        out = []
        for table, column, z, m in layers:
            width = 16 if not z and not m else 32
            q = lambda name: '"' + str(name).replace('"', '""') + '"'  # noqa: E731
            sizes, cursor = [], con.execute(f"SELECT length({q(column)}) FROM {q(table)}")
            while rows := cursor.fetchmany(10_000):
                sizes += [row[0] or 0 for row in rows]
                check_time()
            out.append(np.maximum(np.asarray(sizes, dtype=np.int64) - 100, 0) // width)
        return max(out, key=lambda a: int(a.sum())) if out else None
    except sqlite3.Error:
        return None
    finally:
        con.close()


def _shapefile_vertices(shp: Path) -> np.ndarray | None:
    """Lower bounds of the points of each record of a Shapefile, from its index (.shx): the size of
    each record, 16 bytes a point (32 with Z, 24 with M), no geometry is read."""
    shx = shp.with_suffix(".shx")
    try:
        with open(shp, "rb") as fh:
            fh.seek(32)
            shape_type = int.from_bytes(fh.read(4), "little")
        index = np.fromfile(shx, dtype=">i4", offset=100).reshape(-1, 2)
    except (OSError, ValueError):
        return None
    width = 32 if shape_type in (11, 13, 15, 18) else 24 if shape_type in (21, 23, 25, 28) else 16
    content = index[:, 1].astype(np.int64) * 2  # lengths are in 16-bit words
    return np.maximum(content - 44, 0) // width


def read_geo(src: Upload, report: Report, kind: str | None = None) -> gpd.GeoDataFrame | None:
    """A GeoJSON, GeoPackage, GeoParquet or zipped Shapefile, in its own declared CRS.

    A file that does not declare its coordinate system is refused: guessing would put the
    territory at the wrong place without anybody noticing. Size, archive, features and vertices
    are checked against the kind's limits before anything heavy is done.
    """
    lim = limit_of(kind)
    if not check_size(src, report, kind):
        return None
    if src.blank():
        report.error(src.name, "le fichier est vide.")
        return None
    suffix = src.suffix
    if suffix not in (".parquet", ".geoparquet", ".zip", ".geojson", ".json", ".gpkg"):
        hint = " Un Shapefile s'importe zippé, avec ses fichiers .shx, .dbf et .prj." if suffix == ".shp" else ""
        report.error(src.name, f"format « {suffix} » non pris en charge pour une couche géographique "
                               f"({GEO_FORMATS}).{hint}")
        return None
    try:
        with tempfile.TemporaryDirectory(prefix="diag-geo-") as tmp:
            if suffix == ".zip":
                gdf = _read_zipped_shapefile(src, report, Path(tmp), lim)
            elif suffix in (".parquet", ".geoparquet"):
                gdf = _read_geoparquet(src, report, lim)
            else:
                if suffix in (".geojson", ".json"):
                    what = binary_kind(src.head(4096))
                    if what:
                        report.error(src.name, f"le fichier n'est pas du GeoJSON (contenu binaire : {what}).")
                        return None
                path = src.path
                if path is None:
                    path = Path(tmp) / f"upload{suffix}"
                    with open(path, "wb") as out:
                        out.write(src.data)
                n = _count_features(path)
                if n is not None and n > lim.max_rows:
                    report.error(src.name, f"la couche compte {fmt_int(n)} entités : la limite est de "
                                           f"{fmt_int(lim.max_rows)} pour {lim.label}.")
                    return None
                if suffix == ".gpkg":
                    estimate = _gpkg_vertices(path)
                    if estimate is not None and _vertex_error(estimate, src.name, report, lim, estimated=True):
                        return None
                check_time(src.name)
                gdf = gpd.read_file(path)
    except TimeUp:
        raise  # reported by whoever started the deadline
    except Exception as exc:
        log_failure(src.name, exc)
        report.error(src.name, _geo_problem(exc))
        return None
    check_time(src.name)
    if gdf is None:
        return None
    if gdf.crs is None:
        report.error(src.name, "le fichier ne déclare pas de système de coordonnées (CRS). Indiquez-le "
                               "(par exemple EPSG:2154 pour le Lambert-93 ou EPSG:4326 pour le GPS) et réimportez.")
        return None
    if len(gdf) == 0:
        report.error(src.name, "le fichier ne contient aucune entité.")
        return None
    if len(gdf) > lim.max_rows:
        report.error(src.name, f"la couche compte {fmt_int(len(gdf))} entités : la limite est de "
                               f"{fmt_int(lim.max_rows)} pour {lim.label}.")
        return None
    if not check_vertices(gdf, src.name, report, kind):
        return None
    return gdf


def _read_geoparquet(src: Upload, report: Report, lim: Limit) -> gpd.GeoDataFrame | None:
    import pyarrow.parquet as pq

    with src.open() as fh:
        n = pq.ParquetFile(fh).metadata.num_rows
    if n > lim.max_rows:
        report.error(src.name, f"la couche compte {fmt_int(n)} entités : la limite est de {fmt_int(lim.max_rows)} "
                               f"pour {lim.label}.")
        return None
    check_time(src.name)
    with src.open() as fh:
        return gpd.read_parquet(fh)


def _read_zipped_shapefile(src: Upload, report: Report, tmp: Path, lim: Limit) -> gpd.GeoDataFrame | None:
    """The first layer of a zipped Shapefile; the archive is checked from its directory first and
    only the layer's own files are extracted, under plain names, into ``tmp``."""
    with src.open() as fh:
        try:
            zf = zipfile.ZipFile(fh)
        except zipfile.BadZipFile:
            report.error(src.name, "le fichier n'est pas une archive ZIP valide.")
            return None
        with zf:
            if not check_archive(zf, src.name, report):
                return None
            infos = [i for i in zf.infolist() if not i.is_dir()]
            shp = [i for i in infos if i.filename.lower().endswith(".shp")]
            if not shp:
                report.error(src.name, "l'archive ZIP ne contient aucun fichier .shp.")
                return None
            stem = shp[0].filename[:-4]
            parts = {i.filename[len(stem):].lower(): i for i in infos
                     if i.filename.startswith(stem) and i.filename[len(stem):].lower() in SHAPE_PARTS}
            if ".prj" not in parts:
                report.error(src.name, "le Shapefile n'a pas de fichier .prj : son système de "
                                       "coordonnées est inconnu. Ajoutez le .prj (ou indiquez le "
                                       "système, par exemple EPSG:2154) et réimportez.")
                return None
            missing = [p for p in (".shx", ".dbf") if p not in parts]
            if missing:
                report.error(src.name, f"le Shapefile est incomplet : il manque {' et '.join(missing)} dans "
                                       "l'archive.")
                return None
            for ext, info in parts.items():
                _extract_member(zf, info, tmp / f"couche{ext}")
    check_time(src.name)
    n = _count_features(tmp / "couche.shp")
    if n is not None and n > lim.max_rows:
        report.error(src.name, f"la couche compte {fmt_int(n)} entités : la limite est de {fmt_int(lim.max_rows)} "
                               f"pour {lim.label}.")
        return None
    estimate = _shapefile_vertices(tmp / "couche.shp")
    if estimate is not None and _vertex_error(estimate, src.name, report, lim, estimated=True):
        return None
    check_time(src.name)
    return gpd.read_file(tmp / "couche.shp")


def to_work_crs(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reproject to Lambert-93; reprojection may bend a valid ring into an invalid one, so
    such artefacts (ours, not the user's) are repaired silently."""
    out = gdf.to_crs(WORK_CRS)
    check_time()
    geoms = out.geometry.to_numpy()
    bad = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
        out = out.set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=out.crs))
    return out


def is_geo(src: Upload) -> bool:
    if src.suffix in (".geojson", ".gpkg", ".parquet", ".geoparquet", ".zip", ".shp"):
        return True
    if src.suffix == ".json":
        head = src.head(2000).decode("utf-8", "ignore")
        return '"FeatureCollection"' in head or '"Feature"' in head
    return False
