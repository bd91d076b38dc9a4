"""The graph as OWL axioms, for HermiT (:mod:`coopgraph.quality.dl`): each axiom is the
triples that state it (a class expression's blank nodes included), sorted into the TBox and
the facts, and the ⊤⊥* syntactic locality module of a signature (Sattler et al. 2009), the
part of the TBox a justification can need."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, XSD
from rdflib.term import Node

from coopgraph.graph.load import ProjectDataset
from coopgraph.graph.project import GraphKind

#: The datatypes of the OWL 2 datatype map (plus rdf:langString), which HermiT supports.
OWL2_DATATYPES = frozenset(
    {RDF.PlainLiteral, RDF.XMLLiteral, RDF.langString, RDFS.Literal, OWL.real, OWL.rational}
    | {
        XSD[name]
        for name in (
            "decimal integer nonNegativeInteger nonPositiveInteger positiveInteger "
            "negativeInteger long int short byte unsignedLong unsignedInt unsignedShort "
            "unsignedByte double float string normalizedString token language Name NCName "
            "NMTOKEN boolean hexBinary base64Binary anyURI dateTime dateTimeStamp"
        ).split()
    }
)

Triple = tuple[Node, Node, Node]


_BUILT_IN = (str(RDF), str(RDFS), str(OWL), str(XSD))


_DECLARATIONS = frozenset(
    {
        OWL.Class,
        OWL.ObjectProperty,
        OWL.DatatypeProperty,
        OWL.AnnotationProperty,
        OWL.NamedIndividual,
        OWL.Ontology,
        RDFS.Datatype,
        RDFS.Class,
        RDF.Property,
    }
)


_ANNOTATIONS = frozenset(
    {
        RDFS.label,
        RDFS.comment,
        RDFS.seeAlso,
        RDFS.isDefinedBy,
        OWL.versionInfo,
        OWL.versionIRI,
        OWL.imports,
        OWL.priorVersion,
        OWL.deprecated,
        OWL.backwardCompatibleWith,
        OWL.incompatibleWith,
    }
)


_CHARACTERISTICS = frozenset(
    {
        OWL.TransitiveProperty,
        OWL.SymmetricProperty,
        OWL.ReflexiveProperty,
        OWL.FunctionalProperty,
        OWL.InverseFunctionalProperty,
        OWL.AsymmetricProperty,
        OWL.IrreflexiveProperty,
    }
)


#: The kinds of axiom that state facts about individuals; all others are TBox axioms.
ASSERTIONS = frozenset({"type", "fact", "data", "same", "different"})


_SIMPLE_KINDS = {
    RDFS.subClassOf: "sub",
    OWL.equivalentClass: "equiv",
    OWL.disjointWith: "disjoint",
    RDFS.domain: "domain",
    RDFS.subPropertyOf: "subprop",
    OWL.inverseOf: "inverse",
    OWL.equivalentProperty: "equivprop",
    OWL.propertyDisjointWith: "disjointprop",
    OWL.sameAs: "same",
    OWL.differentFrom: "different",
}


@dataclass(frozen=True)
class Axiom:
    """One logical axiom of the graph: one triple, or a triple and the blank nodes under it.

    Attributes:
        kind: Its form: ``type`` (class assertion), ``fact`` (object property assertion),
            ``data`` (data property assertion), ``sub``, ``equiv``, ``disjoint``,
            ``alldisjoint``, ``domain``, ``range``, ``drange`` (a datatype range),
            ``subprop``, ``inverse``, ``equivprop``, ``disjointprop``, ``char`` (a property
            characteristic), ``same``, ``different``, or ``other``.
        terms: The terms the form is about, e.g. ``(sub, super)`` for ``sub``.
        triples: The triples that make it up.
    """

    kind: str
    terms: tuple[Node, ...]
    triples: frozenset[Triple]

    @cached_property
    def signature(self) -> frozenset[URIRef]:
        """The IRIs the axiom uses, other than the RDF, RDFS, OWL and XSD vocabulary."""
        return frozenset(
            t for triple in self.triples for t in triple if isinstance(t, URIRef) and not _vocab(t)
        )

    @property
    def subject(self) -> Node:
        """The node the axiom is said of (the first of its terms)."""
        return self.terms[0] if self.terms else next(iter(self.triples))[0]


@dataclass
class Axioms:
    """The graph cut into axioms.

    Attributes:
        declarations: Declaration triples (``x a owl:Class`` ...), kept in every HermiT run of
            an explanation so that each term is read with its kind.
        tbox: The class and property axioms, in file order (whatever file states them).
        abox: The facts (class and property assertions), in file order.
        origins: Each axiom -> the graphs that state it.
        extra: The axioms stated by graphs of extra files (the suspects of an explanation).
    """

    declarations: list[Triple] = field(default_factory=list)
    tbox: list[Axiom] = field(default_factory=list)
    abox: list[Axiom] = field(default_factory=list)
    origins: dict[Axiom, list[URIRef]] = field(default_factory=dict)
    extra: list[Axiom] = field(default_factory=list)


def _vocab(term: URIRef) -> bool:
    return str(term).startswith(_BUILT_IN)


def _closure(graph: Graph, node: Node, seen: set[Node]) -> Iterator[Triple]:
    """The triples under blank node ``node`` (lists, restrictions), recursively."""
    if not isinstance(node, BNode) or node in seen:
        return
    seen.add(node)
    for p, o in graph.predicate_objects(node):
        yield node, p, o
        yield from _closure(graph, o, seen)


def _is_datatype(term: Node, datatypes: set[Node]) -> bool:
    return term in datatypes or term in OWL2_DATATYPES or str(term).startswith(str(XSD))


def split_graph(
    graph: Graph, annotations: set[Node], datatypes: set[Node]
) -> tuple[list[Triple], list[Axiom]]:
    """Cut ``graph`` into declaration triples and logical axioms.

    Annotations (``annotations`` and the built-in annotation properties) and ontology
    headers carry no logic and are left out.
    """
    headers = set(graph.subjects(RDF.type, OWL.Ontology))
    inner = {o for o in graph.objects() if isinstance(o, BNode)}
    declarations: list[Triple] = []
    axioms: list[Axiom] = []
    roots: dict[BNode, None] = {}
    for s, p, o in sorted(graph, key=lambda t: tuple(str(x) for x in t)):
        if isinstance(s, BNode):
            if s not in inner:
                roots[s] = None
            continue
        if s in headers or p in annotations or p in _ANNOTATIONS:
            continue
        if p == RDF.type and o in _DECLARATIONS:
            declarations.append((s, p, o))
            continue
        triples = frozenset({(s, p, o), *_closure(graph, o, set())})
        axioms.append(_classify(s, p, o, triples, datatypes))
    for root in roots:
        triples = frozenset(_closure(graph, root, set()))
        members = graph.value(root, OWL.members)
        if (root, RDF.type, OWL.AllDisjointClasses) in graph and members is not None:
            terms = tuple(Collection(graph, members))
            axioms.append(Axiom("alldisjoint", terms, triples))
        else:
            axioms.append(Axiom("other", (), triples))
    return declarations, axioms


def _classify(s: Node, p: Node, o: Node, triples: frozenset[Triple], datatypes: set) -> Axiom:
    if isinstance(o, BNode):
        return Axiom("other", (s,), triples)
    if p == RDF.type:
        return Axiom("char" if o in _CHARACTERISTICS else "type", (s, o), triples)
    if p == RDFS.range:
        return Axiom("drange" if _is_datatype(o, datatypes) else "range", (s, o), triples)
    if p in _SIMPLE_KINDS:
        return Axiom(_SIMPLE_KINDS[p], (s, o), triples)
    return Axiom("data" if isinstance(o, Literal) else "fact", (s, p, o), triples)


def collect(ds: ProjectDataset) -> Axioms:
    """Cut the dataset's asserted graphs into axioms, remembering where each comes from."""
    union = ds.merged()
    annotations = set(union.subjects(RDF.type, OWL.AnnotationProperty))
    datatypes = set(union.subjects(RDF.type, RDFS.Datatype))
    result = Axioms()
    declared: set[Triple] = set()
    suspects: set[Axiom] = set()
    for name in ds.asserted_graphs():
        kind = ds.kinds[name]
        declarations, axioms = split_graph(ds.graph(name), annotations, datatypes)
        for triple in declarations:
            if triple not in declared:
                declared.add(triple)
                result.declarations.append(triple)
        for axiom in axioms:
            if axiom not in result.origins:
                result.origins[axiom] = []
                (result.abox if axiom.kind in ASSERTIONS else result.tbox).append(axiom)
            result.origins[axiom].append(name)
            if kind is GraphKind.OTHER and axiom not in suspects:
                suspects.add(axiom)
                result.extra.append(axiom)
    return result


