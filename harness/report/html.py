"""``report.html``: one self-contained page a person can read (and send on) after a run.

Verdict and MTA identity at the top; for a failure, the counterexample in words, the healthy
messages that waited and for how long, and its latency timeline; then every claim's
verdict with its evidence; then every example, folded. No script and no external resource:
it opens the same offline, in a mail attachment, or in a CI artefact viewer.
"""

from __future__ import annotations

import time
from html import escape
from pathlib import Path
from typing import Any

from harness.record import ClaimVerdict
from harness.report.plot import latency_plot, legend
from harness.results import describe_claim, write_text_atomic
from harness.topology import remote_sites

VERDICT_COLOURS = {"PASS": "#1a7f37", "FAIL": "#cf222e", "ERROR": "#bf8700"}

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 960px;
       color: #1f2328; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #d0d7de; }
.verdict { display: inline-block; color: #fff; padding: 2px 12px; border-radius: 6px;
           font-weight: 700; font-size: 20px; margin-right: 10px; }
table { border-collapse: collapse; margin: 6px 0 12px; }
td, th { border: 1px solid #d0d7de; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
.holds { color: #1a7f37; font-weight: 600; } .note { color: #9a6700; font-weight: 600; }
.broken { color: #cf222e; font-weight: 600; }
pre { background: #f6f8fa; padding: 10px; overflow-x: auto; white-space: pre-wrap; }
.swatch { display: inline-block; width: 12px; height: 12px; margin-right: 4px;
          vertical-align: -1px; border-radius: 2px; }
.legend { margin: 4px 0 12px; } details { margin: 6px 0; } summary { cursor: pointer; }
.meta td:first-child { color: #57606a; }
"""


def render_report(results: dict[str, Any]) -> str:
    """The page for one run record (the content of ``results.json``)."""
    verdict = str(results.get("verdict", "ERROR"))
    identity = results.get("identity") or {}
    colour = VERDICT_COLOURS.get(verdict, "#57606a")
    title = f"{verdict}: {results.get('mta', '?')} ({results.get('run_id', '?')})"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f'<h1><span class="verdict" id="verdict" style="background:{colour}">'
        f"{escape(verdict)}</span>{escape(str(results.get('mta', '?')))} "
        f"{escape(identity.get('version', ''))}</h1>",
        f"<p>{escape(_verdict_sentence(results))}</p>",
        _meta_table(results, identity),
        _run_claims(results),
    ]
    featured = _featured(results)
    if results.get("counterexamples"):
        parts.append("<h2>Counterexample</h2>")
        for test, example in results["counterexamples"].items():
            how = ", shrunk by Hypothesis" if example.get("shrunk") else ""
            if example.get("shrink_budget_ran_out"):
                how += " (the shrink budget ran out: the best found in time)"
            if example.get("intermittent"):
                how += f"; intermittent, {example['intermittent']}"
            parts.append(f"<p>From <code>{escape(test)}</code>{how}.")
            if "file" in example:
                parts.append(
                    f" Replay it: <code>mta-harness replay {escape(example['file'])}</code>"
                )
            parts.append(f"</p><pre>{escape(example.get('explanation', ''))}</pre>")
            parts.append(_waited_table(example))
    if featured is not None:
        label = "the counterexample" if results.get("counterexamples") else "the busiest example"
        parts += [
            f"<h2>Latency timeline ({escape(label)})</h2>",
            f"<p>{escape(featured.get('description', ''))}</p>",
            legend(_sites_of(featured), _faulted_of(featured)),
            latency_plot(featured),
            "<h2>Claims</h2>",
            _claims_table(featured),
        ]
    parts.append(_claim_counts(results))
    for error in results.get("errors", []):
        parts.append(f"<pre class='error'>harness error: {escape(str(error))}</pre>")
    explained = {c.get("test") for c in results.get("counterexamples", {}).values()}
    for test, failure in results.get("failures", {}).items():
        if test not in explained:
            parts.append(f"<h2>Failed: {escape(test)}</h2><pre>{escape(failure)}</pre>")
    parts.append(_all_examples(results))
    parts.append(
        "<p><small>Files beside this one: results.json (the full history), junit.xml, "
        "logs-*/ (every part's log, the MTA's among them)"
        + (", certificate.json and certificate.md" if results.get("canary") else "")
        + ".</small></p></body></html>"
    )
    return "\n".join(parts)


def write_report(folder: Path, results: dict[str, Any], suffix: str = "") -> Path:
    """Write ``report<suffix>.html`` into ``folder`` (atomically)."""
    path = folder / f"report{suffix}.html"
    write_text_atomic(path, render_report(results))
    return path


def _css(state: str) -> str:
    return "broken" if state == "broken" else "holds" if state == "holds" else "note"


def _run_claims(results: dict[str, Any]) -> str:
    """Each claim's verdict over the whole run, one line each."""
    claims = [ClaimVerdict.model_validate(c) for c in results.get("claims", [])]
    if not claims:
        return ""
    rows = "".join(
        f'<tr><td>{escape(c.name)}</td><td class="{_css(c.verdict)}">'
        f"{escape(c.verdict)}</td><td>{escape(describe_claim(c))}</td></tr>"
        for c in claims
    )
    head = "<tr><th>claim</th><th>verdict</th><th>detail</th></tr>"
    return f"<h2>Claims</h2><table>{head}{rows}</table>"


def _verdict_sentence(results: dict[str, Any]) -> str:
    verdict = results.get("verdict")
    n = results.get("examples_run", 0)
    if results.get("partial"):
        return f"This run did not finish (partial record, {n} example(s) so far): no verdict."
    if verdict == "PASS":
        return f"One dead link did not stall healthy sites, and no mail was lost: {n} example(s)."
    if verdict == "FAIL":
        failing = results.get("failing_examples", 0)
        return f"The MTA broke a claim in {failing} of {n} example(s)."
    return "The harness could not test (see the errors below); this is not a pass."


def _meta_table(results: dict[str, Any], identity: dict[str, Any]) -> str:
    started = results.get("started")
    rows = [
        ("MTA", f"{identity.get('name', results.get('mta'))} {identity.get('version', '')}"),
        ("configuration digest", identity.get("config_digest", "?")),
        ("backend", results.get("backend")),
        ("profile", results.get("profile") or "-"),
        ("bounds", _bounds_text(results.get("bounds") or {})),
        (
            "examples",
            f"{results.get('examples_run', 0)} run, {results.get('failing_examples', 0)} failing",
        ),
        ("run", results.get("run_id")),
        (
            "started",
            time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(started)) if started else "?",
        ),
        ("harness", f"mta-harness {results.get('harness_version', '?')}"),
    ]
    body = "".join(f"<tr><td>{escape(k)}</td><td>{escape(str(v))}</td></tr>" for k, v in rows)
    return f'<table class="meta">{body}</table>'


def _bounds_text(bounds: dict[str, Any]) -> str:
    return (
        f"healthy sites {bounds.get('delivery', '?')} s while links are down; "
        f"everything {bounds.get('recovery', '?')} s after the heal"
    )


def _featured(results: dict[str, Any]) -> dict[str, Any] | None:
    counterexamples = list(results.get("counterexamples", {}).values())
    if counterexamples:
        return dict(counterexamples[0])
    examples: list[dict[str, Any]] = results.get("examples", [])
    if not examples:
        return None
    return max(examples, key=lambda e: (len(e.get("timeline", [])), len(e["messages"])))


def _sites_of(example: dict[str, Any]) -> list[str]:
    count = int(example.get("scenario", {}).get("sites", 0))
    return [site.name for site in remote_sites(count)] if count else []


def _faulted_of(example: dict[str, Any]) -> set[str]:
    return {e["site"] for e in example.get("timeline", []) if e["action"] == "apply"}


def _waited_table(example: dict[str, Any]) -> str:
    """For a failure: the healthy messages that waited, and for how long."""
    rows = []
    for prop in example.get("claims", []):
        if prop["name"] == "healthy_sites_keep_flowing" and not prop["holds"]:
            for item in prop["evidence"]:
                if "waited" not in item:
                    continue
                final: dict[str, Any] = next(
                    (m for m in example["messages"] if m["id"] == item["id"]), {}
                )
                outcome = (
                    f"arrived after {final['latency']:.2f} s"
                    if final.get("latency") is not None
                    else str(final.get("status", "?"))
                )
                acceptance = final.get("acceptance")
                accepted = f"{acceptance:.2f} s" if acceptance is not None else "never"
                rows.append(
                    f"<tr><td>{escape(item['id'])}</td><td>{escape(item['site'])}</td>"
                    f"<td>{item['waited']:.2f} s</td><td>{accepted}</td>"
                    f"<td>{escape(outcome)}</td></tr>"
                )
    if not rows:
        return ""
    return (
        "<p>Healthy messages that waited past the bound:</p><table><tr><th>message</th>"
        "<th>site</th><th>waited (when judged, from submission)</th>"
        "<th>taken by the MTA after</th><th>in the end</th></tr>" + "".join(rows) + "</table>"
    )


def _claims_table(example: dict[str, Any]) -> str:
    out = []
    for prop in example.get("claims", []):
        state = prop.get("verdict", "holds" if prop["holds"] else "broken")
        out.append(
            f'<h3>{escape(prop["name"])}: <span class="{_css(state)}">{state}</span></h3>'
            f"<p>{escape(prop['summary'])}</p>"
        )
        evidence = prop.get("evidence", [])
        if evidence:
            keys = list(dict.fromkeys(k for item in evidence for k in item))
            head = "".join(f"<th>{escape(k)}</th>" for k in keys)
            rows = "".join(
                "<tr>" + "".join(f"<td>{escape(_cell(item.get(k)))}</td>" for k in keys) + "</tr>"
                for item in evidence[:50]
            )
            out.append(f"<table><tr>{head}</tr>{rows}</table>")
    return "\n".join(out)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if value is None:
        return "-"
    return str(value)


def _claim_counts(results: dict[str, Any]) -> str:
    claims = results.get("claims", [])
    if not claims:
        return ""
    states = ("holds", "broken", "warning", "not judged", "not proven")
    head = "".join(f"<th>{s}</th>" for s in states)
    rows = "".join(
        f"<tr><td>{escape(c['name'])}</td>"
        + "".join(f"<td>{c['counts'].get(s, 0)}</td>" for s in states)
        + "</tr>"
        for c in claims
    )
    return f"<h2>Every example, by claim</h2><table><tr><th>claim</th>{head}</tr>{rows}</table>"


def _all_examples(results: dict[str, Any]) -> str:
    examples = results.get("examples", [])
    if not examples:
        return ""
    out = [f"<h2>All {len(examples)} example(s)</h2>"]
    for number, example in enumerate(examples, start=1):
        state = "holds" if example["holds"] else "broken"
        out.append(
            f'<details><summary>example {number}: <span class="{state}">{state}</span> '
            f"{escape(example.get('description', ''))}</summary>"
            f"{latency_plot(example, width=860, height=300)}"
            f"{_claims_table(example)}</details>"
        )
    return "\n".join(out)
