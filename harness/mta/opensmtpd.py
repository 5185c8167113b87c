"""OpenSMTPD (Debian's 6.8), chrooted in its own root filesystem.

Its spool (``/var/spool/smtpd``) and control socket (``/run/smtpd.sock``) are compiled in, so
two instances cannot share a host; each run gets its own overlay and mount namespace, where
those paths are its own. OpenSMTPD keys routes and limits by address, which is why every site
has an address of its own (sites sharing one address would make the harness cause the very
blocking it is testing for).
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
    package_version,
    wait_for_smtp,
    write_files,
)
from harness.mta.queues import smtpctl
from harness.mta.selfcheck import refuse_if_the_mta_does
from harness.topology import BOUNCE_DOMAIN

CONFIG = "/etc/smtpd.conf"


def render_config(plan: MtaPlan, fragment: str = "") -> str:
    """smtpd.conf for ``plan``: one relay action per remote domain, relaying from loopback."""
    lines = [
        "# Written by mta-harness for one run; settings not made here keep OpenSMTPD's defaults.",
        f"listen on {plan.listen.host} port {plan.listen.port}",
        f"table harness_clients {{ {', '.join(plan.clients)} }}",
    ]
    for domain, link in sorted(plan.routes.items()):
        # By MX lookup (--routing dns): a plain relay action, OpenSMTPD's own resolver.
        via = "" if plan.routing == "dns" else f" host smtp://{link.host}:{link.port}"
        lines.append(f'action "to-{domain}" relay{via}')
    for domain in sorted(plan.routes):
        lines.append(f'match from src <harness_clients> for domain "{domain}" action "to-{domain}"')
    # OpenSMTPD injects its own bounces "from local": without this rule it refuses them
    # (550 Invalid recipient) and drops the failure report, so every bounce would be lost.
    if BOUNCE_DOMAIN in plan.routes:
        lines.append(f'match from local for domain "{BOUNCE_DOMAIN}" action "to-{BOUNCE_DOMAIN}"')
    if fragment.strip():
        lines += ["# --- your fragment ---", fragment.strip()]
    return "\n".join(lines) + "\n"


@dataclass
class OpenSmtpd(Managed):
    """OpenSMTPD as Debian ships it."""

    routings: tuple[str, ...] = ("static", "dns")

    @property
    def name(self) -> str:
        return "opensmtpd"

    @property
    def rootfs(self) -> str | None:
        return "opensmtpd"

    def check_fragment(self, fragment: str, where: str) -> None:
        for number, line in enumerate(fragment.splitlines(), start=1):
            if re.match(r"^\s*listen\s", line):
                raise UsageError(
                    f"--mta-config {where}: line {number}: the harness sets "
                    "'listen on'; a fragment must not"
                )
        refuse_if_the_mta_does(
            self.name,
            "opensmtpd",
            self.render,
            fragment,
            where,
            [["/usr/sbin/smtpd", "-n", "-f", CONFIG]],  # -n: check the configuration only
            lambda output: [] if output.status == 0 else output.text.splitlines()[-3:],
        )

    def render(self, plan: MtaPlan) -> dict[str, str]:
        return {CONFIG: render_config(plan, plan.fragment)}

    def command(self, plan: MtaPlan) -> list[str]:
        write_files(plan, self.render(plan))
        return ["/usr/sbin/smtpd", "-d", "-f", CONFIG]

    def wait_ready(self, service: Service, plan: MtaPlan, timeout: float) -> None:
        wait_for_smtp(service, plan, timeout, "OpenSMTPD")

    def queue(self, plan: MtaPlan, run: CommandRunner) -> list[QueueEntry]:
        return smtpctl(run("mta", ["/usr/sbin/smtpctl", "show", "queue"]))

    def retry_now(self, plan: MtaPlan, run: CommandRunner) -> str:
        return run("mta", ["/usr/sbin/smtpctl", "schedule", "all"]) or "smtpctl schedule all"

    def purge(self, plan: MtaPlan) -> None:
        pass  # the spool lives in the run's writable layer, which the harness wipes

    def identity(self, plan: MtaPlan, run: CommandRunner) -> MtaIdentity:
        return MtaIdentity(
            self.name,
            package_version(plan, "opensmtpd"),
            config_digest(self.render(plan), plan),
        )
