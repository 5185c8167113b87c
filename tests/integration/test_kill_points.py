"""Killing a run at a random moment (SIGINT, SIGTERM or SIGKILL; during setup, mid-example,
while Hypothesis shrinks, or during teardown; on both backends) leaves nothing once the next
run has started: no process carrying the run's label, no scratch folder, no mount of its root
filesystems, and on docker no container, network, network namespace, host bridge (with its
qdiscs) or host iptables rule of the run.

The moments are drawn from a seeded generator; a failure names the seed, the signal and the
moment, so it can be repeated (MTA_HARNESS_KILL_SEED=<seed>).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from harness.backends.local import LocalBackend
from harness.reaper import labelled_processes
from harness.runtime import runtime_root
from harness.scenario_file import SCENARIOS

from ..conftest import spawn_cli

pytestmark = pytest.mark.integration

SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGKILL]
SEED = int(os.environ.get("MTA_HARNESS_KILL_SEED", time.time_ns() % 2**32))
GOING_DOWN = "going down"


def run_leftovers(run_id: str) -> list[str]:
    left = [f"process {p}" for p, (run, _o) in labelled_processes().items() if run == run_id]
    if (runtime_root() / "runs" / run_id).exists():
        left.append(f"folder {runtime_root() / 'runs' / run_id}")
    mounts = Path("/proc/self/mountinfo").read_text()
    left += [f"mount {line.split()[4]}" for line in mounts.splitlines() if run_id in line]
    return left


def docker_state(run_id: str) -> tuple[list[str], list[str]]:
    """The run's containers and networks (as "container NAME" / "network ID")."""
    from harness.backends.docker.backend import LABELS, engine
    from harness.runtime import RUN_LABEL

    client = engine()
    selector = {"label": f"{LABELS[RUN_LABEL]}={run_id}"}
    listed = client.containers.list(all=True, filters=selector, sparse=True)
    containers = [f"container {c.attrs['Names'][0]}" for c in listed]
    networks = [f"network {n.id}" for n in client.networks.list(filters=selector)]
    return containers, networks


def sandbox_keys() -> dict[str, str]:
    """The network namespaces (as Docker keeps them, bind-mounted files) of every container
    of this runtime folder now, with each one's run: taken just before the kill, as the
    killed run's id is not known yet (and other tests' runs may be up beside it)."""
    from harness.backends.docker.backend import LABELS, engine
    from harness.runtime import ROOT_LABEL, RUN_LABEL

    selector = {"label": f"{LABELS[ROOT_LABEL]}={runtime_root()}"}
    keys: dict[str, str] = {}
    for container in engine().containers.list(filters=selector, sparse=True):
        with contextlib.suppress(Exception):  # gone between the listing and the look
            container.reload()
            key = container.attrs["NetworkSettings"]["SandboxKey"]
            if key:
                keys[key] = container.attrs["Config"]["Labels"][LABELS[RUN_LABEL]]
    return keys


def held_namespaces(keys: list[str]) -> list[str]:
    """Those of ``keys`` still holding a network namespace. Without a process in it, a
    namespace lives only while a bind mount holds it; Docker leaves the empty file behind."""
    mounts = Path("/proc/self/mountinfo").read_text()
    with contextlib.suppress(OSError, ValueError):
        dockerd = subprocess.run(["pidof", "dockerd"], capture_output=True, text=True).stdout
        mounts += Path(f"/proc/{int(dockerd.split()[0])}/mountinfo").read_text()
    points = {line.split()[4].rsplit("/", 1)[-1] for line in mounts.splitlines()}
    return [key for key in keys if key.rsplit("/", 1)[-1] in points]


def host_leftovers(network_ids: list[str]) -> list[str]:
    """Docker's bridge for each network (and so its qdiscs) and every host iptables rule that
    names the bridge or carries our comment."""
    left = []
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    for network_id in network_ids:
        bridge = f"br-{network_id[:12]}"
        if bridge in links:
            left.append(f"host bridge {bridge}")
        left += [f"host iptables rule: {r}" for r in rules.splitlines() if bridge in r]
    left += [f"host iptables rule: {r}" for r in rules.splitlines() if "mta-harness" in r]
    return left


