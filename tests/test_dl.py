"""HermiT, a complete OWL 2 DL reasoner: the shipped graph is consistent with no unsatisfiable
class, the disjointness the domain calls for holds, and wrong data is caught and explained.

The fixtures in tests/dl/ are curators' slips, each checked together with the shipped graph:
a type that clashes with a type the shipped data gives the same individual.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import owlready2
import pytest
from rdflib import BNode, Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF

from coopgraph.errors import LayoutError
from coopgraph.graph.load import ProjectDataset, build_dataset
from coopgraph.graph.project import GraphKind
from coopgraph.namespace import COOP
from coopgraph.quality import dl, dl_axioms, dl_explain, hermit
from tests.support import invoke

pytestmark = pytest.mark.slow  # HermiT, on Java

FIXTURES = Path(__file__).parent / "dl"
TOP = "AllDisjointClasses(coop:Agent, coop:Derivation, coop:Event, coop:Figure, "

#: The top-level kinds the domain keeps apart: no individual is of two of them.
TOP_LEVEL = [
    COOP.Person,
    COOP.Organization,
    COOP.Post,
    COOP.Instrument,
    COOP.Place,
    COOP.Event,
    COOP.Operation,
    COOP.ThematicArea,
    COOP.Goal,
    COOP.GoalFramework,
    COOP.Measure,
    COOP.Qualifier,
    COOP.Partnership,
    COOP.Signature,
    COOP.Figure,
    COOP.SourceDocument,
    COOP.Quote,
    COOP.Derivation,
]
#: Siblings the domain keeps apart.
SIBLINGS = [
    (COOP.Country, COOP.Region),
    (COOP.Country, COOP.City),
    (COOP.Region, COOP.City),
    (COOP.Agreement, COOP.Resolution),
    (COOP.CooperationAgreement, COOP.CooperationArrangement),
    (COOP.CooperationAgreement, COOP.MemorandumOfUnderstanding),
    (COOP.CooperationArrangement, COOP.MemorandumOfUnderstanding),
    (COOP.CrimeArea, COOP.ActivityArea),
    (COOP.Signing, COOP.Meeting),
    (COOP.Meeting, COOP.Review),
    (COOP.AssemblySession, COOP.CommissionSession),
    (COOP.AssemblySession, COOP.SideEvent),
    (COOP.CommissionSession, COOP.SideEvent),
    (COOP.BilateralMeeting, COOP.AssemblySession),
    (COOP.BilateralMeeting, COOP.CommissionSession),
    (COOP.IntergovernmentalOrganization, COOP.GoverningBody),
    (COOP.IntergovernmentalOrganization, COOP.UNBody),
    (COOP.UNOffice, COOP.UNBody),
    (COOP.Office, COOP.IntergovernmentalOrganization),
    (COOP.Office, COOP.GoverningBody),
    (COOP.Office, COOP.Council),
    (COOP.Office, COOP.Commission),
    (COOP.Secretariat, COOP.IntergovernmentalOrganization),
    (COOP.Secretariat, COOP.GoverningBody),
    (COOP.Secretariat, COOP.UNBody),
    (COOP.Secretariat, COOP.Council),
    (COOP.Secretariat, COOP.Commission),
    (URIRef("http://www.w3.org/2004/02/skos/core#Concept"), COOP.GoalFramework),
]
#: Kinds that can overlap, and do in the data or in the world: no disjointness may say
#: otherwise.
OVERLAPPING = [
    (COOP.UNBody, COOP.GoverningBody),  # the UN General Assembly
    (COOP.UNBody, COOP.Council),  # the UN Security Council
    (COOP.IntergovernmentalOrganization, COOP.Council),  # the Gulf Cooperation Council
    (COOP.IntergovernmentalOrganization, COOP.Academy),  # IACA has member states
    (COOP.IntergovernmentalOrganization, COOP.UNEntity),  # the UN's specialized agencies
    (COOP.Office, COOP.Secretariat),  # a secretariat is staffed like an office
    (COOP.SupplementalAgreement, COOP.MemorandumOfUnderstanding),  # a supplementary MoU
    (COOP.SideEvent, COOP.BilateralMeeting),  # a bilateral held on the margins
    (COOP.Agreement, COOP.CooperationAgreement),
]

#: fixture -> lines the explanation must hold: the two clashing types and the disjointness.
CLASHES = {
    "organization-as-person.ttl": [
        "o:interpol a coop:Person",
        "o:interpol a coop:IntergovernmentalOrganization",
        "coop:IntergovernmentalOrganization ⊑ coop:Organization",
        "coop:Organization disjointWith coop:Person",
    ],
    "agreement-as-place.ttl": [
        "agr:interpol-iaca-mou-2016 a coop:City",
        "agr:interpol-iaca-mou-2016 a coop:MemorandumOfUnderstanding",
        "coop:MemorandumOfUnderstanding ⊑ coop:Agreement",
        "coop:Agreement ⊑ coop:Instrument",
        "coop:City ⊑ coop:Place",
        TOP,
    ],
    "crime-area-as-organization.ttl": [
        "ca:terrorism a coop:Organization",
        "ca:terrorism a coop:CrimeArea",
        "coop:CrimeArea ⊑ coop:ThematicArea",
        "coop:Organization ⊑ coop:Agent",
        TOP,
    ],
    "city-as-country.ttl": [
        "place:vienna a coop:Country",
        "place:vienna a coop:City",
        "AllDisjointClasses(coop:City, coop:Country, coop:Region)",
    ],
    "arrangement-as-memorandum.ttl": [
        "agr:unodc-interpol-cooperation-arrangement a coop:MemorandumOfUnderstanding",
        "agr:unodc-interpol-cooperation-arrangement a coop:CooperationArrangement",
        "AllDisjointClasses(coop:CooperationAgreement, coop:CooperationArrangement, "
        "coop:MemorandumOfUnderstanding)",
    ],
}


def _explained(output: str) -> list[str]:
    """The axioms of the explanation in ``output``, without the files."""
    lines = output.split(" HermiT runs in ", 1)[1].splitlines()[1:]
    return [line.strip().rsplit("  [", 1)[0].strip() for line in lines if line.startswith("  ")]


# --------------------------------------------------------------------------- the shipped graph


@pytest.fixture(scope="module")
def shipped(bundled) -> dl.DLReport:
    return dl.check(bundled)


def test_the_shipped_graph_is_consistent_with_no_unsatisfiable_class(bundled, shipped) -> None:
    report = shipped
    assert report.consistent
    assert report.unsatisfiable == []
    assert report.ok and report.explanations == [] and report.unexplained == []
    assert report.modules == 2
    assert report.data_graphs == len(bundled.graphs_of(GraphKind.SOURCE, GraphKind.REFERENCE))
    assert report.triples == len(bundled.merged())
    # the data's days and years are annotation values, which HermiT leaves alone
    assert report.opaque_literals == {}
    # each run has a World of its own: owlready2's default world never sees the graph
    assert not [iri for iri in owlready2.default_world.ontologies if "coopgraph" in iri]


def test_the_report_gives_verdict_unsatisfiable_classes_and_time(bundled, shipped) -> None:
    text = dl.render(shipped, bundled)
    lines = text.splitlines()
    assert lines[0].startswith("HermiT (OWL 2 DL, through owlready2 ")
    graphs = len(bundled.graphs_of(GraphKind.SOURCE, GraphKind.REFERENCE))
    assert f"2 ontology modules, {graphs} data graphs" in lines[0]
    assert lines[1] == "consistent: yes"
    assert lines[2] == "unsatisfiable classes: none"
    assert lines[3].startswith("time: ") and lines[3].endswith(" s")
    assert len(lines) == 4


def test_a_day_on_a_data_property_is_read_as_opaque_and_the_report_says_so(root: Path) -> None:
    result = invoke("--root", str(root), "dl", str(FIXTURES / "date-on-a-data-property.ttl"))
    assert result.exit_code == 0, result.output
    assert "consistent: yes" in result.output
    assert (
        "note: HermiT read 1 literal of datatypes outside the OWL 2 datatype map as opaque "
        "values (xsd:date 1)"
    ) in result.output


def test_the_cli_exits_0_on_the_shipped_graph_and_prints_only_the_report(root: Path) -> None:
    result = invoke("--root", str(root), "dl")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:3] == ["consistent: yes", "unsatisfiable classes: none"]
    assert "Owlready" not in result.output and "java" not in result.output.lower()


def _probe(pairs: list[tuple[URIRef, URIRef]]) -> tuple[Graph, dict[URIRef, tuple]]:
    """A class A_and_B ≡ A ⊓ B per pair: HermiT finds it unsatisfiable iff A, B are disjoint."""
    graph = Graph()
    probes = {}
    for number, (a, b) in enumerate(pairs):
        probe = URIRef(f"urn:coopgraph:test:probe{number}")
        members = BNode()
        Collection(graph, members, [a, b])
        both = BNode()
        graph.add((probe, RDF.type, OWL.Class))
        graph.add((probe, OWL.equivalentClass, both))
        graph.add((both, RDF.type, OWL.Class))
        graph.add((both, OWL.intersectionOf, members))
        probes[probe] = (a, b)
    return graph, probes


def test_the_kinds_the_domain_keeps_apart_are_disjoint_and_those_that_overlap_not(
    bundled,
) -> None:
    pairs = [*itertools.combinations(TOP_LEVEL, 2), *SIBLINGS]
    graph, probes = _probe(pairs + OVERLAPPING)
    consistent, unsatisfiable = hermit.run_hermit([*dl.reasoner_input(bundled), (None, graph)])
    assert consistent
    found = {probes[p] for p in unsatisfiable}
    assert not (set(pairs) - found), "not disjoint: " + str(sorted(set(pairs) - found))
    assert not (found & set(OVERLAPPING)), "wrongly disjoint: " + str(found & set(OVERLAPPING))


# --------------------------------------------------------------------------- wrong data


PERSON_SLIP = "organization-as-person.ttl"


def _assert_explained(output: str, fixture: str) -> None:
    """``output`` reports the graph inconsistent and explains it with the fixture's clash."""
    assert "consistent: NO, the graph is inconsistent" in output
    assert "why the graph is inconsistent: " in output
    assert sorted(_explained(output)) == sorted(
        line if line != TOP else _line_starting(output, TOP) for line in CLASHES[fixture]
    )
    # each axiom names its file: the slip in the fixture, the clashing type in the data
    slip = next(line for line in output.splitlines() if CLASHES[fixture][0] in line)
    assert slip.endswith(f"[{FIXTURES / fixture}]") or slip.endswith(f"[tests/dl/{fixture}]")
    assert "[ontology/coopgraph.ttl]" in output


