"""Ask the MTA itself whether a configuration is valid, before anything starts.

A fragment can pass our line checks and still be refused by the MTA (``default_process_limit =
banana``, a misspelt parameter). Found at start-up, that would be an ERROR after the world
came up, and Postfix would not even say why: it prints fatal errors to a terminal or syslog
only. So an adapter may name *checker* commands; this renders the configuration exactly as a
run would (for a sample plan), writes it into a throwaway overlay of the MTA's root
filesystem, runs each checker there with a pseudo-terminal as its output, and returns what
they said. The overlay, its namespace and every process die with the check.
"""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.backends.chroot import RootLayers, rooted_argv
from harness.clock import Deadline
from harness.errors import UsageError
from harness.mta.base import MtaPlan, write_files
from harness.runtime import RunContext
from harness.topology import MAX_SITES, AddressPlan, remote_sites

#: How long one checker may take before it is killed and the check is called failed.
CHECK_TIMEOUT = 30.0


@dataclass(frozen=True)
class CheckerOutput:
    """What one checker command printed (its output and errors, as on a terminal)."""

    argv: tuple[str, ...]
    status: int
    text: str


def sample_plan(layers: RootLayers, fragment: str) -> MtaPlan:
    """The plan a run would give the MTA (on the first address block's loopback addresses),
    writing into ``layers``."""
    addresses = AddressPlan(0)
    sites = remote_sites(MAX_SITES)
    return MtaPlan(
        listen=addresses.mta,
        routes={site.domain: addresses.link(index) for index, site in enumerate(sites)},
        workdir=layers.upper.parent,
        root=layers.upper,
        lower=layers.lower,
        fragment=fragment,
        clients=addresses.clients,
    )


def run_checkers(
    recipe: str,
    render: Callable[[MtaPlan], dict[str, str]],
    fragment: str,
    checkers: Sequence[Sequence[str]],
) -> tuple[dict[str, str], list[CheckerOutput]]:
    """Render the configuration with ``fragment`` into a scratch overlay of ``recipe``'s root
    filesystem and run each checker there: the files rendered, and what each checker
    printed with its exit status."""
    from harness.rootfs import load_recipe, rootfs_path

    lower = rootfs_path(load_recipe(recipe))
    context = RunContext.create()  # labelled scratch: a killed check is reaped like a run
    try:
        layers = RootLayers(lower, context.workdir / "root", recipe)
        layers.prepare()
        plan = sample_plan(layers, fragment)
        files = render(plan)
        write_files(plan, files)
        env = {**os.environ, **context.labels}
        outputs = [_run(rooted_argv(layers, list(argv)), tuple(argv), env) for argv in checkers]
        return files, outputs
    finally:
        context.close()


def _run(argv: list[str], name: tuple[str, ...], env: dict[str, str]) -> CheckerOutput:
    # A terminal for stdout and stderr: Postfix writes its fatal errors to stderr only when
    # stderr is a terminal.
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
    finally:
        os.close(slave)
    chunks: list[bytes] = []
    deadline = Deadline.after(CHECK_TIMEOUT)
    try:
        while True:
            ready, _, _ = select.select([master], [], [], deadline.remaining())
            if not ready:
                proc.kill()
                chunks.append(b"\n(killed: no answer in %d s)" % CHECK_TIMEOUT)
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        if proc.returncode is None:
            proc.kill()
            proc.wait()
    text = b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")
    return CheckerOutput(name, proc.returncode, text.strip())


#: "/etc/smtpd.conf:17:" or "line 16 of /etc/exim4/exim4.conf": where in its file an MTA
#: says the trouble is.
_FILE_LINE = re.compile(r"(/[\w./-]+):(\d+)|line (\d+) of (/[\w./-]+)")


def fragment_line(fragment: str, complaint: str, files: dict[str, str]) -> int | None:
    """The fragment line a checker's complaint is about. The MTA numbers lines of its whole
    file: map that line back to the fragment (merged in verbatim), else take the first
    setting whose name the complaint quotes."""
    ours = [line.strip() for line in fragment.splitlines()]
    for match in _FILE_LINE.finditer(complaint):
        path = match.group(1) or match.group(4)
        number = int(match.group(2) or match.group(3))
        rendered = files.get(path, "").splitlines()
        if 0 < number <= len(rendered) and rendered[number - 1].strip() in ours:
            return ours.index(rendered[number - 1].strip()) + 1
    for number, line in enumerate(fragment.splitlines(), start=1):
        words = line.replace("=", " ").split()
        if (
            words
            and not words[0].startswith("#")
            and re.search(rf"(?<![\w-]){re.escape(words[0])}(?![\w-])", complaint)
        ):
            return number
    return None


def refuse_if_the_mta_does(
    mta: str,
    recipe: str,
    render: Callable[[MtaPlan], dict[str, str]],
    fragment: str,
    where: str,
    checkers: Sequence[Sequence[str]],
    complaints: Callable[[CheckerOutput], list[str]],
) -> None:
    """Raise one :class:`UsageError` listing every complaint the MTA's own checkers make
    about the configuration with ``fragment`` merged in, each with its fragment line."""
    if not fragment.strip():
        return  # the stock configuration with the harness's settings: checked by the tests
    found: list[str] = []
    files, outputs = run_checkers(recipe, render, fragment, checkers)
    for output in outputs:
        said = complaints(output)
        if not said and output.status != 0:
            # Refused without a line we know how to read (or killed, silent): its last words.
            tail = " | ".join(output.text.splitlines()[-3:]) or "no output"
            said = [f"{' '.join(output.argv)} exited with status {output.status}: {tail}"]
        for complaint in said:
            line = fragment_line(fragment, complaint, files)
            entry = f"line {line}: {complaint}" if line else complaint
            if entry not in found:
                found.append(entry)
    if found:
        raise UsageError(f"--mta-config {where}: {mta} refuses it:\n  " + "\n  ".join(found))
