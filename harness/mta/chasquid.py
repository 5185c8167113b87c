"""chasquid 1.11 (Debian's chasquid), chrooted in its own root filesystem.

chasquid has no route per domain: it finds every destination by MX lookup (``net.LookupMX``,
then port 25), so it is certified with ``--routing dns`` only, against the run's DNS server.
It relays only for its own users, so the harness submits as one (``harness@harness.test``,
added by ``chasquid-util user-add`` at start) on chasquid's submission port: STARTTLS, then
AUTH PLAIN, as a mail client would. Its certificate is made for the run (trustme).

Every queued message has its own delivery loop (``SendLoop``, a goroutine per message), so
no setting limits deliveries in flight; its retry schedule has none either (the first retry
after 1 to 2 minutes, ``nextDelay``). The queue is listed from its monitoring page
(``/debug/queue``). It has no retry command, but it loads its queue at start and tries every
message at once (``Queue.Load``), so retry-now is a restart: the start script runs chasquid
again when, and only when, the harness asked for it (a crash still ends the run's MTA).

A fragment is ``chasquid.conf`` text (protobuf text format) of the settings the harness does
not own, checked by chasquid's own loader (``chasquid-util print-config``) before anything
starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import trustme

from harness.backends.base import Service
from harness.clock import Deadline
from harness.errors import UsageError
from harness.mta.base import (
    CommandRunner,
    Login,
    Managed,
    MtaIdentity,
    MtaPlan,
    QueueEntry,
    config_digest,
    package_version,
    wait_for_smtp,
    write_files,
)
from harness.mta.queues import chasquid_dump
from harness.mta.selfcheck import CheckerOutput, refuse_if_the_mta_does
from harness.net import wait_for_greeting

ETC = "/etc/chasquid"
START = f"{ETC}/harness-start"
HOSTNAME = "mta.harness.test"
#: The harness's account: its domain is chasquid's one local domain.
LOGIN = Login("harness@harness.test", "mta-harness-submits")
#: chasquid's monitoring page (its queue), on the MTA's own address.
MONITORING_PORT = 1099
#: Made by retry_now: the start script runs chasquid again only after it.
RESTART_MARK = "/run/harness-restart"
RESTART_TIMEOUT = 30.0
#: Stop chasquid for a restart and return once it is gone (reaped by the start script).
STOP_FOR_RESTART = f"""touch {RESTART_MARK}
pid=$(pidof chasquid) || exit 1
kill -TERM $pid
tries=0
while kill -0 $pid 2> /dev/null; do
  tries=$((tries + 1))
  [ $tries -le 400 ] || {{ echo "chasquid did not stop in 20 s" >&2; exit 1; }}
  sleep 0.05