def _line_starting(output: str, start: str) -> str:
    found = [a for a in _explained(output) if a.startswith(start)]
    assert len(found) == 1, output
    return found[0]


@pytest.mark.parametrize("fixture", sorted(set(CLASHES) - {PERSON_SLIP}))
def test_the_cli_finds_a_wrong_fixture_inconsistent_and_explains_it(
    root: Path, fixture: str
) -> None:
    result = invoke("--root", str(root), "dl", str(FIXTURES / fixture))
    assert result.exit_code == 1, result.output
    _assert_explained(result.output, fixture)


@pytest.fixture(scope="module")
def person_slip(root: Path) -> tuple[ProjectDataset, dl.DLReport]:
    """The shipped graph with INTERPOL typed as a person, checked once."""
    ds = build_dataset(root)
    dl.add_files(ds, [FIXTURES / PERSON_SLIP])
    return ds, dl.check(ds)


def test_an_organization_typed_as_a_person_is_inconsistent_and_explained(person_slip) -> None:
    ds, report = person_slip
    assert not report.consistent and not report.ok
    assert report.unsatisfiable == [] and len(report.explanations) == 1
    _assert_explained(dl.render(report, ds), PERSON_SLIP)  # what `coopgraph dl FILE` prints


def test_the_explanation_is_a_minimal_inconsistent_set(person_slip) -> None:
    """Checked independently: HermiT finds the axioms inconsistent, and each proper subset
    that leaves one out consistent."""
    ds, report = person_slip
    explanation = report.explanations[0]
    declarations = dl_axioms.collect(ds).declarations

    def consistent(chosen: list[dl_axioms.Axiom]) -> bool:
        graph = Graph()
        for triple in declarations:
            graph.add(triple)
        for axiom in chosen:
            for triple in axiom.triples:
                graph.add(triple)
        return hermit.run_hermit([(None, graph)], quick=True)[0]

    chosen = explanation.axioms
    assert len(chosen) == 4
    assert not consistent(chosen)
    for left_out in chosen:
        assert consistent([a for a in chosen if a is not left_out]), left_out
    assert explanation.checks <= 8


