"""Binaries ``make setup`` builds into ``.tools/bin`` (Toxiproxy, the compiled site): found
beside the code or under the working folder, else on PATH (inside the harness's images)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def built_tool(relative: Path, name: str) -> Path | None:
    """The project's build of ``name`` at ``relative``, or ``name`` on PATH; None if neither."""
    for candidate in (PROJECT_ROOT / relative, Path.cwd() / relative):
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    return Path(found) if found else None
