"""The ``local`` backend: every part is a child process on loopback. No Docker needed."""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from harness.backends.base import Role
from harness.backends.chroot import RootLayers, enter_argv, namespace_init, rooted_argv
from harness.backends.process import ManagedProcess
from harness.errors import HarnessError, UsageError
from harness.reaper import reap_orphans
from harness.runtime import RunContext
from harness.topology import AddressPlan, Endpoint


class LocalBackend:
    """Child processes, each in its own process group, labelled with the run id."""

    name = "local"

    def __init__(self, run_id: str | None = None) -> None:
        self.reaped = reap_orphans()  # what killed runs left, before we take any address
        self.run_context = RunContext.create(run_id)
        self.run_id = self.run_context.run_id
        self.addresses = AddressPlan(self.run_context.lease.slot)
        self.workdir: Path = self.run_context.workdir
        self.logs = self.workdir / "logs"
        self.logs.mkdir()
        self._services: list[ManagedProcess] = []
        self._rooted: dict[Role, ManagedProcess] = {}
        # A library user who forgets close() still leaves nothing behind on a normal exit.
        atexit.register(self.close)
        self._env = {
            **os.environ,
            **self.run_context.labels,
            "PYTHONUNBUFFERED": "1",
            # Children import the harness exactly as this process does.
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        }

    def spawn(
        self,
        role: Role,
        name: str,
        argv: Sequence[str],
        root: RootLayers | None = None,
        address: str | None = None,
    ) -> ManagedProcess:
        command = rooted_argv(root, list(argv)) if root is not None else list(argv)
        service = ManagedProcess(
            name, command, env=self._env, log_path=self.logs / f"{name}.log", cwd=self.workdir
        )
        self._services.append(service)
        if root is not None:
            self._rooted[role] = service
        return service

    def harness_view(self, endpoint: Endpoint) -> Endpoint:
        return endpoint  # everything is on loopback already

    def link_namespace(self) -> Callable[[list[str]], str] | None:
        return None  # links live on the host's loopback: no rules there

    def image_of(self, role: Role) -> str | None:
        return None  # processes on this machine, no images

    def image_files(self, image: str) -> Path:
        raise UsageError(
            f"--mta-image {image}: images run on the docker backend only (--backend docker)"
        )

    def run(self, role: Role, argv: Sequence[str], timeout: float = 30.0) -> str:
        command = list(argv)
        rooted = self._rooted.get(role)
        if rooted is not None:
            init = namespace_init(rooted.pid)
            if rooted.returncode is not None:
                raise HarnessError(
                    f"{rooted.name} is not running (exit status {rooted.returncode}); "
                    f"cannot run {argv[0]} in it"
                )
            if init is None:
                raise HarnessError(
                    f"{rooted.name}'s namespace has no PID 1 (unshare {rooted.pid} has no "
                    f"child); cannot run {argv[0]} in it"
                )
            command = enter_argv(init, command)
        try:
            done = subprocess.run(
                command,
                env=self._env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise HarnessError(f"{argv[0]} did not finish within {timeout:g} s") from exc
        if done.returncode != 0:
            raise HarnessError(
                f"{' '.join(argv)} failed with status {done.returncode}: {done.stderr.strip()}"
            )
        return done.stdout

    def close(self) -> None:
        """Stop every process (newest first) and delete the run's scratch folder. Idempotent."""
        for service in reversed(self._services):
            service.stop()
        self._services.clear()
        self.run_context.close()
        atexit.unregister(self.close)
