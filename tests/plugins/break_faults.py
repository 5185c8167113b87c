"""A pytest plugin that breaks fault injection on purpose: every fault is booked as applied
but nothing is done to the link. Loaded with ``PYTEST_ADDOPTS="-p break_faults"`` (and this
folder on PYTHONPATH) to prove that the canary turns such a run into ERROR."""

from __future__ import annotations

from harness.faults import toxics


def _nothing(self: object, link: object) -> None:
    return None


toxics.ToxicFault.apply = _nothing  # type: ignore[method-assign]
toxics.ToxicFault.heal = _nothing  # type: ignore[method-assign]
toxics.Refuse.apply = _nothing  # type: ignore[method-assign]
toxics.Refuse.heal = _nothing  # type: ignore[method-assign]
