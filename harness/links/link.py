"""One link: the Toxiproxy proxy between the MTA and one remote site."""

from __future__ import annotations

from dataclasses import dataclass

from harness.links.toxiproxy import ToxiproxyClient
from harness.topology import Endpoint, Site


@dataclass
class Link:
    """The MTA reaches ``site`` only through ``listen``; Toxiproxy forwards to ``upstream``.

    Faults act on a link through :attr:`toxiproxy`, under the proxy name :attr:`name`.
    """

    site: Site
    listen: Endpoint
    upstream: Endpoint
    toxiproxy: ToxiproxyClient

    @property
    def name(self) -> str:
        return self.site.name