done
"""

#: chasquid.conf settings that are the harness's: where chasquid listens and what it calls
#: itself, where it keeps its queue, where its mail log goes.
OWNED = frozenset(
    {
        "hostname",
        "smtp_address",
        "submission_address",
        "submission_over_tls_address",
        "monitoring_address",
        "data_dir",
        "mail_log_path",
    }
)
_SETTING = re.compile(r"^\s*([a-z_]+)\s*:")


def check_settings(fragment: str, where: str) -> None:
    """Refuse, naming the line, a fragment that is not ``name: value`` settings or sets one
    of the harness's own."""
    for number, line in enumerate(fragment.splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        setting = _SETTING.match(line)
        if setting is None:
            raise UsageError(
                f"--mta-config {where}: line {number}: a chasquid fragment is chasquid.conf "
                f"settings, 'name: value', got {text!r}"
            )
        if setting.group(1) in OWNED:
            raise UsageError(
                f"--mta-config {where}: line {number}: {setting.group(1)} is the harness's to "
                "set (where chasquid listens, what it is called, where it keeps its queue)"
            )


def _loader_complaints(output: CheckerOutput) -> list[str]:
    # "Error loading config: parsing config: proto: (line 12:1): unknown field: foo"
    said = [line.strip() for line in output.text.splitlines() if "Error loading config" in line]
    return said if output.status != 0 else []


def render_config(plan: MtaPlan) -> str:
    """``chasquid.conf``: the run's addresses, the mail log on the output, the fragment."""
    listen = f"{plan.listen.host}:{plan.listen.port}"
    # No SMTP (port 25) listener of its own: the harness submits, and nothing else sends to it.
    # Each address kind must be named, or chasquid waits for systemd's sockets.
    lines = [
        "# Written by mta-harness for one run; settings not made here keep chasquid's defaults.",
        f'hostname: "{HOSTNAME}"',
        f'submission_address: "{listen}"',
        f'smtp_address: "{plan.listen.host}:{plan.listen.port + 1}"',
        f'submission_over_tls_address: "{plan.listen.host}:{plan.listen.port + 2}"',
        f'monitoring_address: "{plan.listen.host}:{MONITORING_PORT}"',
        'data_dir: "/var/lib/chasquid"',
        'mail_log_path: "<stdout>"',
    ]
    if plan.fragment.strip():
        lines += ["# --- your fragment ---", *plan.fragment.strip().splitlines()]
    return "\n".join(lines) + "\n"


def start_script() -> str:
    """The MTA's PID 1: the harness's account, then chasquid, run again only after a
    retry-now (chasquid tries its whole queue at start)."""
    user, password = LOGIN.user, LOGIN.password
    domain = user.split("@", 1)[1]
    return f"""#!/bin/sh
# Written by mta-harness. chasquid's own tool adds the account the harness submits as.
mkdir -p {ETC}/domains/{domain} /var/lib/chasquid
/usr/bin/chasquid-util -C={ETC} user-add {user} --password={password} > /dev/null || exit 1
rm -f {RESTART_MARK}
trap 'kill -TERM "$pid" 2> /dev/null; wait "$pid"; exit 143' TERM INT
while :; do
  /usr/bin/chasquid -config_dir={ETC} &
  pid=$!
  wait "$pid"
  status=$?
  # Run it again only if the harness stopped it to make it retry its queue.
  [ -e {RESTART_MARK} ] || exit "$status"
  rm -f {RESTART_MARK}
done
"""


def _certificate() -> dict[str, str]:
    """A certificate for chasquid's own STARTTLS, from a CA made for this start."""
    issued = trustme.CA().issue_cert(HOSTNAME)
    chain = b"".join(blob.bytes() for blob in issued.cert_chain_pems)
    return {
        f"{ETC}/certs/{HOSTNAME}/fullchain.pem": chain.decode(),
        f"{ETC}/certs/{HOSTNAME}/privkey.pem": issued.private_key_pem.bytes().decode(),
    }


@dataclass
class Chasquid(Managed):
    """chasquid as Debian ships it, routed by MX lookup, submitted to as its user."""

    routings: tuple[str, ...] = ("dns",)
    login: Login | None = LOGIN

    @property
    def name(self) -> str:
        return "chasquid"

    @property
    def rootfs(self) -> str | None:
        return "chasquid"

    def check_fragment(self, fragment: str, where: str) -> None:
        check_settings(fragment, where)
        refuse_if_the_mta_does(
            self.name,
            "chasquid",
            self.render,
            fragment,
            where,
            [["/usr/bin/chasquid-util", f"-C={ETC}", "print-config"]],  # loads it, starts nothing
            _loader_complaints,
        )

    def render(self, plan: MtaPlan) -> dict[str, str]:
        return {f"{ETC}/chasquid.conf": render_config(plan), START: start_script()}

    def command(self, plan: MtaPlan) -> list[str]:
        write_files(plan, {**self.render(plan), **_certificate()})
        return ["/bin/sh", START]

    def wait_ready(self, service: Service, plan: MtaPlan, timeout: float) -> None:
        wait_for_smtp(service, plan, timeout, "chasquid")

    def _page(self, plan: MtaPlan, run: CommandRunner, path: str) -> str:
        url = f"http://{plan.listen.host}:{MONITORING_PORT}{path}"
        return run("mta", ["/bin/busybox", "wget", "-q", "-O", "-", url])

    def queue(self, plan: MtaPlan, run: CommandRunner) -> list[QueueEntry]:
        return chasquid_dump(self._page(plan, run, "/debug/queue"))

    def retry_now(self, plan: MtaPlan, run: CommandRunner) -> str:
        # No retry command: a restart, after which chasquid tries every queued message.
        # Returns once the old chasquid is gone and the new one greets, so the next
        # example's mail is never refused by a restart the harness asked for.
        run("mta", ["/bin/busybox", "sh", "-c", STOP_FOR_RESTART])
        wait_for_greeting(plan.smtp, Deadline.after(RESTART_TIMEOUT), "chasquid, restarted")
        return "chasquid restarted (it tries its whole queue at start)"

    def purge(self, plan: MtaPlan) -> None:
        pass  # the queue lives in the run's writable layer, which the harness wipes

    def identity(self, plan: MtaPlan, run: CommandRunner) -> MtaIdentity:
        files = self.render(plan)
        return MtaIdentity(self.name, package_version(plan, "chasquid"), config_digest(files, plan))
