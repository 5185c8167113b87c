"""One link: the Toxiproxy proxy between the MTA and one remote site."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness.errors import UsageError
from harness.links.toxiproxy import ToxiproxyClient
from harness.topology import Endpoint, Site


@dataclass
class Link:
    """The MTA reaches ``site`` only through ``listen``; Toxiproxy forwards it to the site.

    Faults act on a link through :attr:`toxiproxy`, under the proxy name :attr:`name`.
    """

    site: Site
    listen: Endpoint
    toxiproxy: ToxiproxyClient
    #: Runs a command in the network namespace that holds ``listen`` (None: no such
    #: namespace of the run's own, as on the local backend).
    netns: Callable[[list[str]], str] | None = None

    @property
    def name(self) -> str:
        return self.site.name

    def in_netns(self, argv: list[str]) -> str:
        """Run ``argv`` where the link's address lives (for faults below TCP)."""
        if self.netns is None:
            raise UsageError(
                f"link to {self.name}: faults below TCP need a network namespace of the run's "
                "own; use --backend docker"
            )
        return self.netns(argv)
