"""French number formats: ``12 345``, ``12 345,6``, ``16 %`` (narrow no-break spaces)."""

from __future__ import annotations

import math
import re

NNBSP = "\u202f"


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def integer(x) -> str:
    if _missing(x):
        return "–"
    return f"{int(round(float(x))):,}".replace(",", NNBSP)


def decimal(x, digits: int = 1) -> str:
    if _missing(x):
        return "–"
    s = f"{float(x):,.{digits}f}"
    return s.replace(",", "\u0000").replace(".", ",").replace("\u0000", NNBSP)


def percent(x, digits: int = 0) -> str:
    """A fraction as a French percentage: 0.163 -> ``16 %``."""
    if _missing(x):
        return "–"
    return decimal(100 * float(x), digits) + NNBSP + "%"


def euros(x) -> str:
    if _missing(x):
        return "–"
    x = float(x)
    if abs(x) >= 1e6:
        return decimal(x / 1e6, 1) + NNBSP + "M€"
    if abs(x) >= 1e3:
        return integer(x / 1e3) + NNBSP + "k€"
    return integer(x) + NNBSP + "€"


_MD_SPECIAL = set("\\`*_{}[]()#+-.!|<>~$&=:")
# followed by an invisible word joiner: ``:smile:`` and ``:material/icon:`` (Streamlit draws them
# from the text once the escapes are gone), ``www.x.fr`` and ``a@b.fr`` (GitHub-flavoured Markdown
# links them whatever the escapes) stay text; so does ``www.`` (a joiner after its first w)
_JOIN_AFTER = set(":.@")
_WWW = re.compile(r"(?i)(w)(ww\.)")
WORD_JOINER = "\u2060"


def md(text) -> str:
    """User text made inert for Markdown (and HTML): every special character is escaped.

    Line breaks become spaces (a name is one line; a break would open a heading, a list or a code
    block); see ``_JOIN_AFTER`` for the invisible word joiners.
    """
    out = []
    for ch in _WWW.sub("\\1" + WORD_JOINER + "\\2", " ".join(str(text).splitlines())):
        out.append("\\" + ch if ch in _MD_SPECIAL else ch)
        if ch in _JOIN_AFTER:
            out.append(WORD_JOINER)
    return "".join(out)
