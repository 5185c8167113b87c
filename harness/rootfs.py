"""Root filesystems for MTAs, one per MTA, built from Debian's packages with mmdebstrap.

Debian's postfix, exim4-daemon-light and opensmtpd conflict with each other, so each MTA gets
its own root filesystem. A recipe (``fixtures/rootfs/<name>.toml``) names the packages; the
built tree is cached under ``.tools/rootfs/<name>-<digest of the recipe>`` and reused until
the recipe changes. Runs never write to it: each gets its own overlay on top.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import Field

from harness.errors import HarnessError, UsageError
from harness.schema import StrictModel, validated

PROJECT = Path(__file__).resolve().parent.parent
RECIPES = PROJECT / "fixtures" / "rootfs"
BUILD_TIMEOUT = 900.0


class PackageUnavailable(HarnessError):
    """A recipe names a package the archive does not have: that MTA cannot be built here."""


def unavailable_packages(packages: tuple[str, ...]) -> list[str]:
    """Those of ``packages`` that apt, as configured here (mmdebstrap builds from the same
    sources), has no candidate for. mmdebstrap's own failure does not say which."""
    missing = []
    for package in packages:
        done = subprocess.run(
            ["apt-cache", "policy", package], capture_output=True, text=True, check=False
        )
        if "Candidate:" not in done.stdout or "Candidate: (none)" in done.stdout:
            missing.append(package)
    return missing


@dataclass(frozen=True)
class Recipe:
    """What goes into one root filesystem."""

    name: str
    suite: str
    variant: str
    include: tuple[str, ...]
    text: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:12]


class RecipeFile(StrictModel):
    """A root filesystem recipe: a Debian suite, mmdebstrap's variant, packages to include."""

    suite: str
    variant: str = "apt"
    #: A list, never a string: ``include = "postfix"`` once became seven one-letter packages.
    include: Annotated[list[str], Field(min_length=1)]


def load_recipe(name: str) -> Recipe:
    """A shipped recipe by name (``fixtures/rootfs/<name>.toml``), or the user's own by the
    path of its file (``....toml``); built and cached alike, under the file's stem."""
    path = Path(name) if name.endswith(".toml") else RECIPES / f"{name}.toml"
    try:
        text = path.read_text()
    except OSError:
        known = ", ".join(sorted(p.stem for p in RECIPES.glob("*.toml")))
        raise UsageError(
            f"no root filesystem recipe {path}; known: {known}, or give a recipe file's path"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from None
    given = validated(RecipeFile, data, str(path))
    return Recipe(path.stem, given.suite, given.variant, tuple(given.include), text)


def write_recipe(name: str, recipe: RecipeFile) -> Path:
    """Keep an inline recipe (a description's ``[rootfs]``) as a recipe file of its own, so it
    is built and cached like any other; its path names it from then on."""
    import tomli_w

    folder = store().parent / "recipes"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    text = tomli_w.dumps(recipe.model_dump())
    if not path.exists() or path.read_text() != text:
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(text)
        os.replace(tmp, path)
    return path


def store() -> Path:
    """Where built root filesystems live (``MTA_HARNESS_ROOTFS`` overrides it)."""
    override = os.environ.get("MTA_HARNESS_ROOTFS")
    return Path(override) if override else PROJECT / ".tools" / "rootfs"


def rootfs_path(recipe: Recipe) -> Path:
    return store() / f"{recipe.name}-{recipe.digest}"


def check_can_run() -> None:
    """Say what is missing for running an MTA chrooted in its root filesystem."""
    if os.geteuid() != 0:
        raise UsageError(
            "real MTAs run chrooted in their own root filesystems, which needs root: "
            "run the harness as root (or use --mta seedmta-async/seedmta-sync, which do not)"
        )
    for tool in ("unshare", "nsenter", "chroot"):
        if shutil.which(tool) is None:
            raise UsageError(f"{tool} not found: install Debian's util-linux/coreutils")


def check_can_build() -> None:
    """Say what is missing for building and running MTAs in root filesystems."""
    if os.geteuid() != 0:
        raise UsageError(
            "real MTAs run chrooted in their own root filesystems, which needs root: "
            "run the harness as root (or use --mta seedmta-async/seedmta-sync, which do not)"
        )
    for tool, package in (
        ("mmdebstrap", "mmdebstrap"),
        ("unshare", "util-linux"),
        ("nsenter", "util-linux"),
    ):
        if shutil.which(tool) is None:
            raise UsageError(f"{tool} not found: install Debian's {package} (make setup does)")


def ensure_rootfs(name: str) -> Path:
    """The built root filesystem for recipe ``name``; builds it the first time (minutes)."""
    recipe = load_recipe(name)
    target = rootfs_path(recipe)
    check_can_run()
    if (target / ".complete").exists():
        return target
    check_can_build()
    target.parent.mkdir(parents=True, exist_ok=True)
    # One builder at a time per recipe; the others wait and then reuse its result.
    with (target.parent / f"{recipe.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / ".complete").exists():
            return target
        missing = unavailable_packages(recipe.include)
        if missing:
            raise PackageUnavailable(
                f"root filesystem {name}: this machine's Debian archive has no {', '.join(missing)}"
            )
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        argv = [
            "mmdebstrap",
            f"--variant={recipe.variant}",
            "--mode=root",
            "--quiet",
            f"--include={','.join(recipe.include)}",
            recipe.suite,
            str(partial),
        ]
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise HarnessError(
                f"building root filesystem {name} took over {BUILD_TIMEOUT:g} s"
            ) from exc
        if done.returncode != 0:
            shutil.rmtree(partial, ignore_errors=True)
            raise HarnessError(
                f"building root filesystem {name} failed ({' '.join(argv)}):\n"
                + "\n".join(done.stderr.splitlines()[-15:])
            )
        (partial / ".complete").write_text(recipe.text)
        partial.rename(target)
    return target
