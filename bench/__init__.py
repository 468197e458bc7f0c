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


def peak_rss_mb(pid: int | str = "self") -> float:
    """The peak resident memory of a process, in MB (``VmHWM``: one per address space, so a child started
    by ``subprocess`` counts its own peak, where ``ru_maxrss`` would carry its parent's over the exec);
    NaN when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def print_figures(out: dict[str, float], json_path: str | None = None,
                  targets: dict[str, tuple[str, float]] | None = None) -> None:
    """One figure a line (name, value, and its target with OK / HORS CIBLE when ``targets`` names one: ``("<",
    1.0)`` or ``(">", 20)``); also written to ``json_path`` when given."""
    width = max(34 if targets else 24, *map(len, out)) if out else 24
    if targets:
        print(f"{'mesure':{width}} {'valeur':>14}   cible")
    for k, v in out.items():
        target = (targets or {}).get(k)
        verdict = ""
        if target:
            ok = v < target[1] if target[0] == "<" else v > target[1]
            verdict = f"   {target[0]} {target[1]:g}  {'OK' if ok else 'HORS CIBLE'}"
        print(f"{k:{width}} {v:14.4g}{verdict}" if targets else f"{k:{width}} {v:10.4g}")
    if json_path:
        Path(json_path).write_text(json.dumps(out, indent=1), encoding="utf-8")
