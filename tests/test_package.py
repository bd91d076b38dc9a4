"""The package's own consistency: the generated namespace, the settings table, the doctests."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest
from click.testing import CliRunner

import coopgraph.namespace
import coopgraph.terms
from coopgraph.cli.main import cli
from coopgraph.errors import SettingError
from coopgraph.namespace import COOP
from coopgraph.settings import SETTINGS, resolve
from coopgraph.tools.gen_namespace import NAMESPACE_MODULE, load_ontology, render_module


def test_the_namespace_module_matches_the_ontology(root: Path) -> None:
    current = NAMESPACE_MODULE.read_text(encoding="utf-8")
    expected = render_module(current, load_ontology(root / "ontology" / "coopgraph.ttl"))
    assert current == expected, "run: python -m coopgraph.tools.gen_namespace"


def test_an_unknown_term_is_an_error() -> None:
    assert str(COOP.Agreement) == "https://w3id.org/coopgraph/ontology#Agreement"
    with pytest.raises(AttributeError):
        COOP.Agreemnt  # noqa: B018 - the typo is the point


def test_every_setting_is_documented_in_the_help() -> None:
    text = CliRunner().invoke(cli, ["--help"]).output
    for setting in SETTINGS:
        assert setting.help
        assert setting.env_var in text, f"{setting.name} is missing from --help"


def test_setting_precedence() -> None:
    env = {"COOPGRAPH_QUERY_FORMAT": "csv", "COOPGRAPH_STATS_FORMAT": "json"}
    values = resolve({"query_format": "json"}, {"stats_format": "table"}, env)
    assert values["query_format"] == "json", "a flag beats the environment"
    assert values["stats_format"] == "table", "--setting beats the environment"
    assert resolve({}, {}, env)["query_format"] == "csv"
    assert resolve({}, {}, {})["query_format"] == "table"
    with pytest.raises(SettingError, match="must be a number"):
        resolve({}, {"progress_after": "later"}, {})


@pytest.mark.parametrize("module", [coopgraph.namespace, coopgraph.terms])
def test_doctests(module) -> None:
    failures, tried = doctest.testmod(module)
    assert tried > 0 and failures == 0


def test_one_licence_for_the_code_and_one_for_the_data(root: Path) -> None:
    """LICENSE says which licence covers what; the package metadata and the ontology agree."""
    import json
    import tomllib

    from rdflib import Graph, URIRef
    from rdflib.namespace import DCTERMS

    text = (root / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0" in text
    assert "CC BY 4.0" in text and "data/sources/" in text
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "Apache-2.0"
    assert json.loads((root / "package.json").read_text(encoding="utf-8"))["license"] == (
        "Apache-2.0"
    )
    ontology = Graph().parse(root / "ontology" / "coopgraph.ttl")
    licences = set(ontology.objects(None, DCTERMS.license))
    assert URIRef("https://creativecommons.org/licenses/by/4.0/") in licences


def test_make_serve_installs_what_the_server_needs_and_says_where_the_command_is(
    root: Path, tmp_path: Path
) -> None:
    """``make serve`` installs the package without the test, lint and benchmark extras, and
    prints the full path of the ``coopgraph`` command (a dry run: nothing is installed)."""
    import os
    import subprocess

    venv = tmp_path / "venv"
    # Run as a top-level make even when the suite itself runs under ``make test``: a nested
    # make would add "Entering directory" lines around the plan.
    env = {k: v for k, v in os.environ.items() if k not in {"MAKELEVEL", "MAKEFLAGS", "MFLAGS"}}
    plan = subprocess.run(
        ["make", "--no-print-directory", "-n", f"VENV={venv}", "serve"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    installs = [line for line in plan.splitlines() if "pip install" in line and "-e" in line]
    assert installs == [f"{venv}/bin/python -m pip install --quiet -e ."]
    assert f'echo "the coopgraph command is {venv}/bin/coopgraph"' in plan
    assert plan.rstrip().endswith(f"{venv}/bin/coopgraph serve")
