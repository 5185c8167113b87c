"""The harness in its own image: which container it is, and what host access it lacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.backends.docker.inside import missing_host_access, own_container_id

ID = "3f" * 32
MOUNTINFO = (
    "812 700 0:52 / / rw,relatime master:1 - overlay overlay rw,lowerdir=/var/lib/docker/x\n"
    f"830 812 8:1 /var/lib/docker/containers/{ID}/resolv.conf /etc/resolv.conf rw - ext4 "
    "/dev/sda1 rw\n"
    f"831 812 8:1 /var/lib/docker/containers/{ID}/hostname /etc/hostname rw - ext4 /dev/sda1\n"
)
RUNTIME = Path("/tmp/mta-harness-0")


def inspected(network: str = "host", pid: str = "host", mounts: Any = None) -> dict[str, Any]:
    return {
        "HostConfig": {"NetworkMode": network, "PidMode": pid},
        "Mounts": [
            {
                "Type": "bind",
                "Source": "/var/run/docker.sock",
                "Destination": "/var/run/docker.sock",
            },
            *(
                mounts
                if mounts is not None
                else [{"Type": "bind", "Source": str(RUNTIME), "Destination": str(RUNTIME)}]
            ),
        ],
    }


def test_the_container_is_named_by_the_files_the_engine_mounts_into_it() -> None:
    assert own_container_id(MOUNTINFO) == ID
    # The host's own mount table (no container's files in it): not in a container.
    assert own_container_id(MOUNTINFO.splitlines()[0] + "\n") is None


def test_a_container_run_as_docs_ci_says_lacks_nothing() -> None:
    assert missing_host_access(inspected(), [RUNTIME]) == []
    # A mount of a parent folder at the same path serves as well.
    parent = [{"Type": "bind", "Source": "/tmp", "Destination": "/tmp"}]
    assert missing_host_access(inspected(mounts=parent), [RUNTIME]) == []


def test_each_missing_access_is_named_by_the_flag_that_gives_it() -> None:
    assert missing_host_access(inspected(network="bridge", pid="", mounts=[]), [RUNTIME]) == [
        "--network host",
        "--pid host",
        f"-v {RUNTIME}:{RUNTIME}",
    ]


def test_the_runtime_folder_mounted_elsewhere_on_the_host_is_not_enough() -> None:
    # The engine would read bind-mount sources at the container's path, on the host.
    moved = [{"Type": "bind", "Source": "/home/ci/runtime", "Destination": str(RUNTIME)}]
    volume = [{"Type": "volume", "Source": str(RUNTIME), "Destination": str(RUNTIME)}]
    assert missing_host_access(inspected(mounts=moved), [RUNTIME]) == [f"-v {RUNTIME}:{RUNTIME}"]
    assert missing_host_access(inspected(mounts=volume), [RUNTIME]) == [f"-v {RUNTIME}:{RUNTIME}"]
