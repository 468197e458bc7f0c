"""A file as the readers receive it, before anything is read as a table or a layer.

:class:`Upload`: bytes from a browser, or a path on disk read only when needed, by blocks;
:func:`check_size` refuses it when it is larger than its kind allows, before a byte is read;
:func:`binary_kind` says what its first bytes are (an image, an archive...) when it is not text;
:func:`log_failure` sends a reader's technical failure to the server log, never to the screen
(what a person sees is a French message of a :class:`~data.report.Report`).

Imports ``data.formats.limits`` and ``data.report`` only.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path
from typing import BinaryIO

from data.formats.limits import BLOCK, check_time, fmt_size, limit_of
from data.report import Report

LOG = logging.getLogger("data.formats")  # the readers' log (every module of data.formats)
LOG.addHandler(logging.NullHandler())  # no English detail on a terminal unless logging is configured


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
# What the first bytes say

MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "une image PNG"), (b"\xff\xd8\xff", "une image JPEG"), (b"GIF8", "une image GIF"),
    (b"%PDF", "un document PDF"), (b"PK\x03\x04", "une archive ZIP ou un classeur XLSX/ODS"),
    (b"PK\x05\x06", "une archive ZIP vide"), (b"\xd0\xcf\x11\xe0", "un ancien classeur Excel (.xls) ou un document Office"),
    (b"\x1f\x8b", "une archive GZIP"), (b"BZh", "une archive BZIP2"), (b"7z\xbc\xaf\x27\x1c", "une archive 7-Zip"),
    (b"Rar!", "une archive RAR"), (b"PAR1", "un fichier Parquet"), (b"SQLite format 3\x00", "une base SQLite ou un GeoPackage"),
    (b"\x7fELF", "un programme"), (b"MZ", "un programme Windows"),
)


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


def log_failure(name: str, exc: BaseException) -> None:
    """The technical detail goes to the server log, never to the screen."""
    LOG.warning("lecture de %s : %s: %s", name, type(exc).__name__, str(exc)[:500])
