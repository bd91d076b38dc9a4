"""The ontology's header, term annotations and declarations, and its Protégé catalog."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS, XSD

from coopgraph.quality import dl_axioms
from tests.support import ROOT

ONTOLOGY = ROOT / "ontology"
COOP = "https://w3id.org/coopgraph/ontology#"
VANN = "http://purl.org/vocab/vann/"
DECLARATIONS = (
    OWL.Class,
    OWL.ObjectProperty,
    OWL.DatatypeProperty,
    OWL.AnnotationProperty,
    RDFS.Datatype,
)
BUILT_IN = (str(RDF), str(RDFS), str(OWL), str(XSD))

CORE = Graph().parse(ONTOLOGY / "coopgraph.ttl")
ALIGN = Graph().parse(ONTOLOGY / "coopgraph-align.ttl")


def _data() -> Graph:
    graph = Graph()
    for path in sorted((ROOT / "data").rglob("*.ttl")):
        graph.parse(path)
    return graph


def _coop_terms() -> list[URIRef]:
    return sorted({s for s in CORE.subjects() if isinstance(s, URIRef) and str(s).startswith(COOP)})


def _declared(graph: Graph) -> set[URIRef]:
    return {s for kind in DECLARATIONS for s in graph.subjects(RDF.type, kind)}


@pytest.mark.parametrize(
    ("path", "iri"),
    [
        ("coopgraph.ttl", "https://w3id.org/coopgraph/ontology"),
        ("coopgraph-align.ttl", "https://w3id.org/coopgraph/ontology/align"),
    ],
)
def test_each_module_has_one_ontology_with_a_full_header(path: str, iri: str) -> None:
    graph = Graph().parse(ONTOLOGY / path)
    assert list(graph.subjects(RDF.type, OWL.Ontology)) == [URIRef(iri)]
    header = URIRef(iri)
    version = graph.value(header, OWL.versionIRI)
    assert version is not None and str(version).startswith(iri + "/")
    assert str(version).endswith("/" + str(graph.value(header, OWL.versionInfo)))
    for prop in (
        DCTERMS.title,
        DCTERMS.description,
        DCTERMS.creator,
        DCTERMS.created,
        DCTERMS.modified,
        URIRef(VANN + "preferredNamespacePrefix"),
        URIRef(VANN + "preferredNamespaceUri"),
    ):
        assert graph.value(header, prop) is not None, f"{path}: header lacks {prop}"
    assert isinstance(graph.value(header, DCTERMS.license), URIRef), "license must be an IRI"


@pytest.mark.parametrize("term", _coop_terms(), ids=lambda t: str(t).removeprefix(COOP))
def test_every_term_has_a_type_one_english_label_and_a_definition(term: URIRef) -> None:
    assert set(CORE.objects(term, RDF.type)) & set(DECLARATIONS), f"{term} is not declared"
    labels = list(CORE.objects(term, RDFS.label))
    assert len(labels) == 1 and isinstance(labels[0], Literal) and labels[0].language == "en"
    definitions = list(CORE.objects(term, SKOS.definition))
    assert len(definitions) == 1 and definitions[0].language == "en"


def test_every_term_the_data_uses_is_declared_in_the_core_ontology() -> None:
    declared = _declared(CORE)
    data = _data()
    used = set(data.predicates()) | set(data.objects(None, RDF.type))
    missing = sorted(str(t) for t in used if not str(t).startswith(BUILT_IN) and t not in declared)
    assert missing == []


def test_the_alignment_module_declares_every_external_term_it_uses() -> None:
    declared = _declared(CORE) | _declared(ALIGN)
    used = {
        t
        for triple in ALIGN
        for t in triple
        if isinstance(t, URIRef) and not str(t).startswith(BUILT_IN)
    }
    used -= set(ALIGN.subjects(RDF.type, OWL.Ontology)) | set(ALIGN.objects(None, OWL.imports))
    used -= set(ALIGN.objects(None, OWL.versionIRI)) | set(ALIGN.objects(None, DCTERMS.license))
    assert sorted(str(t) for t in used - declared) == []


def test_no_xsd_date_or_gyear_in_an_owl_range() -> None:
    """xsd:date and xsd:gYear are outside the OWL 2 datatype map (DESIGN.md)."""
    graph = CORE + ALIGN
    assert not set(graph.objects(None, RDFS.range)) & {XSD.date, XSD.gYear}


def test_days_and_years_in_data_are_annotation_values() -> None:
    """A literal whose datatype is outside the OWL 2 datatype map (the data's xsd:date and
    xsd:gYear) is the value of an annotation property, never of a data property: OWL 2 DL
    forbids the latter, and HermiT in Protégé stops on it."""
    annotation = set((CORE + ALIGN).subjects(RDF.type, OWL.AnnotationProperty))
    outside = {
        (p, o.datatype)
        for _, p, o in _data()
        if isinstance(o, Literal) and o.datatype and o.datatype not in dl_axioms.OWL2_DATATYPES
    }
    assert {XSD.date, XSD.gYear} <= {d for _, d in outside}, "the data has days and years"
    assert sorted(p for p, _ in outside if p not in annotation) == []


def test_the_catalog_resolves_every_import_to_a_file_with_that_ontology_iri() -> None:
    catalog = ET.parse(ONTOLOGY / "catalog-v001.xml").getroot()
    entries = {
        e.get("name"): ONTOLOGY / e.get("uri")
        for e in catalog.iter("{urn:oasis:names:tc:entity:xmlns:xml:catalog}uri")
    }
    graph = CORE + ALIGN
    for imported in graph.objects(None, OWL.imports):
        assert str(imported) in entries, f"no catalog entry for the import of {imported}"
        target = Graph().parse(entries[str(imported)])
        assert (URIRef(str(imported)), RDF.type, OWL.Ontology) in target
    for name, path in entries.items():
        target = Graph().parse(path)
        headers = set(target.subjects(RDF.type, OWL.Ontology))
        versions = {target.value(h, OWL.versionIRI) for h in headers}
        assert URIRef(name) in headers | versions, f"{path.name} is not {name}"


def test_the_core_ontology_declares_every_term_it_uses() -> None:
    """Protégé adds stub declarations on save for anything used but not declared."""
    used = {
        t
        for triple in CORE
        for t in (triple[1], triple[2] if triple[1] == RDF.type else None)
        if isinstance(t, URIRef) and not str(t).startswith(BUILT_IN)
    }
    used |= {
        o
        for p in (RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range, OWL.inverseOf)
        for o in CORE.objects(None, p)
        if isinstance(o, URIRef) and not str(o).startswith(BUILT_IN)
    }
    assert sorted(str(t) for t in used - _declared(CORE)) == []
