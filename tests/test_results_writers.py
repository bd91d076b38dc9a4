"""One results writer: ``coopgraph query --format F`` and the endpoint asked for F write the
same bytes for the same result, in every SPARQL results format, on every engine."""

from __future__ import annotations

import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from coopgraph.cli.main import cli
from coopgraph.sparql import query as query_mod
from coopgraph.sparql import results
from tests.support import QUERIES

pytestmark = pytest.mark.slow  # real servers on every engine


def endpoint_bytes(base: str, text: str, media_type: str) -> bytes:
    url = base + "sparql?" + urllib.parse.urlencode({"query": text})
    request = urllib.request.Request(url, headers={"Accept": media_type})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers.get_content_type() == media_type
        return response.read()


@pytest.mark.parametrize("fmt", list(results.NAMES))
def test_every_competency_question_is_written_alike(engine_server, served, fmt: str) -> None:
    media_type = results.NAMES[fmt]
    differ = []
    for path in QUERIES:
        text = path.read_text(encoding="utf-8")
        written = query_mod.render(query_mod.run_query(served, text), fmt, served)
        if written.encode("utf-8") != endpoint_bytes(engine_server.url, text, media_type):
            differ.append(path.name)
    assert not differ, f"the CLI and the endpoint write these differently as {fmt}: {differ}"


def test_the_command_prints_the_writers_bytes(root: Path, bundled) -> None:
    """The command line adds nothing: not a newline, not a byte-order mark."""
    text = 'SELECT ?s ?label WHERE { VALUES (?s ?label) { (<urn:a> "two\\nlines") } }'
    for fmt in results.NAMES:
        shown = CliRunner().invoke(
            cli, ["--root", str(root), "query", "-", "--format", fmt], input=text
        )
        assert shown.exit_code == 0, shown.output
        answer = query_mod.render(query_mod.run_query(bundled, text), fmt, bundled)
        assert shown.stdout_bytes == answer.encode("utf-8"), fmt


def test_a_literal_with_a_newline_keeps_its_tsv_row_whole(root: Path, bundled) -> None:
    """TSV writes a newline in a literal as ``\\n`` (SPARQL 1.1 TSV: Turtle's escapes), so the
    row stays on one line; the CLI once wrote a triple-quoted string with a raw newline."""
    text = (
        'SELECT ?x WHERE { VALUES ?x { "two\\nlines"^^<http://www.w3.org/2001/XMLSchema#string> } }'
    )
    out = query_mod.render(query_mod.run_query(bundled, text), "tsv", bundled)
    assert out.splitlines() == ["?x", '"two\\nlines"']
