"""``certificate.json`` and ``certificate.md``: what a certification run certified, exactly.

A certificate names the MTA (name, version, configuration digest, and the image on docker),
the harness version, the suites (relative to the project, with a digest of their code and
scenario files), the configuration fragment's and root filesystem recipe's digests, the
profile, how many examples ran with which seed, the bounds, and the verdict: enough for
anyone to rerun the same certification and compare, and for ``mta-harness verify`` to tell
whether a build is the one certified.
"""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from harness.record import BoundsRecord, Canary, ClaimVerdict, Part, Run
from harness.report.provenance import Provenance
from harness.results import describe_claim, write_json_atomic, write_text_atomic

CLAIM = "one dead link never stalls delivery to healthy sites, and no mail is lost"


class CertifiedMta(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    requested: str
    version: str | None
    config_digest: str | None
    image: str | None


class Certificate(BaseModel):
    """What ``certificate.json`` holds."""

    model_config = ConfigDict(extra="forbid")

    claim: str
    verdict: str
    mta: CertifiedMta
    harness_version: str
    backend: str
    #: How the MTA found the sites: static routes, or MX lookups (``--routing dns``).
    routing: str = "static"
    #: Relative to the project, where they lie in it.
    suites: list[str]
    provenance: Provenance
    faults: str
    profile: str | None
    tests: dict[str, str]
    examples_run: int
    failing_examples: int
    seed: int
    bounds: BoundsRecord
    claims: list[ClaimVerdict]
    examples_judged: int
    unjudged: list[str]
    #: The bounds a scenario file's own ``[expect]`` set, where they differ from the run's.
    scenario_bounds: dict[str, BoundsRecord]
    canary: Canary | None
    run_id: str
    issued: str
    #: The part of the search this certificate covers (``--shard K/N``); None: all of it.
    shard: str | None = None
    #: The shards or workers whose records this one merges, each with its seed.
    parts: list[Part] = []
    #: Messages a second the outages under load were played at (``--load``); None: not played.
    load: float | None = None


def certificate(
    results: Run,
    suites: list[str],
    provenance: Provenance,
    faults: str,
    seed: int,
    canary: Canary | None = None,
    load: float | None = None,
) -> Certificate:
    """The certificate's content, from a finished run record."""
    identity = results.identity
    return Certificate(
        claim=CLAIM,
        verdict=results.verdict,
        mta=CertifiedMta(
            name=identity.name if identity else results.mta,
            requested=results.mta,
            version=identity.version if identity else None,
            config_digest=identity.config_digest if identity else None,
            image=identity.image if identity else None,
        ),
        harness_version=results.harness_version,
        backend=results.backend,
        routing=results.routing,
        suites=suites,
        provenance=provenance,
        faults=faults,
        profile=results.profile,
        tests=results.tests,
        examples_run=results.examples_run,
        failing_examples=results.failing_examples,
        seed=seed,
        bounds=results.bounds,
        claims=results.claims,
        examples_judged=results.examples_judged,
        unjudged=results.unjudged,
        scenario_bounds=scenario_bounds(results),
        canary=canary,
        run_id=results.run_id,
        issued=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(results.finished)),
        shard=results.shard,
        parts=results.parts,
        load=load,
    )


def scenario_bounds(results: Run) -> dict[str, BoundsRecord]:
    """The bounds each scenario was judged by where they differ from the run's own (a
    scenario file's ``[expect]``), by scenario name."""
    return {
        example.scenario.name: example.bounds
        for example in results.examples
        if example.bounds != results.bounds
    }


