"""mta-harness: fault-injection tests for mail transfer agents.

The claim it certifies: one dead link never stalls delivery to healthy sites, and no mail is
lost. Data flows workload -> MTA -> links -> sites -> ledger -> claims -> report.

The public surface, for writing your own outage tests (imported lazily, so that the small
programs the harness starts, such as a mock site, stay quick to start)::

    from harness import Bounds, Scenario, World, open_backend, get_adapter, play
    with World(open_backend("local"), get_adapter("postfix"), sites=2) as world:
        result = play(world, Scenario(2, ((0, "blackhole"),), (0, 1)), Bounds())
        assert result.holds, result.explain()

An outage can also be read from a scenario file (``load_outage``) and played the same way.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_PUBLIC = {
    "Behaviour": "harness.sites.protocol",
    "Bounds": "harness.claims",
    "Example": "harness.world",
    "ExampleResult": "harness.scenario",
    "Fault": "harness.faults",
    "HarnessError": "harness.errors",
    "Ledger": "harness.ledger",
    "Outage": "harness.timeline",
    "Scenario": "harness.scenario",
    "UsageError": "harness.errors",
    "World": "harness.world",
    "get_adapter": "harness.mta",
    "load_outage": "harness.scenario_file",
    "make_fault": "harness.faults",
    "open_backend": "harness.backends",
    "play": "harness.scenario",
    "register_fault": "harness.faults",
    "scenarios": "harness.strategies",
}

__all__ = [*_PUBLIC, "__version__"]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
