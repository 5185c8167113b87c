"""Courier (Debian's courier-mta 1.0.16), chrooted in its own root filesystem.

Courier is configured by many small files under ``/etc/courier``: shell-variable files
(``esmtpd``, ``courierd``, ``module.esmtp``) and one-value control files (``esmtpdelay``,
``retryalpha``...). The harness starts from Debian's stock files and changes only what a run
needs: where ``esmtpd`` listens, its name (``me``), relaying from the harness's networks in
``smtpaccess`` (as stock allows it from loopback), static routes in ``esmtproutes`` (``domain:
[address],port``) and short retry timers. Courier logs to syslog only, so a busybox syslogd
in the root writes its log to its output.

Three processes make Courier: ``couriertcpd`` runs ``courieresmtpd`` per inbound connection,
``courierd`` schedules deliveries and hands them to ``courieresmtp`` processes (at most
``MAXDELS`` at once, ``MAXHOST`` per remote host, in ``module.esmtp``). ``courier-hol`` is
the known-bad build: ``MAXDELS=1``, so one delivery at a time and a dead site holds up every
other.

A fragment is Courier's own files: a ``[name]`` line names a file of ``/etc/courier`` and
the lines below it go to that file (appended to a shell-variable file, so the user's word
wins; the whole value of a control file).
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
from harness.mta.queues import courier_batch
from harness.mta.selfcheck import CheckerOutput, refuse_if_the_mta_does

ETC = "/etc/courier"
START = f"{ETC}/harness-start"
SMTPACCESS = f"{ETC}/smtpaccess/default"
COURIERD = "/usr/lib/courier/courier/courierd"

#: Shell-variable files a fragment may add settings to (a later assignment wins).
SHELL_FILES = ("courierd", "esmtpd")
#: Files courierd parses itself, ``NAME=value`` lines only: a comment or a blank line in
#: ``module.esmtp`` kills its scheduler at start ("ABNORMAL TERMINATION BY A SIGNAL").
#: Settings are merged into them by name.
KEYED_FILES = ("module.esmtp",)
#: Files the harness writes whole: where Courier listens, what it relays, where it sends
#: mail. A fragment may not name them.
OWNED_FILES = frozenset(
    {"me", "esmtproutes", "smtpaccess", "esmtpacceptmailfor", "locals", "hosteddomains"}
)
#: Variables of the shell files that are the harness's to set, for the same reason.
OWNED_VARIABLES = frozenset({"ADDRESS", "PORT", "ACCESSFILE", "ESMTPDSTART", "PIDFILE"})

#: The configuration files courier(8) documents (1.0.16), beside those Debian installs: a
#: fragment may name these, and a misspelt name is refused rather than written unread.
DOCUMENTED_FILES = frozenset(
    [
        "aliasfilteracct",
        "autoresponsesquota",
        "backuprelay",
        "batchsize",
        "bofh",
        "calendarmode",
        "courierd",
        "defaultdomain",
        "dotextension",
        "dsnfrom",
        "dsnlimit",
        "enablefiltering",
        "esmtpauthclient",
        "esmtpd",
        "esmtpdelay",
        "esmtpgreeting",
        "esmtphelo",
        "esmtptimeout",
        "esmtptimeoutconnect",
        "esmtptimeoutdata",
        "esmtptimeouthelo",
        "esmtptimeoutkeepalive",
        "esmtptimeoutkeepaliveping",
        "esmtptimeoutquit",
        "faxqueuetime",
        "locallowercase",
        "localtimeout",
        "maildrop",
        "module.esmtp",
        "msgidhost",
        "nochangingfrom",
        "queuetime",
        "retryalpha",
        "retrybeta",
        "retrygamma",
        "retrymaxdelta",
        "sizelimit",
        "submitdelay",
        "usexsender",
        "warntime",
    ]
)

_SECTION = re.compile(r"^\[([A-Za-z0-9._-]+)\]\s*$")
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=")


def parse_fragment(fragment: str, where: str) -> dict[str, list[str]]:
    """A fragment's lines per file of ``/etc/courier``; raises :class:`UsageError` naming the
    line for text before any ``[file]``, a file the harness owns, or a variable it sets."""
    files: dict[str, list[str]] = {}
    current: str | None = None
    for number, line in enumerate(fragment.splitlines(), start=1):
        section = _SECTION.match(line)
        if section:
            current = section.group(1)
            if current in OWNED_FILES:
                raise UsageError(
                    f"--mta-config {where}: line {number}: [{current}] is the harness's to "
                    "write (it decides where Courier listens, what it relays and where it "
                    "sends mail)"
                )
            if current not in DOCUMENTED_FILES:
                raise UsageError(
                    f"--mta-config {where}: line {number}: Courier has no configuration file "
                    f"{ETC}/{current} (courier(8) lists those it reads)"
                )
            files.setdefault(current, [])
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if current is None:
            raise UsageError(
                f"--mta-config {where}: line {number}: a Courier fragment names a file of "
                f"{ETC} first, as [module.esmtp] or [esmtptimeoutconnect]"
            )
        assigned = _ASSIGNMENT.match(line)
        if current in KEYED_FILES and not assigned:
            raise UsageError(
                f"--mta-config {where}: line {number}: [{current}] takes NAME=value lines "
                "only (courierd reads it itself)"
            )
        if assigned and current in (*SHELL_FILES, *KEYED_FILES):
            variable = assigned.group(1)
            if variable in OWNED_VARIABLES:
                raise UsageError(
                    f"--mta-config {where}: line {number}: {variable} in [{current}] is "
                    "the harness's to set"
                )
            number_of = current in KEYED_FILES and variable.startswith("MAX")
            if number_of and not line.split("=", 1)[1].strip().isdigit():
                raise UsageError(
                    f"--mta-config {where}: line {number}: {variable} in [{current}] is a "
                    "number of deliveries"
                )
        files[current].append(line)
    return files


def smtpaccess(plan: MtaPlan, stock: str) -> str:
    """The ``smtpaccess`` source: the harness's networks may relay, then the stock rules
    (Debian's allow loopback and the private ranges)."""
    ours = sorted({octet_prefix(network, "courier's smtpaccess") for network in plan.clients})
    lines = ["# Written by mta-harness: the harness's networks, then Debian's stock rules."]
    lines += [f"{prefix}\tallow,RELAYCLIENT" for prefix in ours]
    for line in stock.splitlines():
        words = line.split()
        if words and not line.startswith("#") and words[0] not in ours:
            lines.append(line)
    return "\n".join(lines) + "\n"


def esmtproutes(plan: MtaPlan) -> str:
    """One fixed relay per remote domain: its link, by address and port."""
    return "".join(
        f"{domain}: [{link.host}],{link.port}\n" for domain, link in sorted(plan.routes.items())
    )


def merge_keyed(stock: str, settings: list[str]) -> str:
    """``stock`` (``NAME=value`` lines) with each of ``settings`` replacing its name's line
    or appended: no comments, which courierd cannot read."""
    merged: dict[str, str] = {}
    for line in [*stock.splitlines(), *settings]:
        if "=" in line:
            name, value = line.split("=", 1)
            merged[name.strip()] = value.strip()
    return "".join(f"{name}={value}\n" for name, value in merged.items())


def _seconds(value: float) -> str:
    """A Courier time interval: whole seconds ("fractions are prohibited"), at least one."""
    return f"{max(1, round(value))}s"


def render_files(plan: MtaPlan, hol: bool) -> dict[str, str]:
    """Every file of ``/etc/courier`` the run changes, the fragment's lines included."""
    timers = plan.timers
    esmtpd = [
        "",
        "# --- mta-harness: settings for one run; everything above is Debian's stock file",
        f"ADDRESS={plan.listen.host}",
        f"PORT={plan.listen.port}",
    ]
    if plan.routing == "static":
        # No DNS in a static run: a sender's domain cannot be checked, and need not be.
        esmtpd.append("BOFHCHECKDNS=0")
    fragment = parse_fragment(plan.fragment, "fragment")
    # courier-hol: one outbound delivery at a time.
    module = ["MAXDELS=1"] if hol else []
    files = {
        f"{ETC}/me": "mta.harness.test\n",
        f"{ETC}/defaultdomain": "mta.harness.test\n",
        SMTPACCESS: smtpaccess(plan, plan.stock(SMTPACCESS)),
        f"{ETC}/esmtpd": plan.stock(f"{ETC}/esmtpd") + "\n".join(esmtpd) + "\n",
        f"{ETC}/courierd": plan.stock(f"{ETC}/courierd"),
        f"{ETC}/module.esmtp": merge_keyed(
            plan.stock(f"{ETC}/module.esmtp"), [*module, *fragment.pop("module.esmtp", [])]
        ),
        # Short retry timers, as every MTA gets: the first retries min_backoff apart, the
        # longer waits max_backoff (doubling, as Courier does).
        f"{ETC}/retryalpha": _seconds(timers.get("min_backoff", 1)) + "\n",
        f"{ETC}/retrygamma": _seconds(timers.get("max_backoff", 2)) + "\n",
        # esmtpdelay (stock 5 min) makes a courieresmtp that failed to connect to a domain
        # postpone its later mail there unattempted, a "courier flush" too: a retry asked
        # for would not be one. Its man page: greater than retryalpha it "does not make
        # sense", and 0 turns it off. Off, the scheduler's retries above pace the attempts.
        f"{ETC}/esmtpdelay": "0\n",
        START: render_start(),
    }
    if plan.routing == "static":
        files[f"{ETC}/esmtproutes"] = esmtproutes(plan)
    for name, lines in fragment.items():
        path = f"{ETC}/{name}"
        if name in SHELL_FILES:
            body = files[path] + "# --- your fragment ---\n" + "\n".join(lines) + "\n"
        else:
            body = "\n".join(lines) + "\n"
        files[path] = body
    return files


def render_start() -> str:
    """The script that builds Courier's databases and runs it: esmtpd (it detaches), then
    courierd, which the script waits on: it ends when courierd does."""
    return f"""#!/bin/sh
# Written by mta-harness: a syslogd that writes to this output (Courier logs to syslog
# only), the databases Courier reads built as its make* commands build them, then Courier.
set -e
mkdir -p /run/courier
{SYSLOGD_TO_OUTPUT}makesmtpaccess
makealiases
/usr/lib/courier/esmtpd start
# courierd as courierctl.start runs it (its settings exported), but watched from here: this
# shell stays PID 1, reaping what esmtpd's start leaves behind (courierd as PID 1 took one of
# those for its own child and restarted itself: "ABNORMAL TERMINATION BY A SIGNAL").
cd /usr
/usr/bin/env -i /bin/sh -c "set -a; . {ETC}/courierd; exec {COURIERD}" &
courierd=$!
trap 'kill $courierd; wait $courierd; exit 0' TERM INT
wait $courierd
"""


def _complaints(output: CheckerOutput) -> list[str]:
    """What ``sh -n`` said of a shell file, or a checker's last lines."""
    if output.status == 0:
        return []
    return [" ".join(output.text.split()[-12:]) or f"exit status {output.status}"]


@dataclass
class Courier(Managed):
    """Courier as Debian ships it; ``hol`` is the one-delivery-at-a-time misconfiguration."""

    hol: bool = False

    @property
    def name(self) -> str:
        return "courier-hol" if self.hol else "courier"

    @property
    def rootfs(self) -> str | None:
        return "courier"

    def check_fragment(self, fragment: str, where: str) -> None:
        files = parse_fragment(fragment, where)
        # Each shell file must still be valid shell with the fragment's lines in it.
        checks = [f"sh -n {ETC}/{name}" for name in files if name in SHELL_FILES]
        if not checks:
            return
        refuse_if_the_mta_does(
            self.name,
            "courier",
            self.render,
            fragment,
            where,
            [["/bin/sh", "-c", check] for check in checks],
            _complaints,
        )

    def render(self, plan: MtaPlan) -> dict[str, str]:
        return render_files(plan, self.hol)

    def command(self, plan: MtaPlan) -> list[str]:
        write_files(plan, self.render(plan))
        return ["/bin/sh", START]

    def wait_ready(self, service: Service, plan: MtaPlan, timeout: float) -> None:
        wait_for_smtp(service, plan, timeout, "Courier's esmtpd")

    def queue(self, plan: MtaPlan, run: CommandRunner) -> list[QueueEntry]:
        return courier_batch(run("mta", ["/usr/bin/mailq", "-batch"]))

    def retry_now(self, plan: MtaPlan, run: CommandRunner) -> str:
        return run("mta", ["/usr/sbin/courier", "flush"]) or "courier flush"

    def purge(self, plan: MtaPlan) -> None:
        pass  # the queue lives in the run's writable layer, which the harness wipes

    def identity(self, plan: MtaPlan, run: CommandRunner) -> MtaIdentity:
        masked = mask_client_octets(self.render(plan), SMTPACCESS, "\n{}\t", plan)
        return MtaIdentity(
            self.name, package_version(plan, "courier-mta"), config_digest(masked, plan)
        )
