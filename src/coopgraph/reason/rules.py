"""The OWL 2 RL closure computed in two parts, with owlrl's answers and not owlrl's cost.

owlrl applies every rule to every triple, over and over, until nothing new comes: about a
millisecond per triple. Most of that work is the data's, and the data only ever meets the
ontology through a handful of rules. So:

1. **The schema** (the ontology graphs, any data triple about a term they describe or in the
   OWL and RDFS vocabularies, and one literal of each datatype the data uses) is expanded by
   owlrl itself: it is small, and owlrl is the reference.
2. **The data** is expanded against that closed schema by the instance rules of the W3C
   OWL 2 RL tables, in one pass over an agenda that holds only what is new (semi-naive):
   ``cax-sco``, ``cax-eqc1/2``, ``prp-dom``, ``prp-rng``, ``prp-spo1``, ``prp-eqp1/2``,
   ``prp-inv1/2``, ``prp-symp``, ``prp-trp``, ``prp-fp``, ``prp-ifp``, ``eq-sym``,
   ``eq-trans``, ``eq-rep-s/p/o``; then the clashes ``cax-dw``, ``cax-adc``,
   ``cls-nothing2`` and ``dt-not-type`` are looked for, with owlrl's messages.

A schema that uses what these rules do not cover (restrictions, class expressions, property
chains, keys, negative assertions, ...) is refused with :class:`UnsupportedSchema` rather
than half reasoned; :func:`coopgraph.reason.closure` is then the way. ``tests/test_rules.py``
compares both closures triple for triple.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable

import owlrl
from owlrl.DatatypeHandling import AltXSDToPYTHON
from owlrl.XsdDatatypes import OWL_RL_Datatypes
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD
from rdflib.term import Node

from coopgraph.errors import CoopgraphError

Triple = tuple[Node, Node, Node]

#: Terms of a schema that the instance rules here do not cover.
UNSUPPORTED = frozenset(
    {
        OWL.Restriction,
        OWL.onProperty,
        OWL.intersectionOf,
        OWL.unionOf,
        OWL.complementOf,
        OWL.oneOf,
        OWL.hasKey,
        OWL.propertyChainAxiom,
        OWL.propertyDisjointWith,
        OWL.AllDisjointProperties,
        OWL.IrreflexiveProperty,
        OWL.AsymmetricProperty,
        OWL.NegativePropertyAssertion,
        OWL.differentFrom,
        OWL.AllDifferent,
        OWL.sourceIndividual,
        OWL.hasSelf,
        OWL.datatypeComplementOf,
        OWL.withRestrictions,
    }
)

#: Predicates of the instance level although they sit in the OWL or RDFS namespace.
_INSTANCE_LEVEL = frozenset({RDFS.label, RDFS.comment, RDFS.seeAlso, RDFS.isDefinedBy, OWL.sameAs})
_VOCABULARIES = (str(OWL), str(RDFS), str(RDF), str(XSD))
_TYPE = RDF.type
#: owlrl's namespace for the error messages it adds to the graph it expands.
_OWLRL_ERRORS = "http://www.daml.org/2002/03/agents/agent-ont#"
#: The node and property that carry the datatype samples through owlrl.
_SAMPLE = URIRef("urn:coopgraph:reason:sample")


class UnsupportedSchema(CoopgraphError):
    """The schema uses an OWL construct that the instance rules do not cover."""


def _in_vocabulary(node: Node) -> bool:
    return isinstance(node, URIRef) and str(node).startswith(_VOCABULARIES)


def split(ontology: Graph, data: Iterable[Triple]) -> tuple[Graph, list[Triple]]:
    """The schema (the ontology, and every data triple about one of its terms or in the
    OWL, RDFS, RDF or XSD vocabularies) and the rest of the data."""
    schema = Graph()
    for triple in ontology:
        schema.add(triple)
    terms = set(ontology.subjects())
    rest: list[Triple] = []
    # Whether a predicate (or, for rdf:type, a class) makes a triple the schema's: asked once
    # per distinct term, as there are few.
    by_predicate: dict[Node, bool] = {}
    by_class: dict[Node, bool] = {}
    for s, p, o in data:
        schematic = by_predicate.get(p)
        if schematic is None:
            schematic = by_predicate[p] = (
                p != RDF.type and p not in _INSTANCE_LEVEL and _in_vocabulary(p)
            )
        if not schematic and p == _TYPE:
            schematic = by_class.get(o)
            if schematic is None:
                schematic = by_class[o] = _in_vocabulary(o)
        if schematic or s in terms:
            schema.add((s, p, o))
        else:
            rest.append((s, p, o))
    return schema, rest


def _check_supported(schema: Graph) -> None:
    used = {p for p in schema.predicates()} | {o for o in schema.objects(None, RDF.type)}
    found = sorted(str(t) for t in used & UNSUPPORTED)
    if found:
        raise UnsupportedSchema(
            "the fast reasoner does not cover " + ", ".join(found) + "; reason with owlrl"
        )


def _datatype_samples(data: list[Triple]) -> dict[URIRef, Literal]:
    """One literal of each OWL 2 RL datatype the data uses (owlrl's dt-* rules depend only
    on which datatypes are used)."""
    samples: dict[URIRef, Literal] = {}
    for _, _, o in data:
        if isinstance(o, Literal) and o.datatype in OWL_RL_Datatypes and o.datatype not in samples:
            samples[o.datatype] = o
    return samples


def close_schema(schema: Graph, samples: Iterable[Literal]) -> tuple[set[Triple], list[str]]:
    """owlrl's closure of the schema, with the datatype samples' effects and not the
    samples themselves, and owlrl's inconsistency messages."""
    work = Graph()
    work.addN((s, p, o, work) for s, p, o in schema)
    for literal in samples:
        work.add((_SAMPLE, _SAMPLE, literal))
    owlrl.DeductiveClosure(
        owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False
    ).expand(work)
    messages, error_nodes = owlrl_errors(work)
    closed = {t for t in work if _SAMPLE not in t and t[0] not in error_nodes}
    return closed, messages


