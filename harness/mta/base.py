"""The MTA adapter extension point: how to configure, start and inspect one MTA."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from harness.backends.base import Role, Service
from harness.clock import Deadline
from harness.errors import UsageError
from harness.net import wait_for_greeting
from harness.topology import Endpoint, Site

#: Runs a short command beside the MTA and returns its standard output.
CommandRunner = Callable[[Role, Sequence[str]], str]


@dataclass(frozen=True)
class MtaPlan:
    """What the harness asks of the MTA: listen here, relay each domain to its link."""

    listen: Endpoint
    routes: dict[str, Endpoint]
    #: A folder for the MTA's configuration, queue and logs, its own for this run.
    workdir: Path
    #: Retry and timeout settings the adapter should use, in seconds.
    timers: dict[str, float] = field(default_factory=dict)
    #: For an MTA in its own root filesystem: the shared, read-only tree (stock files to
    #: start from) and the run's writable layer, where a file written appears at ``/``.
    lower: Path | None = None
    root: Path | None = None
    #: The user's configuration fragment, if any, merged last (the user's word wins).
    fragment: str = ""
    #: Where the harness itself reaches ``listen`` (differs on the docker backend).
    reach: Endpoint | None = None
    #: Networks the harness submits from: the only ones allowed to relay.
    clients: tuple[str, ...] = ("127.0.0.0/8",)
    #: How the MTA finds each site: "static" (``routes`` rendered into its configuration)
    #: or "dns" (MX lookups against the run's DNS server, which answers each domain with
    #: its route's address; the routes are then on port 25).
    routing: str = "static"
    #: The run's DNS server, where it runs (an MTA on the host asks it by address).
    nameserver: Endpoint | None = None

    @property
    def smtp(self) -> Endpoint:
        """The MTA's SMTP port as the harness connects to it."""
        return self.reach or self.listen

    def in_root(self, path: str) -> Path:
        """Where to write ``path`` (as the MTA sees it) so the MTA finds it there."""
        if self.root is None:
            raise ValueError("this MTA does not run in a root filesystem of its own")
        return self.root / path.lstrip("/")

    def stock(self, path: str) -> str:
        """A stock file of the MTA's root filesystem, as its package installed it."""
        if self.lower is None:
            raise ValueError("this MTA does not run in a root filesystem of its own")
        return (self.lower / path.lstrip("/")).read_text()


@dataclass(frozen=True)
class MtaIdentity:
    """What was certified: name, version and a digest of the configuration actually used."""

    name: str
    version: str
    config_digest: str
    #: The image it ran in, on a container backend ("tag (sha256:...)").
    image: str | None = None


@dataclass(frozen=True)
class Login:
    """The account the harness submits as, for an MTA that relays only for its own users
    (chasquid): the workload says STARTTLS, then AUTH PLAIN, before its first message."""

    user: str
    password: str


@dataclass(frozen=True)
class QueueEntry:
    """One message the MTA still holds."""

    queue_id: str
    recipients: tuple[str, ...]
    reason: str = ""
    #: The MTA is working on it now (Postfix's active queue): when it is put back, its next
    #: retry time is set then.
    in_delivery: bool = False


class MtaAdapter(Protocol):
    """How the harness drives one MTA. A new MTA is one new module implementing this.

    What an MTA can do is said by the protocol itself: ``managed`` (the harness starts,
    restarts and purges it) or not (it runs already, its owner's), ``fixed_endpoints`` (where
    its owner fixed it to listen and route), and ``queue`` / ``retry_now`` returning None
    where the MTA cannot list its queue or be asked to retry (loss is then "not proven").
    """

    @property
    def name(self) -> str:
        """The name users pass as ``--mta``."""

    @property
    def managed(self) -> bool:
        """Whether the harness starts, stops, restarts and purges it; False for an MTA that
        runs already (then ``command`` is never called)."""

    def fixed_endpoints(self, sites: list[Site]) -> tuple[Endpoint, dict[str, Endpoint]] | None:
        """Where it listens and how it routes each of ``sites``' domains (and the bounce
        sink's) if its owner fixed them; None if the harness chooses. Raises
        :class:`~harness.errors.UsageError` naming a missing route."""

    @property
    def routings(self) -> tuple[str, ...]:
        """The ways it can find the remote sites (``MtaPlan.routing``): "static" routes the
        harness renders, and "dns" where it can deliver by MX lookup."""

    @property
    def login(self) -> Login | None:
        """The account the harness submits with (STARTTLS, then AUTH PLAIN), for an MTA
        that relays only for authenticated users; None where it relays for the harness's
        networks (``MtaPlan.clients``)."""

    @property
    def log_files(self) -> tuple[str, ...]:
        """Log files it writes inside its root instead of to its output (Exim's mainlog):
        the harness keeps a copy beside its output's log before the root is wiped."""

    @property
    def rootfs(self) -> str | None:
        """The root filesystem recipe it runs in (``fixtures/rootfs/<name>.toml``), or None
        to run on the host."""

    @property
    def image(self) -> str | None:
        """The user's own image it runs in (a description's ``image``), or None; on the
        docker backend, ``--mta-image`` names one for any adapter with a root filesystem."""

    def environment(self, plan: MtaPlan) -> dict[str, str]:
        """The environment its image is configured by (a description's ``[environment]``,
        rendered for this run); empty for an MTA configured by its files."""

    def check_fragment(self, fragment: str, where: str) -> None:
        """Raise :class:`~harness.errors.UsageError` naming ``where`` and the line if the
        user's configuration fragment is not valid for this MTA; called before anything starts."""

    def command(self, plan: MtaPlan) -> list[str]:
        """Write the MTA's configuration (into ``plan.root`` or ``plan.workdir``); return the
        argv that runs it in the foreground."""

    def wait_ready(self, service: Service, plan: MtaPlan, timeout: float) -> None:
        """Return once the MTA accepts mail on ``plan.listen``; raise if it cannot."""

    def queue(self, plan: MtaPlan, run: CommandRunner) -> list[QueueEntry] | None:
        """The messages the MTA still holds; None if it has no way to list them."""

    def retry_now(self, plan: MtaPlan, run: CommandRunner) -> str | None:
        """Ask the MTA to retry everything it holds now, ignoring its back-off (Postfix
        ``postqueue -f``); return what the command printed, None if the MTA cannot be asked.
        This is how the harness proves loss instead of waiting out the MTA's schedule."""

    def purge(self, plan: MtaPlan) -> None:
        """Empty the queue; called only while the MTA is stopped. For an MTA in its own root
        filesystem the harness also wipes the run's writable layer before calling it."""

    def identity(self, plan: MtaPlan, run: CommandRunner) -> MtaIdentity:
        """Name, version and configuration digest of the MTA as configured for ``plan``."""


