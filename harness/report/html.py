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

from harness.claims.healthy import LateMessage
from harness.record import BoundsRecord, Example, Run
from harness.report.plot import latency_plot, legend
from harness.report.throughput import throughput_plot, under_load
from harness.results import describe_claim, pass_sentence, write_text_atomic
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


def render_report(results: Run) -> str:
    """The page for one run record."""
    verdict = results.verdict
    identity = results.identity
    colour = VERDICT_COLOURS.get(verdict, "#57606a")
    title = f"{verdict}: {results.mta} ({results.run_id})"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f'<h1><span class="verdict" id="verdict" style="background:{colour}">'
        f"{escape(verdict)}</span>{escape(results.mta)} "
        f"{escape(identity.version if identity else '')}</h1>",
        f"<p>{escape(_verdict_sentence(results))}</p>",
        _meta_table(results),
        _run_claims(results),
    ]
    featured = _featured(results)
    if results.counterexamples:
        parts.append("<h2>Counterexample</h2>")
        for test, counterexample in results.counterexamples.items():
            how = ", shrunk by Hypothesis" if counterexample.shrunk else ""
            if counterexample.shrink_budget_ran_out:
                how += " (the shrink budget ran out: the best found in time)"
            if counterexample.intermittent:
                how += f"; intermittent, {counterexample.intermittent}"
            parts.append(f"<p>From <code>{escape(test)}</code>{how}.")
            if counterexample.file:
                parts.append(
                    f" Replay it: <code>mta-harness replay {escape(counterexample.file)}</code>"
                )
            parts.append(f"</p><pre>{escape(counterexample.explanation)}</pre>")
            parts.append(_waited_table(counterexample))
    if featured is not None:
        label = "the counterexample" if results.counterexamples else "the busiest example"
        parts += [
            f"<h2>Latency timeline ({escape(label)})</h2>",
            f"<p>{escape(featured.description)}</p>",
            legend(_sites_of(featured), _faulted_of(featured)),
            latency_plot(featured),
            "<h2>Claims</h2>",
            _claims_table(featured),
        ]
    loaded = featured if featured is not None and under_load(featured) else None
    loaded = loaded or next((e for e in results.examples if under_load(e)), None)
    if loaded is not None:
        parts += [
            "<h2>Throughput over time (under load)</h2>",
            f"<p>{escape(loaded.description)}</p>",
            throughput_plot(loaded),
        ]
    parts.append(_claim_counts(results))
    for error in results.errors:
        parts.append(f"<pre class='error'>harness error: {escape(error)}</pre>")
    explained = {c.test for c in results.counterexamples.values()}
    for test, failure in results.failures.items():
        if test not in explained:
            parts.append(f"<h2>Failed: {escape(test)}</h2><pre>{escape(failure)}</pre>")
    parts.append(_all_examples(results))
    parts.append(
        "<p><small>Files beside this one: results.json (the full history), junit.xml, "
        "logs-*/ (every part's log, the MTA's among them)"
        + (", certificate.json and certificate.md" if results.canary else "")
        + ".</small></p></body></html>"
    )
    return "\n".join(parts)


def write_report(folder: Path, results: Run, suffix: str = "") -> Path:
    """Write ``report<suffix>.html`` into ``folder`` (atomically)."""
    path = folder / f"report{suffix}.html"
    write_text_atomic(path, render_report(results))
    return path


def _css(state: str) -> str:
    return "broken" if state == "broken" else "holds" if state == "holds" else "note"


def _run_claims(results: Run) -> str:
    """Each claim's verdict over the whole run, one line each."""
    if not results.claims:
        return ""
    rows = "".join(
        f'<tr><td>{escape(c.name)}</td><td class="{_css(c.verdict)}">'
        f"{escape(c.verdict)}</td><td>{escape(describe_claim(c))}</td></tr>"
        for c in results.claims
    )
    head = "<tr><th>claim</th><th>verdict</th><th>detail</th></tr>"
    return f"<h2>Claims</h2><table>{head}{rows}</table>"


def _verdict_sentence(results: Run) -> str:
    n = results.examples_run
    if results.partial:
        return f"This run did not finish (partial record, {n} example(s) so far): no verdict."
    if results.verdict == "PASS":
        return f"{pass_sentence(results).removesuffix('.')}: {n} example(s)."
    if results.verdict == "FAIL":
        return f"The MTA broke a claim in {results.failing_examples} of {n} example(s)."
    return "The harness could not test (see the errors below); this is not a pass."


