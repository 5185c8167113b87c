"""The harness run from its own image (``make image``), beside the containers it starts.

Run that way, the harness talks to the host's Docker engine through its socket and starts
sibling containers, not children. Three things it relies on must then be the host's, and are
checked before anything starts (each missing one is named with the ``docker run`` flag that
gives it):

- the host's network (``--network host``): it reaches Toxiproxy's API and the MTA's SMTP port
  through ports the engine publishes on the host's 127.0.0.1;
- the host's process table (``--pid host``): a run's containers carry its owner's pid and start
  time, and a later run removes those whose owner is gone. In a pid namespace of its own, every
  harness would be pid 1 and would take another live run's containers for a dead run's;
- the runtime folder at the same path on the host (``-v /tmp/mta-harness-0:/tmp/mta-harness-0``):
  the engine reads bind-mount sources (each container's resolv.conf) from the host's files, and
  runs on one machine share its address-block locks.

The image itself stands in for the site and Toxiproxy images (``site_image``): it is the site
root filesystem with the harness, its dependencies and Toxiproxy inside, so nothing needs a
root filesystem built on the CI runner.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any

import docker

from harness.backends.docker.errors import ENGINE_FAILURES
from harness.errors import HarnessError, UsageError
from harness.runtime import runtime_root, slots_root

#: Set by the image's Dockerfile: this process is the harness inside its own image.
IN_IMAGE = "MTA_HARNESS_IN_IMAGE"

_CONTAINER_FILE = re.compile(r"/containers/([0-9a-f]{64})/(?:resolv\.conf|hostname|hosts)\s")


def in_image() -> bool:
    return os.environ.get(IN_IMAGE) == "1"


def own_container_id(mountinfo: str) -> str | None:
    """The id of the container whose mount table ``mountinfo`` is: the engine bind-mounts
    each container's resolv.conf, hostname and hosts from a folder named after its id (also
    with ``--network host``, where the hostname is the host's)."""
    found = _CONTAINER_FILE.search(mountinfo)
    return found.group(1) if found else None


def missing_host_access(attrs: dict[str, Any], folders: list[Path]) -> list[str]:
    """What the container described by ``attrs`` (the engine's inspect answer) lacks, each as
    the ``docker run`` flag that gives it; empty if nothing."""
    host = attrs.get("HostConfig") or {}
    missing = []
    if host.get("NetworkMode") != "host":
        missing.append("--network host")
    if host.get("PidMode") != "host":
        missing.append("--pid host")
    same_path = [
        Path(mount["Destination"])
        for mount in attrs.get("Mounts") or []
        if mount.get("Type") == "bind" and mount.get("Source") == mount.get("Destination")
    ]
    for folder in folders:
        if not any(folder == mount or mount in folder.parents for mount in same_path):
            missing.append(f"-v {folder}:{folder}")
    return missing


@functools.cache
def site_image(client: docker.DockerClient) -> str:
    """The image this harness runs in (its content id), after checking that the container
    has the host access the module docstring lists; a UsageError naming what is missing."""
    try:
        mountinfo = Path("/proc/self/mountinfo").read_text()
    except OSError as exc:
        raise HarnessError(f"cannot read this container's mounts: {exc}") from exc
    container = own_container_id(mountinfo)
    if container is None:
        raise UsageError(
            f"{IN_IMAGE}=1 says this runs in the harness's image, but no container of the "
            "engine holds this process (a Docker socket of another engine?)"
        )
    try:
        attrs = client.api.inspect_container(container)
    except ENGINE_FAILURES as exc:
        raise UsageError(
            f"the Docker engine behind the mounted socket does not know this container "
            f"({container[:12]}): mount the socket of the engine it runs on ({exc})"
        ) from None
    folders = sorted({runtime_root(), slots_root().parent})
    missing = missing_host_access(attrs, folders)
    if missing:
        raise UsageError(
            "the harness's container needs the host's network, process table and runtime "
            f"folder (docs/ci.md): run it with {' '.join(missing)}"
        )
    return str(attrs["Image"])


__all__ = ["IN_IMAGE", "in_image", "missing_host_access", "own_container_id", "site_image"]
