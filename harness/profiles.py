"""Hypothesis profiles for property suites, kept apart from the plugin so the CLI can name
them without importing Hypothesis before pytest starts (which would defeat assert rewriting)."""

from __future__ import annotations

from typing import Any

PROFILES: dict[str, dict[str, Any]] = {
    # Small enough for CI, big enough that Hypothesis meets the seed's outage and shrinks it.
    "ci": {"max_examples": 20, "database": None, "print_blob": True},
    "thorough": {"max_examples": 200},
}
