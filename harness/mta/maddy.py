"""maddy 0.8.1 (Go module ``github.com/foxcpp/maddy``), chrooted in its own root filesystem.

No Debian package exists: the root filesystem's recipe builds maddy from the Go module proxy
(``fixtures/rootfs/maddy.toml``). The harness writes ``/etc/maddy/maddy.conf`` with the
outbound half of maddy's stock configuration: the ``remote_queue`` (``target.queue``) in
front of ``outbound_delivery`` (``target.remote``, with the stock per-destination limits and
MX policy), fed by an ``smtp`` endpoint on the run's address that queues every message for
delivery. ``target.remote`` finds each destination by MX lookup on port 25 (another port, or
a host per domain, exists only in a build with the ``debugflags`` tag, which is not a build
anyone runs), so maddy is certified with ``--routing dns`` only, against the run's DNS server.
The stock configuration refuses DSNs to addresses that are not local; the harness's sender
is remote, so its bounces go through the same queue to the bounce sink.

The queue delivers up to ``max_parallelism`` messages at once (16), shared by every
destination. ``maddy-hol`` is ``max_parallelism 1``: one delivery at a time.

What cannot be certified: maddy 0.8.1 has no command to list or flush its queue, its first
retry comes 15 minutes after a failure (``initial_retry_time`` has no setting before 0.9) and
a restart keeps that schedule. The harness reads the queue's own files
(``remote_queue/*.meta``), so mail still held is shown, but loss cannot be proven by a retry:
the certificate says "not proven" for mail still queued after the recovery bound.

A fragment is ``target.queue`` and ``target.remote`` directives, in blocks of those names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

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
from harness.mta.selfcheck import CheckerOutput, refuse_if_the_mta_does
from harness.topology import Endpoint

CONFIG = "/etc/maddy/maddy.conf"
MADDY = "/usr/local/bin/maddy"
STATE = "/var/lib/maddy"
QUEUE = f"{STATE}/remote_queue"
#: The queue's files, one ``path<TAB>json`` line per message's metadata.
LIST_QUEUE = (
    f'for f in {QUEUE}/*.meta; do [ -e "$f" ] && printf "%s\\t%s\\n" "$f" "$(cat "$f")"; done; true'
)
#: Still running after this long: the configuration was taken (exit 0).
CHECK_BY_STARTING = (
    f"/usr/bin/timeout 3 {MADDY} --config {CONFIG} run; s=$?; [ $s -eq 124 ] && exit 0; exit $s"
)
#: Blocks a fragment may add directives to, as ``name { ... }``.
FRAGMENT_BLOCKS = ("remote_queue", "outbound_delivery")


def fragment_blocks(fragment: str, where: str = "") -> dict[str, str]:
    """The fragment's directives by block, to go inside the harness's blocks; a
    :class:`UsageError` naming the line where it is not directives inside
    ``remote_queue { }`` or ``outbound_delivery { }`` blocks."""
    found: dict[str, list[str]] = {name: [] for name in FRAGMENT_BLOCKS}
    current = ""
    depth = 0
    for number, line in enumerate(fragment.splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        if depth == 0:
            current = text.removesuffix("{").strip()
            if not text.endswith("{") or current not in FRAGMENT_BLOCKS:
                raise UsageError(
                    f"--mta-config {where}: line {number}: a maddy fragment is directives in "
                    f"{' or '.join(b + ' { }' for b in FRAGMENT_BLOCKS)} blocks, got {text!r}"
                )
        elif not (depth == 1 and text == "}"):
            found[current].append(text)
        depth += text.count("{") - text.count("}")
        if depth < 0:
            raise UsageError(f"--mta-config {where}: line {number}: a '}}' closes nothing")
    if depth:
        raise UsageError(f"--mta-config {where}: a block is not closed")
    return {name: "\n".join(f"    {t}" for t in lines) for name, lines in found.items()}


def check_blocks(fragment: str, where: str) -> None:
    """Refuse, naming the line, a fragment that :func:`fragment_blocks` cannot place."""
    fragment_blocks(fragment, where)


def render_config(plan: MtaPlan, hol: bool) -> str:
    """The whole maddy.conf for ``plan``."""
    mine = fragment_blocks(plan.fragment)
    hol_line = "    # maddy-hol: one delivery at a time\n    max_parallelism 1\n" if hol else ""
    queue_extra = (
        f"    # --- your fragment ---\n{mine['remote_queue']}\n" if mine["remote_queue"] else ""
    )
    remote_extra = (
        f"    # --- your fragment ---\n{mine['outbound_delivery']}\n"
        if mine["outbound_delivery"]
        else ""
    )
    return f"""# Written by mta-harness for one run: the outbound half of maddy's stock maddy.conf.
