"""A running test world: Toxiproxy, one link and one mock site per remote domain, the MTA.

Data flows workload -> MTA -> links -> sites -> ledger. A world is started once and reused by
many examples; :meth:`World.example` resets it in between so every example starts clean, as
Hypothesis requires (otherwise shrinking would chase state left by earlier examples).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from harness import interrupts
from harness.backends.base import Backend, Service
from harness.backends.chroot import NAMESERVER, RootLayers
from harness.claims.evidence import QueueHold
from harness.claims.facts import FaultWindow
from harness.clock import Deadline, now
from harness.dns.handle import DnsHandle
from harness.errors import HarnessError, UsageError
from harness.faults.base import BELOW_TCP_FAULTS, Fault, fault_kinds
from harness.ledger import Ledger, MessageRecord
from harness.links.link import Link
from harness.links.server import start_toxiproxy
from harness.links.toxiproxy import ToxiproxyClient
from harness.mta.base import MtaAdapter, MtaIdentity, MtaPlan
from harness.rootfs import ensure_rootfs
from harness.sites.handle import SiteHandle
from harness.sites.protocol import Behaviour
from harness.sites.tls import RunCertificates
from harness.timeline import fault_windows
from harness.topology import BOUNCE_SINK, MAX_SITES, Site, remote_sites
from harness.workload import Session, Submitter

START_TIMEOUT = 20.0


@dataclass
class Unmanaged:
    """The :class:`Service` of a program the harness does not own (an external MTA): it shows
    no output, takes no input, and stopping it is not the harness's to do."""

    name: str

    def add_listener(self, listener: Callable[[str], None]) -> None:
        pass  # no output to watch

    def wait_for_line(self, predicate: Callable[[str], bool], timeout: float, what: str) -> str:
        raise HarnessError(f"{self.name} is external: the harness cannot see its output")

    def send(self, line: str) -> None:
        raise HarnessError(f"{self.name} is external: the harness cannot write to it")

    @property
    def returncode(self) -> int | None:
        return None

    def tail(self, lines: int = 15) -> str:
        return f"({self.name} is external: no output captured)"

    def stop(self, grace: float = 5.0) -> None:
        pass  # not ours to stop


@dataclass
class FaultEvent:
    """A fault applied to, or healed on, one link, with its time on the run clock."""

    at: float
    site: str
    kind: str
    action: str  # "apply" or "heal"
    description: str = ""


def image_to_run(adapter: MtaAdapter, image: str | None) -> str | None:
    """The user's image the MTA runs in: ``--mta-image``'s, else its description's; a
    UsageError if this adapter cannot drive one (it has no root filesystem of its own)."""
    if image is not None and not adapter.rootfs and adapter.image is None:
        raise UsageError(
            f"--mta-image {image}: {adapter.name} does not run in a root filesystem of its "
            "own, so it cannot run in your image (postfix, exim, opensmtpd and sendmail can)"
        )
    return image or adapter.image


def can_serve_dns(backend: str) -> bool:
    """Whether a run on ``backend`` can have its DNS server (port 53): in a container of its
    own, or locally as root."""
    return backend == "docker" or os.geteuid() == 0


def default_routing(adapter: MtaAdapter) -> str:
    """How ``adapter`` is routed when nobody says: by the harness's static routes where it
    takes them (the seed's layer alone), else by MX lookup (chasquid has no static routes)."""
    return "static" if "static" in adapter.routings else adapter.routings[0]


def check_routing(adapter: MtaAdapter, routing: str, backend: str) -> None:
    """A UsageError if ``adapter`` cannot find the sites by ``routing`` here."""
    if routing not in adapter.routings:
        raise UsageError(
            f"--routing {routing}: {adapter.name} is routed {' or '.join(adapter.routings)} only"
        )
    if routing == "dns" and not can_serve_dns(backend):
        raise UsageError(
            "--routing dns on the local backend needs root: the run's DNS server listens on "
            "port 53 and the links on port 25"
        )


