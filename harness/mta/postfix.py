"""Postfix, the reference MTA: Debian's 3.7, chrooted in its own root filesystem.

The configuration is Debian's stock ``main.cf`` and ``master.cf`` with only what the harness
needs changed: where to listen, one route per remote domain to its link, relaying from
loopback only, no local delivery, short retry timers. ``postfix-hol`` is the known-bad build:
``master.cf`` allows one ``smtp`` process, so one dead site stalls every other.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from harness.backends.base import Service
from harness.clock import Deadline
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
from harness.mta.queues import postfix_json
from harness.mta.selfcheck import CheckerOutput, refuse_if_the_mta_does

#: How long retry-now waits for qmgr to put back what it is working on before it flushes:
#: after a heal an attempt ends in a connect or a refusal, well within it.
ACTIVE_DRAIN = 10.0

#: Shipped configuration fragments that make known-bad builds (``Postfix.preset``).
PRESETS = Path(__file__).resolve().parent.parent.parent / "fixtures" / "mta-config"


def main_cf_overrides(plan: MtaPlan) -> dict[str, str]:
    """The main.cf settings the harness needs, on top of Debian's stock file."""
    routes = ", ".join(f"{d}=smtp:[{e.host}]:{e.port}" for d, e in sorted(plan.routes.items()))
    timers = plan.timers
    return {
        "myhostname": "mta.harness.test",
        # Postfix accepts only addresses configured on an interface here, and only 127.0.0.1
        # is: listen on "all" and let master.cf bind the run's own address alone.
        "inet_interfaces": "all",
        "inet_protocols": "ipv4",
        "mydestination": "",
        "local_transport": "error:5.1.1 local delivery is disabled by the harness",
        "alias_maps": "",
        "alias_database": "",
        "mynetworks": ", ".join(plan.clients),
        "relay_domains": ", ".join(sorted(plan.routes)),
        # By MX lookup (--routing dns): no transport map, Postfix's own smtp: and resolver.
        "transport_maps": "" if plan.routing == "dns" else f"inline:{{ {routes} }}",
        "smtpd_relay_restrictions": "permit_mynetworks, reject",
        # The harness submits in plain text on loopback; no certificate exists in the root.
        "smtpd_tls_security_level": "none",
        "maillog_file": "/dev/stdout",
        "queue_run_delay": f"{timers.get('queue_run_delay', 1):g}s",
        "minimal_backoff_time": f"{timers.get('min_backoff', 1):g}s",
        "maximal_backoff_time": f"{timers.get('max_backoff', 2):g}s",
    }


#: Parameters a fragment may not set: where Postfix listens, what it relays and where it
#: sends mail. Anything else (timeouts, process limits, queue behaviour) is the user's.
OWNED = frozenset(
    {
        "inet_interfaces",
        "inet_protocols",
        "proxy_interfaces",
        "mydestination",
        "mynetworks",
        "relay_domains",
        "transport_maps",
        "smtpd_relay_restrictions",
        "local_transport",
        "default_transport",
        "relay_transport",
        "relayhost",
        "fallback_relay",
        "smtp_fallback_relay",
        "sender_dependent_relayhost_maps",
        "sender_dependent_default_transport_maps",
        "smtp_bind_address",
        "smtp_bind_address6",
        "maillog_file",
    }
)


def _postfix_complaints(output: CheckerOutput) -> list[str]:
    found = []
    for line in output.text.splitlines():
        if "fatal:" in line:
            found.append(line.split("fatal:", 1)[1].strip())
        elif "unused parameter:" in line:
            name = line.split("unused parameter:", 1)[1].strip()
            found.append(
                f"Postfix has no parameter {name.split('=')[0]} (postconf: unused "
                f"parameter: {name})"
            )
    return found


_SETTING = re.compile(r"^\s*([A-Za-z0-9_]+)\s*=")


def merge_main_cf(stock: str, *layers: dict[str, str]) -> str:
    """``stock`` with each layer's settings replacing or appended, later layers winning.

    A replaced setting keeps its place; its continuation lines (indented) go with it.
    """
    settings: dict[str, str] = {}
    for layer in layers:
        settings.update(layer)
    out: list[str] = []
    done: set[str] = set()
    skipping = False
    for line in stock.splitlines():
        if skipping and line[:1].isspace() and line.strip():
            continue
        skipping = False
        match = _SETTING.match(line)
        if match and match.group(1) in settings:
            key = match.group(1)
            out.append(f"{key} = {settings[key]}")
            done.add(key)
            skipping = True
            continue
        out.append(line)
    out.append("")
    out.append("# --- mta-harness ---")
    out += [f"{key} = {value}" for key, value in settings.items() if key not in done]
    return "\n".join(out) + "\n"


def parse_fragment(text: str) -> dict[str, str]:
    """``key = value`` lines of a user's main.cf fragment (comments and blanks ignored)."""
    settings: dict[str, str] = {}
    key = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[:1].isspace() and key is not None:
            settings[key] += " " + line.strip()
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"line {number}: expected 'name = value', got {line.strip()!r}")
        key = name.strip()
        settings[key] = value.strip()
    return settings


