"""``certificate.json`` and ``certificate.md``: what a certification run certified, exactly.

A certificate names the MTA (name, version, configuration digest, and the image on docker),
the harness version, the suites and profile, how many examples ran with which seed, the
bounds, and the verdict: enough for anyone to rerun the same certification and compare.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from harness.results import describe_claim, write_json_atomic, write_text_atomic

CLAIM = "one dead link never stalls delivery to healthy sites, and no mail is lost"


def certificate(
    results: dict[str, Any],
    suites: list[str],
    faults: str,
    seed: int,
    canary: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The certificate's content, from a finished run record."""
    identity = results.get("identity") or {}
    return {
        "claim": CLAIM,
        "verdict": results["verdict"],
        "mta": {
            "name": identity.get("name", results.get("mta")),
            "requested": results.get("mta"),
            "version": identity.get("version"),
            "config_digest": identity.get("config_digest"),
            "image": identity.get("image"),
        },
        "harness_version": results.get("harness_version"),
        "backend": results.get("backend"),
        "suites": suites,
        "faults": faults,
        "profile": results.get("profile"),
        "tests": results.get("tests", {}),
        "examples_run": results.get("examples_run"),
        "failing_examples": results.get("failing_examples"),
        "seed": seed,
        "bounds": results.get("bounds"),
        "claims": results.get("claims", []),
        "examples_judged": results.get("examples_judged"),
        "unjudged": results.get("unjudged", []),
        "scenario_bounds": scenario_bounds(results),
        "canary": canary,
        "run_id": results.get("run_id"),
        "issued": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(results.get("finished"))),
    }


def scenario_bounds(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The bounds each scenario was judged by where they differ from the run's own (a
    scenario file's ``[expect]``), by scenario name."""
    run = results.get("bounds") or {}
    own: dict[str, dict[str, Any]] = {}
    for example in results.get("examples", []):
        bounds = example.get("bounds") or {}
        if any(bounds.get(k) != v for k, v in run.items() if k in bounds):
            own[str(example.get("scenario", {}).get("name", "?"))] = bounds
    return own


def markdown(cert: dict[str, Any]) -> str:
    mta = cert["mta"]
    bounds = cert.get("bounds") or {}
    image = f"\n| image | `{mta['image']}` |" if mta.get("image") else ""
    suites = ", ".join(f"`{s}`" for s in cert["suites"])
    examples = (
        f"{cert['examples_run']} run, {cert['examples_judged']} judged healthy mail "
        f"while a link was faulted, {cert['failing_examples']} failing"
    )
    bounds_text = (
        f"healthy sites {bounds.get('delivery')} s; recovery {bounds.get('recovery')} s"
        + _own_bounds(cert.get("scenario_bounds") or {})
    )
    return f"""# mta-harness certificate: {cert["verdict"]}

Claim: {cert["claim"]}.

| | |
|---|---|
| verdict | **{cert["verdict"]}** |
| MTA | {mta["name"]} {mta.get("version") or ""} |
| configuration digest | `{mta.get("config_digest")}` |{image}
| backend | {cert["backend"]} |
| harness | mta-harness {cert["harness_version"]} |
| suites | {suites} ({cert["faults"]} faults, profile {cert["profile"]}) |
| examples | {examples} |
| seed | {cert["seed"]} |
| bounds | {bounds_text} |
| run | {cert["run_id"]}, {cert["issued"]} |
| canary | {_canary(cert.get("canary"))} |

Claims:

{_claims(cert.get("claims", []))}
{_unjudged(cert.get("unjudged") or [])}
Repeat it: `mta-harness certify --mta {mta["requested"]} --backend {cert["backend"]} \
--profile {cert["profile"]} --faults {cert["faults"]} --seed {cert["seed"]}`
"""


def _own_bounds(own: dict[str, dict[str, Any]]) -> str:
    return "".join(
        f"; scenario {name}'s own: healthy sites {b.get('delivery')} s, "
        f"recovery {b.get('recovery')} s"
        for name, b in sorted(own.items())
    )


def _unjudged(reasons: list[str]) -> str:
    if not reasons:
        return ""
    return "\nNo verdict can stand on this evidence:\n\n" + "".join(f"- {r}\n" for r in reasons)


def _canary(canary: dict[str, Any] | None) -> str:
    if canary is None:
        return "not played"
    return f"{canary['mta']} on the seed outage: {canary['verdict']} (must be FAIL)"


def _claims(claims: list[dict[str, Any]]) -> str:
    lines = [f"- {describe_claim(c)}" for c in claims]
    for c in claims:
        if c["name"] == "no_loss" and c["verdict"] == "not proven":
            lines.append(
                "- **loss could not be proven**: this MTA cannot list its queue or "
                "be asked to retry now"
            )
    return "\n".join(lines) or "- none judged"


def write_certificate(
    folder: Path,
    results: dict[str, Any],
    suites: list[str],
    faults: str,
    seed: int,
    canary: dict[str, Any] | None = None,
) -> Path:
    """Write both files into the run folder; returns the JSON one's path."""
    cert = certificate(results, suites, faults, seed, canary)
    path = folder / "certificate.json"
    write_json_atomic(path, cert)
    write_text_atomic(folder / "certificate.md", markdown(cert))
    return path