def test_an_unsatisfiable_class_is_reported_and_explained(root: Path) -> None:
    result = invoke("--root", str(root), "dl", str(FIXTURES / "unsatisfiable-class.ttl"))
    assert result.exit_code == 1, result.output
    assert "consistent: yes" in result.output
    assert "unsatisfiable classes (1): test:PersonalOrganization" in result.output
    assert "why test:PersonalOrganization is unsatisfiable: " in result.output
    assert sorted(_explained(result.output)) == [
        "coop:Organization disjointWith coop:Person",
        "test:PersonalOrganization ⊑ coop:Organization",
        "test:PersonalOrganization ⊑ coop:Person",
    ]


def test_no_explanation_when_not_asked(root: Path) -> None:
    fixture = FIXTURES / "city-as-country.ttl"
    result = invoke("--root", str(root), "dl", "--no-explain", str(fixture))
    assert result.exit_code == 1
    assert "consistent: NO" in result.output and "why" not in result.output
    assert "explanation: not explained (--no-explain)" in result.output


# --------------------------------------------------------------------------- bad input


def test_a_missing_file_is_one_line_and_exit_2(root: Path) -> None:
    result = invoke("--root", str(root), "dl", "no-such-file.ttl")
    assert result.exit_code == 2
    assert result.output == "coopgraph: no-such-file.ttl: no such file\n"


