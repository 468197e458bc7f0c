"""Where the workspace store lives: ``.donnees/`` at the project root (ignored by git), or the folder
named by the environment variable ``DIAG_DONNEES`` (read at each call: a test or a second server
may point it elsewhere).

The bottom of ``data.store``: the workspaces (``data.store.workspaces``) and the journal
(``data.store.journal``) both find their files from here; it imports nothing of the project.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def store_dir() -> Path:
    return Path(os.environ.get("DIAG_DONNEES", ROOT / ".donnees"))