class Run:
    """A certification or replay in a session of its own, its output read as it comes."""

    def __init__(self, args: list[str]) -> None:
        self.proc = spawn_cli(*args)
        self.lines: list[str] = []
        self.going_down = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if GOING_DOWN in line:
                self.going_down.set()
        self.going_down.set()  # ended: nobody waits for a teardown that will not come


def interrupted_in_interpreter_startup(lines: list[str]) -> bool:
    """The run's output is Python's traceback of a KeyboardInterrupt raised while ``site``
    was still importing: no frame of the harness, and so nothing of it had started."""
    text = "".join(lines)
    return (
        bool(lines)
        and lines[-1].strip() == "KeyboardInterrupt"
        and 'File "<frozen site>"' in text
        and "/harness/" not in text
    )


def draw(attempt: int, backend: str) -> tuple[signal.Signals, str, float, str]:
    chance = random.Random(f"{SEED}:{backend}:{attempt}")
    sig = chance.choice(SIGNALS)
    mta = chance.choice(["seedmta-sync", "postfix-hol"])  # both fail: shrinking happens
    if attempt % 3 == 2:
        # Teardown: some time after the world says it is going down (a docker world takes
        # seconds to remove, a local one a fraction of a second).
        return sig, "teardown", chance.uniform(0.0, 1.5 if backend == "docker" else 0.3), mta
    # From before the world is up to deep in the examples (docker starts slower).
    return sig, "anywhere", chance.uniform(0.0, 10.0 if backend == "docker" else 6.0), mta


@pytest.mark.parametrize(
    ("backend", "attempt"),
    [("local", n) for n in range(6)] + [("docker", n) for n in range(3)],
)
def test_a_run_killed_at_a_random_moment_leaves_nothing(
    tmp_path: Path, backend: str, attempt: int
) -> None:
    if backend == "docker" and os.geteuid() != 0:
        pytest.skip("the docker backend's setup needs root")
    sig, moment, delay, mta = draw(attempt, backend)
    where = f"seed {SEED}: {sig.name} {delay:.2f} s after {moment} on {mta}, {backend}"
    common = ["--mta", mta, "--backend", backend, "--reports", str(tmp_path)]
    if moment == "teardown":
        # A short run, so its teardown comes soon: the Q193760 outage played once.
        run = Run(["replay", str(SCENARIOS / "q193760.toml"), *common])
        assert run.going_down.wait(timeout=120), f"{where}: never reached teardown"
        assert run.proc.poll() is None, f"{where}: ended before its teardown could be hit"
    else:
        run = Run(["certify", *common])
    time.sleep(delay)  # the moment of the kill is the thing under test, not a wait for an event
    namespaces = sandbox_keys() if backend == "docker" else {}
    run.proc.send_signal(sig)
    try:
        run.proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        run.proc.kill()
        pytest.fail(f"{where}: the run did not exit in 120 s")
    runs = [p.name for p in tmp_path.iterdir()]
    run_id = runs[0] if runs else None
    networks: list[str] = []
    if backend == "docker" and run_id is not None:
        networks = [n.split()[1] for n in docker_state(run_id)[1]]
        from harness.backends.docker.backend import DockerBackend

        DockerBackend().close()  # the next run starting (and stopping) reaps what is left
    else:
        LocalBackend().close()
    if run_id is not None:
        left = run_leftovers(run_id)
        if backend == "docker":
            containers, still = docker_state(run_id)
            left += containers + still + host_leftovers(networks)
            ours = [key for key, run in namespaces.items() if run == run_id]
            left += [f"network namespace {key}" for key in held_namespaces(ours)]
        assert left == [], f"{where} left {left}"
    if sig != signal.SIGKILL:
        # Interrupted: never a verdict. 130, or killed outright by SIGTERM if it came before
        # the run installed its handler (nothing had started then). A kill in teardown may
        # come after the verdict was settled; then the run ends with it (both MTAs are
        # known-bad: FAIL, never PASS), or 130. A SIGINT while the interpreter is still
        # initialising (site.py, before any harness code runs) is Python's own exit 1.
        allowed = {130, -sig} | ({1} if moment == "teardown" else set())
        if sig == signal.SIGINT and interrupted_in_interpreter_startup(run.lines):
            allowed.add(1)
        assert run.proc.returncode in allowed, f"{where}: exit {run.proc.returncode}\n" + "".join(
            run.lines[-20:]
        )
