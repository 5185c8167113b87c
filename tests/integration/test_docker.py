"""The docker backend: same suites, containers on a private network, faults below TCP, and
nothing left behind after a SIGKILL."""

from __future__ import annotations

import fcntl
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from docker.types import IPAMConfig, IPAMPool

from harness.backends.docker.backend import LABELS, DockerBackend, engine
from harness.claims import Bounds
from harness.clock import Deadline
from harness.errors import HarnessError
from harness.faults import make_fault
from harness.mta import get_adapter
from harness.runtime import OWNER_LABEL, RUN_LABEL, SLOTS, owner_token, slots_root
from harness.scenario import Scenario, play
from harness.world import World

from ..conftest import HOST_DNS, start_run

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="the docker backend's setup needs root"),
]


@pytest.fixture(scope="module", autouse=True)
def docker_engine() -> None:
    engine()  # no engine: a clear error naming `make docker`, not a skip


@pytest.fixture
def docker_world() -> Iterator[object]:
    worlds: list[World] = []

    def start(mta: str, **timers: float) -> World:
        world = World(DockerBackend(), get_adapter(mta), sites=2, timers=timers)
        worlds.append(world.start())
        return world

    yield start
    for world in worlds:
        world.close()


def test_a_syn_drop_makes_the_mta_connect_hang_not_refuse(docker_world) -> None:  # type: ignore[no-untyped-def]
    world = docker_world("seedmta-async", timeout=1.0)
    with world.example() as example:
        site = example.site(0)
        example.apply(site, make_fault("syn-drop", bound=3.0))
        record = example.submit(site)
        world.mta_service.wait_for_line(lambda line: "deferred" in line, 10, "a deferral")
        reasons = [e.reason for e in world.adapter.queue(world.plan, world.backend.run)]
        assert any("timed out" in r for r in reasons), reasons
        assert not any("refused" in r.lower() for r in reasons), reasons
        example.heal_all()
        assert example.ledger.wait_until(lambda rs: rs[0].settled, Deadline.after(15))
        assert record.arrivals[0].site == "site-a"


def test_the_property_catches_postfix_hol_behind_a_syn_drop(docker_world) -> None:  # type: ignore[no-untyped-def]
    world = docker_world("postfix-hol")
    # The certificate names the image the MTA ran in: tag and content digest.
    assert world.identity.image.startswith("mta-harness/postfix:"), world.identity
    assert "(sha256:" in world.identity.image
    result = play(world, Scenario(2, ((0, "syn-drop"),), (0, 1), 0), Bounds())
    assert not result.holds
    assert [p.name for p in result.failures()] == ["healthy_sites_keep_flowing"]


def test_a_killed_docker_run_leaves_no_container_or_network_after_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MTA_HARNESS_RUNTIME", str(tmp_path / "runtime"))
    proc, run_id = start_run(
        "certify",
        "--mta",
        "seedmta-sync",
        "--backend",
        "docker",
        "--reports",
        str(tmp_path / "reports"),
    )
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    client = engine()
    selector = {"label": f"{LABELS[RUN_LABEL]}={run_id}"}
    assert client.containers.list(all=True, filters=selector), "nothing to clean: empty test"
    DockerBackend().close()  # the next run starting (and stopping)
    assert client.containers.list(all=True, filters=selector) == []
    assert client.networks.list(filters=selector) == []


def test_containers_are_locked_down(docker_world) -> None:  # type: ignore[no-untyped-def]
    """No container is privileged or holds the Docker socket; only Toxiproxy's may change
    its network (it makes the faults below TCP); every published port is on 127.0.0.1."""
    world = docker_world("postfix")
    selector = {"label": f"{LABELS[RUN_LABEL]}={world.backend.run_id}"}
    containers = engine().containers.list(filters=selector)
    assert len(containers) >= 5, "Toxiproxy, sites, bounce sink and the MTA"
    for container in containers:
        host = container.attrs["HostConfig"]
        name = container.name
        assert host["Privileged"] is False, name
        mounts = [m.get("Source", "") for m in container.attrs["Mounts"]]
        assert not any("docker.sock" in m for m in mounts), name
        caps = host.get("CapAdd") or []
        assert caps == (["NET_ADMIN"] if name.endswith("-toxiproxy") else []), (name, caps)
        for bindings in (host.get("PortBindings") or {}).values():
            assert all(b["HostIp"] == "127.0.0.1" for b in bindings), (name, bindings)


def test_toxiproxys_api_answers_the_harness_alone(docker_world) -> None:  # type: ignore[no-untyped-def]
    """The MTA (or a site) must not be able to change the faults: Toxiproxy's API is
    unreachable from their containers, and still answers the harness."""
    world = docker_world("seedmta-async")
    api = world.backend.addresses.toxiproxy_api
    probe = (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('{api.host}', {api.port}), timeout=2)\n"
        "    print('reachable')\n"
        "except OSError as exc:\n"
        "    print('unreachable', exc)\n"
    )
    for role in ("mta", "site"):
        out = world.backend.run(role, ["python3", "-c", probe])
        assert out.startswith("unreachable"), f"{role}: {out}"
    world.toxiproxy.reset()  # the harness's own way in still works