def owlrl_errors(graph: Graph) -> tuple[list[str], set[Node]]:
    """The inconsistency messages owlrl left in ``graph``, and the nodes that hold them."""
    error_type = URIRef(_OWLRL_ERRORS + "ErrorMessage")
    error_text = URIRef(_OWLRL_ERRORS + "error")
    nodes = set(graph.subjects(RDF.type, error_type))
    messages = sorted(str(m) for n in nodes for m in graph.objects(n, error_text))
    return messages, {n for n in nodes if isinstance(n, BNode)}


class _Terms:
    """Every term as a small integer, so that the rules hash and compare integers."""

    def __init__(self) -> None:
        self.ids: dict[Node, int] = {}
        self.terms: list[Node] = []
        self.literals: set[int] = set()

    def id(self, term: Node) -> int:
        found = self.ids.get(term)
        if found is None:
            found = self.ids[term] = len(self.terms)
            self.terms.append(term)
            if isinstance(term, Literal):
                self.literals.add(found)
        return found


class _Schema:
    """What the instance rules look up in the closed schema, by term id."""

    def __init__(self, closed: set[Triple], terms: _Terms) -> None:
        self.supers: dict[int, set[int]] = defaultdict(set)
        self.superprops: dict[int, set[int]] = defaultdict(set)
        self.domains: dict[int, set[int]] = defaultdict(set)
        self.ranges: dict[int, set[int]] = defaultdict(set)
        self.inverses: dict[int, set[int]] = defaultdict(set)
        self.disjoint: dict[int, list[int]] = defaultdict(list)  # c1 -> [c2], in owlrl's order
        kinds: dict[Node, set[int]] = defaultdict(set)
        table = {
            RDFS.subClassOf: self.supers,
            RDFS.subPropertyOf: self.superprops,
            RDFS.domain: self.domains,
            RDFS.range: self.ranges,
        }
        pairs = {OWL.equivalentClass: self.supers, OWL.equivalentProperty: self.superprops}
        for s, p, o in closed:
            if s == o and p != OWL.inverseOf:
                continue
            si, oi = terms.id(s), terms.id(o)
            if p in table:
                table[p][si].add(oi)
            elif p in pairs:
                pairs[p][si].add(oi)
                pairs[p][oi].add(si)
            elif p == OWL.inverseOf:
                self.inverses[si].add(oi)
                self.inverses[oi].add(si)
            elif p == RDF.type:
                kinds[o].add(si)
            elif p == OWL.disjointWith:
                self.disjoint[si].append(oi)
        graph = Graph()
        graph.addN((s, p, o, graph) for s, p, o in closed)
        for group in graph.subjects(RDF.type, OWL.AllDisjointClasses):
            for members in graph.objects(group, OWL.members):
                ids = [terms.id(m) for m in graph.items(members)]
                for i, first in enumerate(ids):
                    self.disjoint[first].extend(ids[i + 1 :])
        self.symmetric = kinds[OWL.SymmetricProperty]
        self.transitive = kinds[OWL.TransitiveProperty]
        self.functional = kinds[OWL.FunctionalProperty]
        self.inverse_functional = kinds[OWL.InverseFunctionalProperty]