class World:
    """Everything one run starts, on one backend, for one MTA."""

    def __init__(
        self,
        backend: Backend,
        adapter: MtaAdapter,
        sites: int = MAX_SITES,
        timers: dict[str, float] | None = None,
        fragment: str = "",
        image: str | None = None,
        routing: str | None = None,
    ) -> None:
        image = image_to_run(adapter, image)
        routing = routing or default_routing(adapter)
        self.backend = backend
        self.adapter = adapter
        #: The user's own image of the MTA (``--mta-image``), run instead of the harness's.
        self.image = image
        self.remote_sites: list[Site] = remote_sites(sites)
        self.timers = dict(timers or {})
        self.links: dict[str, Link] = {}
        self.sites: dict[str, SiteHandle] = {}
        self.toxiproxy: ToxiproxyClient | None = None
        self.dns: DnsHandle | None = None
        self._dns_log: deque[dict[str, Any]] = deque(maxlen=5000)
        self._dns_logged = threading.Condition()
        self.mta_service: Service | None = None
        #: The MTA's recent output, searched for evidence about a message it still holds.
        self._mta_lines: deque[str] = deque(maxlen=5000)
        self.identity: MtaIdentity | None = None
        self._ledger: Ledger | None = None
        #: When each site last took a message, in any example (the control starts from it).
        self._last_delivery: dict[str, float] = {}
        #: The example being played, if any (progress lines read it).
        self.current: Example | None = None
        #: Where :meth:`close` keeps the parts' logs (the MTA's among them) as evidence.
        self.keep_logs: Path | None = None
        self._events_lock = threading.Lock()
        self._examples = itertools.count(1)
        addresses = backend.addresses
        workdir = backend.workdir / "mta"
        listen = addresses.mta
        routes = {site.domain: addresses.link(i) for i, site in self._all_sites()}
        if routing == "dns":  # by MX lookup, an MTA connects to port 25: the links listen there
            routes = {domain: replace(link, port=25) for domain, link in routes.items()}
        try:
            check_routing(adapter, routing, backend.name)
            fixed = adapter.fixed_endpoints(self.remote_sites)
            if fixed is not None:
                # Its owner fixed where it listens and routes: the links go where it routes.
                if backend.name != "local":
                    raise UsageError(f"{adapter.name} runs on this machine: use --backend local")
                listen, routes = fixed
        except UsageError:
            backend.close()  # nothing half-started
            raise
        self.plan = MtaPlan(
            listen=listen,
            routes=routes,
            workdir=workdir,
            timers=self.timers,
            root=workdir / "root" if adapter.rootfs or self.image else None,
            fragment=fragment,
            clients=addresses.clients,
            routing=routing,
        )

    def _all_sites(self) -> list[tuple[int, Site]]:
        return [*enumerate(self.remote_sites), (-1, BOUNCE_SINK)]

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> World:
        """Start every part and wait until each is ready; on any failure stop what started."""
        try:
            _service, self.toxiproxy = start_toxiproxy(self.backend, START_TIMEOUT)
            addresses = self.backend.addresses
            # Sites are independent: start them side by side (containers take a while each).
            with ThreadPoolExecutor(max_workers=8) as pool:
                handles = list(
                    pool.map(
                        lambda pair: SiteHandle(
                            self.backend, pair[1], addresses.site(pair[0]), self._on_event
                        ),
                        self._all_sites(),
                    )
                )
            for (_index, site), handle in zip(self._all_sites(), handles, strict=True):
                self.sites[site.name] = handle
                link = self.plan.routes[site.domain]
                self.toxiproxy.create_proxy(site.name, link, handle.listen)
                self.links[site.name] = Link(
                    site, link, self.toxiproxy, self.backend.link_namespace(), far_end=handle
                )
            self.dns = self._start_dns()
            for handle in self.sites.values():
                handle.wait_ready(START_TIMEOUT)
            if self.dns is not None:
                self.dns.wait_ready(START_TIMEOUT)
                self.plan = replace(self.plan, nameserver=self.dns.listen)
                if self.plan.routing == "dns":  # lookups lead to the links: faultable
                    for each in self.links.values():
                        each.resolver = self.dns
            certificates = RunCertificates()  # the run's test CA, in this process only
            for _index, site in self._all_sites():
                self.sites[site.name].offer_tls(certificates.for_site(site))
            self.plan.workdir.mkdir(parents=True, exist_ok=True)
            if self.image is not None:  # the user's own build: its own stock files
                self.plan = replace(self.plan, lower=self.backend.image_files(self.image))
            elif self.adapter.rootfs:
                self.plan = replace(self.plan, lower=ensure_rootfs(self.adapter.rootfs))
            self._start_mta()
            self.identity = replace(
                self.adapter.identity(self.plan, self.backend.run),
                image=self.backend.image_of("mta"),
            )
        except BaseException:
            self.close()
            raise
        return self

    def dns_queries(self) -> list[dict[str, Any]]:
        """What the run's DNS server was asked, and what it answered (recent queries)."""
        with self._dns_logged:
            return list(self._dns_log)

    def dns_queries_for(self, name: str, deadline: Deadline) -> list[dict[str, Any]]:
        """The DNS server's log entries for ``name`` (absolute, with its final dot), waiting
        until there is one or ``deadline`` passes: a thread of its own reads the server's
        log, so a lookup the server just answered may not be in it yet."""

        def entries() -> list[dict[str, Any]]:
            return [e for e in self._dns_log if e.get("name") == name]

        with self._dns_logged:
            self._dns_logged.wait_for(entries, timeout=deadline.remaining())
            return entries()

    def _start_dns(self) -> DnsHandle | None:
        """The run's DNS server, authoritative for the remote domains (each MX at its link),
        where it can listen on port 53: in its own container, or locally as root (which an
        MTA in a root filesystem needs anyway). Its query log is kept as evidence."""
        if not can_serve_dns(self.backend.name):
            return None
        hosts = {site.domain: self.plan.routes[site.domain].host for _, site in self._all_sites()}
        return DnsHandle(self.backend, self.backend.addresses.dns, hosts, self._on_dns_event)

    def _on_dns_event(self, event: dict[str, Any]) -> None:
        # Kept as evidence, and booked: an NXDOMAIN makes a bounce of that domain's mail right.
        with self._dns_logged:
            self._dns_log.append(event)
            self._dns_logged.notify_all()
        self._on_event(event)

    def _root_layers(self) -> RootLayers | None:
        """The MTA's overlay, for an MTA in a root filesystem of its own."""
        if self.plan.root is None or self.plan.lower is None:
            return None
        return RootLayers(
            self.plan.lower,
            self.plan.root,
            self.adapter.rootfs or "",
            self.image,
            tuple(sorted(self.adapter.environment(self.plan).items())),
            self.dns.listen.host if self.dns is not None else NAMESERVER,
        )

    def _start_mta(self) -> None:
        root = self._root_layers()
        if not self.adapter.managed:  # it runs already: nothing to start or stop
            self.mta_service = Unmanaged(self.adapter.name)
        else:
            argv = self.adapter.command(self.plan)
            self.mta_service = self.backend.spawn(
                "mta", self.adapter.name, argv, root=root, address=self.plan.listen.host
            )
            self.mta_service.add_listener(self._mta_lines.append)
        # Where the harness submits: the same address locally, a published port on docker.
        self.plan = replace(self.plan, reach=self.backend.harness_view(self.plan.listen))
        self.adapter.wait_ready(self.mta_service, self.plan, START_TIMEOUT)

    def restart_mta(self, purge: bool) -> None:
        """Stop the MTA (optionally emptying its queue) and start it again."""
        if purge:
            self._keep_mta_log_files()  # read inside the running MTA; the wipe below takes them
        if self.mta_service is not None:
            self.mta_service.stop()
        if purge:
            root = self._root_layers()
            if root is not None:
                root.wipe()  # the MTA and its namespace (and so its mounts) are gone by now
            self.adapter.purge(self.plan)
        self._start_mta()

    def close(self) -> None:
        """Stop everything; first copy every part's log to :attr:`keep_logs` if it is set."""
        if self.toxiproxy is not None:
            self.toxiproxy.close()
        if self.keep_logs is not None:
            self._keep_mta_log_files()
            logs = self.backend.workdir / "logs"
            with contextlib.suppress(OSError):
                shutil.copytree(
                    logs, self.keep_logs / f"logs-{self.backend.run_id}", dirs_exist_ok=True
                )
        self.backend.close()

    def _keep_mta_log_files(self) -> None:
        """Append the MTA's log files (``adapter.log_files``, read inside its root while it
        runs) to ``<mta>-<file>.log`` beside its output's log; a file not written yet, or an
        MTA that died, leaves nothing to keep."""
        if self.mta_service is None or self.mta_service.returncode is not None:
            return
        logs = self.backend.workdir / "logs"
        for path in self.adapter.log_files:
            try:
                text = self.backend.run("mta", ["cat", path], timeout=10.0)
            except HarnessError:
                continue
            with contextlib.suppress(OSError):
                logs.mkdir(parents=True, exist_ok=True)
                kept = logs / f"{self.adapter.name}-{Path(path).name}.log"
                with kept.open("a") as out:
                    out.write(text)

    def __enter__(self) -> World:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- events ---------------------------------------------------------------------------

    def _on_event(self, event: dict[str, Any]) -> None:
        with self._events_lock:
            ledger = self._ledger
            if event.get("event") == "message" and "site" in event and "t" in event:
                site, at = str(event["site"]), float(event["t"])
                self._last_delivery[site] = max(at, self._last_delivery.get(site, at))
        if ledger is not None:
            ledger.on_site_event(event)

    def last_delivery(self, site: str) -> float | None:
        """When ``site`` last took a message, in this example or any before (None: never)."""
        with self._events_lock:
            return self._last_delivery.get(site)

    def check_alive(self) -> None:
        """Raise :class:`HarnessError` if a part of the world died (the MTA's death is the
        MTA's fault and is reported by the caller as a failure, not here)."""
        for handle in self.sites.values():
            if handle.service.returncode is not None:
                raise HarnessError(f"mock site {handle.site.name} died:\n{handle.service.tail()}")

    def fault_kinds(self, base: tuple[str, ...]) -> tuple[str, ...]:
        """``base`` plus every other layer's faults this world can make: in the sites'
        STARTTLS always, below TCP where its links have a network namespace, in DNS where
        its MTA finds the sites by MX lookup. In that order: shrinking prefers ``base``."""
        more = tuple(fault_kinds("tls"))
        if self.backend.link_namespace() is not None:
            more = BELOW_TCP_FAULTS + more
        if self.plan.routing == "dns":
            more += tuple(fault_kinds("dns"))
        return base + tuple(k for k in more if k not in base)

    def queued_recipients(self) -> set[str]:
        """The recipients the MTA's queue holds (empty if it cannot list its queue)."""
        entries = self.adapter.queue(self.plan, self.backend.run) or []
        return {rcpt for entry in entries for rcpt in entry.recipients}

    def held_messages(self) -> dict[str, QueueHold] | None:
        """Every recipient the MTA still holds, with why, in its own words (one queue
        listing): its queue id, the reason the listing gives, and its last log lines about
        that queue id. None if this MTA cannot list its queue."""
        entries = self.adapter.queue(self.plan, self.backend.run)
        if entries is None:
            return None
        held: dict[str, QueueHold] = {}
        # A copy, taken at once: the MTA's output thread appends while this looks, and a
        # deque changed during iteration raises (chasquid logging a 220-message backlog).
        lines = self._mta_lines.copy()
        for entry in entries:
            about = [line.strip() for line in lines if entry.queue_id in line]
            detail = QueueHold(
                queue_id=entry.queue_id,
                reason=entry.reason,
                mta_log=" | ".join(about[-3:]) if about else None,
            )
            held.update(dict.fromkeys(entry.recipients, detail))
        return held

    def retry_now(self) -> str | None:
        """Ask the MTA to retry everything it holds now (Postfix ``postqueue -f``, ...): what
        its command printed, or None if this MTA cannot be asked."""
        return self.adapter.retry_now(self.plan, self.backend.run)

    # -- examples -------------------------------------------------------------------------

    @contextmanager
    def example(self) -> Iterator[Example]:
        """A clean slate for one example: links healed, sites tame, MTA queue empty."""
        assert self.toxiproxy is not None, "start() the world first"
        interrupts.check()
        self.check_alive()
        self.toxiproxy.reset()
        namespace = self.backend.link_namespace()
        if namespace is not None:
            # Rules below TCP are only ever the harness's own in this namespace: flush them.
            namespace(["iptables", "-F", "INPUT"])
            namespace(["iptables", "-F", "OUTPUT"])
        for handle in self.sites.values():
            if handle.misbehaving:
                handle.clear()
        mta_dead = self.mta_service is None or self.mta_service.returncode is not None
        if mta_dead or self.queued_recipients():
            self.restart_mta(purge=True)
            left = self.queued_recipients()
            if left:  # examples must be independent: never start one on a dirty queue
                raise HarnessError(f"the MTA's queue still holds {sorted(left)} after a purge")
        ledger = Ledger(prefix=f"e{next(self._examples)}")
        with self._events_lock:
            self._ledger = ledger
        example = Example(self, ledger)
        self.current = example
        try:
            yield example
        finally:
            example.close()
            self.current = None
            with self._events_lock:
                self._ledger = None


