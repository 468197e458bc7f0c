"""The app served on 127.0.0.1 for the real-browser tests: started as a user starts it, its log kept.

One helper for every browser suite (map and pages, projection, French formats, login), on top of
``tools.local_server`` (which the benchmarks share): the server's log goes to ``tests/artifacts/`` and
when it stops it must hold no traceback.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS
from tools.local_server import ServerError, serving


@contextlib.contextmanager
def serve(env: dict, log_name: str, port: int | None = None, secrets: Path | None = None) -> Iterator[str]:
    """The app as ``make run`` serves it (``cli.py serve``, its warm-up included) on the store of
    ``env["DIAG_DONNEES"]``; yields its address once it answers. ``secrets``: a secrets file (an empty
    one otherwise); ``port``: the port, when the secrets name it."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = ARTIFACTS / log_name
    try:
        with serving(env["DIAG_DONNEES"], log, port=port, secrets=secrets) as (url, _):
            yield url
    except ServerError as exc:
        pytest.fail(f"{exc}\n{log.read_text(encoding='utf-8', errors='replace')[-3000:]}")
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in text, text[-3000:]  # no page failed on the server side either
