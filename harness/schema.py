"""Checking what users write (MTA descriptions, root filesystem recipes) with pydantic:
strict (``"3"`` is no number, ``"postfix"`` is no list), no unknown keys, and every problem
named with the file and the key, in one :class:`~harness.errors.UsageError`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from harness.errors import UsageError

#: A located problem: the path of the field, and what is wrong with it.
Problem = tuple[tuple[str | int, ...], str]

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


def problems(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> list[Problem]:
    """pydantic's errors as located problems, in words a person reads."""
    out: list[Problem] = []
    for error in exc.errors():
        loc = (*prefix, *error["loc"])
        message = str(error["msg"])
        if error["type"] == "extra_forbidden":
            message = "unknown field (a typo?)"
        elif error["type"] == "missing":
            message = "required field is missing"
        given = error.get("input")
        if error["type"] not in ("missing", "extra_forbidden") and isinstance(
            given, str | int | float | bool
        ):
            message += f", got {given!r}"
        out.append((loc, message))
    return out


def dotted(loc: tuple[str | int, ...]) -> str:
    """``("timeline", 2, "do")`` as ``timeline[3].do`` (1-based, as people count)."""
    out = ""
    for part in loc:
        out += f"[{part + 1}]" if isinstance(part, int) else ("." if out else "") + part
    return out or "(top level)"


def validated(model: type[M], data: Mapping[str, Any], where: str) -> M:
    """``data`` as ``model``; else a UsageError naming ``where`` and every bad key."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        lines = [f"{where}: {dotted(loc)}: {message}" for loc, message in problems(exc)]
        if len(lines) == 1:
            raise UsageError(lines[0]) from None
        raise UsageError(f"{len(lines)} problems:\n" + "\n".join(f"  {x}" for x in lines)) from None
