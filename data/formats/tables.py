"""Tables (CSV and XLSX) read into frames of strings.

Nothing here interprets the content: ``data.validation`` maps columns and checks values. Every
failure is reported in French in a :class:`~data.report.Report`, never raised. :func:`read_table`
is the entry point of both formats (an XLSX sheet is read by ``data.formats.workbooks``).

This module knows text: its encoding (UTF-8 with or without BOM, UTF-16, UTF-32, else
Windows-1252; binary content is refused), its separator (``;``, ``,`` or tab, from the header), its
header line and number of columns, the CSV parser's failures said in French, and CSV read in chunks
from the file (or from the uploaded bytes) so that memory stays bounded by the row limit, not by
what the file claims.

Imports ``data.formats.limits``, ``.upload``, ``.workbooks`` and ``data.report``.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
import warnings

import pandas as pd

from data.formats.limits import (BLOCK, CHUNK_ROWS, MAX_COLUMNS, MAX_HEADER_BYTES, TimeUp, check_time, fmt_int,
                                 fmt_size, limit_of)
from data.formats.upload import Upload, binary_kind, check_size, log_failure
from data.formats.workbooks import XlsxRefused, read_xlsx
from data.report import Report

# ---------------------------------------------------------------------------------------------
# Text: encoding, separator, header

ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 (avec BOM)", "cp1252": "Windows-1252", "utf-16": "UTF-16",
                  "utf-16-le": "UTF-16 (petit-boutiste, sans BOM)", "utf-16-be": "UTF-16 (gros-boutiste, sans BOM)",
                  "utf-32": "UTF-32"}


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
# CSV parser errors in French

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
# CSV or XLSX


def read_table(src: Upload, report: Report, sheet: str | None = None, kind: str | None = None) -> pd.DataFrame | None:
    """A CSV or XLSX file (one sheet) as a frame of strings; ``None`` (and an error) if unreadable.

    ``kind`` (``communes``, ``marches``…) sets the limits (:data:`~data.formats.limits.LIMITS`); without it the widest apply.
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
