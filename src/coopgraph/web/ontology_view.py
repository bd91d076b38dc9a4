"""The HTML view of an ontology module: its header, then every class and property.

Each term has an anchor named after its local name, so that ``/ontology#Agreement`` (the
IRI of the term) lands on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from coopgraph.store import Engine
from coopgraph.web.resources import labels, local_name

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


_FACTS = (
    ("subclass of", RDFS.subClassOf, False),
    ("superclass of", RDFS.subClassOf, True),
    ("subproperty of", RDFS.subPropertyOf, False),
    ("superproperty of", RDFS.subPropertyOf, True),
    ("inverse of", OWL.inverseOf, False),
    ("domain", RDFS.domain, False),
    ("range", RDFS.range, False),
    ("in the domain of", RDFS.domain, True),
    ("in the range of", RDFS.range, True),
)


def _term(graph: Graph, node: URIRef, ns: str) -> Term:
    term = Term(
        node,
        str(node)[len(ns) :],
        _text(graph, node, RDFS.label),
        _text(graph, node, SKOS.definition),
    )
    for name, prop, inverse in _FACTS:
        values = graph.subjects(prop, node) if inverse else graph.objects(node, prop)
        found = sorted({v for v in values if isinstance(v, URIRef)}, key=str)
        if found:
            term.facts.append((name, found))
    return term


def view(engine: Engine, iri: str, graph: Graph) -> dict[str, object]:
    """What ontology.html shows for the module ``iri`` held in ``graph``.

    The module's own classes and properties come by kind; terms of the namespace that the
    module only relates to others (an alignment module's subclass and subproperty axioms on
    terms declared elsewhere) come last, under "Alignments".
    """
    header = URIRef(iri)
    namespace = next(
        iter(graph.objects(header, URIRef("http://purl.org/vocab/vann/preferredNamespaceUri"))),
        None,
    )
    ns = str(namespace) if namespace else iri + "#"

    terms_of = {
        n
        for n in graph.subjects()
        if isinstance(n, URIRef) and str(n).startswith(ns) and str(n) != ns
    }
    sections: list[tuple[str, list[Term]]] = []
    declared: set[URIRef] = set()
    for title, kind in _KINDS:
        nodes = sorted(terms_of & set(graph.subjects(RDF.type, kind)), key=str)
        declared.update(nodes)
        if nodes:
            sections.append((title, [_term(graph, n, ns) for n in nodes]))
    aligned = sorted(terms_of - declared, key=str)
    if aligned:
        sections.append(("Alignments", [_term(graph, n, ns) for n in aligned]))
    header_rows = sorted(
        ((p, o) for p, o in graph.predicate_objects(header) if p != RDF.type),
        key=lambda po: (str(po[0]), str(po[1])),
    )
    shown = {str(t.iri) for _, terms in sections for t in terms}
    shown |= {str(v) for _, terms in sections for t in terms for _, vs in t.facts for v in vs}
    shown |= {str(n) for row in header_rows for n in row if isinstance(n, URIRef)}
    names = labels(engine, shown)
    for _, terms in sections:
        for t in terms:
            t.label = t.label or names.get(str(t.iri), t.anchor)

    def label(node: object) -> str:
        """The label of an IRI (its local name when it has none); a literal's text."""
        if isinstance(node, URIRef):
            return names.get(str(node)) or local_name(str(node))
        return str(node)

    return {
        "iri": iri,
        "title": _text(graph, header, DCTERMS.title) or iri,
        "description": _text(graph, header, DCTERMS.description),
        "header": header_rows,
        "sections": sections,
        "labels": names,
        "label": label,
    }
