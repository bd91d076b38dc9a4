"""`coopgraph format`: one canonical Turtle form for ontology/, data/ and shapes/."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import OWL, RDFS

from coopgraph.graph import canonical
from coopgraph.quality import owlapi
from tests.support import invoke

COOP = "https://w3id.org/coopgraph/ontology#"


def scramble(path: Path) -> None:
    """Rewrite ``path`` as another writer would: rdflib's plain Turtle, other prefixes."""
    graph = Graph(bind_namespaces="none").parse(path, format="turtle")
    other = Graph(bind_namespaces="none")
    other.bind("", COOP)  # Protégé's default prefix for the ontology's namespace
    other.bind("x", "http://www.w3.org/2002/07/owl#")
    other += graph
    path.write_text(other.serialize(format="turtle"), encoding="utf-8")


def test_the_committed_files_are_canonical(root):
    outcomes = canonical.plan(canonical.project_files(root), root)
    assert len(outcomes) >= 15
    assert [o.shown for o in outcomes if o.changed] == []


@pytest.mark.slow
def test_format_restores_the_committed_form_and_is_idempotent(project, root):
    files = [
        Path("ontology/coopgraph.ttl"),
        Path("shapes/coopgraph-shapes.ttl"),
        Path("data/002_04716fd2df2bc222.ttl"),
    ]
    for name in files:
        scramble(project / name)
        assert (project / name).read_text() != (root / name).read_text()
    first = invoke("--root", str(project), "format")
    assert first.exit_code == 0, first.output
    assert "3 of" in first.output and "files rewritten" in first.output
    for name in files:
        assert (project / name).read_text() == (root / name).read_text(), name
    second = invoke("--root", str(project), "format")
    assert "0 of" in second.output
    assert invoke("--root", str(project), "format", "--check").exit_code == 0


def test_check_lists_what_is_not_canonical_and_changes_nothing(project):
    path = project / "ontology" / "coopgraph-align.ttl"
    scramble(path)
    before = path.read_bytes()
    result = invoke("--root", str(project), "format", "--check")
    assert result.exit_code == 1
    assert "not canonical: ontology/coopgraph-align.ttl" in result.output
    assert "+++ ontology/coopgraph-align.ttl (canonical)" in result.output
    assert "1 of" in result.output and "run `coopgraph format`" in result.output
    assert path.read_bytes() == before


def test_a_syntax_error_names_the_place_and_nothing_is_written(project):
    scrambled = project / "ontology" / "coopgraph-align.ttl"
    scramble(scrambled)
    before = scrambled.read_bytes()
    broken = project / "data" / "002_04716fd2df2bc222.ttl"
    broken.write_text(broken.read_text() + "\no:oops coop:memberOf .\n")
    result = invoke("--root", str(project), "format")
    assert result.exit_code == 2
    assert "data/002_04716fd2df2bc222.ttl:" in result.output
    line = len(broken.read_text().splitlines())
    assert f":{line}:" in result.output
    assert scrambled.read_bytes() == before  # read every file before writing any
    assert not list(project.rglob(".*.tmp"))


def test_the_canonical_text_keeps_the_graph(root):
    for path in canonical.project_files(root):
        graph = Graph().parse(path, format="turtle")
        again = Graph().parse(data=canonical.canonical_text(graph), format="turtle")
        assert isomorphic(graph, again), path


def test_symmetric_axioms_and_sets_are_written_one_way():
    a, b, c = (URIRef(COOP + n) for n in ("A", "B", "C"))
    one, two = Graph(), Graph()
    one.add((b, OWL.disjointWith, a))
    two.add((a, OWL.disjointWith, b))
    text = canonical.canonical_text(one)
    assert text == canonical.canonical_text(two)
    assert "coop:A\n    owl:disjointWith coop:B ;" in text
    ordered = Graph().parse(
        data=f"@prefix owl: <{OWL}> . [] a owl:AllDisjointClasses ; "
        f"owl:members ( <{c}> <{a}> <{b}> ) .",
        format="turtle",
    )
    written = canonical.canonical_text(ordered)
    assert written.index("coop:A") < written.index("coop:B") < written.index("coop:C")


def test_string_literals_are_written_plain():
    graph = Graph()
    graph.add((URIRef(COOP + "B"), RDFS.comment, Literal("plain", datatype=canonical.XSD.string)))
    text = canonical.canonical_text(graph)
    assert 'rdfs:comment "plain" ;' in text


@pytest.mark.slow
def test_data_files_keep_no_owl_declarations(project):
    path = project / "data" / "reference" / "goals.ttl"
    text = path.read_text()
    path.write_text(
        text + f"\n<{COOP}Goal> a <{OWL}Class> .\n[] a <{OWL}Ontology> .\n"
        "gpg:1 a <http://www.w3.org/2002/07/owl#NamedIndividual> .\n"
    )
    result = invoke("--root", str(project), "format")
    assert "rewrote data/reference/goals.ttl (left out 3 OWL declarations)" in result.output
    assert path.read_text() == text


# --------------------------------------------------------------------------- Protégé


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "ontology/coopgraph.ttl",
        "ontology/coopgraph-align.ttl",
        "data/002_04716fd2df2bc222.ttl",
        "data/reference/goals.ttl",
    ],
)
def test_a_file_saved_by_the_owl_api_comes_back_to_the_committed_form(root, tmp_path, name):
    """Saved by the OWL API's Turtle writer (Protégé's "Save"): other order, other
    prefixes, declarations added, disjointness written from the other side, sets sorted;
    formatted, it is the committed file again."""
    saved = tmp_path / Path(name).name
    owlapi.save_turtle(root / name, saved)
    assert saved.read_text() != (root / name).read_text()
    keep = canonical.keeps_declarations(root / name, root)
    (outcome,) = canonical.plan([saved], declarations=keep)
    assert outcome.after == (root / name).read_text()


@pytest.mark.slow
def test_a_real_change_made_in_protege_is_all_that_remains(root, tmp_path):
    edited = tmp_path / "coopgraph.ttl"
    graph = Graph().parse(root / "ontology" / "coopgraph.ttl", format="turtle")
    graph.add((URIRef(COOP + "Academy"), RDFS.comment, Literal("A note.", lang="en")))
    edited.write_text(graph.serialize(format="turtle"))
    saved = tmp_path / "saved.ttl"
    owlapi.save_turtle(edited, saved)
    (outcome,) = canonical.plan([saved])
    committed = (root / "ontology" / "coopgraph.ttl").read_text().splitlines()
    changes = [
        line
        for line in difflib.unified_diff(committed, outcome.after.splitlines(), n=0)
        if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    assert changes == ['+    rdfs:comment "A note."@en ;']
