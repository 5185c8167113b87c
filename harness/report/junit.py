"""JUnit for CI dashboards: a test the harness could not run is an *error*, not a failure.

pytest writes every exception raised while a test runs as ``<failure>``. A harness error
(Toxiproxy died, the MTA never became ready) is not the MTA failing a property, so the run
record marks such tests ``error`` and this rewrites their ``<failure>`` as ``<error>`` (the
plugin does it once pytest has written the file, for any run with ``--junitxml``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from harness.results import write_text_atomic


def mark_harness_errors(path: Path, outcomes: dict[str, str]) -> int:
    """Turn the failures of tests whose outcome is ``error`` into errors; returns how many."""
    if not path.exists():
        return 0
    tree = ET.parse(path)
    changed = 0
    for case in tree.getroot().iter("testcase"):
        nodeid = case.get("classname", "").replace(".", "/") + ".py::" + case.get("name", "")
        if outcomes.get(nodeid) != "error":
            continue
        for failure in case.findall("failure"):
            failure.tag = "error"
            changed += 1
    if changed:
        for suite in tree.getroot().iter("testsuite"):
            cases = list(suite.iter("testcase"))
            suite.set("failures", str(sum(len(c.findall("failure")) for c in cases)))
            suite.set("errors", str(sum(len(c.findall("error")) for c in cases)))
        text = ET.tostring(tree.getroot(), encoding="unicode", xml_declaration=True)
        write_text_atomic(path, text)
    return changed