def test_a_file_of_the_project_cannot_be_added_twice(bundled, root: Path) -> None:
    ds = build_dataset(root)
    with pytest.raises(LayoutError, match="already part of the project's graph"):
        dl.add_files(ds, [root / "data" / "reference" / "places.ttl"])


def test_without_java_the_error_says_what_to_install(root: Path, monkeypatch) -> None:
    monkeypatch.setattr(owlready2, "JAVA_EXE", "/nonexistent/java")
    result = invoke("--root", str(root), "dl")
    assert result.exit_code == 2
    assert result.output.startswith("coopgraph: HermiT needs a Java runtime")
    assert len(result.output.splitlines()) == 1


def test_an_import_outside_the_project_is_refused_not_downloaded(project: Path) -> None:
    align = project / "ontology" / "coopgraph-align.ttl"
    text = align.read_text(encoding="utf-8")
    align.write_text(
        text.replace(
            "owl:imports <https://w3id.org/coopgraph/ontology> ;",
            "owl:imports <https://w3id.org/coopgraph/ontology> , <http://example.org/elsewhere> ;",
        ),
        encoding="utf-8",
    )
    result = invoke("--root", str(project), "dl")
    assert result.exit_code == 2
    assert "imports <http://example.org/elsewhere>" in result.output
    assert "never from the network" in result.output


def test_an_import_by_version_iri_resolves_locally(project: Path, monkeypatch) -> None:
    def no_network(*args, **kwargs):
        raise AssertionError("owlready2 tried to download an ontology")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    align = project / "ontology" / "coopgraph-align.ttl"
    text = align.read_text(encoding="utf-8")
    align.write_text(
        text.replace(
            "owl:imports <https://w3id.org/coopgraph/ontology> ;",
            "owl:imports <https://w3id.org/coopgraph/ontology/0.1.0> ;",
        ),
        encoding="utf-8",
    )
    ds = build_dataset(project)
    modules = [(iri, graph) for iri, graph in dl.reasoner_input(ds) if iri is not None]
    assert len(modules) == 2
    assert not any(p == OWL.imports for _, graph in modules for p in graph.predicates())
    assert hermit.run_hermit(modules, quick=True) == (True, [])


# --------------------------------------------------------------------------- the algorithm


def test_quickxplain_finds_the_needed_few_of_many_in_few_checks() -> None:
    calls = []

    def consistent(items: list[int]) -> bool:
        calls.append(items)
        return not ({3, 17, 31} <= set(items))

    assert sorted(dl_explain.minimal_subset([], list(range(40)), consistent)) == [3, 17, 31]
    assert len(calls) < 30  # dropping them one by one would take 40
    calls.clear()
    kept = dl_explain.minimal_subset([], [5, 6, 7], lambda items: not ({5, 7} <= set(items)))
    assert kept == [5, 7]


def test_the_locality_module_keeps_what_a_clash_can_need(bundled: ProjectDataset) -> None:
    axioms = dl_axioms.collect(bundled)
    x = URIRef("urn:x")
    facts = [
        dl_axioms.Axiom("type", (x, cls), frozenset({(x, RDF.type, cls)}))
        for cls in (COOP.Person, COOP.IntergovernmentalOrganization)
    ]
    module = {
        dl.render_axiom(a, bundled.namespace_manager)
        for a in dl_axioms.locality_module(
            axioms.tbox, dl_axioms.signature_of(facts) | {URIRef("urn:x")}
        )
    }
    assert "coop:Organization disjointWith coop:Person" in module
    assert "coop:IntergovernmentalOrganization ⊑ coop:Organization" in module
    assert "coop:Person ⊑ coop:Agent" not in module  # a dead end: nothing below Agent clashes
    assert len(module) < len(axioms.tbox) // 4


def test_a_slip_in_the_project_data_is_explained_without_suspects(project: Path) -> None:
    """The same slip written into the project's own reference data, with no extra file to
    suspect, is found and explained all the same (on part of the reference data, for speed)."""
    for path in (project / "data").rglob("*.ttl"):
        if path.name not in ("organizations.ttl", "persons.ttl"):
            path.unlink()
    shutil.copy(
        FIXTURES / "organization-as-person.ttl", project / "data" / "reference" / "slip.ttl"
    )
    result = invoke("--root", str(project), "dl")
    assert result.exit_code == 1
    assert "o:interpol a coop:Person" in result.output
    assert "[data/reference/slip.ttl]" in result.output
