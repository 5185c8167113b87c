"""The harness's handle on the run's DNS server."""

from __future__ import annotations

import sys

from harness.backends.base import Backend, Service
from harness.dns.zone import DnsFault
from harness.sites.channel import CommandChannel, EventSink
from harness.topology import Endpoint


class DnsHandle:
    """Starts the DNS server for ``hosts`` (domain: its link's address) and faults it per
    domain on request. Its query log goes to ``sink`` as events."""

    def __init__(
        self, backend: Backend, listen: Endpoint, hosts: dict[str, str], sink: EventSink
    ) -> None:
        self.listen = listen
        zone = [f"--zone={domain}={address}" for domain, address in sorted(hosts.items())]
        argv = [sys.executable, "-m", "harness.dns.server", "--listen", str(listen), *zone]
        self.service: Service = backend.spawn("dns", "dns", argv, address=listen.host)
        self._channel = CommandChannel("dns", self.service, sink)

    def wait_ready(self, timeout: float) -> None:
        self._channel.wait_ready(timeout)

    def fault(self, domain: str, fault: DnsFault) -> None:
        """From now on, queries under ``domain`` get what ``fault`` says."""
        self._channel.command(
            {"cmd": "fault", "domain": domain, "kind": fault.kind, "delay": fault.delay}
        )

    def heal(self, domain: str) -> None:
        self._channel.command({"cmd": "heal", "domain": domain})
