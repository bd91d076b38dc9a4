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