class Managed:
    """What an MTA the harness starts itself says of its capabilities: the harness runs it,
    chooses where it listens and routes, and may restart and purge it."""

    managed = True
    #: Shipped adapters run in the harness's image of their recipe unless told otherwise.
    image: str | None = None
    #: Static routes only, unless an adapter says it can deliver by MX lookup.
    routings: tuple[str, ...] = ("static",)
    #: Everything it logs goes to its output, unless an adapter names files.
    log_files: tuple[str, ...] = ()
    #: It relays for the harness's networks, unless an adapter names an account.
    login: Login | None = None

    def fixed_endpoints(self, sites: list[Site]) -> tuple[Endpoint, dict[str, Endpoint]] | None:
        return None

    def environment(self, plan: MtaPlan) -> dict[str, str]:
        return {}  # configured by the files it renders


def digest(*parts: str | bytes) -> str:
    """A short sha256 of configuration text, for :class:`MtaIdentity`."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return "sha256:" + h.hexdigest()[:16]


def config_digest(files: dict[str, str], plan: MtaPlan) -> str:
    """Digest of rendered configuration files with the run's own addresses masked, so the
    same configuration has the same digest in every run."""
    masked = []
    for path, text in sorted(files.items()):
        for endpoint in (plan.listen, *plan.routes.values()):
            text = text.replace(str(endpoint), "ADDR:PORT").replace(endpoint.host, "ADDR")
        for network in plan.clients:  # the run's own block (docker: 172.31.<slot>.0/24)
            text = text.replace(network, "CLIENTS")
        masked.append(f"{path}\n{text}")
    return digest(*masked)


def write_files(plan: MtaPlan, files: dict[str, str]) -> None:
    """Write rendered configuration files where the MTA will find them: into its root
    filesystem's writable layer, or (for an MTA on the host) at their own paths."""
    for path, text in files.items():
        target = plan.in_root(path) if plan.root is not None else Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def wait_for_smtp(service: Service, plan: MtaPlan, timeout: float, what: str) -> None:
    """Return once the MTA greets on its SMTP port (as the harness reaches it); fail at once
    if it died."""
    wait_for_greeting(
        plan.smtp, Deadline.after(timeout), what, alive=lambda: service.returncode is None
    )


def package_version(plan: MtaPlan, package: str) -> str:
    """The version of Debian ``package`` in the MTA's root filesystem, from dpkg's status
    file: for MTAs without a version flag (OpenSMTPD) or whose banner hides the patch level."""
    status = plan.stock("/var/lib/dpkg/status")
    found = re.search(
        rf"^Package: {re.escape(package)}\n(?:.+\n)*?Version: (\S+)", status, re.MULTILINE
    )
    return found.group(1) if found else "unknown"


def octet_prefix(network: str, table: str) -> str:
    """``network`` as the leading octets that Sendmail's ``access`` and Courier's
    ``smtpaccess`` match client addresses by ("127.0.0.0/8" -> "127"); ``table`` names the
    file in the error raised for a network that is not whole IPv4 octets."""
    net = ipaddress.ip_network(network)
    if net.version != 4 or net.prefixlen % 8 or net.prefixlen == 0:
        raise UsageError(
            f"{table}: relaying from {network} cannot be written there "
            "(it matches whole IPv4 octets only)"
        )
    return ".".join(str(net.network_address).split(".")[: net.prefixlen // 8])


def mask_client_octets(files: dict[str, str], path: str, key: str, plan: MtaPlan) -> dict[str, str]:
    """``files`` with the run's networks masked where ``path`` names them by their octets
    (:func:`octet_prefix`), which :func:`config_digest` cannot know: each ``key`` (a format
    with one ``{}``, as ``":{}\t"``) of a client network becomes the same for every run's
    address block, so a run's slot changes no digest."""
    text = files[path]
    for network in plan.clients:
        text = text.replace(key.format(octet_prefix(network, path)), key.format("CLIENTS"))
    return {**files, path: text}


#: Start-script lines for an MTA that logs to syslog only (Sendmail, Courier): busybox's
#: syslogd writing to the script's output, and a wait (with a deadline) for its socket, so
#: no line logged at start is lost.
SYSLOGD_TO_OUTPUT = """busybox syslogd -n -O - &
tries=0
until [ -S /dev/log ]; do
  tries=$((tries + 1))
  [ "$tries" -le 200 ] || { echo "harness-start: syslogd made no /dev/log in 10 s" >&2; exit 1; }
  sleep 0.05
done
"""
