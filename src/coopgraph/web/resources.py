"""What a resource page shows, gathered with the server's own bounded queries.

A resource's description: its outgoing statements (with the graph each comes from), its
incoming links, labels for everything shown, its evidence (quotes and their sources), its
derivation notes; for a source document, its text and every fact that cites it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, PROV, RDF, RDFS, SKOS
from rdflib.term import Node

from coopgraph import formats
from coopgraph.namespace import COOP, INFERRED_GRAPH
from coopgraph.store.engine import Engine
from coopgraph.web.worker import reader

#: At most this many incoming links are listed (and returned in RDF) per resource.
INCOMING_LIMIT = 500
#: At most this many instances are listed on a class page.
INSTANCES_LIMIT = 1000

_LABELS = (RDFS.label, SKOS.prefLabel, DCTERMS.title)

#: An absolute IRI that can be written between ``<`` and ``>`` in SPARQL (RFC 3987: no
#: spaces, controls, or ``<>"{}|^`\``).
_SAFE_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20<>\"{}|^`\\\x7f]*")


def is_safe_iri(iri: str) -> bool:
    """True for an absolute IRI (RFC 3987, as Oxigraph reads it) that can be put in a
    query as ``<iri>``: a path or parameter that is not one is refused before any engine
    sees it."""
    if _SAFE_IRI.fullmatch(iri) is None:
        return False
    try:
        ox.NamedNode(iri)
    except (ValueError, UnicodeError):
        return False
    return True


@dataclass
class Statement:
    """One statement on a page: the predicate, the value, and the graph it comes from."""

    predicate: URIRef
    value: Node
    graph: URIRef | None

    @property
    def inferred(self) -> bool:
        """Whether the statement is an OWL 2 RL inference (in the inferred graph)."""
        return self.graph == INFERRED_GRAPH


@dataclass
class Evidence:
    """A quote that supports the resource: its text and its source document."""

    quote: URIRef
    text: str
    source: URIRef | None


@dataclass
class Description:
    """Everything a resource page shows."""

    iri: URIRef
    statements: list[Statement] = field(default_factory=list)
    incoming: list[tuple[URIRef, URIRef]] = field(default_factory=list)
    incoming_cut: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    evidence: list[Evidence] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    citing: list[tuple[URIRef, URIRef]] = field(default_factory=list)
    text: str | None = None

    @property
    def exists(self) -> bool:
        """True when the graph says anything about this IRI."""
        return bool(self.statements or self.incoming)

    @property
    def types(self) -> list[URIRef]:
        """The resource's asserted classes."""
        found = {s.value for s in self.statements if s.predicate == RDF.type and not s.inferred}
        return sorted(found, key=str)

    @property
    def inferred_types(self) -> list[URIRef]:
        """The classes the ontology gives it besides the asserted ones."""
        asserted = set(self.types)
        found = {s.value for s in self.statements if s.predicate == RDF.type and s.inferred}
        return sorted(found - asserted, key=str)

    @property
    def properties(self) -> list[Statement]:
        """The asserted statements other than ``rdf:type`` (the types are shown apart)."""
        return [s for s in self.statements if s.predicate != RDF.type and not s.inferred]

    @property
    def inferred_properties(self) -> list[Statement]:
        """The inferred statements other than ``rdf:type``."""
        return [s for s in self.statements if s.predicate != RDF.type and s.inferred]

    def label(self, node: Node) -> str:
        """The label to show for ``node``."""
        if isinstance(node, Literal):
            return str(node)
        return self.labels.get(str(node)) or local_name(str(node))


def local_name(iri: str) -> str:
    """The last part of an IRI (after its ``#`` or last ``/``): a label of last resort."""
    for sep in ("#", "/"):
        if sep in iri.rstrip(sep):
            return iri.rstrip(sep).rsplit(sep, 1)[1]
    return iri


