"""Benchmarks: ``python -m bench`` (see README, "Performances")."""

import contextlib
import json
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def temporary_store():
    """A store in a temporary folder (``DIAG_DONNEES``) for the time of a measurement, the caller's put back."""
    old = os.environ.get("DIAG_DONNEES")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DIAG_DONNEES"] = tmp
        try:
            yield Path(tmp)
        finally:
            if old is None:
                os.environ.pop("DIAG_DONNEES", None)
            else:
                os.environ["DIAG_DONNEES"] = old


def print_figures(out: dict[str, float], json_path: str | None = None) -> None:
    """One figure a line (name, value); also written to ``json_path`` when given."""
    width = max(24, *map(len, out)) if out else 24
    for k, v in out.items():
        print(f"{k:{width}} {v:10.4g}")
    if json_path:
        Path(json_path).write_text(json.dumps(out, indent=1), encoding="utf-8")
