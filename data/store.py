"""Persistent local store of the active dataset.

One folder, ``.donnees/`` at the project root (ignored by git), or the folder named by the
environment variable ``DIAG_DONNEES``. Inside it:

- ``demo/``: the demo dataset, generated once by ``data.demo`` and reused;
- ``actif/``: the dataset a user built by importing files (survives a restart).

Each dataset is a folder of Parquet files (GeoParquet for the two geographic tables) and a
``meta.json``. Reading the whole demo dataset takes a fraction of a second.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd

from data.dataset import Dataset

ROOT = Path(__file__).resolve().parent.parent
GEO_TABLES = ("communes", "qpv")
STORE_VERSION = 1


def store_dir() -> Path:
    return Path(os.environ.get("DIAG_DONNEES", ROOT / ".donnees"))


def save(ds: Dataset, folder: Path) -> None:
    """Write atomically: a crash mid-write never leaves a half dataset behind."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    for name in Dataset.TABLES:
        df = getattr(ds, name)
        if name in GEO_TABLES:
            gpd.GeoDataFrame(df).to_parquet(tmp / f"{name}.parquet", index=False)
        else:
            pd.DataFrame(df).to_parquet(tmp / f"{name}.parquet", index=False)
    meta = dict(ds.meta, store_version=STORE_VERSION)
    (tmp / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    if folder.exists():
        shutil.rmtree(folder)
    tmp.rename(folder)


def load(folder: Path) -> Dataset:
    folder = Path(folder)
    tables = {}
    for name in Dataset.TABLES:
        path = folder / f"{name}.parquet"
        tables[name] = gpd.read_parquet(path) if name in GEO_TABLES else pd.read_parquet(path)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    return Dataset(**tables, meta=meta)


def _meta(folder: Path) -> dict | None:
    """The folder's metadata when it holds a complete dataset of this store version, else ``None``."""
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    complete = all((folder / f"{n}.parquet").exists() for n in Dataset.TABLES)
    return meta if complete and meta.get("store_version") == STORE_VERSION else None


def _valid(folder: Path) -> bool:
    return _meta(folder) is not None


def demo_dir() -> Path:
    return store_dir() / "demo"


def active_dir() -> Path:
    return store_dir() / "actif"


def load_demo() -> Dataset:
    """The demo dataset, generated on first use and then read from the store."""
    ensure_demo()
    return load(demo_dir())


def load_active() -> Dataset:
    """What the user imported if anything, else the demo."""
    folder = active_dir()
    if _valid(folder):
        return load(folder)
    return load_demo()


def save_active(ds: Dataset) -> None:
    save(ds, active_dir())


def reset_to_demo() -> None:
    """Forget the imported data: the demo becomes the active dataset again."""
    if active_dir().exists():
        shutil.rmtree(active_dir())


def ensure_demo() -> None:
    from data import demo

    meta = _meta(demo_dir())
    if meta is None or meta.get("generator") != demo.GENERATOR_VERSION:
        save(demo.generate(), demo_dir())


def active_stamp() -> str:
    """A cheap value that changes whenever the active dataset changes (a cache key)."""
    if _valid(active_dir()):
        folder = active_dir()
    else:
        ensure_demo()
        folder = demo_dir()
    return f"{folder}:{(folder / 'meta.json').stat().st_mtime_ns}"
