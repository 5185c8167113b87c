"""Images built without a registry, from the same root filesystem recipes as the local backend.

A recipe's root filesystem is imported (``docker import``) as ``mta-harness/<recipe>:<digest>``;
the harness's own images (sites and seedmta, Toxiproxy) are built on the ``site`` one with the
harness's code or the Toxiproxy binary added. Tags carry a digest of what went in, so a second
run reuses them and a changed recipe, harness or binary gets a new image. Where a registry is
reachable, ``MTA_HARNESS_IMAGE_TOXIPROXY`` or ``MTA_HARNESS_IMAGE_SITE`` names a pulled image
to use instead: a Toxiproxy image needs ``toxiproxy-server``, ``ip`` and ``iptables`` on its
PATH (the run gives its container every link's address); a site image needs python3 with
aiosmtpd and this harness importable.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import docker
from docker.errors import ImageNotFound

from harness.backends.docker.errors import ENGINE_FAILURES
from harness.backends.docker.inside import in_image, site_image
from harness.errors import HarnessError, UsageError
from harness.links.server import toxiproxy_binary
from harness.rootfs import ensure_rootfs, load_recipe, store
from harness.sites.program import COMPILED_NAME, compiled_site

LABEL = "org.mta-harness"
HARNESS_PACKAGE = Path(__file__).resolve().parents[2]  # the harness package itself


def _exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except ImageNotFound:
        return False
    return True


def image_id(image: str, flag: str = "--image") -> str:
    """The content digest (``sha256:...``) of a local image; a UsageError naming it (as
    given with ``flag``) if the engine holds no such image."""
    from harness.backends.docker.backend import engine

    try:
        return str(engine().images.get(image).id)
    except ImageNotFound:
        raise UsageError(f"{flag} {image}: no such image in the local Docker engine") from None


def image_files(client: docker.DockerClient, image: str, labels: dict[str, str]) -> Path:
    """``image``'s ``/etc``, copied out once per image content and cached: the user's build's
    own stock configuration, which an adapter renders the harness's settings onto."""
    try:
        found = client.images.get(image)
    except ImageNotFound:
        raise UsageError(f"--mta-image {image}: no such image in the local Docker engine") from None
    except ENGINE_FAILURES as exc:
        raise HarnessError(f"cannot read image {image}: {exc}") from exc
    folder = store().parent / "images" / str(found.id).removeprefix("sha256:")[:16]
    if folder.is_dir():
        return folder
    partial = folder.with_name(folder.name + f".partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        # Created, never started: only its files are read. Labelled like every container of
        # the run, so a killed run's reaper takes it too.
        container = client.containers.create(found.id, ["true"], labels=labels)
        try:
            stream, _ = container.get_archive("/etc")
            with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
                # The data filter where this Python has it (3.11.4 and later; not Debian
                # bookworm's 3.11.2, which the harness's own image runs on).
                safety = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                tar.extractall(partial, members=_plain_files(tar), **safety)  # type: ignore[arg-type]
        finally:
            container.remove(force=True)
    except ENGINE_FAILURES as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise HarnessError(f"cannot copy the configuration out of image {image}: {exc}") from exc
    os.replace(partial, folder)
    return folder


def _plain_files(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """Files and folders only, each inside the copy: a link in the image (often to an
    absolute path) would lead outside it, to this machine's own files."""
    for member in tar:
        inside = not member.name.startswith("/") and ".." not in Path(member.name).parts
        if inside and (member.isfile() or member.isdir()):
            member.mode &= 0o755  # no set-id bits on this machine
            yield member


def recipe_image(client: docker.DockerClient, recipe_name: str) -> str:
    """``mta-harness/<recipe>:<digest>``, imported from the recipe's root filesystem once."""
    recipe = load_recipe(recipe_name)
    tag = f"mta-harness/{recipe.name}:{recipe.digest}"
    if _exists(client, tag):
        return tag
    root = ensure_rootfs(recipe_name)
    tar = subprocess.Popen(
        ["tar", "-C", str(root), "--exclude=./.complete", "-c", "."], stdout=subprocess.PIPE
    )
    assert tar.stdout is not None
    try:
        client.api.import_image_from_stream(
            tar.stdout,
            repository=f"mta-harness/{recipe.name}",
            tag=recipe.digest,
            changes=[f'LABEL {LABEL}.recipe="{recipe.name}"'],
        )
    except ENGINE_FAILURES as exc:
        raise HarnessError(f"docker import of root filesystem {recipe_name} failed: {exc}") from exc
    finally:
        tar.wait()
    return tag


def digest_tree(*paths: Path, pattern: str = "*.py") -> str:
    """A short digest of the files matching ``pattern`` under ``paths`` (files: themselves),
    names and contents, compiled Python left out."""
    h = hashlib.sha256()
    for path in paths:
        files = sorted(path.rglob(pattern)) if path.is_dir() else [path]
        for file in files:
            if not file.is_file() or "__pycache__" in file.parts:
                continue
            h.update(str(file.relative_to(path.parent)).encode())
            h.update(file.read_bytes())
    return h.hexdigest()[:12]


def build_image(
    client: docker.DockerClient, tag: str, dockerfile: str, files: dict[str, Path]
) -> str:
    """Build ``tag`` from a Dockerfile and files sent in an in-memory context."""
    if _exists(client, tag):
        return tag
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        data = dockerfile.encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        for name, path in files.items():
            tar.add(
                str(path), arcname=name, filter=lambda t: None if "__pycache__" in t.name else t
            )
    context.seek(0)
    try:
        client.images.build(
            fileobj=context, custom_context=True, tag=tag, rm=True, labels={f"{LABEL}.image": tag}
        )
    except ENGINE_FAILURES as exc:
        raise HarnessError(f"building image {tag} failed: {exc}") from exc
    return tag


def harness_image(client: docker.DockerClient) -> str:
    """Sites and seedmta: the ``site`` root filesystem plus the harness's own code."""
    override = os.environ.get("MTA_HARNESS_IMAGE_SITE")
    if override:
        return override
    if in_image():
        return site_image(client)  # the image this harness runs in has all a site needs
    base = recipe_image(client, "site")
    files = {"harness": HARNESS_PACKAGE}
    dockerfile = (
        f"FROM {base}\nCOPY harness /opt/mta-harness/harness\n"
        "ENV PYTHONPATH=/opt/mta-harness PYTHONUNBUFFERED=1\n"
    )
    compiled = compiled_site()
    if compiled is not None:  # the sites run it where the host does (harness.sites.program)
        files[COMPILED_NAME] = compiled
        dockerfile += f"COPY {COMPILED_NAME} /usr/local/bin/{COMPILED_NAME}\n"
    tag = f"mta-harness/harness:{digest_tree(*files.values())}-{base.rsplit(':', 1)[1]}"
    return build_image(client, tag, dockerfile, files)


def toxiproxy_image(client: docker.DockerClient) -> str:
    """The Toxiproxy binary built by setup, on the ``site`` root filesystem."""
    override = os.environ.get("MTA_HARNESS_IMAGE_TOXIPROXY")
    if override:
        return override
    if in_image():
        return site_image(client)  # Toxiproxy, ip and iptables are in it too
    base = recipe_image(client, "site")
    binary = toxiproxy_binary()
    tag = f"mta-harness/toxiproxy:{digest_tree(binary)}-{base.rsplit(':', 1)[1]}"
    dockerfile = f"FROM {base}\nCOPY toxiproxy-server /usr/local/bin/toxiproxy-server\n"
    return build_image(client, tag, dockerfile, {"toxiproxy-server": binary})