def _has(signature: set[URIRef], cls: Node) -> bool:
    """Whether ``cls`` is kept by a locality test (owl:Thing and owl:Nothing always are)."""
    return cls in signature or cls in (OWL.Thing, OWL.Nothing)


def bottom_local(axiom: Axiom, signature: set[URIRef]) -> bool:
    """Whether ``axiom`` becomes a tautology when every term outside ``signature`` is
    replaced by the empty class or property (⊥-locality)."""
    kind, terms = axiom.kind, axiom.terms
    if kind == "sub":
        return terms[0] == OWL.Nothing or terms[1] == OWL.Thing or not _has(signature, terms[0])
    if kind in ("equiv", "equivprop", "inverse"):
        return not any(_has(signature, t) for t in terms)
    if kind in ("disjoint", "alldisjoint"):
        return sum(_has(signature, t) for t in terms) <= 1
    if kind in ("domain", "range", "drange", "subprop"):
        return terms[0] not in signature
    if kind == "disjointprop":
        return not all(t in signature for t in terms)
    if kind == "char":
        return terms[1] != OWL.ReflexiveProperty and terms[0] not in signature
    return False


def top_local(axiom: Axiom, signature: set[URIRef]) -> bool:
    """Whether ``axiom`` becomes a tautology when every class outside ``signature`` is
    replaced by owl:Thing and every property by the universal property (⊤-locality)."""
    kind, terms = axiom.kind, axiom.terms
    if kind == "sub":
        return terms[0] == OWL.Nothing or terms[1] == OWL.Thing or not _has(signature, terms[1])
    if kind in ("equiv", "equivprop", "inverse"):
        return not any(_has(signature, t) for t in terms)
    if kind in ("domain", "range", "subprop", "type"):
        return not _has(signature, terms[1])
    if kind == "char":
        universal = (OWL.TransitiveProperty, OWL.SymmetricProperty, OWL.ReflexiveProperty)
        return terms[1] in universal and terms[0] not in signature
    if kind in ("fact", "data"):
        return terms[1] not in signature
    return False


def _module(
    axioms: Sequence[Axiom], signature: Iterable[URIRef], local: Callable[[Axiom, set], bool]
) -> list[Axiom]:
    sig = set(signature)
    chosen = [False] * len(axioms)
    changed = True
    while changed:
        changed = False
        for i, axiom in enumerate(axioms):
            if not chosen[i] and not local(axiom, sig):
                chosen[i] = changed = True
                sig |= axiom.signature
    return [axiom for i, axiom in enumerate(axioms) if chosen[i]]


def locality_module(axioms: Sequence[Axiom], signature: Iterable[URIRef]) -> list[Axiom]:
    """Return the ⊤⊥* locality module of ``axioms`` for ``signature``, in their order.

    Whatever the axioms entail about the signature's terms (an inconsistency included), the
    module entails too, and every justification of it lies in the module.
    """
    current = list(axioms)
    sig = frozenset(signature)
    while True:
        reduced = _module(_module(current, sig, bottom_local), sig, top_local)
        if len(reduced) == len(current):
            return reduced
        current = reduced


def signature_of(axioms: Iterable[Axiom]) -> set[URIRef]:
    """The union of the axioms' signatures."""
    return {t for axiom in axioms for t in axiom.signature}
