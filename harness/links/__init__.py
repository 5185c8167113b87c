"""Links: the path from the MTA to each remote site, every one through a Toxiproxy proxy."""

from harness.links.link import Link
from harness.links.toxiproxy import ToxiproxyClient, ToxiproxyError

__all__ = ["Link", "ToxiproxyClient", "ToxiproxyError"]
