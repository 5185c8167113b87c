"""``mta-harness verify``: a build is shipped only on a PASS certificate issued for it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.report.provenance import PROJECT, files_digest, text_digest
from harness.report.verify import MATCH, MISMATCH, NOT_CHECKED, load_certificate, verify
from harness.rootfs import load_recipe
from harness.scenario_file import SCENARIOS

SUITE = "suites/test_head_of_line.py"


def certificate(tmp_path: Path, **changes: Any) -> Path:
    """A certificate as certify writes it, for this checkout's suites and Postfix recipe."""
    recipe = load_recipe("postfix")
    data: dict[str, Any] = {
        "claim": "c",
        "verdict": "PASS",
        "mta": {
            "name": "postfix",
            "requested": "postfix",
            "version": "3.7.11",
            "config_digest": "sha256:1",
            "image": None,
        },
        "harness_version": "0.1.0",
        "backend": "local",
        "suites": [SUITE],
        "provenance": {
            "suite_digest": files_digest([PROJECT / SUITE, SCENARIOS]),
            "fragment_digest": None,
            "rootfs": f"postfix-{recipe.digest}",
        },
        "faults": "default",
        "profile": "ci",
        "tests": {},
        "examples_run": 1,
        "failing_examples": 0,
        "seed": 1,
        "bounds": {"delivery": 3.0, "recovery": 30.0, "retry": 30.0, "require_recovery": False},
        "claims": [],
        "examples_judged": 1,
        "unjudged": [],
        "scenario_bounds": {},
        "canary": None,
        "run_id": "r",
        "issued": "2026-12-02T00:00:00Z",
    }
    for key, value in changes.items():
        if key in ("fragment_digest", "suite_digest", "rootfs"):
            data["provenance"][key] = value
        elif key == "image":
            data["mta"]["image"] = value
        else:
            data[key] = value
    path = tmp_path / "certificate.json"
    path.write_text(json.dumps(data))
    return path


def outcomes(path: Path, **given: Any) -> dict[str, str]:
    return {c.what: c.outcome for c in verify(load_certificate(path), **given)}


def test_the_certified_build_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = certificate(tmp_path)
    assert main(["verify", str(tmp_path)]) == 0  # the run folder will do
    out = capsys.readouterr().out
    assert "VERIFIED" in out
    assert outcomes(path) == {
        "verdict": MATCH,
        "suites": MATCH,
        "root filesystem": MATCH,
        "configuration": MATCH,
        "image": NOT_CHECKED,
    }


def test_a_swapped_fragment_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = certificate(tmp_path, fragment_digest=text_digest("default_process_limit = 100\n"))
    shipped = tmp_path / "main.cf"
    shipped.write_text("default_process_limit = 2\n")
    assert main(["verify", str(path), "--mta-config", str(shipped)]) == 1
    out = capsys.readouterr().out
    assert "configuration    MISMATCH" in out and "REFUSED" in out
    shipped.write_text("default_process_limit = 100\n")
    assert main(["verify", str(path), "--mta-config", str(shipped)]) == 0
    # A fragment where the stock configuration was certified is another build too.
    assert outcomes(certificate(tmp_path), fragment="x = 1\n")["configuration"] == MISMATCH


def test_a_failing_certificate_certifies_nothing(tmp_path: Path) -> None:
    assert main(["verify", str(certificate(tmp_path, verdict="FAIL"))]) == 1


def test_changed_suites_or_recipe_or_image_are_mismatches(tmp_path: Path) -> None:
    assert outcomes(certificate(tmp_path, suite_digest="sha256:0"))["suites"] == MISMATCH
    assert outcomes(certificate(tmp_path, rootfs="postfix-000000000000"))["root filesystem"] == (
        MISMATCH
    )
    imaged = certificate(tmp_path, image="myorg/mta:candidate (sha256:abc123)")
    assert outcomes(imaged, image_digest="sha256:abc123")["image"] == MATCH
    assert outcomes(imaged, image_digest="sha256:fff999")["image"] == MISMATCH
    assert outcomes(certificate(tmp_path), image_digest="sha256:abc123")["image"] == MISMATCH


def test_an_unreadable_certificate_is_one_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "certificate.json"
    broken.write_text('{"verdict": "PASS"}')
    assert main(["verify", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "not a certificate this harness can read" in err and len(err.splitlines()) == 1
    assert main(["verify", str(tmp_path / "nowhere.json")]) == 2
