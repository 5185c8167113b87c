"""The CI recipes in docs/ci/ parse, and every harness command in them exists with its flags."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cli import build_parser

RECIPES = sorted((Path(__file__).parents[2] / "docs" / "ci").glob("*.yml"))


def scripts(node: Any) -> list[str]:
    """Every shell script in a workflow: GitHub's ``run`` and GitLab's ``script`` items."""
    if isinstance(node, dict):
        found = []
        for key, value in node.items():
            if key == "run" and isinstance(value, str):
                found.append(value)
            elif key == "script" and isinstance(value, list):
                found += [str(v) for v in value]
            else:
                found += scripts(value)
        return found
    if isinstance(node, list):
        return [s for item in node for s in scripts(item)]
    return []


def harness_commands(script: str) -> list[list[str]]:
    """The argv after each ``mta-harness`` executable in a script, to the end of its command."""
    commands = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.commenters = "#"
        words = list(lexer)
        for i, word in enumerate(words):
            if word == "mta-harness" or word.endswith("bin/mta-harness"):
                rest = words[i + 1 :]
                ends = [n for n, w in enumerate(rest) if w in (";", "&&", "||", "|", ";;")]
                commands.append(rest[: ends[0]] if ends else rest)
    return commands


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.name)
def test_a_recipe_certifies_an_image_verifies_it_and_keeps_the_run(recipe: Path) -> None:
    workflow = yaml.safe_load(recipe.read_text())
    commands = [c for s in scripts(workflow) for c in harness_commands(s)]
    assert [c[0] for c in commands] == ["certify", "verify"]
    parser = build_parser()
    for argv in commands:
        parser.parse_args(argv)  # an unknown command or flag exits 2: the test fails
    certify = commands[0]
    assert certify[certify.index("--backend") + 1] == "docker" and "--mta-image" in certify
    assert "--image" in commands[1]
    text = recipe.read_text()
    assert "junit" in text.lower() and "reports/" in text
    for status, verdict in (("1", "FAIL"), ("3", "ERROR")):
        assert f"{status}) echo" in text and verdict in text  # a message of its own each


def test_the_recipes_are_found() -> None:
    assert [p.name for p in RECIPES] == ["github-actions.yml", "gitlab-ci.yml"]


SHARDED = sorted((Path(__file__).parents[2] / "docs" / "ci" / "sharded").glob("*.yml"))


@pytest.mark.parametrize("recipe", SHARDED, ids=lambda p: p.name)
def test_a_sharded_recipe_certifies_every_shard_with_one_seed_then_merges(recipe: Path) -> None:
    workflow = yaml.safe_load(recipe.read_text())
    commands = [c for s in scripts(workflow) for c in harness_commands(s)]
    assert [c[0] for c in commands] == ["certify", "merge", "verify"]
    certify, merge = commands[0], commands[1]
    # The shell's variables stand for values the CI fills in: a shard and a whole seed.
    filled = [
        "2/4" if "/" in w and "$" in w else "7" if w.startswith("$") and "seed" in p else w
        for p, w in zip(["", *certify], certify, strict=False)
    ]
    args = build_parser().parse_args(filled)
    assert args.shard is not None and args.seed == 7 and args.example_db
    assert "--shard" in certify and "--seed" in certify
    build_parser().parse_args(merge)
    assert "--out" in merge and any("*" in w for w in merge)
    text = recipe.read_text()
    for status, verdict in (("1", "FAIL"), ("3", "ERROR")):
        assert f"{status}) echo" in text and verdict in text


def test_the_sharded_recipes_are_found() -> None:
    assert [p.name for p in SHARDED] == ["github-actions.yml", "gitlab-ci.yml"]
