"""What a certificate was issued for, in digests that mean the same on every machine.

Suites are named relative to the project (not by this machine's absolute paths), and the
certificate carries digests of the suite code and the scenario files it played, of the
user's configuration fragment, and of the MTA's root filesystem recipe, so two
certificates can be compared, one can be repeated elsewhere, and ``mta-harness verify`` can
tell whether a build is the one that was certified.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

#: The project's folder: suites and fixtures are named relative to it.
PROJECT = Path(__file__).resolve().parents[2]


class Provenance(BaseModel):
    """Digests of what was run, beside the MTA's own identity."""

    model_config = ConfigDict(extra="forbid")

    #: sha256 of every suite file and scenario file run, with their project-relative names.
    suite_digest: str
    #: sha256 of the user's ``--mta-config`` fragment; None for the stock configuration.
    fragment_digest: str | None
    #: The MTA's root filesystem, as ``<recipe>-<recipe digest>``; None if it has none (or
    #: ran in the user's image).
    rootfs: str | None
    #: The user's own image of the MTA, as named (``--mta-image``); its digest is the MTA's.
    mta_image: str | None = None


def project_name(path: Path) -> str:
    """``path`` relative to the project where it lies inside it, else as given."""
    resolved = path.resolve()
    return str(resolved.relative_to(PROJECT)) if resolved.is_relative_to(PROJECT) else str(path)


def files_digest(paths: Iterable[Path]) -> str:
    """sha256 over each file's project-relative name and bytes (folders: their ``*.py`` and
    ``*.toml`` files), in name order, so the same files give the same digest anywhere."""
    files: dict[str, Path] = {}
    for path in paths:
        found = (
            [p for p in path.rglob("*") if p.suffix in (".py", ".toml") and p.is_file()]
            if path.is_dir()
            else [path]
        )
        files.update((project_name(f), f) for f in found if "__pycache__" not in f.parts)
    h = hashlib.sha256()
    for name, file in sorted(files.items()):
        h.update(name.encode() + b"\0" + file.read_bytes() + b"\0")
    return "sha256:" + h.hexdigest()


def text_digest(text: str) -> str:
    """sha256 of a configuration fragment's text."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
