"""The harness as a container image (``make image``), run as docs/ci.md says: a CI step that
installs nothing but Docker certifies an MTA image and leaves no container behind."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docker.errors import ImageNotFound

from harness.backends.docker.backend import LABELS, engine
from harness.backends.docker.images import recipe_image
from harness.backends.docker.self_image import build_harness_image
from harness.runtime import OWNER_LABEL, RUN_LABEL, owner_alive

from ..conftest import HOST_DNS

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="the docker backend's setup needs root"),
    pytest.mark.xdist_group(HOST_DNS),  # its build fetches from the package index
]

RUNTIME = "/tmp/mta-harness-0"  # the harness's runtime folder as root, in and out of it
SOCKET = "/var/run/docker.sock:/var/run/docker.sock"
HOST_ACCESS = ["--network", "host", "--pid", "host", "-v", SOCKET, "-v", f"{RUNTIME}:{RUNTIME}"]


@pytest.fixture(scope="module")
def harness_image() -> Iterator[str]:
    client = engine()
    # A tag of this module's own: another session on the same engine may build the same.
    tag = f"mta-harness-test/harness:{uuid.uuid4().hex[:8]}"
    build_harness_image(client, tag)
    try:
        yield tag
    finally:
        with contextlib.suppress(ImageNotFound):
            client.images.remove(tag)


def docker_run(
    name: str, flags: list[str], image: str, *args: str
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["docker", "run", "--rm", "--name", name, *flags, image, *args],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    finally:
        # A run cut short by the timeout: its containers are a later run's to reap.
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


def test_the_harness_image_certifies_an_mta_image_and_leaves_nothing_running(
    tmp_path: Path, harness_image: str
) -> None:
    mta_image = recipe_image(engine(), "postfix")  # Postfix's root filesystem, as an image
    reports = tmp_path / "reports"
    reports.mkdir()
    name = f"mta-harness-test-{uuid.uuid4().hex[:8]}"
    done = docker_run(
        name,
        [*HOST_ACCESS, "-v", f"{reports}:/reports"],
        harness_image,
        "certify",
        "--backend",
        "docker",
        "--mta",
        "postfix",
        "--mta-image",
        mta_image,
        "--suites",  # the drawn property alone: the image's path, not a fixed example
        "/opt/mta-harness/suites/test_head_of_line.py::test_one_dead_link_never_stalls_healthy_sites",
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    (run_dir,) = reports.iterdir()
    cert = json.loads((run_dir / "certificate.json").read_text())
    assert cert["verdict"] == "PASS"
    assert cert["mta"]["image"].startswith(mta_image + " (sha256:")
    # The canary (seedmta in sync mode, in the harness's image) failed there: faults reached.
    assert cert["canary"]["verdict"] == "FAIL", cert["canary"]
    results = json.loads((run_dir / "results.json").read_text())
    left = engine().containers.list(
        all=True, filters={"label": f"{LABELS[RUN_LABEL]}={results['run_id']}"}
    )
    assert left == []


def test_the_harness_image_without_host_access_is_one_clear_message(
    tmp_path: Path, harness_image: str
) -> None:
    before = {network.id for network in engine().networks.list()}
    done = docker_run(
        f"mta-harness-test-{uuid.uuid4().hex[:8]}",
        ["--network", "host", "-v", SOCKET, "-v", f"{tmp_path}:/reports"],
        harness_image,
        "certify",
        "--backend",
        "docker",
        "--mta",
        "seedmta-async",
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert f"--pid host -v {RUNTIME}:{RUNTIME}" in done.stderr
    assert not any(tmp_path.iterdir())  # nothing half-started
    # No network of its own. Other workers' docker tests create and remove networks meanwhile
    # (fresh-clone runs saw both), so what appeared counts unless a live process outside the
    # exited command owns it.
    appeared = [n for n in engine().networks.list() if n.id not in before]
    assert [n.name for n in appeared if not owned_by_a_live_process(n.attrs)] == []


def owned_by_a_live_process(attrs: dict[str, Any]) -> bool:
    return owner_alive((attrs.get("Labels") or {}).get(LABELS[OWNER_LABEL], ""))