def markdown(cert: Certificate) -> str:
    mta = cert.mta
    bounds = cert.bounds
    image = f"\n| image | `{mta.image}` |" if mta.image else ""
    suites = ", ".join(f"`{s}`" for s in cert.suites)
    examples = (
        f"{cert.examples_run} run, {cert.examples_judged} judged healthy mail "
        f"while a link was faulted, {cert.failing_examples} failing"
    )
    bounds_text = f"healthy sites {bounds.delivery} s; recovery {bounds.recovery} s" + _own_bounds(
        cert.scenario_bounds
    )
    return f"""# mta-harness certificate: {cert.verdict}

Claim: {cert.claim}.

| | |
|---|---|
| verdict | **{cert.verdict}** |
| MTA | {mta.name} {mta.version or ""} |
| configuration digest | `{mta.config_digest}` (fragment: {_fragment(cert)}) |{image}
| root filesystem | {cert.provenance.rootfs or "none"} |
| backend | {cert.backend}, routed {cert.routing} |
| harness | mta-harness {cert.harness_version} |
| suites | {suites} ({cert.faults} faults, profile {cert.profile}) |
| suites' digest | `{cert.provenance.suite_digest}` |
| examples | {examples} |
| seed | {cert.seed}{_search_parts(cert)} |
| bounds | {bounds_text} |
| run | {cert.run_id}, {cert.issued} |
| canary | {_canary(cert.canary)} |

Claims:

{_claims(cert.claims)}
{_unjudged(cert.unjudged)}
Repeat it: `mta-harness certify --mta {mta.requested}{_image_flag(cert)} --backend {cert.backend} \
--profile {cert.profile} --faults {cert.faults} --seed {cert.seed}{_routing_flag(cert)}\
{_division_flag(cert)}{_load_flag(cert)}`{_division_note(cert)}
"""


def _search_parts(cert: Certificate) -> str:
    """How the search was divided: "; shard 2/3", "; 3 parts merged (1/3, 2/3, 3/3)"."""
    shard = f"; shard {cert.shard} of the search (not a certificate of the whole)" * bool(
        cert.shard
    )
    if len(cert.parts) < 2:
        return shard
    names = ", ".join(p.shard or "whole" for p in cert.parts)
    return f"{shard}; {len(cert.parts)} parts merged ({names}), each with its own seed"


def _division_flag(cert: Certificate) -> str:
    if len(cert.parts) > 1:
        return f" -n {len(cert.parts)}"
    return f" --shard {cert.shard}" if cert.shard else ""


def _load_flag(cert: Certificate) -> str:
    return "" if cert.load is None else f" --load {cert.load:g}"


def _division_note(cert: Certificate) -> str:
    if len(cert.parts) < 2:
        return ""
    return (
        f" (the same examples as `--shard K/{len(cert.parts)}` for every K on any machines, "
        "then `mta-harness merge`)"
    )


def _routing_flag(cert: Certificate) -> str:
    return "" if cert.routing == "static" else f" --routing {cert.routing}"


def _own_bounds(own: dict[str, BoundsRecord]) -> str:
    return "".join(
        f"; scenario {name}'s own: healthy sites {b.delivery} s, recovery {b.recovery} s"
        for name, b in sorted(own.items())
    )


def _image_flag(cert: Certificate) -> str:
    """``--mta-image IMAGE`` for a build certified in the user's own image."""
    image = cert.provenance.mta_image
    return "" if image is None else f" --mta-image {image}"


def _fragment(cert: Certificate) -> str:
    digest = cert.provenance.fragment_digest
    return "none, stock configuration" if digest is None else f"`{digest}`"


def _unjudged(reasons: list[str]) -> str:
    if not reasons:
        return ""
    return "\nNo verdict can stand on this evidence:\n\n" + "".join(f"- {r}\n" for r in reasons)


def _canary(canary: Canary | None) -> str:
    if canary is None:
        return "not played"
    return f"{canary.mta} on the seed outage: {canary.verdict} (must be FAIL)"


def _claims(claims: list[ClaimVerdict]) -> str:
    lines = [f"- {describe_claim(c)}" for c in claims]
    for c in claims:
        if c.name == "no_loss" and c.verdict == "not proven":
            lines.append(
                "- **loss could not be proven**: this MTA cannot list its queue or "
                "be asked to retry now"
            )
    return "\n".join(lines) or "- none judged"


def write_certificate(folder: Path, cert: Certificate) -> Path:
    """Write both files into the run folder; returns the JSON one's path."""
    path = folder / "certificate.json"
    write_json_atomic(path, cert.model_dump(mode="json"))
    write_text_atomic(folder / "certificate.md", markdown(cert))
    return path
