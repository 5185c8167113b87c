"""The run options, defined once: the pytest plugin and the CLI are both built from this
table, with the same names, types, validation, defaults and help.

A new run option is one :class:`RunOption` here (and the code that reads it): ``pytest
--help`` and ``mta-harness certify --help`` show it, both validate it the same way, and the
CLI hands it to the suites it runs by :func:`pytest_args`.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from harness.backends import BACKENDS
from harness.claims.base import Bounds
from harness.mta import ADAPTERS
from harness.shards import parse_shard

#: How an MTA finds the remote sites (``MtaPlan.routing``).
ROUTINGS = ("static", "dns")
#: The MTA a run certifies when none is named: the seed's fixed model, which needs nothing.
DEFAULT_MTA = "seedmta-async"
#: Seconds Hypothesis may spend shrinking one failure against a real MTA.
DEFAULT_SHRINK_BUDGET = 60.0


def positive_seconds(text: str) -> float:
    """A number of seconds above zero (a command-line value)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text}")
    return value


def positive_rate(text: str) -> float:
    """Messages a second, above zero and at most the load step's own limit."""
    from harness.steps.load import MAX_RATE

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected messages a second, got {text!r}") from None
    if not math.isfinite(value) or not 0 < value <= MAX_RATE:
        raise argparse.ArgumentTypeError(
            f"must be more than 0 and at most {MAX_RATE:g}, got {text}"
        )
    return value


class _Adds(Protocol):
    """What both argparse's parsers and pytest's option groups offer."""

    def addoption(self, *names: str, **kwargs: Any) -> None: ...


@dataclass(frozen=True)
class RunOption:
    """One option of a run, as both the CLI and the pytest plugin take it."""

    flag: str
    help: str
    default: Any = None
    type: Callable[[str], Any] | None = None
    #: A switch (``store_true``) rather than an option with a value.
    switch: bool = False
    choices: Sequence[str] | None = None
    metavar: str | None = None

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")

    @property
    def unset(self) -> Any:
        """Its value when not given: a switch is off."""
        return False if self.switch else self.default

    def kwargs(self, default: Any) -> dict[str, Any]:
        if self.switch:
            return {"action": "store_true", "help": self.help}
        out: dict[str, Any] = {"default": default, "help": self.help}
        for key in ("type", "choices", "metavar"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


RUN_OPTIONS: tuple[RunOption, ...] = (
    RunOption(
        "--mta",
        f"MTA under test: {', '.join(sorted(ADAPTERS))}, or a .toml MTA description "
        f"(default {DEFAULT_MTA})",
        default=DEFAULT_MTA,
    ),
    RunOption("--backend", "where the test world runs (default local)", "local", choices=BACKENDS),
    RunOption(
        "--mta-config",
        "your configuration fragment, merged last into the MTA's "
        "(Postfix: main.cf lines, e.g. default_process_limit = 1)",
        metavar="FILE",
        type=Path,
    ),
    RunOption(
        "--mta-image",
        "certify your own build of the MTA: a local or pulled image holding it, driven by the "
        "--mta adapter (docker backend; e.g. --mta postfix --mta-image myorg/postfix:candidate)",
        metavar="IMAGE",
    ),
    RunOption(
        "--routing",
        "how the MTA finds each remote site: static (routes the harness renders: transport "
        "maps, manualroute, relay host) or dns (MX lookups against the run's own DNS server; "
        "default static, or dns for an MTA that has no static routes)",
        choices=ROUTINGS,
    ),
    RunOption(
        "--bound",
        "seconds a healthy site's message may take while other links are down "
        f"(default: a scenario file's own, else {Bounds.delivery:g})",
        type=positive_seconds,
    ),
    RunOption(
        "--recovery-bound",
        "seconds every accepted message may take once links heal "
        f"(default: a scenario file's own, else {Bounds.recovery:g})",
        type=positive_seconds,
    ),
    RunOption(
        "--require-recovery",
        "make slow recovery (mail delivered more than the recovery bound after its link "
        "healed) a failure; by default it is a graded warning",
        switch=True,
    ),
    RunOption(
        "--shrink-budget",
        "seconds Hypothesis may spend shrinking a failure against a real MTA before it "
        f"reports the best counterexample so far (default {DEFAULT_SHRINK_BUDGET:g})",
        default=DEFAULT_SHRINK_BUDGET,
        type=positive_seconds,
    ),
    RunOption(
        "--shard",
        "play part K of N of the search: every property with a seed of its own derived from "
        "the run's, and every Nth scenario file; `mta-harness merge` makes the shards' "
        "records one certificate",
        type=parse_shard,
        metavar="K/N",
    ),
    RunOption(
        "--example-db",
        "a Hypothesis example database shared by runs (redis://HOST:PORT/DB, or a folder), "
        "beside the local one: a failure one run found is replayed first by the others",
        metavar="URL",
    ),
    RunOption(
        "--load",
        "also play the outages under sustained load (fixtures/scenarios/load/) at RATE "
        "messages a second, judged by healthy_throughput (certify adds suites/test_load.py)",
        type=positive_rate,
        metavar="RATE",
    ),
    RunOption(
        "--strict-duplicates",
        "fail on every duplicate delivery, even SMTP's at-least-once case (the connection "
        "carrying the first copy closed without QUIT after the final dot)",
        switch=True,
    ),
)


def add_options(adds: _Adds, defaults: Mapping[str, Any] | None = None) -> None:
    """Add every run option to ``adds`` (a pytest option group, or an argparse parser
    through :func:`add_arguments`); ``defaults`` overrides some defaults by ``dest``."""
    for option in RUN_OPTIONS:
        default = (defaults or {}).get(option.dest, option.default)
        adds.addoption(option.flag, **option.kwargs(default))


def add_arguments(
    parser: argparse.ArgumentParser, defaults: Mapping[str, Any] | None = None
) -> None:
    """The run options on a CLI subcommand."""

    class Adapter:
        def addoption(self, *names: str, **kwargs: Any) -> None:
            parser.add_argument(*names, **kwargs)

    add_options(Adapter(), defaults)


def pytest_args(values: argparse.Namespace) -> list[str]:
    """The run options a CLI command was given, as the suites' pytest takes them."""
    out = []
    for option in RUN_OPTIONS:
        value = getattr(values, option.dest, None)
        if value is None or value is False:
            continue
        if option.switch:
            out.append(option.flag)
        else:
            text = str(value.resolve()) if isinstance(value, Path) else str(value)
            out.append(f"{option.flag}={text}")
    return out


def run_bounds(
    delivery: float | None, recovery: float | None, require_recovery: bool, own: Bounds | None
) -> Bounds:
    """The bounds a run judges by: the command line's where given, else a scenario file's
    own (``own``), else the harness's defaults. The one place this rule lives."""
    base = own or Bounds()
    return Bounds(
        delivery or base.delivery,
        recovery or base.recovery,
        base.retry,
        require_recovery or base.require_recovery,
    )
