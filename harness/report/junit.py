"""JUnit for CI dashboards: a test the harness could not run is an *error*, not a failure.

pytest writes every exception raised while a test runs as ``<failure>``. A harness error
(Toxiproxy died, the MTA never became ready) is not the MTA failing a property, so the run
record marks such tests ``error`` and this rewrites their ``<failure>`` as ``<error>`` (the
plugin does it once pytest has written the file, for any run with ``--junitxml``). It also
writes each claim's verdict over the run as a ``<property name="claim:NAME">`` of the suite,
so a CI dashboard shows them one a line.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from harness.record import ClaimVerdict
from harness.results import describe_claim, write_text_atomic


def mark_harness_errors(
    path: Path, outcomes: dict[str, str], claims: list[ClaimVerdict] | None = None
) -> int:
    """Turn the failures of tests whose outcome is ``error`` into errors, and record each
    claim's run verdict as a suite property; returns how many failures became errors."""
    if not path.exists():
        return 0
    tree = ET.parse(path)
    changed = 0
    for suite in tree.getroot().iter("testsuite"):
        properties = suite.find("properties")
        if properties is None:
            properties = ET.Element("properties")
            suite.insert(0, properties)
        for claim in claims or []:
            ET.SubElement(
                properties, "property", name=f"claim:{claim.name}", value=describe_claim(claim)
            )
    for case in tree.getroot().iter("testcase"):
        nodeid = case.get("classname", "").replace(".", "/") + ".py::" + case.get("name", "")
        if outcomes.get(nodeid) != "error":
            continue
        for failure in case.findall("failure"):
            failure.tag = "error"
            changed += 1
    for suite in tree.getroot().iter("testsuite"):
        cases = list(suite.iter("testcase"))
        suite.set("failures", str(sum(len(c.findall("failure")) for c in cases)))
        suite.set("errors", str(sum(len(c.findall("error")) for c in cases)))
    text = ET.tostring(tree.getroot(), encoding="unicode", xml_declaration=True)
    write_text_atomic(path, text)
    return changed
