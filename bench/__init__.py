"""Benchmarks: ``python -m bench`` (see README, "Performances")."""

import json
from pathlib import Path


def print_figures(out: dict[str, float], json_path: str | None = None) -> None:
    """One figure a line (name, value); also written to ``json_path`` when given."""
    width = max(24, *map(len, out)) if out else 24
    for k, v in out.items():
        print(f"{k:{width}} {v:10.4g}")
    if json_path:
        Path(json_path).write_text(json.dumps(out, indent=1), encoding="utf-8")
