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
from dataclasses import dataclass, field
from pathlib import Path

from harness.backends.base import Service
from harness.errors import UsageError
from harness.mta.base import CommandRunner, MtaIdentity, MtaPlan, QueueEntry, digest, wait_for_smtp
from harness.mta.generic import QUEUE_FORMATS, parse_queue
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


@dataclass
class ExternalMta:
    """A running MTA described by its owner; the harness only submits, cuts and watches."""

    source: Path
    label: str
    fixed_listen: Endpoint
    links: dict[str, Endpoint]
    queue_command: list[str] = field(default_factory=list)
    queue_format: str = "lines"
    #: Asks the MTA to retry everything now (``flush = [...]``); empty if it cannot.
    flush_command: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path, data: dict[str, object]) -> ExternalMta:
        where = f"--mta {path}"
        smtp = data.get("smtp")
        links = data.get("links")
        if not isinstance(smtp, str):
            raise UsageError(f"{where}: 'smtp' must be the MTA's HOST:PORT")
        if not isinstance(links, dict) or not links:
            raise UsageError(f"{where}: [links] must map each domain to a HOST:PORT")
        queue = _strings(data, "queue", where)
        flush = _strings(data, "flush", where)
        queue_format = data.get("queue_format", "lines")
        if queue_format not in QUEUE_FORMATS:
            raise UsageError(f"{where}: 'queue_format' is one of {', '.join(QUEUE_FORMATS)}")
        return cls(
            source=path,
            label=str(data.get("name", path.stem)),
            fixed_listen=parse_endpoint(smtp, f"{where}: smtp"),
            links={
                str(d).lower(): parse_endpoint(str(e), f"{where}: links.{d}")
                for d, e in links.items()
            },
            queue_command=queue,
            queue_format=str(queue_format),
            flush_command=flush,
        )

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
        return []  # nothing to start: it runs already

    def wait_ready(self, service: Service, plan: MtaPlan, timeout: float) -> None:
        wait_for_smtp(service, plan, timeout, self.label)

    def queue(self, plan: MtaPlan, run: CommandRunner) -> list[QueueEntry] | None:
        if not self.queue_command:
            return None
        return parse_queue(run("mta", self.queue_command), self.queue_format)

    def retry_now(self, plan: MtaPlan, run: CommandRunner) -> str | None:
        if not self.flush_command:
            return None
        return run("mta", self.flush_command) or " ".join(self.flush_command)

    def purge(self, plan: MtaPlan) -> None:
        pass  # not ours to purge

    def identity(self, plan: MtaPlan, run: CommandRunner) -> MtaIdentity:
        return MtaIdentity(self.label, "external", digest(self.source.read_text()))


def _strings(data: dict[str, object], key: str, where: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise UsageError(f"{where}: '{key}' is a list of strings")
    return [str(a) for a in value]


def routes_to_configure(count: int, first: int = 111) -> str:
    """The routes an external MTA needs, with addresses the harness proposes."""
    from harness.topology import remote_sites

    lines = ["[links]"]
    for index, site in enumerate(remote_sites(count)):
        lines.append(f'"{site.domain}" = "127.0.0.{first + index}:2525"')
    lines.append(f'"{BOUNCE_SINK.domain}" = "127.0.0.{first - 1}:2525"')
    return "\n".join(lines)
