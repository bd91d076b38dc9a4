"""`coopgraph check`: every check trips on its fixture and on nothing else, the shipped
ontology and data have no ERROR, files are checked with the project's ontology as context,
and the command's exit codes and formats."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rdflib import Graph

from coopgraph.errors import CoopgraphError
from coopgraph.quality.check import SCOPES, SEVERITIES, load_checks, read_check, run_checks
from tests.support import coopgraph

FIXTURES = Path(__file__).parent / "checks"
CHECKS = {c.id: c for c in load_checks()}

#: The severity of each check, as in ROBOT's default profile where ROBOT has the check.
PROFILE = {
    "missing-label": "ERROR",
    "multiple-labels": "ERROR",
    "duplicate-label": "ERROR",
    "shared-label": "WARN",
    "label-whitespace": "ERROR",
    "label-formatting": "ERROR",
    "label-double-space": "WARN",
    "missing-definition": "WARN",
    "ontology-header": "ERROR",
    "missing-license": "ERROR",
    "no-ontology": "ERROR",
    "ambiguous-namespace": "WARN",
    "undeclared-class": "ERROR",
    "undeclared-property": "ERROR",
    "punned-term": "ERROR",
    "multiple-domains-ranges": "WARN",
    "missing-domain-range": "INFO",
    "unconnected-term": "WARN",
    "deprecated-use": "ERROR",
    "iri-file-extension": "WARN",
    "naming-convention": "INFO",
}
#: The OOPS! pitfalls that must be covered, and the check that covers each.
PITFALLS = {
    "P04": "unconnected-term",
    "P08": "missing-label missing-definition",
    "P11": "missing-domain-range",
    "P19": "multiple-domains-ranges",
    "P22": "naming-convention",
    "P32": "duplicate-label",
    "P34": "undeclared-class",
    "P35": "undeclared-property",
    "P36": "iri-file-extension",
    "P38": "no-ontology",
    "P39": "ambiguous-namespace",
    "P41": "missing-license",
}


def expected(fixture: Path) -> set[str]:
    """The IRIs a fixture's first line (``# expect: fx:A <iri> this-file``) names."""
    first = fixture.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), f"{fixture.name}: no '# expect:' line"
    nsm = Graph().parse(fixture).namespace_manager
    found = set()
    for token in first.removeprefix("# expect: ").split():
        if token == "this-file":
            found.add(fixture.resolve().as_uri())
        elif token.startswith("<"):
            found.add(token.strip("<>"))
        else:
            found.add(str(nsm.expand_curie(token)))
    return found


# --------------------------------------------------------------------------- the check files


def test_the_checks_follow_the_profile_and_cover_the_pitfalls() -> None:
    assert {c: CHECKS[c].severity for c in CHECKS} == PROFILE
    for pitfall, ids in PITFALLS.items():
        assert {c for c in CHECKS if pitfall in CHECKS[c].pitfalls} == set(ids.split()), pitfall
    for check in CHECKS.values():
        assert check.title and check.rationale, check.id
        assert check.description.endswith(".") and check.scope in SCOPES, check.id
    assert set(CHECKS["deprecated-use"].robot) == {
        "deprecated_class_reference",
        "deprecated_property_reference",
    }


def test_every_check_has_a_fixture() -> None:
    assert sorted(p.stem for p in FIXTURES.glob("*.ttl")) == sorted(CHECKS)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# id: x\n# severity: ERROR\n# title: T\n# description: D.\nSELECT ?subject {}", ""),
        ("# id: other\n# severity: ERROR\n# title: T\n# description: D.\nSELECT ?s {}", "id"),
        ("# id: x\n# severity: FATAL\n# title: T\n# description: D.\nSELECT ?s {}", "severity"),
        ("# id: x\n# severity: ERROR\n# title: T\nSELECT ?subject {}", "lacks description"),
        ("# id: x\n# severity: ERROR\n# titel: T\nSELECT ?subject {}", "unknown header"),
        ("# id: x\n# severity: INFO\n# title: T\n# description: D.\nSELECT ?s {}", "?subject"),
        ("# id: x\n# severity: INFO\n# title: T\n# description: D.\nSELECT ?subject {", "x.rq"),
    ],
)
def test_a_broken_check_file_is_refused(text: str, message: str) -> None:
    if not message:
        assert read_check("x.rq", text).id == "x"
        return
    with pytest.raises(CoopgraphError, match=re.escape(message)):
        read_check("x.rq", text)


