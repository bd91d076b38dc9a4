"""The coopgraph command: what it prints, its exit codes, and its errors on bad input."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import Result
from rdflib import Graph
from rdflib.namespace import SH

from coopgraph.namespace import COOP, INFERRED_GRAPH
from tests.support import invoke

CQ03 = "queries/competency/cq03-signatories-of-the-unodc-interpol-arrangement.rq"


def one_line_error(result: Result, code: int = 2) -> str:
    """Assert the command failed with one line on stderr, no traceback, and return it."""
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    assert lines[0].startswith("coopgraph: ")
    return lines[0]


# --------------------------------------------------------------------------- validate


def test_validate_on_the_bundled_graph_conforms(root: Path) -> None:
    result = invoke("validate", root=root)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "Conforms: 0 violations."


def test_validate_names_shape_focus_path_message_and_file(project: Path) -> None:
    path = project / "data" / "002_04716fd2df2bc222.ttl"
    text = path.read_text(encoding="utf-8")
    broken = text.replace(
        "    coop:hasParty\n        o:interpol ,\n        o:unodc ;\n",
        "    coop:hasParty o:unodc ;\n",
    )
    assert broken != text
    path.write_text(broken)
    result = invoke("validate", root=project)
    assert result.exit_code == 1
    out = result.stdout
    assert "Violation shp:agreement-two-parties (1 result)" in out
    assert "An agreement needs at least two parties (coop:hasParty)." in out
    assert "agr:unodc-interpol-cooperation-arrangement  coop:hasParty" in out
    assert "[data/002_04716fd2df2bc222.ttl]" in out
    assert out.strip().endswith("Does not conform: 1 violation in 1 file.")


def test_validate_reports_an_ill_typed_date_without_a_traceback(project: Path) -> None:
    path = project / "data" / "002_04716fd2df2bc222.ttl"
    text = path.read_text(encoding="utf-8").replace(
        '"2016-05-23"^^xsd:date', '"2016-13-23"^^xsd:date'
    )
    path.write_text(text, encoding="utf-8")
    result = invoke("validate", root=project)
    assert result.exit_code == 1
    assert "Violation shp:date-datatype (2 results)" in result.stdout
    assert "Traceback" not in result.output


@pytest.mark.parametrize("fmt", ["json", "turtle"])
def test_validate_machine_formats(project: Path, fmt: str) -> None:
    path = project / "data" / "reference" / "persons.ttl"
    path.write_text(
        path.read_text().replace('rdfs:label "Yury Fedotov"@en', 'rdfs:label "Yury Fedotov"')
    )
    result = invoke("validate", "--format", fmt, root=project)
    assert result.exit_code == 1
    if fmt == "json":
        doc = json.loads(result.stdout)
        assert doc["conforms"] is False
        assert [r["shapeName"] for r in doc["results"]] == ["shp:label-english"]
        assert doc["results"][0]["focusNode"]["value"].endswith("/person/yury-fedotov")
        assert doc["results"][0]["files"] == ["data/reference/persons.ttl"]
    else:
        graph = Graph().parse(data=result.stdout, format="turtle")
        assert len(list(graph.subjects(SH.resultSeverity, SH.Violation))) == 1
    assert result.stderr.startswith("Does not conform: 1 violation")


def test_validate_format_from_the_environment(root: Path, monkeypatch) -> None:
    monkeypatch.setenv("COOPGRAPH_VALIDATE_FORMAT", "json")
    result = invoke("validate", root=root)
    assert json.loads(result.stdout)["conforms"] is True


@pytest.mark.slow
def test_validate_with_inferences_conforms(root: Path) -> None:
    result = invoke("validate", "--inferred", root=root)
    assert result.exit_code == 0, result.output


# --------------------------------------------------------------------------- bad input


def test_turtle_syntax_error_names_file_line_and_column(project: Path) -> None:
    path = project / "data" / "002_04716fd2df2bc222.ttl"
    text = path.read_text(encoding="utf-8")
    broken = text.replace(
        "    coop:postIn o:unodc ;\n.\n\nq:002-02", "    coop:postIn o:unodc\n\nq:002-02", 1
    )
    assert broken != text
    path.write_text(broken, encoding="utf-8")
    line = one_line_error(invoke("validate", root=project))
    assert line.startswith("coopgraph: data/002_04716fd2df2bc222.ttl:200:24: expected '.'")


def test_unterminated_string_names_where_it_opens(project: Path) -> None:
    path = project / "data" / "reference" / "places.ttl"
    lines = path.read_text(encoding="utf-8").splitlines()
    number = next(i for i, t in enumerate(lines) if '"Vienna"@en' in t)
    lines[number] = lines[number].replace('"Vienna"@en', '"Vienna@en')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    line = one_line_error(invoke("stats", root=project))
    column = lines[number].index('"Vienna') + 1
    assert line == (
        f"coopgraph: data/reference/places.ttl:{number + 1}:{column}: "
        "string not closed on the line where it opens"
    )


def test_a_data_file_without_its_source_text_is_refused(project: Path) -> None:
    (project / "data" / "stray.ttl").write_text("", encoding="utf-8")
    line = one_line_error(invoke("stats", root=project))
    assert "data/stray.ttl: no source text data/sources/stray.txt" in line


def test_a_folder_that_is_not_a_project(tmp_path: Path) -> None:
    line = one_line_error(invoke("validate", root=tmp_path))
    assert "is not a coopgraph project" in line


def test_missing_query_file(root: Path) -> None:
    line = one_line_error(invoke("query", "no-such-query.rq", root=root))
    assert line == "coopgraph: no-such-query.rq: query file not found"


def test_query_syntax_error_gives_line_and_column(root: Path) -> None:
    line = one_line_error(invoke("query", "-", root=root, stdin="SELECT *\nWHERE { ?s ?p }\n"))
    assert line.startswith("coopgraph: query: line 2, column 9: syntax error")


def test_undeclared_prefix_gives_its_position(root: Path) -> None:
    text = "SELECT * WHERE {\n  ?s a coop:Agreement }"
    line = one_line_error(invoke("query", "-", root=root, stdin=text))
    assert line == (
        "coopgraph: query: line 2, column 8: prefix coop: is used but not declared "
        "(add a PREFIX line)"
    )


def test_an_update_is_not_run(root: Path) -> None:
    text = "INSERT DATA { <urn:a> <urn:b> <urn:c> }"
    line = one_line_error(invoke("query", "-", root=root, stdin=text))
    assert "this is a SPARQL Update" in line


def test_service_is_refused(root: Path) -> None:
    text = "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"
    line = one_line_error(invoke("query", "-", root=root, stdin=text))
    assert "SERVICE is not allowed" in line


def test_empty_query(root: Path) -> None:
    assert one_line_error(invoke("query", "-", root=root, stdin="  \n")).endswith(
        "the query is empty"
    )


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (["validate", "--format", "yaml"], "for the validation report"),
        (["query", CQ03, "--format", "yaml"], "for query results"),
        (["stats", "--format", "csv"], "for the statistics"),
        (["reason", "--format", "rdfa"], "for the inferences"),
    ],
)
def test_unknown_format(root: Path, args: list[str], what: str) -> None:
    line = one_line_error(invoke(*args, root=root))
    assert f"unknown format '{args[-1]}' {what}; use one of: " in line


def test_graph_format_for_a_select_query(root: Path) -> None:
    line = one_line_error(invoke("query", CQ03, "--format", "turtle", root=root))
    assert "unknown format 'turtle' for SELECT results" in line


def test_unknown_setting_and_bad_setting_value(root: Path, monkeypatch) -> None:
    line = one_line_error(invoke("--setting", "colour", "red", "stats", root=root))
    assert line.startswith("coopgraph: unknown setting 'colour'; known settings: ")
    monkeypatch.setenv("COOPGRAPH_PROGRESS_AFTER", "soon")
    line = one_line_error(invoke("stats", root=root))
    assert "COOPGRAPH_PROGRESS_AFTER" in line and "must be a number" in line


# --------------------------------------------------------------------------- query


def test_query_table(root: Path) -> None:
    result = invoke("query", CQ03, root=root)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    header = next(t for t in lines if "person" in t)
    assert [cell.strip() for cell in header.split("│")[1:-1]] == [
        "person",
        "organization",
        "post",
        "date",
    ]
    assert any("Yury Fedotov" in t and "2016-05-23" in t for t in lines)
    assert lines[-1] == "2 rows"
    widths = {len(t) for t in lines[:-1]}
    assert len(widths) == 1, "the table's rows are aligned"


def test_query_csv_and_json(root: Path) -> None:
    rows = list(csv.reader(io.StringIO(invoke("query", CQ03, "--format", "csv", root=root).stdout)))
    assert rows[0] == ["person", "organization", "post", "date"]
    assert sorted(r[0] for r in rows[1:]) == ["Jürgen Stock", "Yury Fedotov"]
    doc = json.loads(invoke("query", CQ03, "--format", "json", root=root).stdout)
    assert doc["head"]["vars"] == ["person", "organization", "post", "date"]
    dates = {b["date"]["datatype"] for b in doc["results"]["bindings"]}
    assert dates == {"http://www.w3.org/2001/XMLSchema#date"}


def test_query_tsv_writes_terms_in_turtle_syntax(root: Path) -> None:
    text = 'SELECT ?x ?d WHERE { VALUES (?x ?d) { (<urn:a> "a\\tb"@en) } }'
    out = invoke("query", "-", "--format", "tsv", root=root, stdin=text).stdout
    assert out == '?x\t?d\n<urn:a>\t"a\\tb"@en\n'


def test_ask_and_construct(root: Path, bundled) -> None:
    ask = "PREFIX coop: <https://w3id.org/coopgraph/ontology#> ASK { ?a a coop:Resolution }"
    assert invoke("query", "-", root=root, stdin=ask).stdout == "yes\n"
    assert json.loads(invoke("query", "-", "--format", "json", root=root, stdin=ask).stdout) == {
        "head": {},
        "boolean": True,
    }
    construct = (
        "PREFIX coop: <https://w3id.org/coopgraph/ontology#> "
        "CONSTRUCT { ?o coop:partyTo ?a } WHERE { ?a coop:hasParty ?o }"
    )
    out = invoke("query", "-", root=root, stdin=construct).stdout
    graph = Graph().parse(data=out, format="turtle")
    parties = len(list(bundled.triples((None, COOP.hasParty, None))))
    assert len(graph) == parties == len(list(graph.triples((None, COOP.partyTo, None))))
    assert "coop:partyTo" in out, "Turtle is written with the dataset's prefixes"


@pytest.mark.slow
def test_query_sees_the_inferences_unless_told_not_to(root: Path) -> None:
    text = (
        "PREFIX coop: <https://w3id.org/coopgraph/ontology#> "
        "SELECT (COUNT(*) AS ?n) WHERE { ?o coop:partyTo ?a }"
    )
    inferred = invoke("query", "-", "--format", "csv", root=root, stdin=text).stdout
    plain = invoke("query", "-", "--format", "csv", "--no-infer", root=root, stdin=text).stdout
    assert plain.splitlines()[1] == "0"
    assert int(inferred.splitlines()[1]) > 10
    off = invoke(
        "--setting", "infer", "false", "query", "-", "--format", "csv", root=root, stdin=text
    )
    assert off.stdout.splitlines()[1] == "0", "the infer setting turns them off too"


# --------------------------------------------------------------------------- reason, stats


@pytest.mark.slow
def test_reason_writes_the_inferences_atomically(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "inferred.ttl"
    result = invoke("reason", "-o", str(out), root=root)
    assert result.exit_code == 0, result.output
    graph = Graph().parse(out, format="turtle")
    assert (None, COOP.partyTo, None) in graph
    assert "inferred triples" in result.stderr
    assert "with inferences: Conforms" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inferred.ttl"]


@pytest.mark.slow
def test_reason_into_a_missing_folder_writes_nothing(root: Path, tmp_path: Path) -> None:
    line = one_line_error(invoke("reason", "-o", str(tmp_path / "no" / "x.ttl"), root=root))
    assert "does not exist" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_reason_exits_1_on_an_inconsistent_graph(project: Path) -> None:
    path = project / "data" / "reference" / "persons.ttl"
    path.write_text(
        path.read_text().replace(
            "person:orler\n    a coop:Person ;", "person:orler\n    a coop:Person , coop:Place ;"
        )
    )
    result = invoke("reason", "--no-check", root=project)
    assert result.exit_code == 1
    assert "inconsistent: Disjoint classes" in result.stderr


@pytest.mark.slow
def test_stats(root: Path) -> None:
    result = invoke("stats", root=root)
    assert result.exit_code == 0
    assert "data/004_99a00a0a19330a11.ttl" in result.stdout
    assert "coop:Quote" in result.stdout
    doc = json.loads(invoke("stats", "--format", "json", "--inferred", root=root).stdout)
    assert doc["triples"] == sum(g["triples"] for g in doc["graphs"])
    assert str(INFERRED_GRAPH) in {g["graph"] for g in doc["graphs"]}
    assert (
        doc["instances"][str(COOP.Agreement)] < doc["instancesWithInferences"][str(COOP.Agreement)]
    )
    assert doc["quotes"] == doc["instances"][str(COOP.Quote)]


@pytest.mark.slow
def test_the_installed_command_runs_as_a_module(root: Path) -> None:
    env = {**os.environ, "COOPGRAPH_ROOT": str(root)}
    done = subprocess.run(
        [sys.executable, "-m", "coopgraph", "query", CQ03, "--format", "csv"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("person,organization,post,date")
