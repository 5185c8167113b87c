"""Which program a mock site runs.

Two speak the sites' line protocol (:mod:`harness.sites.protocol`) and answer SMTP alike: the
compiled site (``harness/sites/fastsite``, Go's standard library, built by ``make setup``)
and the aiosmtpd site (:mod:`harness.sites.server`). The compiled one takes a fraction of the
CPU a message, so sites are never what limits a load, and a world's sites leave the cores to
the MTA; it is used wherever it is built. ``MTA_HARNESS_SITE=python`` chooses the aiosmtpd
site (an image named by ``MTA_HARNESS_IMAGE_SITE`` without the compiled site needs it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from harness.errors import UsageError
from harness.tools import built_tool

#: Where ``make setup`` puts the compiled site, relative to the project root.
COMPILED_BINARY = Path(".tools/bin/mta-harness-site")
#: Its name on PATH (inside the harness's images).
COMPILED_NAME = "mta-harness-site"
CHOICE = "MTA_HARNESS_SITE"
CHOICES = ("compiled", "python")


def compiled_site() -> Path | None:
    """The compiled site: the project's build, or on PATH; None where it is not built."""
    return built_tool(COMPILED_BINARY, COMPILED_NAME)


def site_argv(name: str, listen: str, acceptors: int = 1) -> list[str]:
    """The command line of site ``name`` on ``listen``, on ``acceptors`` cores (the aiosmtpd
    site: one process each; the compiled one: threads of its one process)."""
    choice = os.environ.get(CHOICE, "")
    if choice and choice not in CHOICES:
        raise UsageError(f"{CHOICE}={choice}: it is one of {', '.join(CHOICES)}")
    compiled = compiled_site() if choice != "python" else None
    if choice == "compiled" and compiled is None:
        raise UsageError(f"{CHOICE}=compiled, but {COMPILED_BINARY} is not built: run make setup")
    more = ["--acceptors", str(acceptors)] if acceptors > 1 else []
    if compiled is not None:
        return [str(compiled), "--name", name, "--listen", listen, *more]
    return [sys.executable, "-m", "harness.sites.server", "--name", name, "--listen", listen, *more]
