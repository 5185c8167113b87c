"""Sendmail (Debian's 8.17), chrooted in its own root filesystem.

Sendmail is configured in m4: the harness starts from Debian's stock ``sendmail.mc`` and
changes only what a run needs (where to listen, its host name, static routes), then compiles
it with the stock ``cf`` macros inside the root at every start, as Debian's ``sendmailconfig``
would. Static routes are a ``mailertable`` naming, per link port, a clone of the stock
``esmtp`` mailer that connects to that port (Sendmail's mailers take a port, its routes do
not). Relaying is allowed from the harness's networks in the ``access`` database, as Debian's
stock file allows it from loopback. Sendmail logs to syslog only, so a busybox syslogd in the
root writes its log to its output.

``sendmail-hol`` is the known-bad build: every message queued (``confDELIVERY_MODE`` queue)
and one queue runner (``confMAX_QUEUE_CHILDREN``/``confMAX_RUNNERS_PER_QUEUE`` 1), which works
through the queue one message at a time, so a dead site holds up everything behind it.
Stock Sendmail delivers each message at once in a process of its own (background mode).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from harness.backends.base import Service
from harness.errors import UsageError
from harness.mta.base import (
    SYSLOGD_TO_OUTPUT,
    CommandRunner,
    Managed,
    MtaIdentity,
    MtaPlan,
    QueueEntry,
    config_digest,
    mask_client_octets,
    octet_prefix,
    package_version,
    wait_for_smtp,
    write_files,
)
from harness.mta.queues import sendmail_bp
from harness.mta.selfcheck import CheckerOutput, refuse_if_the_mta_does

MC = "/etc/mail/sendmail.mc"
CF = "/etc/mail/sendmail.cf"
ACCESS = "/etc/mail/access"
MAILERTABLE = "/etc/mail/mailertable"
START = "/etc/mail/harness-start"
SENDMAIL = "/usr/sbin/sendmail"

#: m4 words a fragment may not use: where Sendmail listens, what it relays and where it
#: sends mail. Anything else (timeouts, queue and delivery settings) is the user's.
OWNED = (
    "DAEMON_OPTIONS",
    "MAILER",
    "MAILER_DEFINITIONS",
    "SMART_HOST",
    "MAIL_HUB",
    "LUSER_RELAY",
    "confFALLBACK_MX",
    "confFALLBACK_SMARTHOST",
    "confSERVICE_SWITCH_FILE",
    "confDOMAIN_NAME",
    "mailertable",
    "access_db",
    "promiscuous_relay",
    "relay_entire_domain",
    "nullclient",
)
_OWNED = re.compile(r"(?<![\w])(" + "|".join(re.escape(word) for word in OWNED) + r")(?![\w])")


def access_prefix(network: str) -> str:
    """The ``access`` database key for ``network``: its network octets ("127.0.0.0/8" ->
    "127"). Sendmail matches client addresses by leading octets only."""
    return octet_prefix(network, "sendmail's access database")


def mailer_name(port: int) -> str:
    """The cloned ``esmtp`` mailer that connects to ``port``."""
    return f"harness{port}"


def clone_esmtp(stock_cf: str, port: int) -> str:
    """The stock ``esmtp`` mailer definition (as Debian compiled it), renamed and pointed at
    ``port``: everything else (flags, rulesets, line limit) stays Sendmail's own."""
    found = re.search(r"^Mesmtp,.*\n(?:[ \t]+.*\n)*", stock_cf, re.MULTILINE)
    if found is None or "A=TCP $h" not in found.group(0):
        raise UsageError("sendmail: the root's stock sendmail.cf has no esmtp mailer to clone")
    text = found.group(0).replace("Mesmtp,", f"M{mailer_name(port)},", 1)
    return text.replace("A=TCP $h", f"A=TCP $h {port}", 1).rstrip("\n")


