"""One link: the Toxiproxy proxy between the MTA and one remote site."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from harness.dns.zone import DnsFault
from harness.errors import UsageError
from harness.links.toxiproxy import ToxiproxyClient
from harness.sites.protocol import Behaviour
from harness.topology import Endpoint, Site


class ResolverControl(Protocol):
    """The run's DNS server, for faults in the lookups that lead to a link (``--routing dns``)."""

    def fault(self, domain: str, fault: DnsFault) -> None: ...

    def heal(self, domain: str) -> None: ...


class SiteControl(Protocol):
    """The far end of a link: the site's own behaviour, for faults above TCP (TLS)."""

    def behave(self, behaviour: Behaviour) -> None: ...

    def forget(self, stage: str) -> None: ...


@dataclass
class Link:
    """The MTA reaches ``site`` only through ``listen``; Toxiproxy forwards it to the site.

    Faults act on a link through :attr:`toxiproxy`, under the proxy name :attr:`name`, or,
    above TCP, on the site at its end (:attr:`far_end`).
    """

    site: Site
    listen: Endpoint
    toxiproxy: ToxiproxyClient
    #: Runs a command in the network namespace that holds ``listen`` (None: no such
    #: namespace of the run's own, as on the local backend).
    netns: Callable[[list[str]], str] | None = None
    far_end: SiteControl | None = None
    #: The DNS server the MTA finds this link by (None: routed statically, no lookup).
    resolver: ResolverControl | None = None

    @property
    def name(self) -> str:
        return self.site.name

    def site_control(self) -> SiteControl:
        """The site at the link's end (faults in its TLS)."""
        if self.far_end is None:
            raise UsageError(f"link to {self.name}: no site to misbehave at its end")
        return self.far_end

    def dns(self) -> ResolverControl:
        """The DNS server that leads the MTA to this link (faults in its lookups)."""
        if self.resolver is None:
            raise UsageError(
                f"link to {self.name}: DNS faults need an MTA that looks its sites up; "
                "use --routing dns"
            )
        return self.resolver

    def in_netns(self, argv: list[str]) -> str:
        """Run ``argv`` where the link's address lives (for faults below TCP)."""
        if self.netns is None:
            raise UsageError(
                f"link to {self.name}: faults below TCP need a network namespace of the run's "
                "own; use --backend docker"
            )
        return self.netns(argv)
