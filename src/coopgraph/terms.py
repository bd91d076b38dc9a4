"""How RDF terms are written in coopgraph's outputs (text tables, reports, JSON), and
converted between rdflib and pyoxigraph."""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import XSD, NamespaceManager
from rdflib.term import Node


def short(node: Node | None, nsm: NamespaceManager | None = None) -> str:
    """Return ``node`` as a person reads it: a prefixed name where a prefix is bound.

    IRIs become ``prefix:local`` (or ``<iri>``), literals keep their quotes, language and
    datatype (``"2016"^^xsd:gYear``), blank nodes become ``_:id``, ``None`` becomes ``""``.

    >>> from rdflib import Graph
    >>> short(URIRef("http://www.w3.org/2002/07/owl#Thing"), Graph().namespace_manager)
    'owl:Thing'
    """
    if node is None:
        return ""
    if isinstance(node, URIRef) and nsm is not None:
        try:
            prefix, _, local = nsm.compute_qname(str(node), generate=False)
        except (KeyError, ValueError):
            return node.n3()
        return f"{prefix}:{local}" if prefix else f":{local}"
    if isinstance(node, Literal | URIRef | BNode):
        return node.n3(nsm)
    return str(node)


def plain(node: Node | None, nsm: NamespaceManager | None = None) -> str:
    """Like :func:`short`, but literals are shown as their bare text (for tables)."""
    if isinstance(node, Literal):
        return " ".join(str(node).split()) if "\n" in str(node) else str(node)
    return short(node, nsm)


def term_json(node: Node) -> dict[str, Any]:
    """Return ``node`` encoded as in SPARQL 1.1 Query Results JSON (section 3.2.2)."""
    if isinstance(node, URIRef):
        return {"type": "uri", "value": str(node)}
    if isinstance(node, BNode):
        return {"type": "bnode", "value": str(node)}
    if isinstance(node, Literal):
        out: dict[str, Any] = {"type": "literal", "value": str(node)}
        if node.language:
            out["xml:lang"] = node.language
        elif node.datatype is not None:
            out["datatype"] = str(node.datatype)
        return out
    raise TypeError(f"not an RDF term: {node!r}")


def rdflib_to_ox(node: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """An rdflib term as an Oxigraph term (a blank node keeps its id)."""
    if isinstance(node, URIRef):
        return ox.NamedNode(str(node))
    if isinstance(node, BNode):
        return ox.BlankNode(str(node))
    if isinstance(node, Literal):
        if node.language:
            return ox.Literal(str(node), language=node.language)
        datatype = ox.NamedNode(str(node.datatype)) if node.datatype else None
        return ox.Literal(str(node), datatype=datatype)
    raise TypeError(f"not an RDF term: {node!r}")


def ox_to_rdflib(term: Any) -> Node:
    """An Oxigraph term as an rdflib term (a plain literal for ``xsd:string``)."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == str(XSD.string):
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise TypeError(f"not a term: {term!r}")
