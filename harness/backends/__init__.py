"""Backends: where the parts of a test world run. ``local`` is the embedded default."""

from __future__ import annotations

from harness.backends.base import Backend, Role, Service
from harness.errors import UsageError

BACKENDS = ("local", "docker")


def open_backend(name: str, run_id: str | None = None) -> Backend:
    """Start a backend by name; raises :class:`UsageError` for an unknown one.

    ``run_id`` labels everything the backend starts; it must be unique on the machine.
    """
    if name == "local":
        from harness.backends.local import LocalBackend

        return LocalBackend(run_id)
    if name == "docker":
        from harness.backends.docker.backend import DockerBackend

        return DockerBackend(run_id)
    raise UsageError(f"unknown backend {name!r}; available: {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Backend", "Role", "Service", "open_backend"]
