"""Where benchmark figures go: ``bench/results/<name>.json`` (ignored by git)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def save(name: str, data: Any) -> Path:
    """Write ``data`` as ``bench/results/<name>.json``; returns the path."""
    out = Path(__file__).parent / "results" / f"{name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(data, indent=2) + "\n")
    return out
