"""OWL 2 RL reasoning gives the inferences the ontology is designed for, and nothing broken."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Literal
from rdflib.namespace import ORG, OWL, PROV, RDF

from coopgraph.graph.load import ProjectDataset, build_dataset, load_files, load_shapes
from coopgraph.graph.project import GraphKind
from coopgraph.namespace import COOP, ID, INFERRED_GRAPH
from coopgraph.quality.validate import validate
from coopgraph.reason import Reasoning, reason

INTERPOL = ID["org/interpol"]
UN = ID["org/united-nations"]
UNODC = ID["org/unodc"]
CTED = ID["org/cted"]
ARRANGEMENT = ID["agreement/unodc-interpol-cooperation-arrangement"]


@pytest.fixture(scope="module")
def reasoned(root: Path) -> tuple[ProjectDataset, Reasoning, set]:
    ds = build_dataset(root)
    before = {name: set(ds.graph(name)) for name in ds.asserted_graphs()}
    return ds, reason(ds), before


def _inferred(reasoned) -> set:
    return set(reasoned[1].inferred)


@pytest.mark.slow
def test_the_asserted_graphs_are_untouched(reasoned) -> None:
    ds, _, before = reasoned
    assert {name: set(ds.graph(name)) for name in ds.asserted_graphs()} == before


def test_inferences_sit_in_their_own_graph_and_are_all_new(reasoned) -> None:
    ds, result, before = reasoned
    assert ds.kinds[INFERRED_GRAPH] is GraphKind.INFERRED
    assert set(ds.graph(INFERRED_GRAPH)) == _inferred(reasoned)
    asserted = set().union(*before.values())
    assert len(result.inferred) > 500
    assert not _inferred(reasoned) & asserted


@pytest.mark.parametrize(
    ("triple", "why"),
    [
        ((INTERPOL, COOP.partyTo, ARRANGEMENT), "partyTo is the inverse of hasParty"),
        ((UN, COOP.hasSubOrganization, UNODC), "hasSubOrganization is the inverse"),
        ((UNODC, COOP.cooperatesWith, INTERPOL), "cooperatesWith is symmetric"),
        ((ID["org/wco"], COOP.memberOf, ID["org/iccwc"]), "memberOf is the inverse of hasMember"),
        ((INTERPOL, COOP.leads, ID["operation/epervier"]), "leads is the inverse of ledBy"),
        (
            (ID["post/interpol-secretary-general"], COOP.heldBy, ID["person/jurgen-stock"]),
            "heldBy is the inverse of holdsPost",
        ),
        (
            (ID["signing/unodc-interpol-cooperation-arrangement"], COOP.signingOf, ARRANGEMENT),
            "signingOf is the inverse of hasSigning",
        ),
        ((ARRANGEMENT, RDF.type, COOP.Agreement), "a cooperation arrangement is an agreement"),
        ((ARRANGEMENT, RDF.type, COOP.Instrument), "an agreement is an instrument"),
        ((ARRANGEMENT, RDF.type, PROV.Entity), "alignment: an instrument is a prov:Entity"),
        ((CTED, COOP.transitiveSubOrganizationOf, UN), "CTED -> CTC -> Security Council -> UN"),
        ((CTED, ORG.transitiveSubOrganizationOf, UN), "alignment with org:"),
        ((ID["person/jurgen-stock"], RDF.type, COOP.Agent), "a person is an agent"),
        ((ID["place/vienna"], RDF.type, COOP.Place), "a city is a place"),
        (
            (ID["event/launch-global-policing-goals"], COOP.participant, INTERPOL),
            "organizer is a sub-property of participant",
        ),
        (
            (ID["quote/001-01"], PROV.wasDerivedFrom, ID["source/001_46fcdf9a1ead3f1b"]),
            "wasQuotedFrom is a sub-property of wasDerivedFrom",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_designed_inference(reasoned, triple, why: str) -> None:
    assert triple in _inferred(reasoned), why


def test_transitive_chain_is_not_asserted(reasoned) -> None:
    """The CTED -> UN link exists only as an inference, so the test above proves reasoning."""
    ds = reasoned[0]
    assert (CTED, COOP.transitiveSubOrganizationOf, UN) not in ds.merged()
    assert (CTED, COOP.subOrganizationOf, UN) not in ds.merged()


def test_no_noise_and_no_invalid_rdf(reasoned) -> None:
    for s, p, o in _inferred(reasoned):
        assert not isinstance(s, Literal), f"literal subject: {s} {p} {o}"
        assert not (p in (OWL.sameAs, OWL.equivalentClass) and s == o)
        assert not (p == RDF.type and o == OWL.Thing)


def test_the_graph_is_consistent_and_nothing_is_empty(reasoned) -> None:
    result = reasoned[1]
    assert result.inconsistencies == []
    assert result.nothing == []
    assert result.consistent
    assert not list(reasoned[0].subjects(RDF.type, OWL.Nothing))


def test_the_union_with_inferences_still_conforms(reasoned, root: Path) -> None:
    report = validate(reasoned[0], load_shapes(root), include_inferred=True)
    assert report.conforms, [r.shape_name for r in report.results]
    assert report.results == []


@pytest.mark.slow
def test_reasoning_twice_replaces_the_inferred_graph(root: Path) -> None:
    ds = build_dataset(root)
    first = len(reason(ds).inferred)
    reason(ds)
    assert len(ds.graph(INFERRED_GRAPH)) == first
    assert list(ds.kinds).count(INFERRED_GRAPH) == 1


WRONG = """
@prefix coop: <https://w3id.org/coopgraph/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://w3id.org/coopgraph/id/org/x> a coop:Organization , coop:Person ;
    rdfs:label "An organization wrongly typed as a person"@en .
"""


def test_an_organization_typed_as_a_person_is_found_inconsistent(
    root: Path, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong.ttl"
    wrong.write_text(WRONG, encoding="utf-8")
    ds = load_files([*sorted((root / "ontology").glob("*.ttl")), wrong], root=root)
    result = reason(ds)
    assert not result.consistent
    assert any(
        "https://w3id.org/coopgraph/id/org/x" in m and "disjoint" in m.lower()
        for m in result.inconsistencies
    ), result.inconsistencies
