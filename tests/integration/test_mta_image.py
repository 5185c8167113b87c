"""Certify the user's own build in an image (``--mta-image``): images built here, FROM the
harness's imported Postfix image, as no registry is reachable."""

from __future__ import annotations

import contextlib
import io
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docker.errors import ImageNotFound

from harness.backends.docker.backend import engine
from harness.backends.docker.images import LABEL, recipe_image

from ..conftest import run_cli

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="the docker backend's setup needs root"),
    pytest.mark.xdist_group("mta-images"),  # the images are built once, in one worker
]

#: Two builds of Postfix as an operator would make them: one stock, one whose master.cf
#: caps its smtp delivery agents at one process (head-of-line blocking across destinations).
BUILDS = {
    "stock": "LABEL org.example.build=stock\n",
    "hol": "RUN postconf -F 'smtp/unix/process_limit = 1'\n",
}


#: An image configured by environment variables through its entrypoint, and its description.
ENV_IMAGE = Path(__file__).parents[2] / "fixtures" / "images" / "postfix-env"
ENV_DESCRIPTION = Path(__file__).parents[2] / "fixtures" / "mta" / "postfix-env-image.toml"


@pytest.fixture(scope="module")
def images() -> Iterator[dict[str, str]]:
    client = engine()
    base = recipe_image(client, "postfix")
    # Tags of this fixture's own: another test session on the same engine (a second checkout,
    # a CI job beside this one) builds and removes images of the same names.
    run = uuid.uuid4().hex[:8]
    tags = {name: f"mta-harness-test/postfix-{name}:{run}" for name in [*BUILDS, "env"]}
    try:
        client.images.build(
            path=str(ENV_IMAGE),
            buildargs={"BASE": base},
            tag=tags["env"],
            pull=False,
            forcerm=True,
            labels={f"{LABEL}.test": "mta-image"},
        )
        for name, steps in BUILDS.items():
            # pull=False: the base is local; a build here must never reach for a registry.
            client.images.build(
                fileobj=io.BytesIO(f"FROM {base}\n{steps}".encode()),
                tag=tags[name],
                pull=False,
                forcerm=True,  # no step's container left behind, even when a step fails
                labels={f"{LABEL}.test": "mta-image"},
            )
        yield tags
    finally:
        for tag in tags.values():
            with contextlib.suppress(ImageNotFound):
                client.images.remove(tag, force=True)


def certified(tmp_path: Path, *mta: str) -> tuple[Path, dict[str, Any]]:
    """Certify on docker with the drawn property (what is under test is the image: the
    suite's other tests add minutes, not coverage); the run folder and its certificate."""
    done = run_cli(
        "certify",
        *mta,
        "--backend",
        "docker",
        "--suites",
        "suites/test_head_of_line.py::test_one_dead_link_never_stalls_healthy_sites",
        "--reports",
        str(tmp_path),
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    (run_dir,) = tmp_path.iterdir()
    return run_dir, json.loads((run_dir / "certificate.json").read_text())


def test_a_stock_build_in_its_own_image_is_certified_and_verified(
    tmp_path: Path, images: dict[str, str]
) -> None:
    run_dir, cert = certified(tmp_path, "--mta", "postfix", "--mta-image", images["stock"])
    image_id = engine().images.get(images["stock"]).id
    assert cert["mta"]["image"] == f"{images['stock']} ({image_id})"
    assert cert["provenance"]["mta_image"] == images["stock"]
    assert f"--mta-image {images['stock']}" in (run_dir / "certificate.md").read_text()
    # A deploy step ships the image certified, and refuses the other build.
    assert run_cli("verify", str(run_dir), "--image", images["stock"]).returncode == 0
    swapped = run_cli("verify", str(run_dir), "--image", images["hol"])
    assert swapped.returncode == 1 and "image            MISMATCH" in swapped.stdout


def test_an_image_configured_by_its_environment_is_certified(
    tmp_path: Path, images: dict[str, str]
) -> None:
    described = tmp_path / ENV_DESCRIPTION.name
    described.write_text(
        ENV_DESCRIPTION.read_text().replace("mta-harness-test/postfix-env:latest", images["env"])
    )
    _run_dir, cert = certified(tmp_path / "reports", "--mta", str(described))
    assert cert["mta"]["image"].startswith(images["env"] + " (sha256:")


def test_a_build_with_head_of_line_blocking_in_its_own_image_fails(
    tmp_path: Path, images: dict[str, str]
) -> None:
    done = run_cli(
        "replay",
        "fixtures/scenarios/q193760.toml",
        "--mta",
        "postfix",
        "--mta-image",
        images["hol"],
        "--backend",
        "docker",
        "--reports",
        str(tmp_path),
        timeout=600,
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-2000:]
    assert "healthy_sites_keep_flowing" in done.stdout


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--backend", "docker", "--mta-image", "nosuch/image:1"], "no such image"),
        (["--backend", "local", "--mta-image", "nosuch/image:1"], "--backend docker only"),
    ],
)
def test_an_image_that_cannot_run_is_one_clear_message(
    tmp_path: Path, args: list[str], complaint: str
) -> None:
    done = run_cli("certify", "--mta", "postfix", *args, "--reports", str(tmp_path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert complaint in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())  # nothing half-started
