"""Faults: what is done to a link. A new fault is one new module that calls ``register_fault``."""

from harness.faults import toxics as _builtin  # noqa: F401  (registers the built-in faults)
from harness.faults.base import (
    CERTIFICATION_FAULTS,
    Fault,
    FaultFactory,
    fault_kinds,
    make_fault,
    register_fault,
)

__all__ = [
    "CERTIFICATION_FAULTS",
    "Fault",
    "FaultFactory",
    "fault_kinds",
    "make_fault",
    "register_fault",
]
