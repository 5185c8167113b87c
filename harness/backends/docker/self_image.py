"""``make image``: the harness as a container image, for a CI step that installs nothing.

``python -m harness.backends.docker.self_image [--tag T]`` builds ``mta-harness:<version>``
on the ``site`` root filesystem's image (Debian's python3 and aiosmtpd, iproute2, iptables),
with the harness, its certification suites and fixtures, its Python dependencies and the
Toxiproxy server built by setup. No registry is needed: the dependencies are installed on this
machine (from its package index) into a folder that the image copies. Run it as docs/ci.md
says; ``harness.backends.docker.inside`` checks the flags at start.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import docker
from docker.utils import parse_repository_tag

from harness import __version__
from harness.backends.docker.errors import ENGINE_FAILURES
from harness.backends.docker.images import LABEL, build_image, digest_tree, recipe_image
from harness.backends.docker.inside import IN_IMAGE
from harness.errors import HarnessError
from harness.links.server import toxiproxy_binary
from harness.rootfs import PROJECT
from harness.sites.program import COMPILED_NAME, compiled_site

#: What of the project goes into the image: the code, and what a certification reads.
PARTS = ("harness", "suites", "fixtures", "pyproject.toml")
HOME = "/opt/mta-harness"


def dependencies() -> list[str]:
    """The harness's run-time requirements, as pyproject.toml states them."""
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    return list(project["dependencies"])


def dependency_folder() -> Path:
    """The run-time dependencies installed into a folder of their own (once per requirement
    list and Python version): the image's python3 is Debian's, of the same minor version as
    the one running this, so the same wheels serve it."""
    requirements = dependencies()
    key = hashlib.sha256("\n".join([platform.python_version(), *requirements]).encode())
    folder = PROJECT / ".tools" / "image" / f"deps-{key.hexdigest()[:12]}"
    if folder.is_dir():
        return folder
    partial = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile"]
    done = subprocess.run(
        [*pip, "--target", str(partial), *requirements],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        raise HarnessError(f"cannot install the harness's dependencies: {done.stderr.strip()}")
    try:
        os.replace(partial, folder)
    except OSError:
        # Another run built the same folder meanwhile (seen: two docker-backend runs of the
        # test suite at once): theirs is as good as ours, so ours goes.
        shutil.rmtree(partial, ignore_errors=True)
        if not folder.is_dir():
            raise
    return folder


def dockerfile(base: str, with_site: bool = False) -> str:
    return "\n".join(
        [
            f"FROM {base}",
            f"COPY deps {HOME}/.deps",
            "COPY toxiproxy-server /usr/local/bin/toxiproxy-server",
            *([f"COPY {COMPILED_NAME} /usr/local/bin/{COMPILED_NAME}"] if with_site else []),
            *(f"COPY {part} {HOME}/{part}" for part in PARTS),
            f"ENV PYTHONPATH={HOME}:{HOME}/.deps PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 "
            f"{IN_IMAGE}=1",
            # Reports land in /reports, the folder docs/ci.md mounts.
            "WORKDIR /",
            'ENTRYPOINT ["python3", "-m", "harness"]',
            'CMD ["--help"]',
            f'LABEL {LABEL}.version="{__version__}"',
            "",
        ]
    )


def build_harness_image(client: docker.DockerClient, tag: str) -> str:
    """Build (or reuse, by a digest of everything in it) the harness's image; tag it ``tag``
    and return its content id."""
    base = recipe_image(client, "site")
    files = {"deps": dependency_folder(), "toxiproxy-server": toxiproxy_binary()}
    site = compiled_site()
    if site is not None:  # the image's sites run what the host's do (harness.sites.program)
        files[COMPILED_NAME] = site
    files.update({part: PROJECT / part for part in PARTS})
    digest = digest_tree(*files.values(), pattern="*")
    built = build_image(
        client,
        f"mta-harness/self:{digest}-{base.rsplit(':', 1)[1]}",
        dockerfile(base, site is not None),
        files,
    )
    try:
        image = client.images.get(built)
        repository, name = parse_repository_tag(tag)
        image.tag(repository, name or "latest")
    except ENGINE_FAILURES as exc:
        raise HarnessError(f"cannot tag the harness's image as {tag}: {exc}") from exc
    return str(image.id)


def main(argv: list[str] | None = None) -> int:
    from harness.backends.docker.backend import engine

    parser = argparse.ArgumentParser(prog="make image", description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default=f"mta-harness:{__version__}")
    args = parser.parse_args(argv)
    try:
        image_id = build_harness_image(engine(), args.tag)
    except HarnessError as exc:
        print(f"make image: {exc}", file=sys.stderr)
        return 2
    print(f"{args.tag} ({image_id})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
