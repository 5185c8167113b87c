"""Haraka 3.3.4 (npm), on Debian's Node.js 20, chrooted in its own root filesystem.

Haraka is a Node.js SMTP server whose outbound delivery queues accepted mail on disk and
delivers it by MX lookup. The harness writes its whole configuration folder
(``/etc/haraka``): one worker (no cluster), listening on the run's address; relaying from the
harness's networks by the ``relay`` plugin's ACL (``relay_acl_allow``); and a small plugin
of its own, ``harness_routes``, whose ``get_mx`` hook gives each remote domain its link
(Haraka's documented way to route per domain), leaving any other domain to Haraka's own
lookup. Haraka logs to its output.

``haraka-hol`` is the known-bad build: ``concurrency_max = 1`` in ``outbound.ini``, one
outbound delivery at a time (stock: 10000 per worker).

A fragment is ``outbound.ini`` text, merged after the harness's settings (the user's word
wins); its keys are checked against Haraka's documented outbound settings.
"""

from __future__ import annotations

import json
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
from harness.mta.queues import haraka_json

HOME = "/etc/haraka"
HARAKA = "/opt/haraka/node_modules/Haraka"
NODE = "/usr/bin/node"
QLIST = f"{HOME}/harness-qlist.js"

#: outbound.ini's settings (Haraka's docs/Outbound.md, 3.3.4): what a fragment may set.
OUTBOUND_KEYS = frozenset(
    {
        "disabled",
        "concurrency_max",
        "enable_tls",
        "maxTempFailures",
        "temp_fail_intervals",
        "always_split",
        "received_header",
        "connect_timeout",
        "local_mx_ok",
        "inet_prefer",
    }
)
_KEY = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=")

ROUTES_PLUGIN = """\
'use strict'
// Written by mta-harness: the run's static routes, one next hop per remote domain, given by
// Haraka's get_mx hook (docs/Outbound.md). A domain not listed is left to Haraka's lookup.

exports.register = function () {
  this.routes = this.config.get('harness_routes.json', 'json') || {}
}

exports.hook_get_mx = function (next, hmail, domain) {
  const hop = this.routes[domain.toLowerCase()]
  if (!hop) return next()
  next(OK, { exchange: hop.host, port: hop.port, priority: 0 })
}
"""

QLIST_SCRIPT = f"""\
'use strict'
// Written by mta-harness: Haraka's own queue listing (outbound.list_queue, as haraka --qlist
// uses it), one JSON line per queue file with its recipients, which --qlist only counts.
process.env.HARAKA = '{HOME}'
const logger = require('{HARAKA}/logger')
logger.log = () => {{}}
const outbound = require('{HARAKA}/outbound')
outbound.list_queue().then((todos) => {{
  for (const todo of todos) {{
    if (!todo) continue
    const rcpt = todo.rcpt_to.map((a) => a.address)
    console.log(JSON.stringify({{ file: todo.file, domain: todo.domain, rcpt }}))
  }}
  process.exit(0)
}})
"""


