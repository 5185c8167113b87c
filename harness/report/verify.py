"""``mta-harness verify CERTIFICATE``: is this build the one the certificate certified?

A deploy step runs it before it ships a build: it re-reads the certificate and checks what it
names against what is here (the configuration fragment and image given, this checkout's
suites and root filesystem recipe). Each check says match, mismatch or why it was not
checked; any mismatch, or a certificate whose verdict is not PASS, refuses the build.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from harness.errors import UsageError
from harness.report.certificate import Certificate
from harness.report.provenance import PROJECT, files_digest, text_digest
from harness.schema import dotted, problems

MATCH, MISMATCH, NOT_CHECKED = "match", "MISMATCH", "not checked"


@dataclass(frozen=True)
class Check:
    """One thing compared: what, how it came out, and why."""

    what: str
    outcome: str
    detail: str


def load_certificate(path: Path) -> Certificate:
    """A certificate.json (or the run folder holding one); one clear UsageError if not."""
    file = path / "certificate.json" if path.is_dir() else path
    try:
        return Certificate.model_validate_json(file.read_bytes())
    except OSError as exc:
        raise UsageError(f"{file}: cannot read the certificate: {exc.strerror}") from None
    except ValidationError as exc:
        where, what = problems(exc)[0]
        raise UsageError(
            f"{file}: not a certificate this harness can read; {dotted(where)}: {what}"
        ) from None


def verify(
    cert: Certificate, fragment: str | None = None, image_digest: str | None = None
) -> list[Check]:
    """Compare ``cert`` with this checkout, the fragment's text and the image's digest
    (each None when the caller has none to give)."""
    return [
        _verdict(cert),
        _suites(cert),
        _rootfs(cert),
        _fragment(cert, fragment),
        _image(cert, image_digest),
    ]


def refused(checks: list[Check]) -> bool:
    return any(c.outcome == MISMATCH for c in checks)


def certified_image_digest(cert: Certificate) -> str | None:
    """The content digest of the image the certificate names ("tag (sha256:...)")."""
    match = re.search(r"sha256:[0-9a-f]+", cert.mta.image or "")
    return match.group(0) if match else None


def _verdict(cert: Certificate) -> Check:
    if cert.verdict == "PASS":
        return Check("verdict", MATCH, "PASS")
    return Check("verdict", MISMATCH, f"{cert.verdict}: this certificate certifies nothing")


def _suites(cert: Certificate) -> Check:
    from harness.scenario_file import SCENARIOS

    paths = [PROJECT / s.partition("::")[0] for s in cert.suites]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        return Check("suites", NOT_CHECKED, f"not in this checkout: {', '.join(missing)}")
    here = files_digest([*paths, SCENARIOS])
    if here == cert.provenance.suite_digest:
        return Check("suites", MATCH, here)
    return Check(
        "suites",
        MISMATCH,
        f"this checkout's suites and scenario files are {here}, "
        f"the certified ones {cert.provenance.suite_digest}",
    )


def _rootfs(cert: Certificate) -> Check:
    named = cert.provenance.rootfs
    if named is None:
        return Check("root filesystem", NOT_CHECKED, "the MTA ran in none")
    from harness.rootfs import load_recipe

    name, _, certified = named.rpartition("-")
    try:
        recipe = load_recipe(name)
    except UsageError as exc:
        return Check("root filesystem", NOT_CHECKED, str(exc))
    if recipe.digest == certified:
        return Check("root filesystem", MATCH, named)
    return Check(
        "root filesystem",
        MISMATCH,
        f"recipe {name} is {recipe.digest} here, {certified} in the certificate",
    )


def _fragment(cert: Certificate, fragment: str | None) -> Check:
    certified = cert.provenance.fragment_digest
    if fragment is None:
        if certified is None:
            return Check("configuration", MATCH, "stock (no fragment) certified and given")
        return Check("configuration", NOT_CHECKED, "certified with a fragment: give --mta-config")
    given = text_digest(fragment)
    if given == certified:
        return Check("configuration", MATCH, given)
    return Check(
        "configuration",
        MISMATCH,
        f"the fragment given is {given}, the certified one "
        + (certified or "none (the stock configuration was certified)"),
    )


def _image(cert: Certificate, image_digest: str | None) -> Check:
    certified = certified_image_digest(cert)
    if image_digest is None:
        if certified is None:
            return Check("image", NOT_CHECKED, "certified outside an image")
        return Check("image", NOT_CHECKED, f"certified {cert.mta.image}: give --image")
    if image_digest == certified:
        return Check("image", MATCH, image_digest)
    return Check(
        "image",
        MISMATCH,
        f"the image given is {image_digest}, the certified one "
        + (cert.mta.image or "none (certified outside an image)"),
    )
