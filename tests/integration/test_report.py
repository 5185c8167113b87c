"""report.html: one self-contained page with the verdict, the MTA, the latency timeline with
shaded fault windows, and every property's evidence; rendered in headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from harness.report.html import render_report
from harness.report.plot import SHADE_OPACITY, SITE_COLOURS
from harness.scenario_file import SCENARIOS

from ..conftest import HOST_DNS, PacketCounter, example_record, run_cli

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def chromium() -> list[str]:
    """Chromium, in a network namespace of its own with only a loopback: even with its
    background networking off it looked names up through the machine's resolvers (measured:
    20 DNS packets off the machine for one screenshot), and a test may send nothing there."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "headless Chromium is needed: make setup installs Debian's chromium"
    offline = ["--net"] if os.geteuid() == 0 else ["--user", "--map-root-user", "--net"]
    return ["unshare", *offline, found]


def screenshot(page: Path, out: Path, profile: Path, height: int = 1800) -> Image.Image:
    # --user-data-dir: a fresh profile each time; no network flag is needed, the page has no
    # external resource (and background networking is off).
    subprocess.run(
        [
            *chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size=1000,{height}",
            f"--screenshot={out}",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    return Image.open(out).convert("RGB")


def dom(page: Path, profile: Path) -> str:
    done = subprocess.run(
        [*chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def shade_of(colour: str) -> tuple[int, int, int]:
    """The colour a fault window's shading takes over the plot's white background."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    r, g, b = (round(255 - SHADE_OPACITY * (255 - c)) for c in rgb)
    return r, g, b


def count_near(image: Image.Image, rgb: tuple[int, int, int], tolerance: int = 3) -> int:
    return sum(
        1
        for pixel in image.get_flattened_data()
        if all(abs(a - b) <= tolerance for a, b in zip(pixel, rgb, strict=True))
    )


@pytest.fixture(scope="module")
def failing_replay(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run: the seed's outage replayed against the seed's bug, without the file's own
    heal step, so the queue snapshot "before the heal" is taken while site-a is still dead
    (with the file's heal at 6 s, a slow queue listing could run after the MTA had delivered
    everything: seen with the mutation check's processes running beside it)."""
    reports = tmp_path_factory.mktemp("reports")
    text = (SCENARIOS / "q193760.toml").read_text()
    unhealed = tmp_path_factory.mktemp("scenario") / "q193760.toml"
    unhealed.write_text(text[: text.rindex("[[timeline]]")])  # the last step is the heal
    done = run_cli(
        "replay",
        str(unhealed),
        "--mta",
        "seedmta-sync",
        "--reports",
        str(reports),
        timeout=300,
    )
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    (run_dir,) = reports.iterdir()
    return run_dir


@pytest.mark.integration
def test_the_rendered_report_shows_the_verdict_and_the_plot_with_shaded_fault_windows(
    failing_replay: Path, tmp_path: Path
) -> None:
    page = failing_replay / "report.html"
    text = page.read_text()
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in text and "<script" not in text, "self-contained, no script"

    image = screenshot(page, tmp_path / "report.png", tmp_path / "profile")
    shade = count_near(image, shade_of(SITE_COLOURS[0]))  # site-a's link was faulted
    assert shade > 20_000, f"fault window shading: only {shade} pixels of site-a's shade"
    assert count_near(image, (0xCF, 0x22, 0x2E), 8) > 500, "the red FAIL badge is drawn"
    # Messages to site-b and site-c are drawn as dots in their own colours.
    for colour in SITE_COLOURS[1:3]:
        rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
        assert count_near(image, rgb, 10) > 10, f"no dots in {colour}"

    rendered = dom(page, tmp_path / "profile2")
    assert '<span class="verdict" id="verdict"' in rendered and ">FAIL</span>" in rendered
    assert rendered.count('class="fault-window"') >= 1
    assert "healthy_sites_keep_flowing" in rendered and "waited past the bound" in rendered


@pytest.mark.integration
def test_mta_harness_report_lists_runs_and_finds_the_page(failing_replay: Path) -> None:
    reports = failing_replay.parent
    listed = checked(run_cli("report", "--reports", str(reports), timeout=60)).stdout
    assert failing_replay.name in listed and "FAIL" in listed and "seedmta-sync" in listed
    for args in (["--open"], [failing_replay.name], [str(failing_replay)]):
        where = checked(
            run_cli("report", "--reports", str(reports), *args, timeout=60)
        ).stdout.strip()
        assert where == str((failing_replay / "report.html").resolve())
    missing = run_cli("report", "--reports", str(reports), "nope", timeout=60)
    assert missing.returncode == 2 and "no run record at" in missing.stderr


def test_the_results_hold_the_full_history(failing_replay: Path) -> None:
    results = json.loads((failing_replay / "results.json").read_text())
    (example,) = results["examples"]
    kinds = {event["event"] for event in example["history"]}
    assert {"submit", "accept", "deliver", "apply", "heal", "queue"} <= kinds
    times = [event["at"] for event in example["history"]]
    assert times == sorted(times)
    before, after = example["queue_snapshots"]
    assert before["label"] == "before the heal" and before["held"], "site-a's mail was queued"
    assert after["held"] == []
    assert list(failing_replay.glob("logs-*/seedmta-sync.log")), "the MTA's log is kept"


def test_text_from_the_run_is_escaped() -> None:
    from dataclasses import asdict

    from harness.claims import Bounds
    from harness.record import parse_run
    from harness.results import RunRecord

    example = example_record(
        description="<script>alert(1)</script>",
        summary="<b>",
        evidence=[
            {"kind": "misdelivery", "id": "<i>", "addressed_to": "site-a", "arrived_at": "b"}
        ],
    )
    record = RunRecord("r", "x<y", "local", None, asdict(Bounds()), 0.0)
    record.examples, record.finished = [example], 1.0
    page = render_report(parse_run(record.to_json(), "test"))
    assert "<script>" not in page and "&lt;script&gt;" in page and "x&lt;y" in page
    assert "<b>" not in page and "<i>" not in page


def test_the_table_counts_only_healthy_mail_latency() -> None:
    from harness.record import ClaimOutcome, Example, Run
    from harness.table import worst_healthy_latency

    def example(worst: float, faulted_site_latency: float) -> Example:
        return Example.model_construct(
            claims=[
                ClaimOutcome.model_construct(
                    name="healthy_sites_keep_flowing", figures={"worst": worst}
                ),
                ClaimOutcome.model_construct(
                    name="prompt_recovery", figures={"worst": faulted_site_latency}
                ),
            ]
        )

    run = Run.model_construct(examples=[example(0.25, 9.0), example(0.1, 1)])
    assert worst_healthy_latency(run) == "0.25 s"


def checked(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


def test_the_report_says_how_many_deliveries_came_over_tls() -> None:
    from harness.record import Arrival, Example, Message, Run

    def message(*tls: str | None) -> Message:
        arrivals = [Arrival(site="site-a", at=1.0, connection="1@x", tls=v) for v in tls]
        return Message.model_construct(arrivals=arrivals)

    run = Run.model_construct(
        examples=[
            Example.model_construct(messages=[message("TLSv1.3"), message(None)]),
            Example.model_construct(messages=[message("TLSv1.3", "TLSv1.2")]),
        ]
    )
    assert run.tls_deliveries() == {"TLSv1.3": 2, None: 1, "TLSv1.2": 1}
    from harness.report.html import _tls_text

    assert _tls_text(run.tls_deliveries()) == "4: 1 over TLSv1.2, 2 over TLSv1.3; 1 in plain text"
    assert _tls_text({}) == "none"


@pytest.mark.integration
@pytest.mark.xdist_group(HOST_DNS)
@pytest.mark.skipif(os.geteuid() != 0, reason="counting packets with iptables needs root")
def test_rendering_a_report_sends_nothing_off_the_machine(
    tmp_path: Path, dns_packets_leaving: PacketCounter
) -> None:
    from dataclasses import asdict

    from harness.claims import Bounds
    from harness.record import parse_run
    from harness.results import RunRecord

    record = RunRecord("r", "seedmta-async", "local", None, asdict(Bounds()), 0.0)
    record.examples, record.finished = [example_record()], 1.0
    page = tmp_path / "report.html"
    page.write_text(render_report(parse_run(record.to_json(), "test")))
    screenshot(page, tmp_path / "report.png", tmp_path / "profile", height=600)
    dom(page, tmp_path / "profile2")
    # Chromium outside a network namespace of its own sent 20 here (its own lookups).
    assert dns_packets_leaving.packets() == 0
