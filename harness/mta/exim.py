"""Exim 4 (Debian's exim4-daemon-light 4.96), chrooted in its own root filesystem.

Debian generates Exim's configuration from templates that know one smarthost, not a route per
domain, so the harness writes a small ``/etc/exim4/exim4.conf`` (which Debian's Exim reads
first) with manualroute routes; every option it does not set keeps Exim's stock default,
including ``smtp_accept_queue_per_connection = 10`` (messages past the 10th in one SMTP
session are only queued, for the next queue run).

``exim-hol`` is a realistic misconfiguration: every message queued (``queue_only``) and one
queue runner delivering one message at a time in arrival order, so a dead site holds up
everything behind it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.backends.base import Service
from harness.errors import UsageError
from harness.mta.base import (
    CommandRunner,
    Managed,
    MtaIdentity,
    MtaPlan,
    QueueEntry,
    config_digest,
    wait_for_smtp,
    write_files,
)
from harness.mta.queues import exim_bp
from harness.mta.selfcheck import CheckerOutput, refuse_if_the_mta_does

CONFIG = "/etc/exim4/exim4.conf"

_OPTION = re.compile(r"^\s*(?:hide\s+)?([a-z_0-9]+)\s*=")


#: Main-section options a fragment may not set: where Exim listens and what it relays (the
#: relay lists are `domainlist`/`hostlist` lines, which are not options and refused anyway).
OWNED = frozenset(
    {
        "local_interfaces",
        "daemon_smtp_port",
        "daemon_smtp_ports",
        "tls_on_connect_ports",
        "acl_smtp_rcpt",
    }
)


def _exim_complaints(output: CheckerOutput) -> list[str]:
    if output.status == 0:
        return []
    lines = [line.strip() for line in output.text.splitlines()]
    for index, line in enumerate(lines):
        if "configuration error" in line:
            # "… Exim configuration error in line 16 of /etc/exim4/exim4.conf:" + the reason
            where = line.split("configuration error", 1)[1].strip(" :")
            return [" ".join([*lines[index + 1 : index + 3], f"({where})"]).strip()]
    return [" ".join(lines[-3:]) or f"exim4 -bV exit status {output.status}"]


def render_config(plan: MtaPlan, hol: bool = False, fragment: str = "") -> str:
    """The whole exim4.conf for ``plan``; ``fragment`` lines go last in the main section."""
    queue_run = plan.timers.get("queue_interval", 2)
    retry = plan.timers.get("min_backoff", 2)
    domains = " : ".join(sorted(plan.routes))
    routes = " ; ".join(f"{domain} {e.host}::{e.port}" for domain, e in sorted(plan.routes.items()))
    hol_lines = (
        "# exim-hol: queue everything; one queue runner, in arrival order, one delivery at a time\n"
        "queue_only = true\nqueue_run_max = 1\nqueue_run_in_order = true\n"
        "remote_max_parallel = 1\n"
        if hol
        else ""
    )
    return f"""# Written by mta-harness for one run; options not set here keep Exim's defaults.
primary_hostname = mta.harness.test
daemon_smtp_ports = {plan.listen.port}
local_interfaces = <; {plan.listen.host}.{plan.listen.port}
domainlist relay_to_domains = {domains}
hostlist relay_from_hosts = {" : ".join(plan.clients)}
acl_smtp_rcpt = acl_check_rcpt
exim_user = Debian-exim
exim_group = Debian-exim
never_users = root
spool_directory = /var/spool/exim4
log_file_path = /var/log/exim4/%slog
# No ident callbacks: the harness's client does not answer them.
rfc1413_query_timeout = 0s
{hol_lines}# queue runs every {queue_run:g} s (exim4 -q{queue_run:g}s)
{fragment.strip()}

begin acl

acl_check_rcpt:
  accept hosts = +relay_from_hosts
         domains = +relay_to_domains
  deny   message = relay not permitted

begin routers

{_router(plan, routes)}
begin transports

remote_smtp:
  driver = smtp

begin retry

*  *  F,1h,{retry:g}s

begin rewrite

begin authenticators
"""


def _router(plan: MtaPlan, routes: str) -> str:
    """The router to the remote domains: by MX lookup (``--routing dns``, Exim's stock
    dnslookup driver and resolver) or by the harness's routes."""
    if plan.routing == "dns":
        head = "harness_mx:\n  driver = dnslookup\n"
    else:
        head = f"harness_routes:\n  driver = manualroute\n  route_list = {routes}\n"
    return (
        f"{head}  domains = +relay_to_domains\n  transport = remote_smtp\n"
        "  # The links are local addresses: deliver to them anyway.\n  self = send\n"
    )


@dataclass
class Exim(Managed):
    """Exim 4 as Debian ships it; ``hol`` is the one-runner misconfiguration."""

    hol: bool = False
    routings: tuple[str, ...] = ("static", "dns")
    #: Exim logs to files only (no stdout mode); its deliveries and deferrals are there.
    log_files: tuple[str, ...] = ("/var/log/exim4/mainlog", "/var/log/exim4/paniclog")

    @property
    def name(self) -> str:
        return "exim-hol" if self.hol else "exim"

    @property
    def rootfs(self) -> str | None:
        return "exim"

    def check_fragment(self, fragment: str, where: str) -> None:
        for number, line in enumerate(fragment.splitlines(), start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            option = _OPTION.match(line)
            if text.startswith("begin ") or option is None:
                raise UsageError(
                    f"--mta-config {where}: line {number}: expected a main-section "
                    f"option 'name = value', got {text!r}"
                )
            name = option.group(1)
            if name in OWNED:
                raise UsageError(
                    f"--mta-config {where}: line {number}: {name} is the harness's to set "
                    "(it decides where the MTA listens and what it relays)"
                )
        refuse_if_the_mta_does(
            self.name,
            "exim",
            self.render,
            fragment,
            where,
            [["/usr/sbin/exim4", "-bV"]],  # parses the whole configuration, starts nothing
            _exim_complaints,
        )

    def render(self, plan: MtaPlan) -> dict[str, str]:
        return {CONFIG: render_config(plan, self.hol, plan.fragment)}

    def command(self, plan: MtaPlan) -> list[str]:
        write_files(plan, self.render(plan))
        interval = plan.timers.get("queue_interval", 2)
        return ["/usr/sbin/exim4", "-bdf", f"-q{interval:g}s"]

    def wait_ready(self, service: Service, plan: MtaPlan, timeout: float) -> None:
        wait_for_smtp(service, plan, timeout, "Exim's daemon")

    def queue(self, plan: MtaPlan, run: CommandRunner) -> list[QueueEntry]:
        return exim_bp(run("mta", ["/usr/sbin/exim4", "-bp"]))

    def retry_now(self, plan: MtaPlan, run: CommandRunner) -> str:
        # A forced queue run (frozen mail included); it delivers in the foreground, so it
        # returns once Exim tried everything it holds.
        return run("mta", ["/usr/sbin/exim4", "-qff"]) or "exim4 -qff"

    def purge(self, plan: MtaPlan) -> None:
        pass  # the spool lives in the run's writable layer, which the harness wipes

    def identity(self, plan: MtaPlan, run: CommandRunner) -> MtaIdentity:
        banner = run("mta", ["/usr/sbin/exim4", "-bV"])
        match = re.search(r"Exim version (\S+)", banner)
        version = match.group(1) if match else "unknown"
        return MtaIdentity(self.name, version, config_digest(self.render(plan), plan))
