"""Adapter for ``seedmta``, the harness's own model of the Q193760 MTA.

``seedmta-sync`` has the bug (one delivery loop for all sites) and must fail certification;
``seedmta-async`` has the fix (a loop per next hop) and must pass. Together they prove that a
suite can tell the two apart.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass

from harness import __version__
from harness.backends.base import Service
from harness.errors import UsageError
from harness.mta.base import CommandRunner, Managed, MtaIdentity, MtaPlan, QueueEntry, digest

#: The model's per-attempt connect and greeting timeout, like a real MTA's: long against the
#: harness's delivery bound, so a sync loop waiting it out visibly stalls healthy sites.
DEFAULT_TIMEOUT = 10.0
#: The paced builds' pacing: a pause past the default delivery bound after every few
#: deliveries per next hop, so a short burst to one site meets it.
SEED_PACE = (5, 4.0)


@dataclass
class SeedMta(Managed):
    """The seed model in one of its two modes."""

    mode: str
    #: Also lose mail whose delivery failed for a transient reason (``seedmta-sync-lossy``:
    #: a build that breaks two claims, each to be found and shrunk on its own).
    lossy: bool = False
    #: By route, or by MX lookup against the run's DNS server (in its delivery thread: in
    #: sync mode a lookup that hangs holds every destination, like a dead link).
    routings: tuple[str, ...] = ("static", "dns")
    #: Pacing of its own, dead link or not (``--pace N:SECONDS``): ``seedmta-paced`` models
    #: OpenSMTPD's session cap and reconnect delay, which no dead link causes; a suite must
    #: not take it for a stall. ``seedmta-sync-paced`` has both, and must still fail.
    pace: tuple[int, float] | None = None

    @property
    def name(self) -> str:
        if self.pace is not None and self.mode == "async":
            return "seedmta-paced"
        paced = "-paced" if self.pace is not None else ""
        return f"seedmta-{self.mode}{paced}" + ("-lossy" if self.lossy else "")

    def check_fragment(self, fragment: str, where: str) -> None:
        if fragment.strip():
            raise UsageError(
                f"--mta-config {where}: {self.name} takes no configuration "
                "fragment (its configuration is its command line)"
            )

    def _argv(self, plan: MtaPlan) -> list[str]:
        argv = [
            sys.executable,
            "-m",
            "harness.seedmta",
            "serve",
            "--mode",
            self.mode,
            "--listen",
            str(plan.listen),
            "--queue",
            str(plan.workdir / "queue"),
            "--timeout",
            str(plan.timers.get("timeout", DEFAULT_TIMEOUT)),
            "--min-backoff",
            str(plan.timers.get("min_backoff", 0.5)),
            "--max-backoff",
            str(plan.timers.get("max_backoff", 2.0)),
        ]
        if self.lossy:
            argv.append("--drop-deferred")
        if self.pace is not None:
            argv += ["--pace", f"{self.pace[0]}:{self.pace[1]:g}"]
        for domain, link in sorted(plan.routes.items()):
            argv += ["--route", f"{domain}={link}"]
        if plan.routing == "dns" and plan.nameserver is not None:
            argv += ["--resolver", str(plan.nameserver)]
        return argv

    def command(self, plan: MtaPlan) -> list[str]:
        (plan.workdir / "queue").mkdir(parents=True, exist_ok=True)
        return self._argv(plan)

    @property
    def rootfs(self) -> str | None:
        return None  # pure Python: runs on the host

    def wait_ready(self, service: Service, plan: MtaPlan, timeout: float) -> None:
        service.wait_for_line(
            lambda line: line.startswith("seedmta: ready on "), timeout, "it is ready"
        )

    def queue(self, plan: MtaPlan, run: CommandRunner) -> list[QueueEntry]:
        out = run(
            "mta",
            [
                sys.executable,
                "-m",
                "harness.seedmta",
                "queue",
                "--queue",
                str(plan.workdir / "queue"),
            ],
        )
        return [
            QueueEntry(str(e["qid"]), tuple(e["rcpts"]), str(e.get("last_error", "")))
            for e in json.loads(out)
        ]

    def retry_now(self, plan: MtaPlan, run: CommandRunner) -> str:
        queue = str(plan.workdir / "queue")
        return run("mta", [sys.executable, "-m", "harness.seedmta", "retry", "--queue", queue])

    def purge(self, plan: MtaPlan) -> None:
        shutil.rmtree(plan.workdir / "queue", ignore_errors=True)

    def identity(self, plan: MtaPlan, run: CommandRunner) -> MtaIdentity:
        # Digest what shapes behaviour (mode, timers, which domains are routed), not the
        # run's own addresses and paths, so the same configuration always has the same digest.
        timers = sorted(plan.timers.items())
        config = [self.mode, repr(timers), *sorted(plan.routes)]
        if plan.routing != "static":
            config.append(f"routing={plan.routing}")
        if self.lossy:
            config.append("drop-deferred")
        if self.pace is not None:
            config.append(f"pace={self.pace[0]}:{self.pace[1]:g}")
        return MtaIdentity(self.name, __version__, digest(*config))
