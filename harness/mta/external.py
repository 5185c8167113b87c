"""An MTA the harness cannot start: it runs already, configured by its owner.

``--mta external.toml`` describes it::

    name = "mail-gw-3"
    external = true
    smtp = "127.0.0.1:2525"      # where the harness submits (loopback only)
    queue = ["postqueue", "-j"]   # optional: how to list its queue, run on this machine
    queue_format = "postfix-json"
    flush = ["postqueue", "-f"]   # optional: retry everything now, so loss can be proven

    [links]                       # where it routes each domain: the harness's links go there
    "site-a.test" = "127.0.0.111:2525"
    "site-b.test" = "127.0.0.112:2525"
    "bounces.test" = "127.0.0.110:2525"

``mta-harness routes --sites N`` prints the routes to configure. The harness cannot restart or
purge such an MTA between examples: mail it still holds from an earlier example arrives as a
stray, which the ledger keeps apart and never counts for or against a later one.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from harness.backends.base import Service
from harness.errors import UsageError
from harness.mta.base import CommandRunner, MtaIdentity, MtaPlan, digest, wait_for_smtp
from harness.mta.queues import DescribedQueue, DescribedQueueKeys
from harness.schema import validated
from harness.topology import BOUNCE_SINK, Endpoint, Site


def parse_endpoint(text: str, where: str) -> Endpoint:
    host, sep, port = text.rpartition(":")
    try:
        if not sep or not ipaddress.ip_address(host).is_loopback:
            raise ValueError
        return Endpoint(host, int(port))
    except ValueError:
        raise UsageError(
            f"{where}: expected a loopback HOST:PORT such as 127.0.0.111:2525, not {text!r}"
        ) from None


class ExternalDescription(DescribedQueueKeys):
    """What ``--mta FILE.toml`` holds for an MTA that runs already (see the module)."""

    name: str | None = None
    external: Literal[True]
    smtp: str
    links: Annotated[dict[str, str], Field(min_length=1)]


@dataclass
class ExternalMta(DescribedQueue):
    """A running MTA described by its owner; the harness only submits, cuts and watches."""

    source: Path
    label: str
    fixed_listen: Endpoint
    links: dict[str, Endpoint]

    @classmethod
    def load(cls, path: Path, data: dict[str, object]) -> ExternalMta:
        where = f"--mta {path}"
        given = validated(ExternalDescription, data, where)
        return cls(
            source=path,
            label=given.name or path.stem,
            fixed_listen=parse_endpoint(given.smtp, f"{where}: smtp"),
            links={
                d.lower(): parse_endpoint(e, f"{where}: links.{d}") for d, e in given.links.items()
            },
            queue_command=list(given.queue),
            queue_format=given.queue_format,
            flush_command=list(given.flush),
        )

    managed = False  # it runs already: the harness only submits, cuts and watches
    login = None  # it relays for the harness's networks
    routings = ("static",)  # its owner's routes, to the links the harness was told of
    image = None  # not ours to run
    log_files = ()  # its logs are its owner's

    def environment(self, plan: MtaPlan) -> dict[str, str]:
        return {}

    def fixed_endpoints(self, sites: list[Site]) -> tuple[Endpoint, dict[str, Endpoint]]:
        return self.fixed_listen, self.fixed_routes(sites)

    def fixed_routes(self, sites: list[Site]) -> dict[str, Endpoint]:
        """The links for ``sites`` and the bounce sink; names every route that is missing."""
        wanted = [s.domain for s in (*sites, BOUNCE_SINK)]
        missing = [d for d in wanted if d not in self.links]
        if missing:
            raise UsageError(
                f"--mta {self.source}: [links] lacks {', '.join(missing)}; "
                "`mta-harness routes` prints what to configure"
            )
        return {d: self.links[d] for d in wanted}

    @property
    def name(self) -> str:
        return self.label

    @property
    def rootfs(self) -> str | None:
        return None

    def check_fragment(self, fragment: str, where: str) -> None:
        if fragment.strip():
            raise UsageError(f"--mta-config {where}: an external MTA is configured by its owner")

    def command(self, plan: MtaPlan) -> list[str]:
        raise AssertionError("an external MTA is not started by the harness")

    def wait_ready(self, service: Service, plan: MtaPlan, timeout: float) -> None:
        wait_for_smtp(service, plan, timeout, self.label)

    def purge(self, plan: MtaPlan) -> None:
        pass  # not ours to purge

    def identity(self, plan: MtaPlan, run: CommandRunner) -> MtaIdentity:
        return MtaIdentity(self.label, "external", digest(self.source.read_text()))


def routes_to_configure(count: int, first: int = 111) -> str:
    """The routes an external MTA needs, with addresses the harness proposes."""
    from harness.topology import remote_sites

    lines = ["[links]"]
    for index, site in enumerate(remote_sites(count)):
        lines.append(f'"{site.domain}" = "127.0.0.{first + index}:2525"')
    lines.append(f'"{BOUNCE_SINK.domain}" = "127.0.0.{first - 1}:2525"')
    return "\n".join(lines)
