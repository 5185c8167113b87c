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
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # what type checkers see; at run time each name is imported on first use
    from harness.backends import open_backend as open_backend
    from harness.claims import Bounds as Bounds
    from harness.claims import Claim as Claim
    from harness.claims import ClaimResult as ClaimResult
    from harness.claims import Verdict as Verdict
    from harness.claims import default_claims as default_claims
    from harness.errors import HarnessError as HarnessError
    from harness.errors import UsageError as UsageError
    from harness.faults import BELOW_TCP_FAULTS as BELOW_TCP_FAULTS
    from harness.faults import CERTIFICATION_FAULTS as CERTIFICATION_FAULTS
    from harness.faults import Fault as Fault
    from harness.faults import fault_kinds as fault_kinds
    from harness.faults import make_fault as make_fault
    from harness.faults import register_fault as register_fault
    from harness.ledger import Ledger as Ledger
    from harness.mta import get_adapter as get_adapter
    from harness.plugin import ExampleLog as ExampleLog
    from harness.plugin import Judge as Judge
    from harness.plugin import OutageSettings as OutageSettings
    from harness.plugin import load_outages as load_outages
    from harness.plugin import scenario_files as scenario_files
    from harness.scenario import ExampleResult as ExampleResult
    from harness.scenario import Scenario as Scenario
    from harness.scenario import play as play
    from harness.scenario_file import load_outage as load_outage
    from harness.sites.protocol import Behaviour as Behaviour
    from harness.steps import Cut as Cut
    from harness.steps import Heal as Heal
    from harness.steps import Misbehave as Misbehave
    from harness.steps import Send as Send
    from harness.steps import Step as Step
    from harness.steps import Tame as Tame
    from harness.strategies import outages as outages
    from harness.strategies import scenarios as scenarios
    from harness.strategies import steer as steer
    from harness.timeline import Outage as Outage
    from harness.world import Example as Example
    from harness.world import World as World

#: Public name -> the module that defines it (the TYPE_CHECKING block above, at run time).
_PUBLIC = {
    "BELOW_TCP_FAULTS": "harness.faults",
    "Behaviour": "harness.sites.protocol",
    "Bounds": "harness.claims",
    "CERTIFICATION_FAULTS": "harness.faults",
    "Claim": "harness.claims",
    "ClaimResult": "harness.claims",
    "Cut": "harness.steps",
    "Example": "harness.world",
    "ExampleLog": "harness.plugin",
    "ExampleResult": "harness.scenario",
    "Judge": "harness.plugin",
    "Fault": "harness.faults",
    "HarnessError": "harness.errors",
    "Heal": "harness.steps",
    "Ledger": "harness.ledger",
    "Misbehave": "harness.steps",
    "Outage": "harness.timeline",
    "OutageSettings": "harness.plugin",
    "Scenario": "harness.scenario",
    "Send": "harness.steps",
    "Step": "harness.steps",
    "Tame": "harness.steps",
    "UsageError": "harness.errors",
    "Verdict": "harness.claims",
    "World": "harness.world",
    "default_claims": "harness.claims",
    "fault_kinds": "harness.faults",
    "get_adapter": "harness.mta",
    "load_outage": "harness.scenario_file",
    "load_outages": "harness.plugin",
    "make_fault": "harness.faults",
    "open_backend": "harness.backends",
    "outages": "harness.strategies",
    "play": "harness.scenario",
    "register_fault": "harness.faults",
    "scenario_files": "harness.plugin",
    "scenarios": "harness.strategies",
    "steer": "harness.strategies",
}

__all__ = [*_PUBLIC, "__version__"]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
