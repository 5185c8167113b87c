"""An image's /etc copied out as the adapter's stock files: plain files only, kept inside."""

from __future__ import annotations

import io
import tarfile

from harness.backends.docker.images import _plain_files


def archive(*members: tarfile.TarInfo) -> tarfile.TarFile:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for member in members:
            tar.addfile(member, io.BytesIO(b"x" * member.size) if member.isfile() else None)
    buffer.seek(0)
    return tarfile.open(fileobj=buffer)


def entry(name: str, kind: bytes = tarfile.REGTYPE, mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode = kind, mode
    info.size = 1 if kind == tarfile.REGTYPE else 0
    if kind == tarfile.SYMTYPE:
        info.linkname = "/etc/shadow"
    return info


def test_only_plain_files_inside_the_copy_are_taken_without_set_id_bits() -> None:
    tar = archive(
        entry("etc", tarfile.DIRTYPE, 0o755),
        entry("etc/postfix/main.cf"),
        entry("etc/suid", mode=0o4755),
        entry("etc/localtime", tarfile.SYMTYPE),
        entry("/etc/absolute"),
        entry("etc/../../escape"),
    )
    taken = {member.name: member.mode for member in _plain_files(tar)}
    assert taken == {"etc": 0o755, "etc/postfix/main.cf": 0o644, "etc/suid": 0o755}