def render_master_cf(stock: str, plan: MtaPlan, smtp_maxproc: int | None = None) -> str:
    """Debian's master.cf: smtpd bound to the run's address only, no Postfix-internal chroot
    (the whole MTA is chrooted already), optionally a cap on the processes of each smtp(8)
    client service: ``smtp`` (the harness's transport map names it) and ``relay`` (Postfix's
    ``relay_transport``, which carries mail for relay_domains routed by MX lookup)."""
    out: list[str] = []
    for line in stock.splitlines():
        fields = line.split()
        if not line or line[0] in "# \t" or len(fields) < 8:
            out.append(line)
            continue
        service, kind = fields[0], fields[1]
        fields[4] = "n" if fields[4] == "y" else fields[4]
        if service == "smtp" and kind == "inet":
            fields[0] = str(plan.listen)
        if service in ("smtp", "relay") and kind == "unix" and smtp_maxproc is not None:
            fields[6] = str(smtp_maxproc)
        out.append(" ".join(fields))
    return "\n".join(out) + "\n"


@dataclass
class Postfix(Managed):
    """Postfix with Debian's stock configuration; ``hol`` caps smtp processes at one;
    ``preset`` names a shipped fragment (``fixtures/mta-config/<preset>.cf``) layered under
    the user's: a known-bad build described as configuration."""

    hol: bool = False
    preset: str | None = None
    routings: tuple[str, ...] = ("static", "dns")

    @property
    def name(self) -> str:
        return self.preset or ("postfix-hol" if self.hol else "postfix")

    def _preset(self) -> dict[str, str]:
        if self.preset is None:
            return {}
        return parse_fragment((PRESETS / f"{self.preset}.cf").read_text())

    @property
    def rootfs(self) -> str | None:
        return "postfix"

    def check_fragment(self, fragment: str, where: str) -> None:
        """Reject a fragment that is not main.cf syntax, that sets what the harness owns, or
        that Postfix itself refuses (a bad value, a misspelt parameter), naming the line."""
        try:
            settings = parse_fragment(fragment)
        except ValueError as exc:
            raise UsageError(f"--mta-config {where}: {exc}") from None
        for number, line in enumerate(fragment.splitlines(), start=1):
            key = line.partition("=")[0].strip()
            if key in settings and key in OWNED:
                raise UsageError(
                    f"--mta-config {where}: line {number}: {key} is the harness's to set "
                    "(it decides where the MTA listens and where mail goes: loopback and "
                    "the run's links only)"
                )
        refuse_if_the_mta_does(
            self.name,
            "postfix",
            self.render,
            fragment,
            where,
            # postconf warns of parameters Postfix does not know; `postfix check` stops at
            # a value it cannot use.
            [["/usr/sbin/postconf", "-n"], ["/usr/sbin/postfix", "check"]],
            _postfix_complaints,
        )

    def render(self, plan: MtaPlan) -> dict[str, str]:
        """The configuration files, by the path the MTA sees."""
        user = parse_fragment(plan.fragment)
        return {
            "/etc/postfix/main.cf": merge_main_cf(
                plan.stock("/etc/postfix/main.cf"), main_cf_overrides(plan), self._preset(), user
            ),
            "/etc/postfix/master.cf": render_master_cf(
                plan.stock("/etc/postfix/master.cf"), plan, 1 if self.hol else None
            ),
        }

    def command(self, plan: MtaPlan) -> list[str]:
        write_files(plan, self.render(plan))
        return ["/usr/sbin/postfix", "start-fg"]

    def wait_ready(self, service: Service, plan: MtaPlan, timeout: float) -> None:
        deadline = Deadline.after(timeout)
        service.wait_for_line(lambda line: "daemon started" in line, timeout, "daemon started")
        # master logs "daemon started" before every listener is open.
        wait_for_smtp(service, plan, deadline.remaining(), "Postfix's smtpd")

    def queue(self, plan: MtaPlan, run: CommandRunner) -> list[QueueEntry]:
        return postfix_json(run("mta", ["/usr/sbin/postqueue", "-j"]))

    def retry_now(self, plan: MtaPlan, run: CommandRunner) -> str:
        # Asks qmgr to scan the deferred queue ignoring the files' times: also what its
        # "skipped, still being delivered" case put back with a fixed 60 s delay. A message
        # qmgr is still finishing is moved from its active queue to the deferred queue only
        # after the attempt's log line, its back-off set then: a flush in between scans the
        # deferred queue without it, and it waits out the back-off (CI saw a deferral logged,
        # the flush, then nothing for 25 s). So flush once nothing is active, or at a deadline.
        deadline = Deadline.after(ACTIVE_DRAIN)
        pause = 0.02
        while any(e.in_delivery for e in self.queue(plan, run)) and not deadline.passed():
            time.sleep(min(pause, deadline.remaining()))  # no event: qmgr logs no move
            pause = min(pause * 2, 0.5)
        return run("mta", ["/usr/sbin/postqueue", "-f"]) or "postqueue -f"

    def purge(self, plan: MtaPlan) -> None:
        pass  # the queue lives in the run's writable layer, which the harness wipes

    def identity(self, plan: MtaPlan, run: CommandRunner) -> MtaIdentity:
        version = run("mta", ["/usr/sbin/postconf", "-h", "mail_version"]).strip()
        return MtaIdentity(self.name, version, config_digest(self.render(plan), plan))
