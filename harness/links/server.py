"""Finding and starting the real Toxiproxy server (built from its Go module by ``make setup``)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from harness.backends.base import Backend, Service
from harness.clock import Deadline
from harness.errors import UsageError
from harness.links.toxiproxy import ToxiproxyClient, ToxiproxyError
from harness.net import wait_for_port
from harness.tools import built_tool

TOXIPROXY_VERSION = "2.12.0"
#: Where ``make setup`` puts the server, relative to the project root.
PROJECT_BINARY = Path(".tools/bin/toxiproxy-server")


def toxiproxy_binary() -> Path:
    """The server binary: ``$MTA_HARNESS_TOXIPROXY``, the project's build, or PATH."""
    override = os.environ.get("MTA_HARNESS_TOXIPROXY")
    if override:
        path = Path(override)
        if not os.access(path, os.X_OK):
            raise UsageError(f"MTA_HARNESS_TOXIPROXY={override} is not an executable file")
        return path
    found = built_tool(PROJECT_BINARY, "toxiproxy-server")
    if found is not None:
        return found
    raise UsageError(
        f"Toxiproxy server not found: run `make setup` (builds v{TOXIPROXY_VERSION} into "
        f"{PROJECT_BINARY}) or set MTA_HARNESS_TOXIPROXY to a toxiproxy-server binary"
    )


def start_toxiproxy(backend: Backend, timeout: float = 15.0) -> tuple[Service, ToxiproxyClient]:
    """Start Toxiproxy with its API on the run's loopback address; wait until it answers."""
    api = backend.addresses.toxiproxy_api
    service = backend.spawn(
        "toxiproxy",
        "toxiproxy",
        [str(toxiproxy_binary()), "-host", api.host, "-port", str(api.port)],
        address=api.host,
    )
    deadline = Deadline.after(timeout)
    service.wait_for_line(
        lambda line: "Starting Toxiproxy HTTP server" in line, timeout, "its API starting"
    )
    # That log line comes just before the listener opens; and a published port accepts
    # before the server behind it does. Only an answer to a request proves the API is up.
    reach = backend.harness_view(api)
    wait_for_port(reach, deadline, "Toxiproxy's API", alive=lambda: service.returncode is None)
    client = ToxiproxyClient(reach, timeout=2.0)
    backoff = 0.01
    while True:
        try:
            client.version()
            break
        except ToxiproxyError:
            if service.returncode is not None or deadline.passed():
                raise
            time.sleep(min(backoff, deadline.remaining()))  # retry interval, deadline-bound
            backoff = min(backoff * 2, 0.2)
    client.timeout = 10.0
    return service, client