def _iri(node: Node) -> str:
    if not is_safe_iri(str(node)):
        raise ValueError(f"not an IRI that can be queried: {str(node)!r}")
    return f"<{node}>"


@reader
def describe(engine: Engine, iri: str) -> Description:
    """Gather what the page of ``iri`` shows (its source text, for a source document, is
    added by :func:`add_source_text` in the web process: a query worker reads no file)."""
    node = URIRef(iri)
    found = Description(node)
    rows = engine.select(
        f"SELECT ?p ?o ?g WHERE {{ GRAPH ?g {{ {_iri(node)} ?p ?o }} }} ORDER BY ?p ?o"
    )
    for row in rows:
        found.statements.append(Statement(URIRef(row["p"]), row["o"], row.get("g")))
    # The asserted links: an inferred one (an inverse, say) is shown on its subject's page.
    incoming = engine.select(
        f"SELECT DISTINCT ?s ?p WHERE {{ GRAPH ?g {{ ?s ?p {_iri(node)} }} "
        f"FILTER(?g != <{INFERRED_GRAPH}>) }} ORDER BY ?p ?s LIMIT {INCOMING_LIMIT + 1}"
    )
    found.incoming = [(URIRef(r["s"]), URIRef(r["p"])) for r in incoming[:INCOMING_LIMIT]]
    found.incoming_cut = len(incoming) > INCOMING_LIMIT
    if not found.exists:
        return found
    found.evidence = _evidence(engine, node)
    found.notes = _notes(engine, node)
    if COOP.SourceDocument in found.types:
        found.citing = _citing(engine, node)
    found.labels = labels(engine, _shown_iris(found))
    return found


def add_source_text(found: Description, sources_dir: Path | None) -> Description:
    """Add, for a source document, the text of its file (when the page has one)."""
    if COOP.SourceDocument in found.types:
        found.text = _source_text(found, sources_dir)
    return found


def _evidence(engine: Engine, node: URIRef) -> list[Evidence]:
    rows = engine.select(
        f"""SELECT DISTINCT ?q ?text ?src WHERE {{
              {_iri(node)} <{COOP.evidence}> ?q .
              OPTIONAL {{ ?q <{PROV.value}> ?text }}
              OPTIONAL {{ ?q <{PROV.wasQuotedFrom}> ?src }}
            }} ORDER BY ?q"""
    )
    return [Evidence(URIRef(r["q"]), str(r.get("text", "")), r.get("src")) for r in rows]


def _notes(engine: Engine, node: URIRef) -> list[tuple[str, str]]:
    rows = engine.select(
        f"""SELECT ?prop ?note WHERE {{
              {_iri(node)} <{COOP.derivation}> ?d .
              ?d <{SKOS.note}> ?note .
              OPTIONAL {{ ?d <{COOP.derivedProperty}> ?prop }}
            }} ORDER BY ?prop"""
    )
    return [(str(r.get("prop", "")), str(r["note"])) for r in rows]


def _citing(engine: Engine, source: URIRef) -> list[tuple[URIRef, URIRef]]:
    rows = engine.select(
        f"""SELECT DISTINCT ?fact ?q WHERE {{
              ?q <{PROV.wasQuotedFrom}> {_iri(source)} .
              ?fact <{COOP.evidence}> ?q .
            }} ORDER BY ?q ?fact"""
    )
    return [(URIRef(r["fact"]), URIRef(r["q"])) for r in rows]


def _source_text(found: Description, sources_dir: Path | None) -> str | None:
    if sources_dir is None:
        return None
    for s in found.statements:
        if s.predicate == COOP.sourceFile:
            path = (sources_dir / str(s.value)).resolve()
            if path.is_relative_to(sources_dir.resolve()) and path.is_file():
                return path.read_text(encoding="utf-8", errors="replace")
    return None


