"""The shape of a test world: which remote sites exist and where everything listens.

Every remote site gets its own IP address, not just its own port: OpenSMTPD and others key
connection limits and "route disabled" state by address, so sites sharing an address would
make the harness itself cause head-of-line blocking.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

MAX_SITES = 6
#: Envelope sender of every message the harness submits; its domain routes to the bounce sink,
#: so a bounce (DSN) is recorded like any delivery and the ledger can account for it.
SENDER = "harness@bounces.test"
BOUNCE_DOMAIN = "bounces.test"


@dataclass(frozen=True)
class Endpoint:
    """A TCP address."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Site:
    """A mock remote site: one mail domain served by one SMTP server."""

    name: str
    domain: str


def remote_sites(count: int) -> list[Site]:
    """``count`` remote sites named site-a, site-b, ..."""
    if not 1 <= count <= MAX_SITES:
        raise ValueError(f"a topology has 1 to {MAX_SITES} remote sites, not {count}")
    return [
        Site(f"site-{letter}", f"site-{letter}.test") for letter in string.ascii_lowercase[:count]
    ]


BOUNCE_SINK = Site("bounces", BOUNCE_DOMAIN)


@dataclass(frozen=True)
class AddressPlan:
    """Where each part of one run listens: the run's own /24.

    Slot ``s`` owns ``<prefix>.s.0/24``: the MTA on ``.2``, Toxiproxy's API on ``.3``, the
    bounce sink on ``.10``, site *i* on ``.11+i`` and the link (proxy) to site *i* on
    ``.111+i``, the run's DNS server on ``.53`` (port 53). Two runs hold different slots, so
    they never share an address.
    """

    slot: int
    smtp_port: int = 2525
    api_port: int = 8474
    #: The first two octets: loopback on the local backend, the run's private bridge network
    #: on the docker backend.
    prefix: str = "127.0"

    def _ip(self, last: int) -> str:
        return f"{self.prefix}.{self.slot}.{last}"

    @property
    def clients(self) -> tuple[str, ...]:
        """Networks the MTA sees the harness's submissions come from (allowed to relay):
        loopback, and on a bridge network its gateway (published ports arrive through it)."""
        if self.prefix == "127.0":
            return ("127.0.0.0/8",)
        return ("127.0.0.0/8", f"{self.prefix}.{self.slot}.1/32")

    @property
    def mta(self) -> Endpoint:
        return Endpoint(self._ip(2), self.smtp_port)

    @property
    def dns(self) -> Endpoint:
        """The run's DNS server, on the port resolvers ask (53: root, as real MTAs run)."""
        return Endpoint(self._ip(53), 53)

    @property
    def toxiproxy_api(self) -> Endpoint:
        return Endpoint(self._ip(3), self.api_port)

    def site(self, index: int) -> Endpoint:
        """Where site ``index`` listens; index -1 is the bounce sink."""
        return Endpoint(self._ip(11 + index), self.smtp_port)

    def link(self, index: int) -> Endpoint:
        """Where the link (Toxiproxy proxy) to site ``index`` listens."""
        return Endpoint(self._ip(111 + index), self.smtp_port)
