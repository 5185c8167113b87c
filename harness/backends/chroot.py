"""Running a program chrooted in its own root filesystem, leak-proof.

The program runs as PID 1 of a new PID and mount namespace (``unshare --pid --mount``), inside
an overlay of the shared root filesystem and the run's own writable layer. Mounts exist only
in that namespace, and when its PID 1 dies the kernel kills every process in it and drops
every mount: a killed run cannot leave a mount or a stray daemon behind, even one (like
Postfix's master) that leaves our process group or scrubs its environment.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

#: The name server a rooted program is told of where the run has none of its own: a loopback
#: address outside every run's block, where nothing listens, so a lookup fails at once and
#: stays on this machine. (The root filesystem keeps the build machine's resolv.conf;
#: OpenSMTPD was seen querying it.) With a DNS server of the run, its address instead.
NAMESERVER = "127.0.255.53"

# Runs as PID 1 of the new namespaces: mount the layers, give the root a minimal /dev (a
# fresh tmpfs, never the host's /dev), its own /proc and a resolver on loopback, then
# become the program.
SETUP = r"""
set -e
lower=$1 upper=$2 work=$3 merged=$4
shift 4
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper,workdir=$work" "$merged"
mount -t proc proc "$merged/proc"
mount -t tmpfs -o mode=755,size=1m tmpfs "$merged/dev"
mknod -m 666 "$merged/dev/null" c 1 3
mknod -m 666 "$merged/dev/zero" c 1 5
mknod -m 666 "$merged/dev/full" c 1 7
mknod -m 666 "$merged/dev/random" c 1 8
mknod -m 666 "$merged/dev/urandom" c 1 9
mknod -m 666 "$merged/dev/tty" c 5 0
ln -s /proc/self/fd "$merged/dev/fd"
ln -s /proc/self/fd/0 "$merged/dev/stdin"
ln -s /proc/self/fd/1 "$merged/dev/stdout"
ln -s /proc/self/fd/2 "$merged/dev/stderr"
rm -f "$merged/etc/resolv.conf"
echo "nameserver $NAMESERVER" > "$merged/etc/resolv.conf"
exec chroot "$merged" "$@"
"""


@dataclass(frozen=True)
class RootLayers:
    """The overlay a rooted program sees as ``/``: shared ``lower``, the run's ``upper``.

    ``recipe`` names the root filesystem (a backend with images picks its image by it);
    ``image``, where set, is the user's own image of the MTA, whose files ``lower`` holds,
    with the ``environment`` it is configured by. ``nameserver`` goes into its resolv.conf.
    """

    lower: Path
    upper: Path
    recipe: str = ""
    image: str | None = None
    environment: tuple[tuple[str, str], ...] = ()
    nameserver: str = NAMESERVER

    @property
    def work(self) -> Path:
        return self.upper.with_name(self.upper.name + ".work")

    @property
    def merged(self) -> Path:
        return self.upper.with_name(self.upper.name + ".merged")

    def prepare(self) -> None:
        for folder in (self.upper, self.work, self.merged):
            folder.mkdir(parents=True, exist_ok=True)

    def wipe(self) -> None:
        """Drop the run's writable layer (queue, logs, state): the stock files show again.
        Safe only while nothing is mounted: the overlay lives in the program's namespace."""
        for folder in (self.upper, self.work):
            shutil.rmtree(folder, ignore_errors=True)


def rooted_argv(layers: RootLayers, argv: list[str]) -> list[str]:
    """``argv`` wrapped to run chrooted in ``layers`` as PID 1 of its own namespaces."""
    layers.prepare()
    return [
        "unshare",
        "--mount",
        "--pid",
        "--fork",
        "--kill-child",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-c",
        f"NAMESERVER={layers.nameserver}\n{SETUP}",
        "harness-root",
        str(layers.lower),
        str(layers.upper),
        str(layers.work),
        str(layers.merged),
        *argv,
    ]


def namespace_init(unshare_pid: int) -> int | None:
    """The PID (as seen from here) of the namespace's PID 1: unshare's only child."""
    try:
        children = Path(f"/proc/{unshare_pid}/task/{unshare_pid}/children").read_text().split()
    except OSError:
        return None
    if children:
        return int(children[0])
    # proc(5) calls the children file unreliable; a Sendmail run once found it empty while
    # the namespace went on delivering. Ask every process for its parent instead.
    return _child_by_status(unshare_pid)


def _child_by_status(parent: int) -> int | None:
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            lines = status.read_text().splitlines()
        except OSError:
            continue  # gone meanwhile
        if f"PPid:\t{parent}" in lines:
            return int(status.parent.name)
    return None


def enter_argv(init_pid: int, argv: list[str]) -> list[str]:
    """``argv`` run inside the namespaces, root and working folder of the program whose
    PID 1 is ``init_pid`` (a working folder outside its root would break some tools)."""
    return [
        "nsenter",
        f"--target={init_pid}",
        "--mount",
        "--pid",
        "--root",
        "--wd",
        "--",
        *argv,
    ]