def _shown_iris(found: Description) -> set[str]:
    iris = {str(found.iri)}
    for s in found.statements:
        iris.add(str(s.predicate))
        if isinstance(s.value, URIRef):
            iris.add(str(s.value))
        if s.graph is not None:
            iris.add(str(s.graph))
    for subject, predicate in found.incoming:
        iris.update((str(subject), str(predicate)))
    for ev in found.evidence:
        if ev.source is not None:
            iris.add(str(ev.source))
    for fact, quote in found.citing:
        iris.update((str(fact), str(quote)))
    for prop, _ in found.notes:
        if prop:
            iris.add(prop)
    return iris


@reader
def labels(engine: Engine, iris: set[str]) -> dict[str, str]:
    """The English (or any) label of each IRI that has one."""
    if not iris:
        return {}
    values = " ".join(f"<{i}>" for i in sorted(iris) if is_safe_iri(i))
    if not values:
        return {}
    # A property path, not ``VALUES ?p``: rdflib joins two VALUES blocks with a scan of every
    # triple (seconds per page); the path is one indexed lookup per IRI on both engines.
    rows = engine.select(
        f"""SELECT ?x ?label WHERE {{
              VALUES ?x {{ {values} }}
              ?x {"|".join(_iri(p) for p in _LABELS)} ?label .
            }}"""
    )
    found: dict[str, str] = {}
    for row in rows:
        label = row["label"]
        key = str(row["x"])
        if key not in found or getattr(label, "language", None) == "en":
            found[key] = str(label)
    return found


@reader
def rdf_description(engine: Engine, iri: str) -> Graph:
    """The RDF of a resource: its statements and its incoming links (bounded)."""
    node = _iri(URIRef(iri))
    return engine.construct(
        f"""CONSTRUCT {{ {node} ?p ?o . ?s ?q {node} }} WHERE {{
              {{ {node} ?p ?o }} UNION
              {{ SELECT ?s ?q WHERE {{ ?s ?q {node} }} LIMIT {INCOMING_LIMIT} }}
            }}"""
    )


@reader
def graph_content(engine: Engine, name: str) -> Graph:
    """All triples of the named graph ``name``."""
    return engine.construct(
        f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {_iri(URIRef(name))} {{ ?s ?p ?o }} }}"
    )


@reader
def instances(engine: Engine, cls: str) -> tuple[list[tuple[URIRef, str]], bool]:
    """The instances of class ``cls`` with their labels, and whether the list was cut."""
    rows = engine.select(
        f"""SELECT DISTINCT ?x ?label WHERE {{
              ?x a {_iri(URIRef(cls))} . OPTIONAL {{ ?x <{RDFS.label}> ?label }}
            }} ORDER BY LCASE(STR(?label)) ?x LIMIT {INSTANCES_LIMIT + 1}"""
    )
    listed = [(URIRef(r["x"]), str(r.get("label") or local_name(str(r["x"])))) for r in rows]
    return listed[:INSTANCES_LIMIT], len(listed) > INSTANCES_LIMIT


@reader
def rdf_document(engine: Engine, iri: str, media_type: str, graph: bool) -> bytes | None:
    """The RDF of a page, written in ``media_type``: the named graph ``iri`` (``graph``),
    else the resource's description, else the graph of that name; None when there is
    nothing."""
    found = graph_content(engine, iri) if graph else rdf_description(engine, iri)
    if not len(found):
        if graph or iri not in engine.graph_names():
            return None
        found = graph_content(engine, iri)
    for prefix, namespace in engine.prefixes.items():
        found.bind(prefix, namespace, override=False)
    return found.serialize(format=formats.rdflib_name(media_type), encoding="utf-8")


@reader
def is_known(engine: Engine, iri: str) -> bool:
    """Whether the data says anything about ``iri`` (as subject or object) or names a
    graph with it."""
    node = _iri(URIRef(iri))
    rows = engine.select(
        f"SELECT ?p WHERE {{ {{ {node} ?p ?o }} UNION {{ ?s ?p {node} }} }} LIMIT 1"
    )
    return bool(rows) or iri in engine.graph_names()