class _Closure:
    """The data's triples, as term ids, with two indexes, grown rule by rule from an agenda
    of what is new."""

    def __init__(self, schema: _Schema, terms: _Terms) -> None:
        self.schema = schema
        self.terms = terms
        self.type = terms.id(RDF.type)
        self.same = terms.id(OWL.sameAs)
        self.out: dict[int, set[tuple[int, int]]] = defaultdict(set)  # s -> {(p, o)}
        self.into: dict[int, set[tuple[int, int]]] = defaultdict(set)  # o -> {(s, p)}
        self.agenda: list[tuple[int, int, int]] = []
        self.predicates: set[int] = set()

    def add(self, s: int, p: int, o: int) -> None:
        pairs = self.out[s]
        if (p, o) in pairs:
            return
        pairs.add((p, o))
        self.into[o].add((s, p))
        self.predicates.add(p)
        self.agenda.append((s, p, o))

    def known(self, s: int, p: int, o: int) -> None:
        """Index a triple that is already closed (the schema's): rules join with it, but it
        is not expanded again."""
        self.out[s].add((p, o))
        self.into[o].add((s, p))
        self.predicates.add(p)

    def run(self) -> None:
        supers = self.schema.supers
        while self.agenda:
            s, p, o = self.agenda.pop()
            if p == self.type:
                for cls in supers.get(o, ()):
                    self.add(s, p, cls)  # cax-sco, cax-eqc1/2
            else:
                self._property(s, p, o)
                if p == self.same:
                    self._same(s, o)

    def _property(self, s: int, p: int, o: int) -> None:
        schema = self.schema
        for q in schema.superprops.get(p, ()):
            self.add(s, q, o)  # prp-spo1, prp-eqp1/2
        for cls in schema.domains.get(p, ()):
            self.add(s, self.type, cls)  # prp-dom
        if o not in self.terms.literals:
            for cls in schema.ranges.get(p, ()):
                self.add(o, self.type, cls)  # prp-rng
            for q in schema.inverses.get(p, ()):
                self.add(o, q, s)  # prp-inv1/2
            if p in schema.symmetric:
                self.add(o, p, s)  # prp-symp
        if p in schema.transitive:  # prp-trp
            for q, z in list(self.out.get(o, ())):
                if q == p:
                    self.add(s, p, z)
            for w, q in list(self.into.get(s, ())):
                if q == p:
                    self.add(w, p, o)
        if p in schema.functional:  # prp-fp
            for q, other in list(self.out.get(s, ())):
                if q == p and other != o:
                    self.add(o, self.same, other)
        if p in schema.inverse_functional:  # prp-ifp
            for other, q in list(self.into.get(o, ())):
                if q == p and other != s:
                    self.add(s, self.same, other)

    def _same(self, x: int, y: int) -> None:
        if x == y:
            return
        self.add(y, self.same, x)  # eq-sym
        for q, z in list(self.out.get(y, ())):
            if q == self.same:
                self.add(x, self.same, z)  # eq-trans
        for q, z in list(self.out.get(x, ())):
            self.add(y, q, z)  # eq-rep-s
        for w, q in list(self.into.get(x, ())):
            self.add(w, q, y)  # eq-rep-o
        if x in self.predicates:  # eq-rep-p: a property the same as another
            for s in list(self.out):
                for q, z in list(self.out[s]):
                    if q == x:
                        self.add(s, y, z)

    def new_triples(self, given: set[tuple[int, int, int]]) -> Iterable[Triple]:
        """The triples of the closure that are not among the ``given`` ones."""
        terms = self.terms.terms
        for s, pairs in self.out.items():
            for p, o in pairs:
                if (s, p, o) not in given:
                    yield terms[s], terms[p], terms[o]


def _clashes(closure: _Closure) -> list[str]:
    """The inconsistencies of the data, in owlrl's words."""
    terms = closure.terms.terms
    disjoint = closure.schema.disjoint
    nothing = closure.terms.ids.get(OWL.Nothing)
    messages: list[str] = []
    for x, pairs in closure.out.items():
        types = {o for p, o in pairs if p == closure.type}
        for c1 in types & disjoint.keys():
            for c2 in disjoint[c1]:
                if c2 in types:
                    messages.append(
                        f"Disjoint classes {terms[c1]} and {terms[c2]} have a common "
                        f"individual {terms[x]}"
                    )
        if nothing in types:
            messages.append(f"{terms[x]} is defined of type 'Nothing'")
    for i in closure.terms.literals:
        literal = terms[i]
        if literal.datatype in OWL_RL_Datatypes:  # type: ignore[union-attr]
            try:
                AltXSDToPYTHON.get(literal.datatype, str)(str(literal))  # type: ignore[union-attr]
            except ValueError:
                messages.append(
                    f"Lexical value of the literal '{literal}' does not match its datatype "
                    f"({literal.datatype})"  # type: ignore[union-attr]
                )
    return messages


def fast_closure(ontology: Graph, data: Iterable[Triple]) -> tuple[set[Triple], list[str], float]:
    """The OWL 2 RL closure of ``ontology`` and ``data``: the triples it adds to them, the
    inconsistency messages, and the seconds it took.

    Raises:
        UnsupportedSchema: when the schema uses a construct these rules do not cover.
    """
    started = time.monotonic()
    schema, rest = split(ontology, data)
    _check_supported(schema)
    closed, schema_messages = close_schema(schema, _datatype_samples(rest).values())
    terms = _Terms()
    closure = _Closure(_Schema(closed, terms), terms)
    term = terms.id
    for s, p, o in closed:
        closure.known(term(s), term(p), term(o))
    schema_literals = set(terms.literals)
    given = {(term(s), term(p), term(o)) for s, p, o in schema}
    for s, p, o in rest:
        triple = (term(s), term(p), term(o))
        given.add(triple)
        closure.add(*triple)
    closure.run()
    terms.literals -= schema_literals  # owlrl has judged the schema's own literals
    messages = _clashes(closure) + schema_messages
    return set(closure.new_triples(given)), sorted(set(messages)), time.monotonic() - started
