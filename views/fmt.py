"""French number formats: ``12 345``, ``12 345,6``, ``16 %``, ``−5,8 pt`` (narrow no-break spaces,
typographic minus), whatever the language of the browser or of the machine."""

from __future__ import annotations

import math
import re

NNBSP = "\u202f"
MINUS = "\u2212"  # the typographic minus sign: "−5,8 pt", not "-5,8 pt"


def _missing(x) -> bool:
    if x is None or type(x).__name__ == "NAType":
        return True
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return False


def _signed(text: str, value: float, plus: bool = False) -> str:
    """``text`` (formatted from ``abs(value)``) with a French sign; a value that rounds to zero has none."""
    if text.strip("0,\u202f") == "":
        return text
    if value < 0:
        return MINUS + text
    return ("+" + text) if plus else text


def integer(x, plus: bool = False) -> str:
    """``1 016 984`` (narrow no-break spaces), ``−12``; ``–`` when missing."""
    if _missing(x):
        return "–"
    v = float(x)
    return _signed(f"{int(round(abs(v))):,}".replace(",", NNBSP), v, plus)


def decimal(x, digits: int = 1, plus: bool = False) -> str:
    """``12 345,7``, ``−0,49``; ``–`` when missing."""
    if _missing(x):
        return "–"
    v = float(x)
    s = f"{abs(v):,.{digits}f}"
    return _signed(s.replace(",", "\u0000").replace(".", ",").replace("\u0000", NNBSP), v, plus)


def percent(x, digits: int = 0) -> str:
    """A fraction as a French percentage: 0.163 -> ``16 %``, 0.1254 (1 digit) -> ``12,5 %``."""
    if _missing(x):
        return "–"
    return decimal(100 * float(x), digits) + NNBSP + "%"


def points(x, digits: int = 1, plus: bool = True) -> str:
    """A difference of two fractions in percentage points: -0.0582 -> ``−5,8 pt``, 0.054 -> ``+5,4 pt``."""
    if _missing(x):
        return "–"
    return decimal(100 * float(x), digits, plus=plus) + NNBSP + "pt"


def year(x) -> str:
    """A year, without a thousands separator: ``2024``."""
    if _missing(x):
        return "–"
    return str(int(round(float(x))))


def date(x) -> str:
    """``16/12/2024`` from ``2024-12-16`` (a time after it kept: ``04/12/2026 10:53``); other text as is,
    ``–`` when missing."""
    if _missing(x) or str(x).strip() == "":
        return "–"
    text = str(x).strip().replace("T", " ")
    m = re.match(r"(\d{4})-(\d{2})-(\d{2})(?:[ ](\d{2}:\d{2}))?", text)
    if not m:
        return text
    day = f"{m.group(3)}/{m.group(2)}/{m.group(1)}"
    return f"{day} {m.group(4)}" if m.group(4) else day


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
