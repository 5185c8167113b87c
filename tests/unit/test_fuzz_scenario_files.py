"""Fuzzing scenario files: whatever the text, reading it ends in an outage or in one clear
ScenarioError naming the file (never another exception, never a traceback)."""

from __future__ import annotations

import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.scenario_file import ScenarioError, parse_outage
from harness.timeline import Outage

KEYS = [
    "name",
    "description",
    "run",
    "mta",
    "backend",
    "topology",
    "sites",
    "expect",
    "bound",
    "recovery",
    "strict_duplicates",
    "timeline",
    "at",
    "do",
    "link",
    "fault",
    "to",
    "site",
    "stage",
    "code",
    "delay",
    "drop",
    "colour",
]
WORDS = [
    "send",
    "fault",
    "heal",
    "misbehave",
    "tame",
    "site-a",
    "site-b",
    "site-g",
    "RCPT",
    "DATA",
    "blackhole",
    "refuse",
    "meteor",
    "local",
    "docker",
    "postfix",
    "",
    "\x00",
]
SCALARS = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=12),
    st.integers(-5, 700),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-10, max_value=5000),
    st.booleans(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)
    ),
    max_leaves=20,
)


def step() -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries(
        {"do": st.sampled_from(WORDS[:5])},
        optional={
            key: VALUES
            for key in ("at", "link", "fault", "to", "site", "stage", "code", "delay", "drop")
        },
    )


DOCUMENTS = st.fixed_dictionaries(
    {},
    optional={
        "name": VALUES,
        "run": st.dictionaries(st.sampled_from(["mta", "backend", "x"]), VALUES, max_size=2),
        "topology": st.dictionaries(st.sampled_from(["sites", "x"]), VALUES, max_size=2),
        "expect": st.dictionaries(
            st.sampled_from(["bound", "recovery", "strict_duplicates"]), VALUES, max_size=3
        ),
        "timeline": st.lists(step(), max_size=6),
    },
)


def read(text: str) -> Outage | None:
    try:
        return parse_outage(text, "fuzz.toml")
    except ScenarioError as exc:
        message = str(exc)
        assert message.startswith(("fuzz.toml", "2 problems", "3 problems", "4 problems")) or (
            "problems in the scenario file" in message
        ), message
        assert "Traceback" not in message
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_any_text_is_an_outage_or_one_clear_error(text: str) -> None:
    read(text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(DOCUMENTS)
def test_any_toml_document_is_an_outage_or_one_clear_error(document: dict[str, object]) -> None:
    try:
        text = tomli_w.dumps(document)
    except (TypeError, ValueError):
        return  # not representable in TOML (e.g. NUL in a key): not a file anyone can write
    outage = read(text)
    if outage is not None:  # accepted: it must be a playable outage
        assert 1 <= outage.sites <= 6 and outage.messages() > 0