def check_outbound(fragment: str, where: str) -> None:
    """Refuse, naming the line, what is not an ``outbound.ini`` setting of Haraka's."""
    for number, line in enumerate(fragment.splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith((";", "#")) or text == "[main]":
            continue
        key = _KEY.match(line)
        if key is None:
            raise UsageError(
                f"--mta-config {where}: line {number}: a Haraka fragment is outbound.ini "
                "settings, key=value"
            )
        if key.group(1) not in OUTBOUND_KEYS:
            raise UsageError(
                f"--mta-config {where}: line {number}: Haraka's outbound.ini has no setting "
                f"{key.group(1)} (it has {', '.join(sorted(OUTBOUND_KEYS))})"
            )
        if key.group(1) in ("concurrency_max", "connect_timeout", "maxTempFailures"):
            value = line.split("=", 1)[1].strip()
            if not value.isdigit():
                raise UsageError(
                    f"--mta-config {where}: line {number}: {key.group(1)} is a whole number"
                )


def render_outbound(plan: MtaPlan, hol: bool) -> str:
    """``outbound.ini``: link addresses are local ones, short retry timers, the fragment."""
    timers = plan.timers
    # Haraka refuses retry intervals under 5 s ("delay time too small, should be >=5
    # seconds") and falls back to its stock schedule: 5 s is as short as it goes.
    first, later = (
        max(5, round(timers.get(k, d))) for k, d in (("min_backoff", 1), ("max_backoff", 2))
    )
    lines = [
        "; Written by mta-harness for one run; settings not made here keep Haraka's defaults.",
        "; Every link is a loopback or private address, which Haraka refuses unless told.",
        "local_mx_ok=true",
        "; Short retry timers, as every MTA gets (stock: 64 s, doubling, 12 times).",
        f"temp_fail_intervals={first}s*3,{later}s*2000",
    ]
    if hol:
        lines += ["; haraka-hol: one outbound delivery at a time", "concurrency_max=1"]
    if plan.fragment.strip():
        lines += ["; --- your fragment ---", *plan.fragment.strip().splitlines()]
    return "\n".join(lines) + "\n"


@dataclass
class Haraka(Managed):
    """Haraka from npm as its README installs it; ``hol`` is ``concurrency_max = 1``."""

    hol: bool = False

    @property
    def name(self) -> str:
        return "haraka-hol" if self.hol else "haraka"

    @property
    def rootfs(self) -> str | None:
        return "haraka"

    def check_fragment(self, fragment: str, where: str) -> None:
        check_outbound(fragment, where)

    def render(self, plan: MtaPlan) -> dict[str, str]:
        routes = {d: {"host": e.host, "port": e.port} for d, e in sorted(plan.routes.items())}
        return {
            f"{HOME}/config/smtp.ini": f"[main]\nlisten={plan.listen.host}:{plan.listen.port}\n",
            f"{HOME}/config/me": "mta.harness.test\n",
            f"{HOME}/config/plugins": "relay\nharness_routes\n",
            f"{HOME}/config/relay.ini": "[relay]\nacl=true\n",
            f"{HOME}/config/relay_acl_allow": "".join(f"{n}\n" for n in plan.clients),
            f"{HOME}/config/outbound.ini": render_outbound(plan, self.hol),
            f"{HOME}/config/harness_routes.json": json.dumps(routes, indent=1) + "\n",
            f"{HOME}/plugins/harness_routes.js": ROUTES_PLUGIN,
            QLIST: QLIST_SCRIPT,
        }

    def command(self, plan: MtaPlan) -> list[str]:
        write_files(plan, self.render(plan))
        # First the stock instance as `haraka -i` makes it (connection.ini, log.ini...; it
        # keeps the files written above), then Haraka, exec'd: Node is PID 1 of the run's
        # namespace, where Haraka stops on SIGTERM (haraka.js) and SIGHUP reaches it.
        haraka = f"{NODE} {HARAKA}/bin/haraka"
        return ["/bin/sh", "-c", f"{haraka} -i {HOME} > /dev/null && exec {haraka} -c {HOME}"]

    def wait_ready(self, service: Service, plan: MtaPlan, timeout: float) -> None:
        wait_for_smtp(service, plan, timeout, "Haraka")

    def queue(self, plan: MtaPlan, run: CommandRunner) -> list[QueueEntry]:
        return haraka_json(run("mta", [NODE, QLIST]))

    def retry_now(self, plan: MtaPlan, run: CommandRunner) -> str:
        # SIGHUP to the Haraka process: "flush the temp-fail queue" (docs/Outbound.md).
        run("mta", ["/bin/busybox", "kill", "-HUP", "1"])
        return "kill -HUP (Haraka flushes its temp-fail queue)"

    def purge(self, plan: MtaPlan) -> None:
        pass  # the queue lives in the run's writable layer, which the harness wipes

    def identity(self, plan: MtaPlan, run: CommandRunner) -> MtaIdentity:
        package = json.loads(plan.stock(f"{HARAKA}/package.json"))
        return MtaIdentity(
            self.name, str(package["version"]), config_digest(self.render(plan), plan)
        )
