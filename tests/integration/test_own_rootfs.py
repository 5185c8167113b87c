"""A described MTA brings its own root filesystem recipe (a file of its own, not one shipped
in fixtures/rootfs/): built from Debian's packages and cached like the shipped ones, on
both backends."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.rootfs import load_recipe, rootfs_path

from ..conftest import HOST_DNS, run_cli

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="root filesystems need root"),
    # One build of the recipe, then the cache; the build fetches Debian packages.
    pytest.mark.xdist_group(HOST_DNS),
]

TEMPLATE = Path(__file__).parents[2] / "fixtures" / "mta" / "postfix-from-template.toml"


@pytest.mark.parametrize("backend", ["local", "docker"])
def test_an_mta_in_a_recipe_of_its_own_is_built_and_certified(tmp_path: Path, backend: str) -> None:
    # Postfix with one package more than the shipped recipe: a build the harness does not ship.
    recipe = tmp_path / "my-postfix.toml"
    recipe.write_text(
        'suite = "bookworm"\nvariant = "apt"\ninclude = ["postfix", "postfix-pcre"]\n'
    )
    description = tmp_path / "my-mta.toml"
    description.write_text(
        TEMPLATE.read_text()
        .replace('rootfs = "postfix"', 'rootfs = "my-postfix.toml"')
        .replace('name = "postfix-from-template"', 'name = "my-postfix"')
    )
    done = run_cli(
        "replay",
        "fixtures/scenarios/q193760.toml",
        "--mta",
        str(description),
        "--backend",
        backend,
        "--reports",
        str(tmp_path / "reports"),
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert (rootfs_path(load_recipe(str(recipe))) / ".complete").exists()
    (run_dir,) = (tmp_path / "reports").iterdir()
    assert json.loads((run_dir / "results.json").read_text())["identity"]["name"] == "my-postfix"