hostname mta.harness.test
state_dir {STATE}
runtime_dir /run/maddy
log stderr
# The harness submits in plain text from its own networks.
tls off

smtp tcp://{plan.listen.host}:{plan.listen.port} {{
    default_source {{
        default_destination {{
            deliver_to &remote_queue
        }}
    }}
}}

target.remote outbound_delivery {{
    # maddy's stock limits and MX policy.
    limits {{
        destination rate 20 1s
        destination concurrency 10
    }}
    mx_auth {{
        dane
        mtasts {{
            cache fs
            fs_dir mtasts_cache/
        }}
        local_policy {{
            min_tls_level encrypted
            min_mx_level none
        }}
    }}
{remote_extra}}}

target.queue remote_queue {{
    target &outbound_delivery
    autogenerated_msg_domain harness.test
{hol_line}    # The harness's sender is not local: its bounces go out like any mail.
    bounce {{
        default_destination {{
            deliver_to &remote_queue
        }}
    }}
{queue_extra}}}
"""


def _maddy_complaints(output: CheckerOutput) -> list[str]:
    if output.status == 0:
        return []
    return [line.strip() for line in output.text.splitlines() if "maddy.conf:" in line][:3]


def queue_files(text: str) -> list[QueueEntry]:
    """The queue's metadata files (``path<TAB>json``): each message's recipients still to be
    tried (``To``) and the last error for each (``RcptErrs``)."""
    entries = []
    for line in text.splitlines():
        path, _, blob = line.partition("\t")
        if not blob.strip():
            continue
        meta = json.loads(blob)
        errors = meta.get("RcptErrs") or {}
        reasons = [str(e.get("Message", e)) for e in errors.values() if isinstance(e, dict)]
        queue_id = path.rsplit("/", 1)[-1].removesuffix(".meta")
        entries.append(QueueEntry(queue_id, tuple(meta.get("To") or ()), "; ".join(reasons)))
    return entries


@dataclass
class Maddy(Managed):
    """maddy built from its Go module; ``hol`` is ``max_parallelism 1``."""

    hol: bool = False
    routings: tuple[str, ...] = ("dns",)

    @property
    def name(self) -> str:
        return "maddy-hol" if self.hol else "maddy"

    @property
    def rootfs(self) -> str | None:
        return "maddy"

    def check_fragment(self, fragment: str, where: str) -> None:
        check_blocks(fragment, where)
        # maddy has no configuration check of its own: it is started with the configuration
        # (on a port of the kernel's choosing) and must still run after a few seconds; a
        # configuration it refuses stops it at once, naming the file's line.
        refuse_if_the_mta_does(
            self.name,
            "maddy",
            lambda plan: self.render(replace(plan, listen=Endpoint(plan.listen.host, 0))),
            fragment,
            where,
            [["/bin/sh", "-c", CHECK_BY_STARTING]],
            _maddy_complaints,
        )

    def render(self, plan: MtaPlan) -> dict[str, str]:
        return {CONFIG: render_config(plan, self.hol)}

    def command(self, plan: MtaPlan) -> list[str]:
        write_files(plan, self.render(plan))
        return [MADDY, "--config", CONFIG, "run"]

    def wait_ready(self, service: Service, plan: MtaPlan, timeout: float) -> None:
        wait_for_smtp(service, plan, timeout, "maddy")

    def queue(self, plan: MtaPlan, run: CommandRunner) -> list[QueueEntry]:
        return queue_files(run("mta", ["/bin/busybox", "sh", "-c", LIST_QUEUE]))

    def retry_now(self, plan: MtaPlan, run: CommandRunner) -> str | None:
        return None  # no flush command; a restart keeps the 15-minute schedule (see above)

    def purge(self, plan: MtaPlan) -> None:
        pass  # the queue lives in the run's writable layer, which the harness wipes

    def identity(self, plan: MtaPlan, run: CommandRunner) -> MtaIdentity:
        version = run("mta", [MADDY, "version"]).split()
        return MtaIdentity(
            self.name, version[0] if version else "unknown", config_digest(self.render(plan), plan)
        )
