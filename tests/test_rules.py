"""The fast OWL 2 RL closure (coopgraph.reason.rules) gives exactly owlrl's inferences and
finds the same inconsistencies, on the bundled graph, on a generated graph and on a fixture
for each kind of clash the ontology can show."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph

from coopgraph.errors import FormatError
from coopgraph.graph.load import ProjectDataset, build_dataset
from coopgraph.graph.project import GraphKind
from coopgraph.reason import closure, is_noise, reason
from coopgraph.reason.rules import UnsupportedSchema, fast_closure
from tests.support import load_bench

PREFIXES = """@prefix coop: <https://w3id.org/coopgraph/ontology#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix x: <https://w3id.org/coopgraph/id/test/> .
"""

#: One fixture per kind of clash (and the equality rules, which only clashes set off).
FIXTURES = {
    "disjoint-classes": "x:a a coop:Organization , coop:Person .",
    "all-disjoint-classes": "x:m a coop:Meeting , coop:Signing .",
    "disjoint-through-subclasses": "x:a a coop:Person ; coop:memberOf x:b . x:b a coop:Person .",
    "nothing": "x:n a owl:Nothing .",
    "ill-typed-literal": 'x:s a coop:AssemblySession ; coop:sessionNumber "eighty"^^xsd:integer .',
    "functional-property": "x:s a coop:AssemblySession ; coop:sessionNumber 85 , 86 .",
    "same-as": "x:a owl:sameAs x:b . x:a a coop:Academy . x:b coop:subOrganizationOf x:p .",
    "same-as-clash": "x:a owl:sameAs x:b . x:a a coop:Person . x:c coop:leads x:b .",
    "consistent": "x:o a coop:Academy ; coop:subOrganizationOf x:p . x:p coop:memberOf x:q .",
}


def _both(ontology: Graph, data: Graph) -> tuple[tuple[set, list[str]], tuple[set, list[str]]]:
    """(inferences, messages) from owlrl and from the fast closure, noise removed alike."""
    asserted = Graph()
    for triple in (*ontology, *data):
        asserted.add(triple)
    reference, messages, _ = closure(asserted)
    new, fast_messages, _ = fast_closure(ontology, list(data))
    assert not {t for t in new if t in asserted}
    fast = {t for t in new if not is_noise(t)}
    return (set(reference), messages), (fast, fast_messages)


def _parts(ds: ProjectDataset) -> tuple[Graph, Graph]:
    data = ds.merged(GraphKind.SOURCE, GraphKind.REFERENCE, GraphKind.OTHER)
    return ds.merged(GraphKind.ONTOLOGY), data


@pytest.fixture(scope="module")
def ontology(bundled: ProjectDataset) -> Graph:
    return bundled.merged(GraphKind.ONTOLOGY)


@pytest.mark.slow  # owlrl on the bundled graph
def test_the_bundled_graph_gets_owlrls_inferences(bundled: ProjectDataset) -> None:
    reference, fast = _both(*_parts(bundled))
    assert reference[0]  # there is something to agree on
    assert fast == reference


@pytest.mark.slow  # owlrl on 10 k and 100 k triples: about 30 s and 5 minutes
@pytest.mark.parametrize("triples", [10_000, 100_000])
def test_a_generated_graph_gets_owlrls_inferences(tmp_path: Path, triples: int) -> None:
    generate = load_bench("generate")
    generate.generate(tmp_path / "g", triples, seed=4, progress=False)
    reference, fast = _both(*_parts(build_dataset(tmp_path / "g")))
    assert len(reference[0]) > triples / 2
    assert fast == reference


@pytest.mark.slow  # owlrl on the ontology, once per fixture
@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_each_kind_of_clash_is_found_as_owlrl_finds_it(ontology: Graph, name: str) -> None:
    data = Graph().parse(data=PREFIXES + FIXTURES[name], format="turtle")
    reference, fast = _both(ontology, data)
    assert fast == reference
    assert bool(reference[1]) == (name not in ("consistent", "same-as", "functional-property")), (
        reference[1]
    )


def test_a_schema_the_rules_do_not_cover_is_refused(ontology: Graph) -> None:
    data = Graph().parse(
        data=PREFIXES + "x:r a owl:Restriction ; owl:onProperty coop:memberOf .", format="turtle"
    )
    with pytest.raises(UnsupportedSchema, match="owl#Restriction.*reason with owlrl"):
        fast_closure(ontology, list(data))


def test_reason_falls_back_to_owlrl_and_says_why(project: Path) -> None:
    ontology = project / "ontology" / "coopgraph.ttl"
    with ontology.open("a", encoding="utf-8") as fh:
        fh.write(
            "\n[] a <http://www.w3.org/2002/07/owl#Restriction> ;\n"
            "    <http://www.w3.org/2002/07/owl#onProperty> "
            "<https://w3id.org/coopgraph/ontology#memberOf> .\n"
        )
    result = reason(build_dataset(project), attach=False)
    assert result.reasoner == "owlrl"
    assert "owl#Restriction" in result.note
    assert len(result.inferred) > 0


def test_an_unknown_reasoner_is_refused(bundled: ProjectDataset) -> None:
    with pytest.raises(FormatError, match="unknown reasoner 'fast'; use one of: rules, owlrl"):
        reason(bundled, attach=False, reasoner="fast")
