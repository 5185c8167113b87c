"""Backends: where the parts of a test world run. ``local`` is the embedded default."""

from __future__ import annotations

from harness.backends.base import Backend, Role, Service
from harness.errors import UsageError

BACKENDS = ("local",)


def open_backend(name: str) -> Backend:
    """Start a backend by name; raises :class:`UsageError` for an unknown one."""
    if name == "local":
        from harness.backends.local import LocalBackend

        return LocalBackend()
    raise UsageError(f"unknown backend {name!r}; available: {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Backend", "Role", "Service", "open_backend"]
