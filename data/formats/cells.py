"""Cells as people write them: French or English numbers, dates in several formats, code widths.

Pure functions on pandas Series; used by the readers of published formats (DECP) and by validation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Width of codes that may lose leading zeros, by territory / place type.
CODE_WIDTH = {"commune": 5, "code_postal": 5, "departement": 2, "region": 2, "ze": 4}


def parse_numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """French or English numbers as floats: ``12 345,6``, ``12345.6``, ``1.234,5``.

    Returns (values, bad) where ``bad`` marks non-empty cells that are not numbers.
    """
    s = values.astype(str).str.strip()
    s = s.str.replace(r"[\s\u00a0\u202f€%]", "", regex=True)
    both = s.str.contains(",", regex=False) & s.str.contains(".", regex=False)
    comma_last = s.str.rfind(",") > s.str.rfind(".")
    s = s.mask(both & comma_last, s.str.replace(".", "", regex=False))
    s = s.mask(both & ~comma_last, s.str.replace(",", "", regex=False))
    s = s.str.replace(",", ".", regex=False)
    num = pd.to_numeric(s.where(s != ""), errors="coerce").to_numpy(dtype=float)
    bad = (s != "").to_numpy() & np.isnan(num)
    return num, bad


DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%d-%m-%Y", "%Y/%m/%d")


def parse_dates(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Dates as ISO strings (``AAAA-MM-JJ``); ``bad`` marks cells that are not a real date."""
    s = values.astype(str).str.strip().str.slice(0, 19).str.replace(r"[+Z].*$", "", regex=True)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    for fmt in DATE_FORMATS:
        todo = out.isna() & (s != "")
        if not todo.any():
            break
        out[todo] = pd.to_datetime(s[todo], format=fmt, errors="coerce")
    bad = ((s != "") & out.isna()).to_numpy()
    iso = out.dt.strftime("%Y-%m-%d").where(out.notna(), "")
    return iso.astype(object), bad


# An amount beyond this is a typing or unit error (the largest public contracts are a few billions).
AMOUNT_MAX_EUROS = 1e11


def amount_problems(num: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Masks of the amounts that cannot be kept: (infinite, absurd: above :data:`AMOUNT_MAX_EUROS`,
    negative). An infinite or absurd amount refuses its file; a negative one is a warning and the market
    is kept without amount."""
    num = np.asarray(num, dtype=float)
    infinite = np.isinf(num)
    absurd = np.isfinite(num) & (num > AMOUNT_MAX_EUROS)
    negative = np.isfinite(num) & (num < 0)
    return infinite, absurd, negative


def euros(v: float) -> str:
    """``-5`` -> ``−5 €``, ``1234567.5`` -> ``1 234 567,5 €`` (a message's number, French)."""
    if not np.isfinite(v):
        return "infini"
    text = f"{v:,.2f}".rstrip("0").rstrip(".")
    return text.replace(",", "\u202f").replace(".", ",").replace("-", "−") + "\u00a0€"
