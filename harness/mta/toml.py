"""Reading an MTA described in a TOML file (``--mta FILE.toml``)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from harness.errors import UsageError


def load_description(path: Path) -> dict[str, Any]:
    """The file's contents; a missing or malformed file is a :class:`UsageError` naming it."""
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"--mta {path}: no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"--mta {path}: not valid TOML: {exc}") from None
