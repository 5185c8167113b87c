"""The ``docker`` backend: one private bridge network per run, one container per part.

The MTA, Toxiproxy and every site get fixed addresses on the run's network
(``172.31.<slot>.0/24``, laid out like the local backend's loopback block); Toxiproxy's
container also holds every link's address, so the MTA sees one IP per site. The harness reaches
Toxiproxy's API and the MTA's SMTP port through ports published on 127.0.0.1 only, and reads
the sites' events from their attached output. Containers are not privileged and never get the
Docker socket; only Toxiproxy's gets NET_ADMIN (for the link addresses and faults below TCP).
"""

from __future__ import annotations

import atexit
import contextlib
import io
import sys
import tarfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, NotFound
from docker.models.networks import Network
from docker.types import IPAMConfig, IPAMPool

from harness.backends.base import Role
from harness.backends.chroot import RootLayers
from harness.backends.docker.errors import ENGINE_FAILURES, NO_ANSWER
from harness.backends.docker.images import (
    harness_image,
    image_files,
    recipe_image,
    toxiproxy_image,
)
from harness.backends.docker.inside import in_image, site_image
from harness.backends.docker.service import ContainerService
from harness.clock import Deadline
from harness.errors import HarnessError, UsageError
from harness.reaper import ReapReport, reap_orphans
from harness.runtime import (
    OWNER_LABEL,
    ROOT_LABEL,
    RUN_LABEL,
    RunContext,
    SlotLease,
    owner_alive,
    runtime_root,
)
from harness.sites.program import COMPILED_NAME
from harness.topology import MAX_SITES, AddressPlan, Endpoint

PREFIX = "172.31"
#: Address blocks a run passes over, at most, for networks that dockerd will not remove.
MAX_SKIPPED_BLOCKS = 8
LABELS = {
    RUN_LABEL: "org.mta-harness.run",
    OWNER_LABEL: "org.mta-harness.owner",
    ROOT_LABEL: "org.mta-harness.root",
}


def engine() -> docker.DockerClient:
    """A client of a running Docker engine, or a clear :class:`UsageError`."""
    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except ENGINE_FAILURES as exc:
        raise UsageError(
            "no Docker engine answers: run `make docker` (installs Debian's docker.io and "
            f"starts dockerd, as root) or start one yourself ({exc})"
        ) from None
    return client


#: Seconds to wait for a container another reaper is removing.
REMOVAL_WAIT = 30


def reap_containers(client: docker.DockerClient, root: str) -> ReapReport:
    """Remove containers and networks of this runtime folder whose owning run has died."""
    report = ReapReport()
    selector = {"label": f"{LABELS[ROOT_LABEL]}={root}"}
    # Sparse: one listing call. A full listing fetches each container again, and one that
    # dockerd removes meanwhile (a dying run's) would fail the whole listing with NotFound.
    for container in client.containers.list(all=True, filters=selector, sparse=True):
        labels = container.attrs.get("Labels") or {}
        if not owner_alive(labels.get(LABELS[OWNER_LABEL], "")):
            name = (container.attrs.get("Names") or [container.id])[0].lstrip("/")
            try:
                container.remove(force=True)
            except NotFound:
                continue  # gone meanwhile
            except NO_ANSWER as exc:
                # Waiting on would cost a minute per container, and the run after it would
                # hang the same way: say what is wrong and how to mend it.
                raise HarnessError(
                    f"the Docker engine did not answer when asked to remove {name}, left by a "
                    f"killed run ({type(exc).__name__}): dockerd looks wedged (seen with Docker "
                    "20.10 after a run was killed while starting). Restart dockerd, then run "
                    "`mta-harness gc`"
                ) from None
            except APIError as exc:
                if exc.status_code != 409:
                    continue  # the next reaping tries again
                # A removal already in progress (another run's reaper, or its own teardown):
                # wait for it, so that what this reaping reports gone is gone.
                with contextlib.suppress(NotFound, *ENGINE_FAILURES):
                    client.api.wait(container.id, timeout=REMOVAL_WAIT, condition="removed")
            except ENGINE_FAILURES:
                continue  # the next reaping tries again
            report.containers.append(f"container {name}")
    for network in client.networks.list(filters=selector):
        owner = network.attrs.get("Labels", {}).get(LABELS[OWNER_LABEL], "")
        if not owner_alive(owner) and remove_network(network, Deadline.after(REMOVAL_WAIT)):
            report.containers.append(f"network {network.name}")
    return report


def remove_network(network: Network, deadline: Deadline) -> bool:
    """Remove ``network``; True once it is gone. dockerd refuses while an endpoint is still
    attached, as it is for a moment after the container's removal returns (seen: a run
    SIGINTed in its teardown left its network, and the next run's reaping, removing the same
    containers, found the network still in use), so a refusal is asked again until
    ``deadline``. Polled: dockerd gives no event for an endpoint's release."""
    while True:
        try:
            network.remove()
            return True
        except NotFound:
            return True
        except APIError as exc:
            if exc.status_code not in (403, 409) or deadline.passed():
                return False
        except ENGINE_FAILURES:
            return False
        time.sleep(0.2)