class Background(Protocol):
    """Work a step started that runs beside the timeline (:class:`harness.steps.load.LoadRun`)."""

    def wait(self) -> None:
        """Return once it ended and every message it sent was answered."""

    def window(self) -> tuple[float, float]:
        """When it ran (start, end), on the run's clock."""

    def close(self) -> None:
        """Stop it now (the example is being torn down)."""


@dataclass
class Example:
    """One example in a running world: submit mail, cut and heal links, read the ledger."""

    world: World
    ledger: Ledger
    timeline: list[FaultEvent] = field(default_factory=list)
    started_at: float = field(default_factory=now)
    _active: dict[str, Fault] = field(default_factory=dict)
    _misbehaving: set[str] = field(default_factory=set)
    _sessions: dict[int, Session] = field(default_factory=dict)
    #: Work the timeline started that runs beside it (a load), waited for before judging.
    background: list[Background] = field(default_factory=list)

    def site(self, index: int) -> Site:
        return self.world.remote_sites[index]

    def site_named(self, name: str) -> Site:
        """The site called ``name`` (``site-a``, ..., or the bounce sink)."""
        return self.world.sites[name].site

    def _session(self, number: int) -> Session:
        if number not in self._sessions:
            submitter = Submitter(self.world.plan.smtp, self.ledger, self.world.adapter.login)
            self._sessions[number] = Session(submitter)
        return self._sessions[number]

    def new_session(self) -> Session:
        """An SMTP session of the workload's own, outside the numbered ones (a load's)."""
        return Session(Submitter(self.world.plan.smtp, self.ledger, self.world.adapter.login))

    def run_in_background(self, work: Background) -> None:
        """Keep ``work`` (started by a step) running beside the timeline until judging."""
        self.background.append(work)

    def wait_for_background(self) -> None:
        """Return once the work the steps started in the background ended."""
        for work in list(self.background):
            work.wait()

    def load_windows(self) -> list[tuple[float, float]]:
        """When each load of this example ran."""
        return [work.window() for work in self.background]

    def send(self, site: Site, session: int = 0) -> None:
        """Submit a message to ``site`` over SMTP session ``session``, in the background:
        sessions run side by side, messages on one session one after another."""
        self._session(session).send(site)

    def wait_for_sends(self) -> None:
        """Return once every message sent so far was answered (accepted or refused)."""
        for session in list(self._sessions.values()):
            session.wait()

    def submit(self, site: Site, session: int = 0) -> MessageRecord:
        """Submit a message to ``site`` and wait for the MTA's answer."""
        record = self._session(session).send(site)
        self._session(session).wait()
        return record.result()

    def apply(self, site: Site, fault: Fault) -> None:
        if site.name in self._active:
            raise ValueError(f"link to {site.name} is already faulted")
        fault.apply(self.world.links[site.name])
        self._active[site.name] = fault
        self.timeline.append(FaultEvent(now(), site.name, fault.kind, "apply", fault.describe()))

    def misbehave(self, site: Site, behaviour: Behaviour) -> None:
        """Make ``site`` itself misbehave at the SMTP level (booked like a link fault)."""
        self.world.sites[site.name].behave(behaviour)
        self._misbehaving.add(site.name)
        self.timeline.append(
            FaultEvent(now(), site.name, f"site:{behaviour.stage}", "apply", behaviour.describe())
        )

    def tame(self, site: Site) -> None:
        """``site`` answers normally again."""
        self.world.sites[site.name].clear()
        self._misbehaving.discard(site.name)
        self.timeline.append(FaultEvent(now(), site.name, "site", "heal"))

    def heal(self, site: Site) -> None:
        fault = self._active.pop(site.name)
        fault.heal(self.world.links[site.name])
        self.timeline.append(FaultEvent(now(), site.name, fault.kind, "heal"))

    def heal_all(self) -> float:
        """Heal every active fault, on links and sites; returns the time the last one healed."""
        sites = self.world.sites
        for name in list(self._active):
            self.heal(sites[name].site)
        for name in sorted(self._misbehaving):
            self.tame(sites[name].site)
        return now()

    def fault_windows(self) -> list[FaultWindow]:
        """Every fault of this example so far, link or site; those still on end at inf."""
        events = ((e.site, e.kind, e.action, e.at) for e in self.timeline)
        return [
            FaultWindow(site, kind, start, end) for site, kind, start, end in fault_windows(events)
        ]

    def active_faults(self) -> list[str]:
        """What is wrong right now, in words (for progress lines): "site-a: blackhole"."""
        now_active = [f"{name}: {fault.kind}" for name, fault in list(self._active.items())]
        return now_active + [f"{name}: misbehaving" for name in sorted(self._misbehaving)]

    def close(self) -> None:
        for work in self.background:
            work.close()
        for session in self._sessions.values():
            session.close()
