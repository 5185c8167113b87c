"""The Fault extension point: what is done to a link, and how it is undone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from harness.links.link import Link


@runtime_checkable
class Fault(Protocol):
    """Something done to one link. ``apply`` and ``heal`` may be called at any moment."""

    @property
    def kind(self) -> str:
        """Short name used in scenarios, reports and on the command line."""

    def apply(self, link: Link) -> None:
        """Start the fault on ``link``."""

    def heal(self, link: Link) -> None:
        """Undo exactly what :meth:`apply` did."""

    def describe(self) -> str:
        """What the MTA sees, in a few words, for reports."""


#: Builds a fault for a property bound (seconds): "latency beyond the bound" needs the bound.
FaultFactory = Callable[[float], Fault]

_REGISTRY: dict[str, FaultFactory] = {}
#: Where each kind strikes: ``link`` (the TCP link, Toxiproxy or below), ``tls`` (the site's
#: STARTTLS), ``dns`` (the run's DNS server). Reports tell the layers apart.
_LAYERS: dict[str, str] = {}
LAYERS = ("link", "tls", "dns")


def register_fault(kind: str, layer: str = "link") -> Callable[[FaultFactory], FaultFactory]:
    """Make a fault available by name to suites, scenarios and the CLI; ``layer`` is where
    it strikes (one of :data:`LAYERS`)."""
    if layer not in LAYERS:
        raise ValueError(f"fault kind {kind!r}: layer {layer!r} is not one of {LAYERS}")

    def decorate(factory: FaultFactory) -> FaultFactory:
        if kind in _REGISTRY:
            raise ValueError(f"fault kind {kind!r} is registered twice")
        _REGISTRY[kind] = factory
        _LAYERS[kind] = layer
        return factory

    return decorate


def fault_layer(kind: str) -> str:
    """Where fault ``kind`` strikes; a site's misbehaviour (``site:...``) is ``site``, and a
    kind this process does not know (a plugin's, in a record read elsewhere) ``link``."""
    if kind.startswith("site"):
        return "site"
    return _LAYERS.get(kind, "link")


#: The certification profile: the seed's link faults. Stricter ones (bandwidth, and the
#: site-level faults of ``suites/strict``) belong to the ``strict`` profile.
CERTIFICATION_FAULTS = ("blackhole", "refuse", "reset", "latency")
#: Faults below TCP (iptables in a namespace the run owns): drawn where links have one.
BELOW_TCP_FAULTS = ("syn-drop", "loss", "one-way")


def fault_kinds(layer: str | None = None) -> list[str]:
    """Registered fault kinds (those of ``layer`` alone, if given: ``fault_kinds("tls")``),
    in registration order (the simplest first, for shrinking)."""
    return [kind for kind in _REGISTRY if layer is None or _LAYERS[kind] == layer]


def make_fault(kind: str, bound: float) -> Fault:
    try:
        factory = _REGISTRY[kind]
    except KeyError:
        raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(_REGISTRY)}") from None
    return factory(bound)
