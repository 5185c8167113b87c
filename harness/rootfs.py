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
#: An npm project's files, installed exactly as locked.
NPM_FILES = ("package.json", "package-lock.json")
#: The build machine's CA bundle (Debian's ca-certificates), lent to an npm install.
HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


class PackageUnavailable(HarnessError):
    """A recipe names a package the archive does not have: that MTA cannot be built here."""


def host_suite() -> str:
    """This machine's Debian codename ("bookworm"), or "" where it is not Debian."""
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return ""
    for line in text.splitlines():
        if line.startswith("VERSION_CODENAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return ""


def unavailable_packages(suite: str, packages: tuple[str, ...]) -> list[str]:
    """Those of ``packages`` that apt, as configured here (mmdebstrap builds from the same
    sources), has no candidate for. mmdebstrap's own failure does not say which. A recipe
    of another suite than this machine's (built from deb.debian.org) is not checked here."""
    if suite != host_suite():
        return []
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
    #: A folder of ``fixtures/rootfs`` with a ``package.json`` and its ``package-lock.json``,
    #: installed by the root's own npm (``npm ci``) into ``/opt/<folder>``; None for none.
    npm: str | None = None
    #: A Go program, ``module/path/cmd/name@version``, built here from the Go module proxy
    #: (as Toxiproxy is) and installed as ``/usr/local/bin/<name>``; None for none.
    go: str | None = None

    @property
    def npm_files(self) -> dict[str, str]:
        """The npm project's files, name -> text (part of the digest: a new lock rebuilds)."""
        if self.npm is None:
            return {}
        folder = RECIPES / self.npm
        return {name: (folder / name).read_text() for name in NPM_FILES}

    @property
    def digest(self) -> str:
        parts = [self.text, *(f"{name}\n{text}" for name, text in self.npm_files.items())]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


class RecipeFile(StrictModel):
    """A root filesystem recipe: a Debian suite, mmdebstrap's variant, packages to include."""

    suite: str
    variant: str = "apt"
    #: A list, never a string: ``include = "postfix"`` once became seven one-letter packages.
    include: Annotated[list[str], Field(min_length=1)]
    #: An npm project folder beside the recipe (see :attr:`Recipe.npm`).
    npm: str | None = None
    #: A Go program and its version (see :attr:`Recipe.go`).
    go: (
        Annotated[str, Field(pattern=r"^[a-z0-9.-]+(/[A-Za-z0-9._-]+)+@v[0-9][A-Za-z0-9.+-]*$")]
        | None
    ) = None


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
    if given.npm is not None:
        missing = [n for n in NPM_FILES if not (path.parent / given.npm / n).is_file()]
        if missing or path.parent != RECIPES:
            raise UsageError(
                f"{path}: npm = {given.npm!r} needs {', '.join(NPM_FILES)} in "
                f"{RECIPES / given.npm} (shipped recipes only)"
            )
    return Recipe(
        path.stem, given.suite, given.variant, tuple(given.include), text, given.npm, given.go
    )


def write_recipe(name: str, recipe: RecipeFile) -> Path:
    """Keep an inline recipe (a description's ``[rootfs]``) as a recipe file of its own, so it
    is built and cached like any other; its path names it from then on."""
    import tomli_w

    folder = store().parent / "recipes"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    text = tomli_w.dumps(recipe.model_dump(exclude_none=True))
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


def npm_hooks(recipe: Recipe) -> list[str]:
    """mmdebstrap hooks that install the recipe's npm project with the root's own npm, in
    the chroot mmdebstrap prepared (its /proc, /dev and the build machine's resolver). The
    build machine's CA bundle is lent for the download (a registry reached through a
    TLS-inspecting proxy is signed by a CA only the build machine trusts), then removed."""
    if recipe.npm is None:
        return []
    target = f"/opt/{recipe.npm}"
    files = " ".join(str(RECIPES / recipe.npm / name) for name in NPM_FILES)
    lent = "/tmp/harness-build-ca.crt"
    install = (
        f"cd {target} && npm ci --omit=optional --no-audit --no-fund --loglevel=error "
        f"--cafile={lent} && rm -rf {lent} /root/.npm"
    )
    return [
        f'--customize-hook=mkdir -p "$1{target}"',
        f"--customize-hook=copy-in {files} {target}",
        f'--customize-hook=cp {HOST_CA_BUNDLE} "$1{lent}"',
        f"--customize-hook=chroot \"$1\" sh -c '{install}'",
    ]


def go_program(recipe: Recipe) -> Path | None:
    """Build the recipe's Go program with this machine's Go, from the Go module proxy, into
    ``.tools/go/<recipe>-<digest>/bin`` (reused once built). The proxy here serves a program
    to ``go get -tool`` in a module of one's own, not to ``go install PATH@VERSION``; such a
    module does not inherit the program's own ``replace`` directives (maddy replaces go-imap,
    go-smtp and libdns-gandi with its forks), so they are copied from its go.mod before
    ``go install``. Static (no cgo), so it runs in any root. Raises PackageUnavailable where
    it cannot be built here."""
    if recipe.go is None:
        return None
    program, version = recipe.go.rsplit("@", 1)
    folder = store().parent / "go" / f"{recipe.name}-{recipe.digest}"
    binary = folder / "bin" / program.rsplit("/", 1)[1]
    if binary.exists():
        return binary
    module = folder / "module"
    module.mkdir(parents=True, exist_ok=True)
    (module / "go.mod").write_text(f"module mta-harness/build/{recipe.name}\n\ngo 1.24\n")
    _go(recipe, module, binary, "get", "-tool", f"{program}@{version}")
    own = _go(recipe, module, binary, "list", "-f", "{{.Module.GoMod}}", program).strip()
    replaces = [f"-replace={old}={new}" for old, new in go_replaces(Path(own).read_text())]
    if replaces:
        _go(recipe, module, binary, "mod", "edit", *replaces)
    _go(recipe, module, binary, "install", "-mod=mod", program)
    return binary


def go_replaces(go_mod: str) -> list[tuple[str, str]]:
    """A go.mod's ``replace`` directives as ``(old, new@version)``, single or in a block;
    a replacement by a local folder (no version) cannot be had from the proxy: left out."""
    found = []
    in_block = False
    for raw in go_mod.splitlines():
        line = raw.split("//", 1)[0].strip()
        if line == "replace (":
            in_block = True
            continue
        if in_block and line == ")":
            in_block = False
            continue
        if line.startswith("replace "):
            line = line.removeprefix("replace ").strip()
        elif not in_block:
            continue
        old, arrow, new = line.partition("=>")
        parts = new.split()
        if arrow and len(parts) == 2:
            found.append((old.split()[0], f"{parts[0]}@{parts[1]}"))
    return found


def _go(recipe: Recipe, module: Path, binary: Path, *args: str) -> str:
    go = shutil.which("go")
    if go is None:
        raise PackageUnavailable(f"root filesystem {recipe.name}: {recipe.go} needs Go to build")
    env = {**os.environ, "GOTOOLCHAIN": "local", "CGO_ENABLED": "0", "GOBIN": str(binary.parent)}
    try:
        done = subprocess.run(
            [go, *args],
            cwd=module,
            env=env,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(
            f"building {recipe.go}: go {args[0]} took over {BUILD_TIMEOUT:g} s"
        ) from exc
    if done.returncode != 0:
        raise PackageUnavailable(
            f"root filesystem {recipe.name}: go {' '.join(args)} failed:\n"
            + "\n".join(done.stderr.splitlines()[-10:])
        )
    return done.stdout


def go_hooks(binary: Path | None) -> list[str]:
    """The mmdebstrap hook that puts a built Go program at /usr/local/bin in the root."""
    return [] if binary is None else [f"--customize-hook=copy-in {binary} /usr/local/bin"]


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
        missing = unavailable_packages(recipe.suite, recipe.include)
        if missing:
            raise PackageUnavailable(
                f"root filesystem {name}: this machine's Debian archive has no {', '.join(missing)}"
            )
        binary = go_program(recipe)
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        argv = [
            "mmdebstrap",
            f"--variant={recipe.variant}",
            "--mode=root",
            "--quiet",
            f"--include={','.join(recipe.include)}",
            *npm_hooks(recipe),
            *go_hooks(binary),
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