# --------------------------------------------------------------------------- the fixtures


@pytest.mark.parametrize("alone", [False, True], ids=["with-project", "alone"])
@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_each_check_trips_on_its_fixture_and_nothing_else_does(check_id: str, alone: bool) -> None:
    fixture = FIXTURES / f"{check_id}.ttl"
    report = run_checks(files=[fixture], alone=alone)
    fired = {(f.check, f.iri) for f in report.findings}
    assert fired == {(check_id, iri) for iri in expected(fixture)}, report.render()
    assert {f.severity for f in report.findings} == {CHECKS[check_id].severity}
    assert {f.file for f in report.findings} == {str(fixture)}
    assert report.files == [str(fixture)]


def test_a_blank_node_is_reported_as_the_term_that_holds_it() -> None:
    report = run_checks(files=[FIXTURES / "deprecated-use.ttl"])
    restriction = [f for f in report.findings if f.property == "owl:onProperty"]
    assert [(f.subject, f.value) for f in restriction] == [("fx:Part", "fx:oldLink")]


# --------------------------------------------------------------------------- the project


def test_the_shipped_ontology_and_data_have_no_error(root: Path) -> None:
    report = run_checks(root)
    assert report.errors == [], report.render()
    assert {"ontology/coopgraph.ttl", "ontology/coopgraph-align.ttl"} <= set(report.files)
    assert "data/reference/organizations.ttl" in report.files
    assert len(report.checks) == len(CHECKS)


def test_the_data_is_checked_where_a_check_applies_to_it(project: Path) -> None:
    persons = project / "data" / "reference" / "persons.ttl"
    with persons.open("a", encoding="utf-8") as out:
        out.write(
            '\n<https://w3id.org/coopgraph/id/person/x> a coop:Persn ; rdfs:label "X "@en .\n'
            "coop:Stray a <http://www.w3.org/2002/07/owl#Class> .\n"
        )
    report = run_checks(project)
    found = {(f.check, f.subject, f.file) for f in report.findings if f.file.startswith("data/")}
    assert found == {
        ("undeclared-class", "coop:Persn", "data/reference/persons.ttl"),
        ("label-whitespace", "person:x", "data/reference/persons.ttl"),
        ("no-ontology", "data/reference/persons.ttl", "data/reference/persons.ttl"),
        ("unconnected-term", "coop:Stray", "data/reference/persons.ttl"),
    }
    # coop:Stray has no label and no definition, but the checks of the ontology's terms
    # (scope: ontology) do not read the data files.
    assert {CHECKS[f.check].scope for f in report.findings if f.subject == "coop:Stray"} == {"all"}


def test_a_file_is_checked_with_the_project_ontology_as_context(tmp_path: Path) -> None:
    draft = tmp_path / "draft.ttl"
    draft.write_text(
        "@prefix coop: <https://w3id.org/coopgraph/ontology#> .\n"
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "@prefix ex: <http://example.org/draft#> .\n"
        'ex:o a ex:Pact ; coop:partner ex:org ; rdfs:label "o"@en .\n'
        'ex:Pact a owl:Class ; rdfs:subClassOf coop:Agreement ; rdfs:label "agreement"@en .\n',
        encoding="utf-8",
    )
    with_project = run_checks(files=[draft])
    assert [(f.check, f.subject, f.value) for f in with_project.findings] == [
        ("duplicate-label", "ex:Pact", '"agreement"@en (also coop:Agreement)'),
        ("no-ontology", str(draft), "1 term declared, no owl:Ontology"),
    ]
    alone = run_checks(files=[draft], alone=True)
    assert [(f.check, f.subject) for f in alone.findings] == [
        ("no-ontology", str(draft)),
        ("undeclared-class", "coop:Agreement"),
        ("undeclared-property", "coop:partner"),
    ]


