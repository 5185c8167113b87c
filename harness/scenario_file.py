"""Scenario files: an outage written down in TOML, checked against a schema before anything runs.

::

    [run]                     # optional defaults; the command line wins
    mta = "postfix"
    backend = "local"

    [topology]
    sites = 3                 # site-a, site-b, site-c

    [expect]                  # optional; defaults are the harness's bounds
    bound = 3.0               # seconds a healthy site's message may take
    recovery = 30.0           # recovery is graded against this (heal to delivery)
    retry = 30.0              # after asking the MTA to retry now, to deliver what it holds
    require_recovery = false  # true: slow recovery fails instead of warning

    [[timeline]]              # steps, in order; "at" = seconds since the start
    at = 0.0
    do = "fault"              # fault | heal | send | misbehave | tame
    link = "site-a"
    fault = "blackhole"

The schema is pydantic's (strict: a string is not a number). Every problem is reported with
the file, its line where one can be found, the field, and what was expected.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.backends import BACKENDS
from harness.claims.base import Bounds
from harness.errors import UsageError
from harness.mta import ADAPTERS
from harness.schema import Problem, dotted
from harness.schema import problems as schema_problems
from harness.steps import FILE_MODELS, FileModel, Step
from harness.timeline import Outage, check_steps, lookup_faults, vacuous
from harness.topology import MAX_SITES

#: The shipped scenario library, beside the harness package in a source checkout.
SCENARIOS = Path(__file__).resolve().parent.parent / "fixtures" / "scenarios"

Bound = Annotated[float, Field(gt=0, le=3600)]


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class RunSection(_Model):
    mta: str | None = None
    backend: str | None = None
    routing: Literal["static", "dns"] | None = None


class Topology(_Model):
    sites: Annotated[int, Field(ge=1, le=MAX_SITES)]


class Expect(_Model):
    bound: Bound = Bounds.delivery
    recovery: Bound = Bounds.recovery
    retry: Bound = Bounds.retry
    require_recovery: bool = False
    strict_duplicates: bool = False


class ScenarioFile(_Model):
    name: Annotated[str, Field(min_length=1, max_length=80)] | None = None
    description: str = ""
    run: RunSection = RunSection()
    topology: Topology
    expect: Expect = Expect()
    #: Each table is checked by its own step kind's model (``harness.steps``), by ``do``.
    timeline: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=1000)]


class ScenarioError(UsageError):
    """A scenario file is malformed; the message names file, line, field and expectation."""


def load_outage(path: Path) -> Outage:
    """Read and check a scenario file; raise :class:`ScenarioError` naming every problem."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario file: {exc.strerror}") from None
    return parse_outage(text, str(path))


