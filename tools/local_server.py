"""The app served on 127.0.0.1 in a child process, started as ``make run`` starts it (``cli.py serve``).

One place for the browser test suites (``tests/streamlit_server.py``, ``tests/test_auth.py``) and the
benchmarks (``bench.load``, ``bench.browser``): the server's output goes to a file (an unread pipe
fills up and freezes it), it reads the secrets file it is given (an empty one by default: a
developer's own ``[auth]`` must not put a suite or a measurement behind a login), it listens on
127.0.0.1 only, and it is stopped whatever happens to the caller.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class ServerError(RuntimeError):
    """The server stopped or did not answer at start (the message is French)."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, what: str, timeout: float = 120) -> None:
    """Wait until ``url`` answers 200; :class:`ServerError` if ``proc`` stops or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(f"{what} s'est arrêté au démarrage (code {proc.returncode})")
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise ServerError(f"{what} n'a pas répondu en {timeout:g} s")


@contextlib.contextmanager
def serving(store: str | Path, log: Path, port: int | None = None, secrets: Path | None = None,
            warmup: bool = True, script: str = "app.py") -> Iterator[tuple[str, subprocess.Popen]]:
    """The app with the store ``store`` (``DIAG_DONNEES``), its output in ``log``; yields its address
    and its process once ``/_stcore/health`` answers, and stops it on leaving.

    ``warmup=False`` starts ``streamlit run app.py`` instead of ``cli.py serve``: the same server
    without the maps prepared at start (what a server started by hand does); ``script`` (with
    ``warmup=False``) serves another Streamlit script the same way (the benchmark's blank page).
    """
    port = port or free_port()
    options = ["--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true"]
    with tempfile.TemporaryDirectory() as tmp, open(log, "w") as out:
        if secrets is None:
            secrets = Path(tmp) / "secrets.toml"
            secrets.write_text("", encoding="utf-8")
        command = ["cli.py", "serve"] if warmup else ["-m", "streamlit", "run", script]
        proc = subprocess.Popen([sys.executable, *command, *options, "--secrets.files", str(secrets)],
                                cwd=ROOT, env={**os.environ, "DIAG_DONNEES": str(store)}, stdout=out,
                                stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{url}/_stcore/health", proc, "le serveur Streamlit")
            yield url, proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