def test_a_project_file_given_is_checked_in_its_place(root: Path) -> None:
    whole = run_checks(root)
    one = run_checks(root, files=[root / "ontology" / "coopgraph.ttl"])
    assert one.files == [str(root / "ontology" / "coopgraph.ttl")]
    assert one.findings, "the shipped ontology has INFO findings (missing domains)"
    assert [(f.check, f.iri) for f in one.findings] == [
        (f.check, f.iri) for f in whole.findings if f.file == "ontology/coopgraph.ttl"
    ]


def test_a_finding_is_placed_in_the_file_that_states_it(root: Path, tmp_path: Path) -> None:
    # The alignment module states coop:Measure rdfs:subClassOf skos:Concept, but the label
    # that clashes with coop:measure's is stated in coopgraph.ttl.
    align = run_checks(root, files=[root / "ontology" / "coopgraph-align.ttl"])
    assert align.findings == []
    extra = tmp_path / "extra.ttl"
    extra.write_text(
        "@prefix coop: <https://w3id.org/coopgraph/ontology#> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        'coop:Agent rdfs:label "actor"@en .\n',
        encoding="utf-8",
    )
    report = run_checks(root, files=[extra])
    assert [(f.check, f.subject, f.file) for f in report.findings] == [
        ("multiple-labels", "coop:Agent", str(extra))
    ]
    assert report.findings[0].value in {
        '2 labels in @en: "agent", "actor"',
        '2 labels in @en: "actor", "agent"',
    }


def test_a_finding_reads_as_one_line() -> None:
    report = run_checks(files=[FIXTURES / "missing-label.ttl"])
    assert [str(f) for f in report.errors] == [
        f"ERROR missing-label fx:Nameless rdfs:label none [{FIXTURES / 'missing-label.ttl'}]: "
        "Term without a label"
    ]


# --------------------------------------------------------------------------- the command


@pytest.mark.slow
def test_the_command_exits_1_on_an_error_and_0_on_warnings(root: Path) -> None:
    error = coopgraph("check", str(FIXTURES / "missing-label.ttl"), cwd=root)
    assert error.returncode == 1, error.stderr
    assert error.stdout.startswith("ERROR (1)\n  missing-label (1): Term without a label")
    warn = coopgraph("check", str(FIXTURES / "missing-definition.ttl"), cwd=root)
    assert warn.returncode == 0 and "WARN (1)" in warn.stdout
    strict = coopgraph(
        "check", "--fail-on", "warn", str(FIXTURES / "missing-definition.ttl"), cwd=root
    )
    assert strict.returncode == 1
    info = coopgraph(
        "check", "--fail-on", "warn", str(FIXTURES / "naming-convention.ttl"), cwd=root
    )
    assert info.returncode == 0 and "INFO (2)" in info.stdout
    lax = coopgraph("check", "--fail-on", "none", str(FIXTURES / "missing-label.ttl"), cwd=root)
    assert lax.returncode == 0
    by_env = coopgraph(
        "check",
        str(FIXTURES / "missing-definition.ttl"),
        cwd=root,
        env={"COOPGRAPH_CHECK_FAIL_ON": "warn"},
    )
    assert by_env.returncode == 1