def parse_outage(text: str, source: str) -> Outage:
    """Check ``text`` (a scenario file's content); ``source`` names it in messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        where = f"{source}:{line.group(1)}" if line else source
        raise ScenarioError(f"{where}: not valid TOML: {exc}") from None
    try:
        model = ScenarioFile.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_join(_lines(text, source, schema_problems(exc)))) from None
    steps, problems = _steps(model)
    if not problems:
        problems = _semantic_problems(model, steps)
    if problems:
        raise ScenarioError(_join(_lines(text, source, problems)))
    return _to_outage(model, steps, Path(source).stem)


def _steps(model: ScenarioFile) -> tuple[tuple[Step, ...], list[Problem]]:
    """Each timeline table read by the model its ``do`` names; a tag nobody registered is
    an error, never a step skipped in silence."""
    steps: list[Step] = []
    problems: list[Problem] = []
    tags = ", ".join(sorted(FILE_MODELS))
    for index, table in enumerate(model.timeline):
        where: tuple[str | int, ...] = ("timeline", index)
        tag = table.get("do")
        if tag is None:
            problems.append((where, f"every step needs do = {' | '.join(sorted(FILE_MODELS))}"))
            continue
        if tag not in FILE_MODELS:
            problems.append(((*where, "do"), f"expected one of {tags}, got {tag!r}"))
            continue
        try:
            step: FileModel = FILE_MODELS[str(tag)].model_validate(table)
        except ValidationError as exc:
            problems += schema_problems(exc, where)
            continue
        problems += [((*where, key), message) for key, message in step.problems()]
        steps.append(step.to_step())
    return tuple(steps), problems


def _semantic_problems(model: ScenarioFile, steps: tuple[Step, ...]) -> list[Problem]:
    problems: list[Problem] = []
    if model.run.mta is not None and not (
        model.run.mta in ADAPTERS or model.run.mta.endswith(".toml")
    ):
        problems.append(
            (
                ("run", "mta"),
                f"expected one of {', '.join(sorted(ADAPTERS))} or a .toml MTA "
                f"description, got {model.run.mta!r}",
            )
        )
    if model.run.backend is not None and model.run.backend not in BACKENDS:
        problems.append(
            (
                ("run", "backend"),
                f"expected one of {', '.join(BACKENDS)}, got {model.run.backend!r}",
            )
        )
    for index, key, message in check_steps(model.topology.sites, steps):
        problems.append((("timeline", index, key), message))
    for index in lookup_faults(steps) if model.run.routing != "dns" else []:
        kind = steps[index].to_json()["fault"]
        problems.append(
            (
                ("timeline", index, "fault"),
                f'{kind} faults lookups: the file needs [run] routing = "dns"',
            )
        )
    if not any(step.mail() for step in steps):
        problems.append((("timeline",), 'expected at least one step with do = "send"'))
    else:
        problems += [(("timeline",), message) for message in vacuous(model.topology.sites, steps)]
    return problems


def _to_outage(model: ScenarioFile, steps: tuple[Step, ...], stem: str) -> Outage:
    return Outage(
        sites=model.topology.sites,
        steps=steps,
        name=model.name or stem,
        description=model.description.strip(),
        bounds=Bounds(
            model.expect.bound,
            model.expect.recovery,
            model.expect.retry,
            model.expect.require_recovery,
        ),
        strict_duplicates=model.expect.strict_duplicates,
        mta=model.run.mta,
        backend=model.run.backend,
        routing=model.run.routing,
    )


# -- messages --------------------------------------------------------------------------------


def _lines(text: str, source: str, problems: list[Problem]) -> list[str]:
    return [_problem_line(text, source, loc, message) for loc, message in problems]


def _join(lines: list[str]) -> str:
    if len(lines) == 1:
        return lines[0]
    return f"{len(lines)} problems in the scenario file:\n" + "\n".join(
        "  " + line for line in lines
    )


def _problem_line(text: str, source: str, loc: tuple[str | int, ...], message: str) -> str:
    line = find_line(text, loc)
    where = f"{source}:{line}" if line else source
    return f"{where}: {dotted(loc)}: {message}"


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.-]+)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")


def find_line(text: str, loc: tuple[str | int, ...]) -> int | None:
    """The line (1-based) where the field at ``loc`` is written, or its table's header; None
    when the file's layout is not the plain one (dotted keys, inline tables)."""
    if not loc:
        return None
    table, rest = str(loc[0]), list(loc[1:])
    occurrence = rest.pop(0) if rest and isinstance(rest[0], int) else None
    key = next((str(p) for p in rest if isinstance(p, str)), None)
    seen = -1
    in_table = False
    header_line: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            in_table = False
            if header.group(2) == table:
                seen += 1
                if seen == occurrence or (occurrence is None and header_line is None):
                    in_table, header_line = True, number
            continue
        if key is None and header_line is None:
            match = _KEY.match(line)
            if match and match.group(1) == table:
                return number  # a top-level key
        if in_table and key is not None:
            match = _KEY.match(line)
            if match and match.group(1) == key:
                return number
    return header_line


# -- writing ---------------------------------------------------------------------------------


def dump_outage(
    outage: Outage,
    header: str,
    mta: str | None,
    backend: str | None,
    bounds: Bounds,
    strict_duplicates: bool,
) -> str:
    """``outage`` as a scenario file (``header`` becomes its leading comment)."""
    data: dict[str, Any] = {"name": outage.name}
    if outage.description:
        data["description"] = outage.description
    routing = outage.routing or (
        "dns"
        if any(str(s.to_json().get("fault", "")).startswith("dns-") for s in outage.steps)
        else None
    )
    run = {
        k: v for k, v in (("mta", mta), ("backend", backend), ("routing", routing)) if v is not None
    }
    if run:
        data["run"] = run
    data["topology"] = {"sites": outage.sites}
    data["expect"] = {
        "bound": bounds.delivery,
        "recovery": bounds.recovery,
        "retry": bounds.retry,
        "require_recovery": bounds.require_recovery,
        "strict_duplicates": strict_duplicates,
    }
    data["timeline"] = [step.to_json() for step in outage.steps]
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return comment + "\n" + tomli_w.dumps(data)
