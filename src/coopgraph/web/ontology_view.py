"""The HTML view of an ontology module: its header, then every class and property.

Each term has an anchor named after its local name, so that ``/ontology#Agreement`` (the
IRI of the term) lands on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from coopgraph.store import Engine

_KINDS = (
    ("Classes", OWL.Class),
    ("Object properties", OWL.ObjectProperty),
    ("Datatype properties", OWL.DatatypeProperty),
    ("Annotation properties", OWL.AnnotationProperty),
)


@dataclass
class Term:
    """One class or property as shown."""

    iri: URIRef
    anchor: str
    label: str
    definition: str
    facts: list[tuple[str, list[URIRef]]] = field(default_factory=list)


def _text(graph: Graph, node: URIRef, prop: URIRef) -> str:
    values = [v for v in graph.objects(node, prop) if isinstance(v, Literal)]
    english = [v for v in values if v.language in (None, "en")]
    return str((english or values or [""])[0])


def view(engine: Engine, iri: str, graph: Graph) -> dict[str, object]:
    """What ontology.html shows for the module ``iri`` held in ``graph``."""
    header = URIRef(iri)
    namespace = next(
        iter(graph.objects(header, URIRef("http://purl.org/vocab/vann/preferredNamespaceUri"))),
        None,
    )
    ns = str(namespace) if namespace else iri + "#"
    sections = []
    for title, kind in _KINDS:
        terms = []
        for node in sorted(set(graph.subjects(RDF.type, kind)), key=str):
            if not isinstance(node, URIRef) or not str(node).startswith(ns):
                continue
            term = Term(
                node,
                str(node)[len(ns) :],
                _text(graph, node, RDFS.label),
                _text(graph, node, SKOS.definition),
            )
            for name, prop, inverse in (
                ("subclass of", RDFS.subClassOf, False),
                ("superclass of", RDFS.subClassOf, True),
                ("subproperty of", RDFS.subPropertyOf, False),
                ("superproperty of", RDFS.subPropertyOf, True),
                ("inverse of", OWL.inverseOf, False),
                ("domain", RDFS.domain, False),
                ("range", RDFS.range, False),
                ("in the domain of", RDFS.domain, True),
                ("in the range of", RDFS.range, True),
            ):
                values = graph.subjects(prop, node) if inverse else graph.objects(node, prop)
                found = sorted({v for v in values if isinstance(v, URIRef)}, key=str)
                if found:
                    term.facts.append((name, found))
            terms.append(term)
        if terms:
            sections.append((title, terms))
    shown = {str(t.iri) for _, terms in sections for t in terms}
    shown |= {str(v) for _, terms in sections for t in terms for _, vs in t.facts for v in vs}
    from coopgraph.web.resources import labels

    return {
        "iri": iri,
        "title": _text(graph, header, DCTERMS.title) or iri,
        "description": _text(graph, header, DCTERMS.description),
        "header": sorted(
            ((str(p), str(o)) for p, o in graph.predicate_objects(header) if p != RDF.type),
            key=lambda po: po[0],
        ),
        "sections": sections,
        "labels": labels(engine, shown),
    }