@pytest.mark.xdist_group(HOST_DNS)
def test_name_lookups_in_containers_never_reach_the_hosts_resolvers(  # type: ignore[no-untyped-def]
    docker_world, dns_packets_leaving
) -> None:
    """Docker's embedded DNS forwards what it cannot answer to the host's resolvers; every
    container gets our resolv.conf instead, naming the run's own DNS server (in its own
    container on the run's network), which answers the remote domains and nothing else."""
    world = docker_world("opensmtpd")
    dns = world.backend.addresses.dns.host
    for role in ("mta", "toxiproxy"):
        text = world.backend.run(role, ["cat", "/etc/resolv.conf"])
        servers = [line.split()[1] for line in text.splitlines() if line.startswith("nameserver")]
        assert servers == [dns], (role, text)
    link = world.links["site-a"].listen.host
    assert world.backend.run("mta", ["getent", "hosts", "mx.site-a.test"]).split()[0] == link
    with pytest.raises(HarnessError, match="status 2"):  # no such name: not forwarded anywhere
        world.backend.run("mta", ["getent", "hosts", "example.com"])
    asked = world.dns_queries_for("example.com.", Deadline.after(10))
    assert asked and {e["outcome"] for e in asked} == {"NXDOMAIN"}
    assert dns_packets_leaving.packets() == 0  # counted on the way off the machine


def test_a_wedged_engine_is_named_not_waited_on() -> None:
    """dockerd 20.10 was seen wedged after a run was killed while starting: every call on the
    killed run's containers timed out. The reaper then stops at the first and says what to
    do, instead of a minute per container and a traceback."""
    from requests.exceptions import ReadTimeout

    from harness.backends.docker.backend import OWNER_LABEL, reap_containers
    from harness.errors import HarnessError

    class Stuck:
        id = "0123456789ab"
        removals = 0

        def __init__(self) -> None:
            owner = {LABELS[OWNER_LABEL]: "1:gone"}
            self.attrs = {"Names": ["/mta-harness-x-site-a"], "Labels": owner}

        def remove(self, force: bool) -> None:
            Stuck.removals += 1
            raise ReadTimeout("read timed out (read timeout=60)")

    class Engine:
        class containers:  # the docker client's attribute name
            @staticmethod
            def list(**_: object) -> list[Stuck]:
                return [Stuck(), Stuck()]

    with pytest.raises(HarnessError) as caught:
        reap_containers(Engine(), "/tmp/root")  # type: ignore[arg-type]
    message = str(caught.value)
    assert "mta-harness-x-site-a" in message and "Restart dockerd" in message
    assert Stuck.removals == 1, "it waited on the second container too"


def test_a_removal_already_in_progress_is_waited_for_not_taken_for_a_wedged_engine() -> None:
    """Two runs starting at once both reap a killed run's containers; the second removal gets
    dockerd's 409 "removal already in progress", an answer: it waits for the removal to end,
    and reports the container gone (it once failed a run as "dockerd looks wedged")."""
    from docker.errors import APIError
    from requests.models import Response

    from harness.backends.docker.backend import OWNER_LABEL, reap_containers

    waited: list[str] = []

    class BeingRemoved:
        id = "0123456789ab"

        def __init__(self) -> None:
            owner = {LABELS[OWNER_LABEL]: "1:gone"}
            self.attrs = {"Names": ["/mta-harness-x-site-a"], "Labels": owner}

        def remove(self, force: bool) -> None:
            conflict = Response()
            conflict.status_code = 409
            raise APIError("removal of container is already in progress", response=conflict)

    class Engine:
        class containers:
            @staticmethod
            def list(**_: object) -> list[BeingRemoved]:
                return [BeingRemoved()]

        class networks:
            @staticmethod
            def list(**_: object) -> list[object]:
                return []

        class api:
            @staticmethod
            def wait(container: str, timeout: float, condition: str) -> None:
                waited.append(f"{container} {condition}")

    report = reap_containers(Engine(), "/tmp/root")  # type: ignore[arg-type]
    assert waited == ["0123456789ab removed"]
    assert report.containers == ["container mta-harness-x-site-a"]


def test_an_address_block_a_network_still_holds_is_passed_over(docker_engine: None) -> None:
    """dockerd sometimes keeps a dead run's network ("has active endpoints" with none left):
    its address block cannot be used until dockerd restarts, so a run takes the next one."""
    first = os.getpid() % SLOTS  # where this process's lease starts looking
    probe = os.open(slots_root() / f"{first}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(probe)
        pytest.skip(f"address block {first} is another run's just now")
    fcntl.flock(probe, fcntl.LOCK_UN)
    os.close(probe)
    client = engine()
    blocker = client.networks.create(
        f"mta-harness-test-blocker-{os.getpid()}",
        driver="bridge",
        ipam=IPAMConfig(pool_configs=[IPAMPool(subnet=f"172.31.{first}.0/24")]),
        # Owned by this test's process, so a concurrent test can tell it is not its own.
        labels={LABELS[OWNER_LABEL]: owner_token()},
    )
    try:
        backend = DockerBackend()
        try:
            assert backend.addresses.mta.host.split(".")[2] != str(first)
            assert any(f"172.31.{first}.0/24 skipped" in line for line in backend.reaped.containers)
        finally:
            backend.close()
    finally:
        blocker.remove()