def render_mc(plan: MtaPlan, stock_mc: str, stock_cf: str, hol: bool, fragment: str) -> str:
    """``sendmail.mc`` for ``plan``: Debian's stock file, its listeners replaced by the
    run's; the harness's lines and then ``fragment`` go before the mailer definitions."""
    lines = [line for line in stock_mc.splitlines() if not line.startswith("DAEMON_OPTIONS(")]
    ours = [
        "dnl --- mta-harness: settings for one run; everything else is Debian's stock file",
        f"DAEMON_OPTIONS(`Family=inet, Name=MTA-v4, Port={plan.listen.port}, "
        f"Addr={plan.listen.host}')dnl",
        "define(`confDOMAIN_NAME', `mta.harness.test')dnl",
    ]
    if plan.routing == "static":
        ours += [
            "dnl No DNS in a static run: nothing resolves, and nothing needs to.",
            "FEATURE(`accept_unresolvable_domains')dnl",
            f"FEATURE(`mailertable', `hash -o {MAILERTABLE}')dnl",
            "define(`confSERVICE_SWITCH_FILE', `/etc/mail/service.switch-nodns')dnl",
        ]
    if hol:
        ours += [
            "dnl sendmail-hol: queue everything; one queue runner, one message at a time",
            "define(`confDELIVERY_MODE', `queue')dnl",
            "define(`confMAX_QUEUE_CHILDREN', `1')dnl",
            "define(`confMAX_RUNNERS_PER_QUEUE', `1')dnl",
        ]
    if fragment.strip():
        ours += ["dnl --- your fragment ---", *fragment.strip().splitlines()]
    at = next((n for n, line in enumerate(lines) if line.startswith("MAILER_DEFINITIONS")), None)
    if at is None:
        raise UsageError("sendmail: the root's stock sendmail.mc has no MAILER_DEFINITIONS")
    lines[at:at] = ours
    if plan.routing == "static":
        ports = sorted({link.port for link in plan.routes.values()})
        mailers = [clone_esmtp(stock_cf, port) for port in ports]
        # Raw sendmail.cf text, m4-quoted so no word in it is taken for a macro.
        lines += ["MAILER_DEFINITIONS", *(f"`{mailer}'" for mailer in mailers)]
    return "\n".join(lines) + "\n"


def render_access(plan: MtaPlan, stock_access: str) -> str:
    """The ``access`` database source: the harness's networks may relay, greeted at once
    and never rate-limited (as Debian's stock file treats loopback), then the stock rules."""
    ours = {access_prefix(network) for network in plan.clients}
    kinds = ("Connect", "GreetPause", "ClientRate", "ClientConn")
    keys = {f"{kind}:{prefix}" for kind in kinds for prefix in ours}
    lines = ["# Written by mta-harness: the harness's networks, then Debian's stock rules."]
    for prefix in sorted(ours):
        lines += [
            f"Connect:{prefix}\tRELAY",
            f"GreetPause:{prefix}\t0",
            f"ClientRate:{prefix}\t0",
            f"ClientConn:{prefix}\t0",
        ]
    for line in stock_access.splitlines():
        words = line.split()
        if words and not line.startswith("#") and words[0] not in keys:
            lines.append(line)
    return "\n".join(lines) + "\n"


def render_mailertable(plan: MtaPlan) -> str:
    """One route per remote domain: its link port's mailer, to its link address."""
    return "".join(
        f"{domain}\t{mailer_name(link.port)}:[{link.host}]\n"
        for domain, link in sorted(plan.routes.items())
    )


