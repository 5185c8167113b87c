"""Any other MTA, described by a TOML file: bring your own build, no harness code to write.

``--mta path/to/my-mta.toml`` reads a description like this one::

    name = "my-postfix"
    rootfs = "postfix"            # optional: run chrooted in this recipe's root filesystem
                                  # (a shipped recipe, "my-recipe.toml" of your own, or an
                                  # inline [rootfs] table: suite, include, variant)
    command = ["/usr/sbin/postfix", "start-fg"]
    queue = ["/usr/sbin/postqueue", "-j"]    # optional: lists the queue
    queue_format = "postfix-json"  # postfix-json | exim-bp | smtpctl | sendmail-bp | lines
    flush = ["/usr/sbin/postqueue", "-f"]    # optional: retry everything now (proves loss)
    route = "{domain}=smtp:[{host}]:{port}"  # how one route is written ...
    route_separator = ", "                   # ... and how routes are joined

    [files]
    "/etc/postfix/main.cf" = '''
    inet_interfaces = all
    transport_maps = inline:{{ {routes} }}
    '''

A build that ships as an image (docker backend) names it instead of a root filesystem:
``image = "myorg/mta:candidate"``; without ``command`` the image's own entrypoint runs, and an
image configured by its environment gets ``[environment]`` variables, templated like the
files (``fixtures/mta/postfix-env-image.toml``).

Each file is rendered with ``{listen}``, ``{listen_host}``, ``{listen_port}``, ``{routes}``,
``{domains}`` and ``{clients}`` (networks allowed to relay; literal braces doubled); the
harness waits for ``listen`` to accept connections before it submits anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from harness.backends.base import Service
from harness.errors import UsageError
from harness.mta.base import (
    CommandRunner,
    Managed,
    MtaIdentity,
    MtaPlan,
    config_digest,
    wait_for_smtp,
    write_files,
)
from harness.mta.queues import DescribedQueue, DescribedQueueKeys
from harness.mta.toml import load_description
from harness.rootfs import RecipeFile, write_recipe
from harness.schema import validated
from harness.topology import Endpoint


class Description(DescribedQueueKeys):
    """What ``--mta FILE.toml`` holds for an MTA the harness starts (see the module)."""

    name: str | None = None
    external: Literal[False] = False
    #: Empty: the image's own entrypoint and command (with ``image``).
    command: list[str] = Field(default_factory=list)
    files: dict[str, str] = Field(default_factory=dict)
    #: A shipped recipe's name, the path of your own recipe file (relative to this file), or
    #: an inline recipe (``[rootfs]`` with ``suite``, ``include`` and ``variant``).
    rootfs: str | RecipeFile | None = None
    #: The user's own image of the MTA (docker backend), instead of a root filesystem.
    image: str | None = None
    #: For an image configured by its environment: variables, templated like the files.
    environment: dict[str, str] = Field(default_factory=dict)
    route: str = "{domain} {host}:{port}"
    route_separator: str = "\n"

    @model_validator(mode="after")
    def _runnable(self) -> Description:
        if not self.command and self.image is None:
            raise ValueError("command: required, unless an image runs its own entrypoint")
        if self.image is not None and self.rootfs is not None:
            raise ValueError("image and rootfs: give one, the MTA runs in either")
        if self.environment and self.image is None:
            raise ValueError("environment: only an image is configured by its environment")
        return self


@dataclass
class GenericMta(Managed, DescribedQueue):
    """An MTA started from the user's command line with the user's templated files."""

    source: Path
    label: str
    command_line: list[str]
    files: dict[str, str]
    root: str | None = None
    image: str | None = None
    environment_templates: dict[str, str] = field(default_factory=dict)
    route: str = "{domain} {host}:{port}"
    route_separator: str = "\n"

    @classmethod
    def load(cls, path: Path, data: dict[str, Any] | None = None) -> GenericMta:
        """Check a description (read from ``path`` unless given); every mistake names the
        file and the key."""
        if data is None:
            data = load_description(path)
        given = validated(Description, data, f"--mta {path}")
        mta = cls(
            source=path,
            label=given.name or path.stem,
            command_line=list(given.command),
            files=dict(given.files),
            root=_recipe_of(given, path),
            image=given.image,
            environment_templates=dict(given.environment),
            queue_command=list(given.queue),
            queue_format=given.queue_format,
            flush_command=list(given.flush),
            route=given.route,
            route_separator=given.route_separator,
        )
        mta._check_templates()
        return mta

    def _check_templates(self) -> None:
        sample = _values(self, MtaPlan(_SAMPLE, {"a.test": _SAMPLE}, Path("/")))
        templates = {f"[files] {path!r}": text for path, text in self.files.items()}
        templates |= {f"[environment] {k}": v for k, v in self.environment_templates.items()}
        for where, template in templates.items():
            try:
                template.format_map(sample)
            except (KeyError, IndexError, ValueError) as exc:
                raise UsageError(
                    f"--mta {self.source}: {where}: bad placeholder "
                    f"{exc} (known: {', '.join(sorted(sample))}; double literal "
                    "braces)"
                ) from None

    @property
    def name(self) -> str:
        return self.label

    @property
    def rootfs(self) -> str | None:
        return self.root

    def check_fragment(self, fragment: str, where: str) -> None:
        if fragment.strip():
            raise UsageError(f"--mta-config {where}: put your settings in {self.source}")

    def environment(self, plan: MtaPlan) -> dict[str, str]:
        values = _values(self, plan)
        return {k: v.format_map(values) for k, v in self.environment_templates.items()}

    def render(self, plan: MtaPlan) -> dict[str, str]:
        values = _values(self, plan)
        return {path: text.format_map(values) for path, text in self.files.items()}

    def command(self, plan: MtaPlan) -> list[str]:
        write_files(plan, self.render(plan))
        values = _values(self, plan)
        return [arg.format_map(values) for arg in self.command_line]

    def wait_ready(self, service: Service, plan: MtaPlan, timeout: float) -> None:
        wait_for_smtp(service, plan, timeout, self.label)

    def purge(self, plan: MtaPlan) -> None:
        pass  # a rooted MTA's writable layer is wiped by the harness; a host MTA's is its own

    def identity(self, plan: MtaPlan, run: CommandRunner) -> MtaIdentity:
        return MtaIdentity(
            self.label,
            f"user-described ({self.source.name})",
            config_digest(self.render(plan), plan),
        )


def _recipe_of(given: Description, path: Path) -> str | None:
    """What ``rootfs`` names, as :func:`harness.rootfs.load_recipe` takes it."""
    rootfs = given.rootfs
    if isinstance(rootfs, RecipeFile):
        return str(write_recipe(given.name or path.stem, rootfs))
    if rootfs is not None and rootfs.endswith(".toml"):
        return str((path.parent / rootfs).resolve())
    return rootfs


_SAMPLE = Endpoint("127.0.0.2", 2525)  # for checking templates before anything starts


def _values(mta: GenericMta, plan: MtaPlan) -> dict[str, str]:
    routes = mta.route_separator.join(
        mta.route.format(domain=d, host=e.host, port=e.port) for d, e in sorted(plan.routes.items())
    )
    return {
        "listen": str(plan.listen),
        "listen_host": plan.listen.host,
        "listen_port": str(plan.listen.port),
        "routes": routes,
        "domains": " ".join(sorted(plan.routes)),
        "clients": " ".join(plan.clients),
        "workdir": str(plan.workdir),
    }