def _meta_table(results: Run) -> str:
    identity = results.identity
    rows = [
        (
            "MTA",
            f"{identity.name if identity else results.mta} {identity.version if identity else ''}",
        ),
        ("configuration digest", identity.config_digest if identity else "?"),
        ("backend", results.backend),
        ("profile", results.profile or "-"),
        ("bounds", _bounds_text(results.bounds)),
        (
            "examples",
            f"{results.examples_run} run ({results.examples_judged} judged healthy mail while "
            f"a link was faulted), {results.failing_examples} failing",
        ),
        ("deliveries", _tls_text(results.tls_deliveries())),
        ("run", results.run_id),
        ("started", time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(results.started))),
        ("harness", f"mta-harness {results.harness_version}"),
    ]
    body = "".join(f"<tr><td>{escape(k)}</td><td>{escape(str(v))}</td></tr>" for k, v in rows)
    return f'<table class="meta">{body}</table>'


def _tls_text(counts: dict[str | None, int]) -> str:
    if not counts:
        return "none"
    total = sum(counts.values())
    over = ", ".join(f"{n} over {v}" for v, n in sorted(counts.items(), key=str) if v)
    plain = counts.get(None, 0)
    return f"{total}: " + "; ".join(filter(None, [over, f"{plain} in plain text" if plain else ""]))


def _bounds_text(bounds: BoundsRecord) -> str:
    return (
        f"healthy sites {bounds.delivery:g} s while links are down; "
        f"everything {bounds.recovery:g} s after the heal"
    )


def _featured(results: Run) -> Example | None:
    counterexamples = list(results.counterexamples.values())
    if counterexamples:
        return counterexamples[0]
    if not results.examples:
        return None
    return max(results.examples, key=lambda e: (len(e.timeline), len(e.messages)))


def _sites_of(example: Example) -> list[str]:
    count = example.scenario.sites
    return [site.name for site in remote_sites(count)] if count else []


def _faulted_of(example: Example) -> set[str]:
    return {e.site for e in example.timeline if e.action == "apply"}


def _waited_table(example: Example) -> str:
    """For a failure: the healthy messages that waited, and for how long."""
    rows = []
    claim = example.claim("healthy_sites_keep_flowing")
    messages = {m.id: m for m in example.messages}
    for late in claim.evidence if claim is not None and not claim.holds else []:
        if not isinstance(late, LateMessage):
            continue
        final = messages.get(late.id)
        if final is None:
            outcome = "?"
        elif final.latency is not None:
            outcome = f"arrived after {final.latency:.2f} s"
        else:
            outcome = final.status
        # The message's own record: it may have been accepted after the claim judged it.
        acceptance = final.acceptance if final is not None else late.acceptance
        accepted = f"{acceptance:.2f} s" if acceptance is not None else "never"
        rows.append(
            f"<tr><td>{escape(late.id)}</td><td>{escape(late.site)}</td>"
            f"<td>{late.waited:.2f} s</td><td>{accepted}</td>"
            f"<td>{escape(outcome)}</td></tr>"
        )
    if not rows:
        return ""
    return (
        "<p>Healthy messages that waited past the bound:</p><table><tr><th>message</th>"
        "<th>site</th><th>waited (when judged, from submission)</th>"
        "<th>taken by the MTA after</th><th>in the end</th></tr>" + "".join(rows) + "</table>"
    )


def _claims_table(example: Example) -> str:
    out = []
    for claim in example.claims:
        out.append(
            f'<h3>{escape(claim.name)}: <span class="{_css(claim.verdict)}">{claim.verdict}'
            f"</span></h3><p>{escape(claim.summary)}</p>"
        )
        if claim.evidence:
            cells = [item.cells() for item in claim.evidence[:50]]
            keys = list(dict.fromkeys(k for row in cells for k in row))
            head = "".join(f"<th>{escape(k)}</th>" for k in keys)
            rows = "".join(
                "<tr>" + "".join(f"<td>{escape(_cell(row.get(k)))}</td>" for k in keys) + "</tr>"
                for row in cells
            )
            out.append(f"<table><tr>{head}</tr>{rows}</table>")
    return "\n".join(out)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if value is None:
        return "-"
    return str(value)


def _claim_counts(results: Run) -> str:
    if not results.claims:
        return ""
    states = ("holds", "broken", "warning", "not judged", "not proven")
    head = "".join(f"<th>{s}</th>" for s in states)
    rows = "".join(
        f"<tr><td>{escape(c.name)}</td>"
        + "".join(f"<td>{c.counts.get(s, 0)}</td>" for s in states)
        + "</tr>"
        for c in results.claims
    )
    return f"<h2>Every example, by claim</h2><table><tr><th>claim</th>{head}</tr>{rows}</table>"


def _all_examples(results: Run) -> str:
    if not results.examples:
        return ""
    out = [f"<h2>All {len(results.examples)} example(s)</h2>"]
    for number, example in enumerate(results.examples, start=1):
        state = "holds" if example.holds else "broken"
        out.append(
            f'<details><summary>example {number}: <span class="{state}">{state}</span> '
            f"{escape(example.description)}</summary>"
            f"{latency_plot(example, width=860, height=300, ident=f'example-{number}')}"
            f"{throughput_plot(example) if under_load(example) else ''}"
            f"{_claims_table(example)}</details>"
        )
    return "\n".join(out)