def test_the_shipped_files_pass_and_the_report_lists_warn_and_info(root: Path) -> None:
    done = coopgraph("check", cwd=root)
    assert done.returncode == 0, done.stdout
    last = done.stdout.splitlines()[-1]
    assert re.fullmatch(
        r"coopgraph check: \d+ checks on \d+ files: 0 ERROR, (\d+) WARN, (\d+) INFO\.", last
    ), last
    report = run_checks(root)
    for severity in ("WARN", "INFO"):
        if report.count(severity):
            assert f"\n{severity} ({report.count(severity)})\n" in "\n" + done.stdout


def test_make_test_runs_the_check_before_the_tests(root: Path) -> None:
    makefile = (root / "Makefile").read_text(encoding="utf-8")
    target = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0].splitlines()
    steps = [line.strip() for line in target[1:]]
    assert "$(BIN)/coopgraph check" in steps
    assert steps.index("$(BIN)/coopgraph check") < steps.index("$(BIN)/python -m pytest")


def test_an_error_in_the_shipped_files_fails_the_check(project: Path) -> None:
    ontology = project / "ontology" / "coopgraph.ttl"
    text = ontology.read_text(encoding="utf-8")
    ontology.write_text(text.replace('rdfs:label "person"@en', 'rdfs:label "person "@en'))
    done = coopgraph("--root", str(project), "check", cwd=project)
    assert done.returncode == 1
    assert re.search(
        r"\n  label-whitespace \(1\): .*\n    coop:Person\s+rdfs:label\s+\"person \"@en\s+"
        r"ontology/coopgraph\.ttl\n",
        done.stdout,
    ), done.stdout


@pytest.mark.slow
def test_the_formats(root: Path) -> None:
    files = [str(FIXTURES / name) for name in ("label-formatting.ttl", "missing-definition.ttl")]
    text = coopgraph("check", *files, cwd=root).stdout
    assert text.index("ERROR (1)") < text.index("WARN (1)")
    assert text.endswith("coopgraph check: 21 checks on 2 files: 1 ERROR, 1 WARN, 0 INFO.\n")
    tsv = coopgraph("check", "--format", "tsv", *files, cwd=root)
    rows = [line.split("\t") for line in tsv.stdout.splitlines()]
    assert rows[0] == ["severity", "check", "subject", "property", "value", "file", "message"]
    assert [r[:5] for r in rows[1:]] == [
        ["ERROR", "label-formatting", "fx:Broken", "rdfs:label", '"broken\\\\nline"@en'],
        ["WARN", "missing-definition", "fx:Undefined", "skos:definition", "none"],
    ]
    assert tsv.stderr.strip() == text.splitlines()[-1]
    document = json.loads(coopgraph("check", "--format", "json", *files, cwd=root).stdout)
    assert document["counts"] == {"ERROR": 1, "WARN": 1, "INFO": 0}
    assert [c["id"] for c in document["checks"]] == sorted(CHECKS)
    assert document["findings"][0] == {
        "check": "label-formatting",
        "severity": "ERROR",
        "subject": "fx:Broken",
        "property": "rdfs:label",
        "value": '"broken\\nline"@en',
        "message": "Label with a line break or a tab",
        "file": files[0],
        "iri": "http://example.org/fx#Broken",
    }
    assert set(SEVERITIES) == set(document["counts"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "html"], "coopgraph: unknown format 'html' for the check report; use one of"),
        (["--alone"], "coopgraph: checking alone applies to files; name the files to check"),
        (["nowhere.ttl"], "coopgraph: nowhere.ttl: no such file"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(root: Path, args: list[str], message: str) -> None:
    done = coopgraph("check", *args, cwd=root)
    assert done.returncode == 2
    assert done.stderr.startswith(message) and done.stderr.count("\n") == 1, done.stderr


def test_a_broken_file_is_reported_with_its_place(tmp_path: Path, root: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix fx: <http://example.org/fx#> .\nfx:a fx:b .\n", encoding="utf-8")
    done = coopgraph("check", str(bad), cwd=root)
    assert done.returncode == 2
    assert done.stderr.startswith(f"coopgraph: {bad}:2:")
