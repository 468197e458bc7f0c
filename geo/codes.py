"""French territorial codes: normalisation and validity, always as strings.

Pure functions, no I/O. The regular expressions follow the COG (INSEE) conventions.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

COMMUNE_RE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")
DEP_RE = re.compile(r"^(?:\d{2}|2[AB]|97\d)$")
EPCI_RE = re.compile(r"^\d{9}$")


# Official names of the régions (COG), used when a référentiel gives codes without names.
REGION_NAMES = {
    "01": "Guadeloupe", "02": "Martinique", "03": "Guyane", "04": "La Réunion", "06": "Mayotte",
    "11": "Île-de-France", "24": "Centre-Val de Loire", "27": "Bourgogne-Franche-Comté", "28": "Normandie",
    "32": "Hauts-de-France", "44": "Grand Est", "52": "Pays de la Loire", "53": "Bretagne",
    "75": "Nouvelle-Aquitaine", "76": "Occitanie", "84": "Auvergne-Rhône-Alpes",
    "93": "Provence-Alpes-Côte d'Azur", "94": "Corse",
}


def plm_parent(code: str) -> str | None:
    """Parent commune of a municipal arrondissement code, ``None`` otherwise.

    >>> plm_parent("75112"), plm_parent("69381"), plm_parent("13201"), plm_parent("31555")
    ('75056', '69123', '13055', None)
    """
    if code.startswith("751") and "75101" <= code <= "75120":
        return "75056"
    if code.startswith("6938") and "69381" <= code <= "69389":
        return "69123"
    if code.startswith("132") and "13201" <= code <= "13216":
        return "13055"
    return None


def _clean(value: object) -> str:
    """A raw cell as a stripped string; Excel float artefacts (``1001.0``) removed."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    s = str(value).strip().replace("\u00a0", "").replace(" ", "")
    if re.fullmatch(r"\d+\.0+", s):
        s = s.split(".")[0]
    return s.upper() if re.fullmatch(r"2[ab]\d{3}", s) else s


def normalize_code(value: object, width: int) -> tuple[str, bool]:
    """Normalise a numeric code of ``width`` characters that may have lost leading zeros.

    Returns
    -------
    (code, repaired)
        ``repaired`` is True when zeros were added back (a classic Excel accident).

    >>> normalize_code("1001", 5), normalize_code(1001.0, 5), normalize_code("2A004", 5)
    (('01001', True), ('01001', True), ('2A004', False))
    """
    s = _clean(value)
    if s.isdigit() and 0 < len(s) < width and len(s) >= width - 1:
        return s.zfill(width), True
    return s, False


def is_commune_code(code: str) -> bool:
    return bool(COMMUNE_RE.match(code))


def dep_of_commune(code: str) -> str:
    """Département of a commune code (``97x`` overseas, ``2A``/``2B`` Corsica)."""
    return code[:3] if code.startswith("97") else code[:2]


def fold(text: object) -> str:
    """Lower-case, accent-free, separator-free key to compare labels and headers.

    >>> fold(" Département "), fold("type_territoire"), fold("Marché réservé")
    ('departement', 'typeterritoire', 'marchereserve')
    """
    s = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[\s_\-.'’]", "", s.lower())


def as_text(values: pd.Series) -> pd.Series:
    """Cells as stripped strings, missing values (None, NaN, NA) as ``""``.

    (``astype(str)`` is not enough: pandas 3 keeps missing values missing.)
    """
    missing = values.isna().to_numpy()
    text = values.astype(object).astype(str).str.strip().to_numpy(dtype=object)
    text[missing] = ""
    return pd.Series(text, index=values.index, dtype=object)
