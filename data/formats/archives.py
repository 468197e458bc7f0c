"""Archives (a zipped Shapefile, and the XLSX container), checked from their directory alone, before
anything is extracted: the number of members, their size once extracted, a suspicious compression
ratio, and a member that would be written outside the extraction folder (absolute path, ``..``,
symbolic link). A refused archive is a French error of the report; nothing is written. The limits
(``ARCHIVE_*``) are in ``data.formats.limits``; extracting the members a reader needs is that
reader's work (``data.formats.layers``).

Imports ``data.formats.limits`` and ``data.report`` only.
"""

from __future__ import annotations

import re
import stat
import zipfile
from pathlib import PurePosixPath

from data.formats.limits import (ARCHIVE_MAX_MEMBERS, ARCHIVE_MAX_RATIO, ARCHIVE_MAX_UNCOMPRESSED, ARCHIVE_RATIO_FROM,
                                 fmt_int, fmt_size)
from data.report import Report


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