def render_start(plan: MtaPlan) -> str:
    """The script that compiles the configuration and runs Sendmail in the foreground."""
    interval = plan.timers.get("queue_interval", 2)
    maps = f"makemap hash {MAILERTABLE} < {MAILERTABLE}\n" if plan.routing == "static" else ""
    return f"""#!/bin/sh
# Written by mta-harness: compile the configuration as Debian's sendmailconfig would, start a
# syslogd that writes to this output (Sendmail logs to syslog only), run Sendmail.
set -e
mkdir -p /run/sendmail/mta  # its pid file and control socket, as Debian's init script makes
# Sendmail qualifies its own host name at start and sleeps a minute where it cannot (a
# container's name has no domain): the hosts file names it first, fully qualified, so the
# answer comes from the file and no lookup leaves the run.
name=$(uname -n)
{{ echo "{plan.listen.host} mta.harness.test $name"; grep -vw -- "$name" /etc/hosts || true; }} \
  > /tmp/harness-hosts
cat /tmp/harness-hosts > /etc/hosts  # in place: a container's hosts file is a bind mount
m4 {MC} > {CF}
makemap hash {ACCESS} < {ACCESS}
{maps}{SYSLOGD_TO_OUTPUT}
# -bD: the daemon in the foreground; a queue run every {interval:g} s retries deferred mail.
exec {SENDMAIL} -bD -q{interval:g}s
"""


def _complaints(output: CheckerOutput) -> list[str]:
    """m4's errors ("m4:/etc/mail/sendmail.mc:45: ...") and Sendmail's about the compiled
    file ("/etc/mail/sendmail.cf: line 99: ...")."""
    said = [
        line.strip()
        for line in output.text.splitlines()
        if line.startswith("m4:") or re.search(r"sendmail\.cf: line \d+:", line)
    ]
    if said or output.status == 0:
        return said
    return [" ".join(output.text.splitlines()[-3:]) or f"exit status {output.status}"]


@dataclass
class Sendmail(Managed):
    """Sendmail as Debian ships it; ``hol`` is the one-queue-runner misconfiguration."""

    hol: bool = False
    routings: tuple[str, ...] = ("static", "dns")

    @property
    def name(self) -> str:
        return "sendmail-hol" if self.hol else "sendmail"

    @property
    def rootfs(self) -> str | None:
        return "sendmail"

    def check_fragment(self, fragment: str, where: str) -> None:
        for number, line in enumerate(fragment.splitlines(), start=1):
            owned = _OWNED.search(line)
            if owned and not line.lstrip().startswith("dnl"):
                raise UsageError(
                    f"--mta-config {where}: line {number}: {owned.group(1)} is the harness's "
                    "to set (it decides where the MTA listens, what it relays and where it "
                    "sends mail)"
                )
        check = f"m4 {MC} > {CF} && {SENDMAIL} -C {CF} -bt < /dev/null"
        refuse_if_the_mta_does(
            self.name,
            "sendmail",
            self.render,
            fragment,
            where,
            [["/bin/sh", "-c", check]],
            _complaints,
        )

    def render(self, plan: MtaPlan) -> dict[str, str]:
        files = {
            MC: render_mc(plan, plan.stock(MC), plan.stock(CF), self.hol, plan.fragment),
            ACCESS: render_access(plan, plan.stock(ACCESS)),
            START: render_start(plan),
        }
        if plan.routing == "static":
            files[MAILERTABLE] = render_mailertable(plan)
        return files

    def command(self, plan: MtaPlan) -> list[str]:
        write_files(plan, self.render(plan))
        return ["/bin/sh", START]

    def wait_ready(self, service: Service, plan: MtaPlan, timeout: float) -> None:
        wait_for_smtp(service, plan, timeout, "Sendmail's daemon")

    def queue(self, plan: MtaPlan, run: CommandRunner) -> list[QueueEntry]:
        return sendmail_bp(run("mta", [SENDMAIL, "-bp"]))

    def retry_now(self, plan: MtaPlan, run: CommandRunner) -> str:
        return run("mta", [SENDMAIL, "-q"]) or "sendmail -q"

    def purge(self, plan: MtaPlan) -> None:
        pass  # the queue lives in the run's writable layer, which the harness wipes

    def identity(self, plan: MtaPlan, run: CommandRunner) -> MtaIdentity:
        return MtaIdentity(
            self.name,
            package_version(plan, "sendmail-bin"),
            config_digest(mask_client_octets(self.render(plan), ACCESS, ":{}\t", plan), plan),
        )
