"""The app served on 127.0.0.1 for the real-browser tests: started as a user starts it, its log kept.

One helper for every browser suite (map and pages, projection, French formats): the server's output
goes to a file (an unread pipe fills up and freezes it), it reads an empty secrets file (a developer's
own ``[auth]`` must not put a suite behind a login), and when it stops its log must hold no traceback.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS, ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(env: dict, log_name: str) -> Iterator[str]:
    """The app as ``make run`` serves it (``cli.py serve``, its warm-up included) with ``env``; yields its
    address once it answers."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp, open(ARTIFACTS / log_name, "w") as log:
        secrets = Path(tmp) / "secrets.toml"
        secrets.write_text("", encoding="utf-8")
        proc = subprocess.Popen([sys.executable, "cli.py", "serve", "--server.port", str(port),
                                 "--server.address", "127.0.0.1", "--server.headless", "true",
                                 "--secrets.files", str(secrets)],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(0.5)
        else:
            proc.kill()
            pytest.fail("le serveur Streamlit n'a pas démarré")
        try:
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    text = (ARTIFACTS / log_name).read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in text, text[-3000:]  # no page failed on the server side either
