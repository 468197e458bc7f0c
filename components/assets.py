"""Local web assets for the maps: Leaflet comes from the machine (PyPI package xstatic-leaflet),
copied once into ``static/vendor/leaflet/`` and served by Streamlit's static file serving.
Nothing is ever loaded from a CDN: the app works in a meeting room with no internet."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "static" / "vendor" / "leaflet"
URL = "/app/static/vendor/leaflet"
LEAFLET_JS = f"{URL}/leaflet.js"
LEAFLET_CSS = f"{URL}/leaflet.css"


def leaflet_source() -> Path:
    import xstatic.pkg.leaflet as xl

    return Path(xl.BASE_DIR)


def ensure_leaflet() -> Path:
    """Copy Leaflet's script, stylesheet and images next to the app (idempotent)."""
    src = leaflet_source()
    if not (VENDOR / "leaflet.js").exists() or (VENDOR / "leaflet.js").stat().st_size != (src / "leaflet.js").stat().st_size:
        VENDOR.mkdir(parents=True, exist_ok=True)
        for name in ("leaflet.js", "leaflet.css"):
            shutil.copyfile(src / name, VENDOR / name)
        shutil.copytree(src / "images", VENDOR / "images", dirs_exist_ok=True)
    return VENDOR
