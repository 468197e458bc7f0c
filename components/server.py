"""The server that ``cli.py serve`` (``make run``) starts: ``streamlit run asgi.py`` (the app behind its guard,
``components.guard``) with the options of ``streamlit run`` (port, address, headless, secrets file…), and
the warm-up (:mod:`components.warmup`) started first, in the background."""

from __future__ import annotations

import os
from pathlib import Path


def serve(root: Path, options: list[str]) -> int:
    """Run the app of ``root`` with Streamlit's command-line ``options``; returns its exit code."""
    os.chdir(root)  # .streamlit/config.toml is read from here
    from components import warmup

    warmup.start()
    from streamlit.web import cli as streamlit_cli

    return streamlit_cli.main(["run", str(root / "asgi.py"), *options], prog_name="streamlit")
