"""Faults: what is done to a link. A new fault is one new module that calls ``register_fault``."""

# Registers the built-in faults: the seed's Toxiproxy faults first (shrinking prefers the
# first kind), then those below TCP (netfilter imports toxics before registering its own),
# then those in the sites' STARTTLS, then those in the run's DNS.
from harness.faults import netfilter as _builtin  # noqa: F401

# isort: split
from harness.faults import tls as _tls  # noqa: F401

# isort: split
from harness.faults import dns as _dns  # noqa: F401
from harness.faults.base import (
    BELOW_TCP_FAULTS,
    CERTIFICATION_FAULTS,
    Fault,
    FaultFactory,
    fault_kinds,
    fault_layer,
    make_fault,
    register_fault,
)

__all__ = [
    "BELOW_TCP_FAULTS",
    "CERTIFICATION_FAULTS",
    "Fault",
    "FaultFactory",
    "fault_kinds",
    "fault_layer",
    "make_fault",
    "register_fault",
]