class DockerBackend:
    """Containers on a private bridge network, labelled with the run id and its owner."""

    name = "docker"

    def __init__(self, run_id: str | None = None) -> None:
        self.client = engine()
        if in_image():
            # Before reaping: in a pid namespace of its own, every run's owner looks dead.
            site_image(self.client)
        # Containers first: a killed run's container still holds files of its scratch
        # folder (our resolv.conf is bind-mounted), which cannot go before the container.
        containers = reap_containers(self.client, str(runtime_root())).containers
        self.reaped = reap_orphans()
        self.reaped.containers += containers
        self.run_context = RunContext.create(run_id)
        self.run_id = self.run_context.run_id
        self.labels = {LABELS[key]: value for key, value in self.run_context.labels.items()}
        self._images: dict[str, str] = {}
        self._harness_image: str | None = None
        self.network = self._create_network()
        self.addresses = AddressPlan(self.run_context.lease.slot, prefix=PREFIX)
        self.workdir: Path = self.run_context.workdir
        self.logs = self.workdir / "logs"
        self.logs.mkdir()
        self._services: list[ContainerService] = []
        self._by_role: dict[Role, ContainerService] = {}
        self._published: dict[tuple[str, int], Endpoint] = {}
        atexit.register(self.close)

    def _create_network(self) -> docker.models.networks.Network:
        """The run's network on its address block. A block whose subnet another network
        still holds (a dead run's, which dockerd would not remove: "has active endpoints", a
        stale endpoint only a dockerd restart clears) is skipped for the next free one, the
        skipped lease held until then so it is not handed back, and said in the reaping."""
        skipped: list[SlotLease] = []
        try:
            while True:
                slot = self.run_context.lease.slot
                try:
                    return self.client.networks.create(
                        f"mta-harness-{self.run_id}",
                        driver="bridge",
                        labels=self.labels,
                        ipam=IPAMConfig(
                            pool_configs=[
                                IPAMPool(
                                    subnet=f"{PREFIX}.{slot}.0/24", gateway=f"{PREFIX}.{slot}.1"
                                )
                            ]
                        ),
                    )
                except APIError as exc:
                    if "overlaps" not in str(exc) or len(skipped) >= MAX_SKIPPED_BLOCKS:
                        raise
                    self.reaped.containers.append(
                        f"address block {PREFIX}.{slot}.0/24 skipped (a network there would "
                        "not go; restart dockerd to free it)"
                    )
                    skipped.append(self.run_context.lease)
                    self.run_context.lease = SlotLease.acquire()
        except ENGINE_FAILURES as exc:
            self.run_context.close()
            raise HarnessError(f"cannot create the run's network: {exc}") from exc
        finally:
            for lease in skipped:
                lease.release()

    def _resolv_conf(self) -> Path:
        """Every container's resolver: the run's DNS server's container, at its fixed
        address on the run's network (a lookup before it is up fails, and stays there)."""
        path = self.workdir / "resolv.conf"
        if not path.exists():
            path.write_text(f"nameserver {self.addresses.dns.host}\n")
        return path

    # -- images and commands ---------------------------------------------------------------

    def _image(self, role: Role, root: RootLayers | None) -> str:
        if role == "toxiproxy":
            return toxiproxy_image(self.client)
        if root is not None and root.image is not None:
            return root.image  # the user's own build
        if root is not None:
            return recipe_image(self.client, root.recipe)
        if self._harness_image is None:  # one digest of the code and the site a run, not a spawn
            self._harness_image = harness_image(self.client)
        return self._harness_image

    def image_files(self, image: str) -> Path:
        return image_files(self.client, image, self.labels)

    def image_of(self, role: Role) -> str | None:
        tag = self._images.get(role)
        if tag is None:
            return None
        try:
            return f"{tag} ({self.client.images.get(tag).id})"
        except ENGINE_FAILURES:
            return tag

    @staticmethod
    def _inside(argv: Sequence[str]) -> list[str]:
        """The host's argv as the container runs it: its own Python and Toxiproxy paths."""
        out = list(argv)
        if out and out[0] == sys.executable:
            out[0] = "python3"
        elif out and out[0].endswith("toxiproxy-server"):
            out[0] = "toxiproxy-server"  # on the image's PATH (ours, or a pulled one)
        elif out and out[0].endswith(COMPILED_NAME):
            out[0] = COMPILED_NAME  # the compiled site, on the harness image's PATH
        return out

    def spawn(
        self,
        role: Role,
        name: str,
        argv: Sequence[str],
        root: RootLayers | None = None,
        address: str | None = None,
    ) -> ContainerService:
        ports: dict[str, Any] = {}
        if role == "toxiproxy":
            ports[f"{self.addresses.api_port}/tcp"] = ("127.0.0.1", None)
        if role == "mta":
            ports[f"{self.addresses.smtp_port}/tcp"] = ("127.0.0.1", None)
        image = self._image(role, root)
        self._images[role] = image
        command = self._inside(argv)
        # The harness's own parts name their program: the image may be the harness's own
        # (run from `make image`), whose entrypoint is the CLI. The user's MTA image keeps its
        # entrypoint, the description's command being its arguments.
        entrypoint = command[:1] if command and (root is None or root.image is None) else None
        try:
            container = self.client.containers.create(
                image,
                (command[1:] if entrypoint else command) or None,  # none: the image's own
                entrypoint=entrypoint,
                environment=dict(root.environment) if root is not None else None,
                name=f"mta-harness-{self.run_id}-{name}",
                labels=self.labels,
                stdin_open=True,
                detach=True,
                # A tiny init as PID 1 forwards SIGTERM (a program as PID 1 would ignore it)
                # and reaps orphaned children.
                init=True,
                ports=ports,
                cap_add=["NET_ADMIN"] if role == "toxiproxy" else [],
                network=self.network.name,
                # The fixed address at creation: a disconnect and reconnect after it cost two
                # more calls per container, and a run killed between them was seen (once in
                # about 30 kills) to leave dockerd 20.10's network store deadlocked.
                networking_config=(
                    {
                        self.network.name: self.client.api.create_endpoint_config(
                            ipv4_address=address
                        )
                    }
                    if address is not None
                    else None
                ),
                # Our own resolv.conf over Docker's: its embedded DNS would forward lookups
                # (OpenSMTPD's of its clients) to the host's resolvers, off this machine. A
                # loopback name server where nothing listens fails them at once instead.
                volumes={str(self._resolv_conf()): {"bind": "/etc/resolv.conf", "mode": "ro"}},
            )
            if root is not None:
                container.put_archive("/", _tar_of(root.upper))
            socket = self.client.api.attach_socket(
                container.id, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1}
            )
            container.start()
        except ENGINE_FAILURES as exc:
            raise HarnessError(f"cannot start container for {name}: {exc}") from exc
        service = ContainerService(name, container, socket, self.logs / f"{name}.log")
        self._services.append(service)
        self._by_role[role] = service
        container.reload()
        for port_spec, bindings in (container.attrs["NetworkSettings"]["Ports"] or {}).items():
            if bindings and address is not None:
                port = int(port_spec.split("/")[0])
                self._published[(address, port)] = Endpoint(
                    "127.0.0.1", int(bindings[0]["HostPort"])
                )
        if role == "toxiproxy":
            self._add_link_addresses(container)
            self._guard_api(container)
        return service

    def _guard_api(self, container: Any) -> None:
        """Only the harness may reach Toxiproxy's API: its published port arrives from the
        network's gateway, so drop every other source (the MTA and the sites could otherwise
        change the faults). The raw table, because the INPUT rules are flushed per example."""
        gateway = f"{PREFIX}.{self.addresses.slot}.1"
        rule = [
            "iptables",
            "-t",
            "raw",
            "-A",
            "PREROUTING",
            "-p",
            "tcp",
            "--dport",
            str(self.addresses.api_port),
            "!",
            "-s",
            gateway,
            "-j",
            "DROP",
        ]
        code, out = container.exec_run(rule)
        if code != 0:
            raise HarnessError(f"cannot guard Toxiproxy's API: {out.decode().strip()}")

    def _add_link_addresses(self, container: Any) -> None:
        """Give Toxiproxy's container every link's address, one per site."""
        for index in range(-1, MAX_SITES):
            ip = self.addresses.link(index).host
            code, out = container.exec_run(["ip", "addr", "add", f"{ip}/24", "dev", "eth0"])
            if code != 0:
                raise HarnessError(f"cannot add link address {ip}: {out.decode().strip()}")

    def harness_view(self, endpoint: Endpoint) -> Endpoint:
        return self._published.get((endpoint.host, endpoint.port), endpoint)

    def link_namespace(self) -> Callable[[list[str]], str] | None:
        # The links' addresses live in Toxiproxy's container, which has NET_ADMIN.
        return lambda argv: self.run("toxiproxy", argv)

    def run(self, role: Role, argv: Sequence[str], timeout: float = 30.0) -> str:
        service = self._by_role.get(role)
        if service is None:
            raise HarnessError(f"no {role} container is running")
        try:
            code, (out, err) = service.container.exec_run(self._inside(argv), demux=True)
        except ENGINE_FAILURES as exc:
            raise HarnessError(f"{argv[0]} in {service.name} failed: {exc}") from exc
        text: str = (out or b"").decode(errors="replace")
        if code != 0:
            detail = (err or b"").decode(errors="replace").strip() or text.strip()
            raise HarnessError(f"{' '.join(argv)} failed with status {code}: {detail}")
        return text

    def close(self) -> None:
        """Remove every container (in parallel: none needs a graceful end), then the network
        and the scratch folder. Idempotent."""
        services, self._services = self._services, []
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda service: service.stop(grace=0), services))
        remove_network(self.network, Deadline.after(REMOVAL_WAIT))
        self.run_context.close()
        atexit.unregister(self.close)


def _tar_of(folder: Path) -> bytes:
    """The files written into the run's layer, as a tar to unpack at the container's ``/``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for child in sorted(folder.iterdir()) if folder.exists() else []:
            tar.add(str(child), arcname=child.name)
    return buffer.getvalue()


__all__ = ["DockerBackend", "engine", "reap_containers"]
