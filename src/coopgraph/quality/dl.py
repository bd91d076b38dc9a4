"""Check the graph with HermiT, a complete OWL 2 DL reasoner, and explain what it finds wrong.

OWL 2 RL (:mod:`coopgraph.reason`) is sound but incomplete: it misses clashes that need
reasoning by cases. HermiT decides consistency and class satisfiability for all of OWL 2 DL.
It is run through owlready2, which bundles it; it needs a Java runtime (``java`` on PATH).

The run, :func:`check`:

- every ontology module and every data graph (plus extra files, :func:`add_files`) is
  written as N-Triples into a temporary folder and loaded into a fresh owlready2
  ``World`` (never owlready2's global default world), one owlready2 ontology per graph;
- ``owl:imports`` are resolved locally: each must name a module of ``ontology/`` (by its
  ontology IRI or version IRI, as ``catalog-v001.xml`` does), and since every module is
  loaded anyway the import triples are not handed to owlready2, which would otherwise try
  to download them;
- the data's days and years (``xsd:date``, ``xsd:gYear``, outside the OWL 2 datatype map)
  are values of annotation properties, which HermiT ignores; a literal of such a datatype
  on a data property (in an extra file, say) is read as an opaque value and counted in
  :attr:`DLReport.opaque_literals`;
- owlready2's and Java's chatter is captured, never printed.

HermiT says *whether* the graph is inconsistent, not why. :func:`explain_inconsistency`
computes a justification, a minimal set of axioms that is inconsistent on its own, by the
black-box method (HermiT is only asked "consistent?"), kept small and fast in three ways:

1. **relevance**: a set of facts is always checked with the ⊤⊥* syntactic locality module
   of the TBox for the facts' signature (no reasoning; the facts with it are consistent
   exactly when they are with the whole TBox, and it holds every justification, Sattler et
   al. 2009), not with the whole TBox;
2. **expand**: start from the suspects (the facts of the extra files; a witness instance of
   an unsatisfiable class; with neither, the smallest data graph of a minimal clashing set
   of graphs) and ask HermiT; while consistent, add the facts about the individuals met so
   far, nearest first (their types, their other facts, the facts that point at them), and
   ask again;
3. **contract**: drop facts while the rest still clashes, then TBox axioms, starting from
   the axioms reached upwards from the facts when HermiT confirms they are enough; one by
   one for a few candidates, by QuickXplain (Junker 2004) for many.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TypeVar

import owlready2
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, XSD, NamespaceManager
from rdflib.term import Node

from coopgraph.errors import LayoutError, MissingFileError, ReasonerError
from coopgraph.graph.load import ProjectDataset, load_files
from coopgraph.graph.project import GraphKind

Triple = tuple[Node, Node, Node]
T = TypeVar("T")

#: The most HermiT runs one explanation may take; past it the explanation is given up.
MAX_CHECKS = 150
#: The most unsatisfiable classes explained in one run (each costs a few HermiT runs).
MAX_EXPLAINED = 3

#: JVM options for short HermiT runs: start fast (no optimising compiler, serial GC), which
#: halves the time of a run on a small graph; a long run needs the optimising compiler.
QUICK_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
#: Graphs up to this many triples get a JVM tuned for start-up (:data:`QUICK_JVM`).
QUICK_UP_TO = 50_000

#: The individual that stands for "some instance" of a class whose unsatisfiability is
#: explained; it is in no graph.
WITNESS = URIRef("urn:coopgraph:dl:witness")

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


# --------------------------------------------------------------------------- axioms


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


# --------------------------------------------------------------------------- locality


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


# --------------------------------------------------------------------------- HermiT


@contextlib.contextmanager
def _java_options(options: str | None) -> Iterator[None]:
    """Pass JVM options to the ``java`` that owlready2 starts (through JDK_JAVA_OPTIONS)."""
    if not options:
        yield
        return
    before = os.environ.get("JDK_JAVA_OPTIONS")
    os.environ["JDK_JAVA_OPTIONS"] = f"{before} {options}" if before else options
    try:
        yield
    finally:
        if before is None:
            del os.environ["JDK_JAVA_OPTIONS"]
        else:
            os.environ["JDK_JAVA_OPTIONS"] = before


def _java_message(err: Exception) -> str:
    lines = [
        line.strip()
        for line in str(err).splitlines()
        if line.strip() and not line.startswith(("NOTE: Picked up", "Java error message is"))
    ]
    return lines[0] if lines else "no message"


def run_hermit(
    graphs: Sequence[tuple[str | None, Graph]], quick: bool = False
) -> tuple[bool, list[URIRef]]:
    """Run HermiT through owlready2 on ``graphs``, each loaded as an owlready2 ontology.

    Args:
        graphs: (ontology IRI, graph) pairs; a graph without an IRI gets its file's IRI.
        quick: Start the JVM for a short run (:data:`QUICK_JVM`).

    Returns:
        Whether the graphs are consistent, and the unsatisfiable named classes (none are
        computed for an inconsistent graph).

    Not thread-safe: owlready2 prints, so ``sys.stdout`` and ``sys.stderr`` are redirected
    for the run, and JVM options go through the environment.

    Raises:
        ReasonerError: when Java is missing or HermiT fails.
    """
    chatter = io.StringIO()
    with (
        tempfile.TemporaryDirectory(prefix="coopgraph-dl-") as folder,
        contextlib.redirect_stdout(chatter),
        contextlib.redirect_stderr(chatter),
    ):
        world = owlready2.World()
        try:
            for number, (iri, graph) in enumerate(graphs):
                path = Path(folder) / f"{number:03d}.nt"
                path.write_text(graph.serialize(format="nt"), encoding="utf-8")
                with path.open("rb") as fh:
                    world.get_ontology(iri or path.as_uri()).load(fileobj=fh, format="ntriples")
            try:
                with _java_options(QUICK_JVM if quick else None):
                    owlready2.sync_reasoner_hermit(
                        world,
                        infer_property_values=False,
                        debug=0,
                        ignore_unsupported_datatypes=True,
                    )
            except owlready2.OwlReadyInconsistentOntologyError:
                return False, []
            unsatisfiable = sorted(
                URIRef(c.iri)
                for c in world.inconsistent_classes()
                if getattr(c, "iri", None) and c.iri != str(OWL.Nothing)
            )
            return True, unsatisfiable
        except FileNotFoundError as err:
            if "java" in str(err).lower() or err.filename == owlready2.JAVA_EXE:
                raise ReasonerError(
                    f"HermiT needs a Java runtime and there is no {owlready2.JAVA_EXE!r} to run; "
                    "install one (on Debian: apt-get install default-jre-headless)"
                ) from None
            raise
        except owlready2.OwlReadyJavaError as err:
            raise ReasonerError(f"HermiT failed: {_java_message(err)}") from None
        finally:
            world.close()


# --------------------------------------------------------------------------- the check


@dataclass
class Explanation:
    """A justification: a minimal set of axioms that HermiT finds inconsistent together.

    Attributes:
        axioms: The axioms (without the witness of an unsatisfiable class).
        unsatisfiable: The class explained, when it explains an unsatisfiable class.
        origins: Each axiom -> the graphs that state it (none for the witness).
        checks: The HermiT runs it took.
        seconds: The time it took.
    """

    axioms: list[Axiom]
    unsatisfiable: URIRef | None
    origins: dict[Axiom, list[URIRef]]
    checks: int
    seconds: float


@dataclass
class DLReport:
    """The outcome of a HermiT run on the graph.

    Attributes:
        consistent: Whether HermiT found the graph consistent.
        unsatisfiable: The named classes that can have no instance (empty when inconsistent:
            HermiT classifies only a consistent graph).
        seconds: How long HermiT took (loading, reasoning).
        modules: The ontology modules checked.
        data_graphs: The data graphs checked (extra files included).
        triples: The triples checked.
        opaque_literals: Datatype -> how many literals of a datatype outside the OWL 2
            datatype map HermiT read as opaque values.
        explanations: Why the graph is inconsistent, or why classes are unsatisfiable.
        unexplained: What was not explained, and why (given up, or not asked for).
    """

    consistent: bool
    unsatisfiable: list[URIRef]
    seconds: float
    modules: int
    data_graphs: int
    triples: int
    opaque_literals: dict[URIRef, int]
    explanations: list[Explanation] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Consistent and without unsatisfiable classes."""
        return self.consistent and not self.unsatisfiable


def add_files(ds: ProjectDataset, paths: Iterable[str | Path]) -> list[URIRef]:
    """Load extra Turtle files into ``ds``, each into its graph, and return the graphs' names.

    Raises:
        MissingFileError: when a file does not exist.
        LayoutError: when a file is already part of the project's graph.
        ParseError: for a Turtle syntax error.
    """
    extra = load_files(paths, ds.root)
    names = []
    for name in extra.asserted_graphs():
        if name in ds.kinds:
            raise LayoutError(
                f"{extra.file_of(name)}: already part of the project's graph; give only "
                "files that are not under ontology/ or data/"
            )
        ds.attach(extra.graph(name), extra.kinds[name])
        ds.files[name] = extra.files[name]
        names.append(name)
    for prefix, namespace in extra.namespaces():
        ds.bind(prefix, namespace, override=False)
    return names


def reasoner_input(ds: ProjectDataset) -> list[tuple[str | None, Graph]]:
    """The graphs handed to owlready2: each module under its IRI, then each data graph.

    Raises:
        MissingFileError: when a module imports an ontology that is not in ``ontology/``.
    """
    modules = ds.graphs_of(GraphKind.ONTOLOGY)
    known = set(modules)
    for name in modules:
        known.update(ds.graph(name).objects(name, OWL.versionIRI))
    graphs: list[tuple[str | None, Graph]] = []
    for name in modules:
        graph = Graph()
        for s, p, o in ds.graph(name):
            if p == OWL.imports:
                if o not in known:
                    raise MissingFileError(
                        f"{ds.file_of(name)}: imports <{o}>, which is not one of the "
                        "project's ontology files; the DL check reads imports from ontology/ "
                        "only, never from the network"
                    )
                continue
            graph.add((s, p, o))
        graphs.append((str(name), graph))
    for name in ds.asserted_graphs():
        if name not in known:
            graph = Graph()
            graph.addN((s, p, o, graph) for s, p, o in ds.graph(name))
            graphs.append((None, graph))
    return graphs


def opaque_literals(graph: Graph) -> dict[URIRef, int]:
    """Count the literals whose datatype is outside the OWL 2 datatype map, on properties
    that are not annotation properties (HermiT reads those as opaque values)."""
    annotations = set(graph.subjects(RDF.type, OWL.AnnotationProperty)) | _ANNOTATIONS
    counts = Counter(
        o.datatype
        for _, p, o in graph
        if isinstance(o, Literal)
        and o.datatype is not None
        and o.datatype not in OWL2_DATATYPES
        and p not in annotations
    )
    return dict(sorted(counts.items()))


def check(ds: ProjectDataset, explain: bool = True, max_checks: int = MAX_CHECKS) -> DLReport:
    """Run HermiT on the dataset's asserted graphs and explain what it finds wrong.

    Args:
        ds: The loaded dataset (ontology, data, and any extra files added with
            :func:`add_files`); never changed.
        explain: Explain an inconsistency, or up to :data:`MAX_EXPLAINED` unsatisfiable
            classes.
        max_checks: The most HermiT runs one explanation may take.

    Raises:
        ReasonerError: when Java is missing or HermiT fails.
        MissingFileError: when a module imports an ontology that is not in ``ontology/``.
    """
    graphs = reasoner_input(ds)
    union = ds.merged()
    start = time.monotonic()
    consistent, unsatisfiable = run_hermit(graphs, quick=len(union) <= QUICK_UP_TO)
    report = DLReport(
        consistent=consistent,
        unsatisfiable=unsatisfiable,
        seconds=time.monotonic() - start,
        modules=len(ds.graphs_of(GraphKind.ONTOLOGY)),
        data_graphs=len(graphs) - len(ds.graphs_of(GraphKind.ONTOLOGY)),
        triples=len(union),
        opaque_literals=opaque_literals(union),
    )
    if report.ok:
        return report
    if not explain:
        report.unexplained.append("not explained (--no-explain)")
        return report
    axioms = collect(ds)
    targets: list[URIRef | None] = [None] if not consistent else list(unsatisfiable)
    for target in targets[:MAX_EXPLAINED]:
        found = explain_inconsistency(axioms, target, max_checks)
        if isinstance(found, Explanation):
            report.explanations.append(found)
        else:
            report.unexplained.append(found if target is None else f"<{target}>: {found}")
    if len(targets) > MAX_EXPLAINED:
        report.unexplained.append(
            f"{len(targets) - MAX_EXPLAINED} more unsatisfiable classes not explained"
        )
    return report


# --------------------------------------------------------------------------- explanations


class _GaveUp(Exception):
    """The explanation took more HermiT runs than it may."""


class _Oracle:
    """Asks HermiT whether a set of axioms (with the declarations of the terms it uses) is
    consistent, once per set, and at most ``limit`` times."""

    def __init__(self, declarations: list[Triple], limit: int) -> None:
        self.declarations = declarations
        self.limit = limit
        self.checks = 0
        self._known: dict[frozenset[Axiom], bool] = {}

    def consistent(self, axioms: Iterable[Axiom]) -> bool:
        key = frozenset(axioms)
        if not key:
            return True
        if key not in self._known:
            if self.checks >= self.limit:
                raise _GaveUp
            self.checks += 1
            graph = Graph()
            used = signature_of(key)
            for triple in self.declarations:
                if triple[0] in used:
                    graph.add(triple)
            for axiom in key:
                for triple in axiom.triples:
                    graph.add(triple)
            self._known[key] = run_hermit([(None, graph)], quick=True)[0]
        return self._known[key]


def explain_inconsistency(
    axioms: Axioms, unsatisfiable: URIRef | None = None, max_checks: int = MAX_CHECKS
) -> Explanation | str:
    """Find a minimal set of axioms that is inconsistent on its own.

    Args:
        axioms: The graph, cut into axioms (:func:`collect`).
        unsatisfiable: Explain why this class is unsatisfiable instead (a witness instance
            of it is the suspect).
        max_checks: The most HermiT runs to take.

    Returns:
        The explanation, or a sentence saying why there is none.
    """
    start = time.monotonic()
    oracle = _Oracle(axioms.declarations, max_checks)
    if unsatisfiable is not None:
        witness = Axiom(
            "type", (WITNESS, unsatisfiable), frozenset({(WITNESS, RDF.type, unsatisfiable)})
        )
        seed, pool = [witness], []
    else:
        suspects = set(axioms.extra)
        seed = [a for a in axioms.abox if a in suspects]
        pool = [a for a in axioms.abox if a not in suspects]
    try:
        chosen = _expand(seed, pool, axioms, oracle)
        if chosen is None:
            return "HermiT finds every subset it was shown consistent; no explanation found"
        found = _contract(chosen, axioms.tbox, oracle)
    except _GaveUp:
        return f"no explanation within {max_checks} HermiT runs"
    if unsatisfiable is not None:
        found = [a for a in found if a.subject != WITNESS]
    origins = {a: axioms.origins[a] for a in found if a in axioms.origins}
    return Explanation(found, unsatisfiable, origins, oracle.checks, time.monotonic() - start)


def _with_module(facts: Sequence[Axiom], tbox: Sequence[Axiom]) -> list[Axiom]:
    return [*facts, *locality_module(tbox, signature_of(facts))]


def _individuals(facts: Iterable[Axiom]) -> set[Node]:
    found: set[Node] = set()
    for axiom in facts:
        if axiom.kind in ("type", "data", "fact", "same", "different"):
            found.add(axiom.terms[0])
        if axiom.kind in ("same", "different"):
            found.add(axiom.terms[1])
        if axiom.kind == "fact":
            found.add(axiom.terms[2])
    return found


#: The facts added at each step of the expansion, given the individuals met last: their
#: types, then whatever else is said of them, then the facts that point at them.
_NEAREST_FIRST: tuple[Callable[[Axiom, set[Node]], bool], ...] = (
    lambda a, near: a.kind == "type" and a.terms[0] in near,
    lambda a, near: a.subject in near,
    lambda a, near: a.kind in ("fact", "same", "different") and a.terms[-1] in near,
)


def _expand(
    seed: list[Axiom], pool: list[Axiom], axioms: Axioms, oracle: _Oracle
) -> list[Axiom] | None:
    """Grow a set of facts, nearest first, until HermiT finds it inconsistent."""
    chosen = list(seed)
    rest = list(pool)
    if not chosen:
        chosen = _suspect_graphs(rest, axioms, oracle)
        taken = set(chosen)
        rest = [a for a in rest if a not in taken]
    if not oracle.consistent(_with_module(chosen, axioms.tbox)):
        return chosen
    visited: set[Node] = set()
    while True:
        near = _individuals(chosen) - visited
        if not near:
            break
        visited |= near
        for step in _NEAREST_FIRST:
            batch = [a for a in rest if step(a, near)]
            if not batch:
                continue
            taken = set(batch)
            chosen += batch
            rest = [a for a in rest if a not in taken]
            if not oracle.consistent(_with_module(chosen, axioms.tbox)):
                return chosen
    if rest and not oracle.consistent(_with_module(chosen + rest, axioms.tbox)):
        return chosen + rest
    return None


def _suspect_graphs(pool: list[Axiom], axioms: Axioms, oracle: _Oracle) -> list[Axiom]:
    """With no suspects: the facts of the smallest graph of a minimal set of data graphs
    that clash (all of them if they do not)."""
    by_graph: dict[URIRef, list[Axiom]] = {}
    for axiom in pool:
        by_graph.setdefault(axioms.origins[axiom][0], []).append(axiom)
    units = [tuple(group) for group in by_graph.values()]

    def flat(chosen: Iterable[tuple[Axiom, ...]]) -> list[Axiom]:
        return [a for unit in chosen for a in unit]

    if oracle.consistent(_with_module(flat(units), axioms.tbox)):
        return flat(units)
    found = _quickxplain(
        [], units, lambda chosen: oracle.consistent(_with_module(flat(chosen), axioms.tbox))
    )
    # Every graph of a minimal clashing set holds a fact the clash needs: the smallest one
    # is the best start for expanding nearest first.
    return list(min(found, key=len))


def _contract(chosen: list[Axiom], tbox: list[Axiom], oracle: _Oracle) -> list[Axiom]:
    """Shrink an inconsistent set of facts, and the TBox axioms they need, to a minimum."""
    # A set of facts with the module for its own signature is consistent exactly when it is
    # with the whole TBox: so each subset is asked with its own module, and the runs the
    # expansion made (the suspects alone, say) are not made again.
    facts = minimal_subset([], chosen, lambda subset: oracle.consistent(_with_module(subset, tbox)))
    module = locality_module(tbox, signature_of(facts))
    near = upward(module, facts)
    if len(near) < len(module) and not oracle.consistent([*facts, *near]):
        module = near
    rules = minimal_subset(facts, module, oracle.consistent)
    return [*facts, *_reading_order(rules, facts)]


def _reading_order(rules: list[Axiom], facts: list[Axiom]) -> list[Axiom]:
    """Order TBox axioms as a reader follows them: up from the facts' classes and
    properties, chain by chain, the disjointness (and anything else) last."""
    reached = {t for fact in facts for t in fact.terms}
    ordered: list[Axiom] = []
    rest = list(rules)
    while True:
        step = next((r for r in rest if r.kind not in _LAST and r.terms[0] in reached), None)
        if step is None:
            return ordered + rest
        ordered.append(step)
        rest.remove(step)
        reached.update(step.terms)


_LAST = frozenset({"disjoint", "alldisjoint", "disjointprop", "other"})


def upward(tbox: Sequence[Axiom], facts: Iterable[Axiom]) -> list[Axiom]:
    """The TBox axioms reached upwards from the facts, a guess at what their clash needs.

    From the classes the facts assert and the properties they use, follow superclasses,
    domains, ranges, superproperties and inverses; keep those axioms, and the disjointness
    axioms between two classes reached. A locality module is always enough; this subset is
    often much smaller (it leaves out, say, a disjointness between classes no fact can
    reach), and is only used when HermiT confirms that it is enough.
    """
    facts = list(facts)
    classes: set[Node] = {OWL.Thing} | {a.terms[1] for a in facts if a.kind == "type"}
    props: set[Node] = {a.terms[1] for a in facts if a.kind in ("fact", "data")}
    chosen = [False] * len(tbox)
    changed = True
    while changed:
        changed = False
        for i, axiom in enumerate(tbox):
            if not chosen[i] and _reached(axiom, classes, props):
                chosen[i] = changed = True
    return locality_module(
        [a for i, a in enumerate(tbox) if chosen[i]], signature_of(facts) | {OWL.Thing}
    )


def _reached(axiom: Axiom, classes: set[Node], props: set[Node]) -> bool:
    """Whether ``axiom`` is reached from ``classes`` and ``props``; extends them if so."""
    kind, t = axiom.kind, axiom.terms
    if kind == "sub" and t[0] in classes:
        classes.add(t[1])
    elif kind == "equiv" and (t[0] in classes or t[1] in classes):
        classes.update(t)
    elif kind in ("domain", "range") and t[0] in props:
        classes.add(t[1])
    elif kind == "subprop" and t[0] in props:
        props.add(t[1])
    elif kind in ("inverse", "equivprop") and (t[0] in props or t[1] in props):
        props.update(t)
    elif kind in ("disjoint", "alldisjoint"):
        return sum(c in classes for c in t) >= 2
    elif kind in ("drange", "char", "disjointprop"):
        return t[0] in props
    else:
        return kind == "other"
    return True


#: Up to this many candidates, dropping them one by one takes fewer HermiT runs than
#: QuickXplain (which pays off when few of many candidates are needed).
LINEAR_UP_TO = 8


def minimal_subset(
    fixed: Sequence[T], candidates: Sequence[T], consistent: Callable[[list[T]], bool]
) -> list[T]:
    """A minimal subset of ``candidates`` that, with ``fixed``, is inconsistent: by dropping
    candidates one by one up to :data:`LINEAR_UP_TO` of them, by QuickXplain beyond.

    ``fixed`` + ``candidates`` must be inconsistent.
    """
    if len(candidates) > LINEAR_UP_TO:
        return _quickxplain(fixed, candidates, consistent)
    kept = list(candidates)
    for item in candidates:
        trial = [x for x in kept if x is not item]
        if not consistent([*fixed, *trial]):
            kept = trial
    return kept


def _quickxplain(
    fixed: Sequence[T], candidates: Sequence[T], consistent: Callable[[list[T]], bool]
) -> list[T]:
    """A minimal subset of ``candidates`` that, with ``fixed``, is inconsistent (QuickXplain).

    ``fixed`` + ``candidates`` must be inconsistent.
    """

    def search(background: list[T], added: bool, items: Sequence[T]) -> list[T]:
        if added and not consistent(background):
            return []
        if len(items) == 1:
            return list(items)
        half = len(items) // 2
        first, second = items[:half], items[half:]
        needed_second = search(background + list(first), True, second)
        needed_first = search(background + needed_second, bool(needed_second), first)
        return needed_first + needed_second

    if not candidates:
        return []
    return search(list(fixed), True, candidates)


# --------------------------------------------------------------------------- rendering


def render_axiom(axiom: Axiom, nm: NamespaceManager) -> str:
    """Write ``axiom`` as one readable line, with CURIEs."""

    def n(term: Node) -> str:
        return term.n3(nm)

    kind, t = axiom.kind, axiom.terms
    simple = {
        "type": "{0} a {1}",
        "sub": "{0} ⊑ {1}",
        "equiv": "{0} ≡ {1}",
        "disjoint": "{0} disjointWith {1}",
        "domain": "{0} domain {1}",
        "range": "{0} range {1}",
        "drange": "{0} range {1}",
        "subprop": "{0} ⊑ {1}",
        "inverse": "{0} inverseOf {1}",
        "equivprop": "{0} ≡ {1}",
        "disjointprop": "{0} propertyDisjointWith {1}",
        "char": "{0} a {1}",
        "same": "{0} sameAs {1}",
        "different": "{0} differentFrom {1}",
        "fact": "{0} {1} {2}",
        "data": "{0} {1} {2}",
    }
    if kind in simple:
        return simple[kind].format(*(n(x) for x in t))
    if kind == "alldisjoint":
        return f"AllDisjointClasses({', '.join(n(x) for x in t)})"
    return " . ".join(f"{n(s)} {n(p)} {n(o)}" for s, p, o in sorted(axiom.triples))


def render(report: DLReport, ds: ProjectDataset) -> str:
    """The report as text for a person: verdict, unsatisfiable classes, time, explanations."""
    nm = ds.namespace_manager
    lines = [
        f"HermiT (OWL 2 DL, through owlready2 {owlready2.VERSION}): {report.modules} ontology "
        f"modules, {report.data_graphs} data graphs, {report.triples} triples",
        "consistent: " + ("yes" if report.consistent else "NO, the graph is inconsistent"),
    ]
    if not report.consistent:
        lines.append("unsatisfiable classes: unknown (HermiT classifies only a consistent graph)")
    elif report.unsatisfiable:
        names = ", ".join(c.n3(nm) for c in report.unsatisfiable)
        lines.append(f"unsatisfiable classes ({len(report.unsatisfiable)}): {names}")
    else:
        lines.append("unsatisfiable classes: none")
    lines.append(f"time: {report.seconds:.1f} s")
    if report.opaque_literals:
        counts = ", ".join(f"{d.n3(nm)} {c}" for d, c in report.opaque_literals.items())
        total = sum(report.opaque_literals.values())
        lines.append(
            f"note: HermiT read {total} literal{'s' * (total != 1)} of datatypes outside the "
            f"OWL 2 datatype map as opaque values ({counts})"
        )
    for explanation in report.explanations:
        lines.append("")
        lines.extend(render_explanation(explanation, ds))
    lines.extend(f"explanation: {reason}" for reason in report.unexplained)
    return "\n".join(lines) + "\n"


def render_explanation(explanation: Explanation, ds: ProjectDataset) -> list[str]:
    """The explanation's lines: a heading, then one axiom a line with the files stating it."""
    nm = ds.namespace_manager
    if explanation.unsatisfiable is None:
        what, clash = "the graph is inconsistent", "clash"
    else:
        what = f"{explanation.unsatisfiable.n3(nm)} is unsatisfiable"
        clash = "leave it no possible instance"
    lines = [
        f"why {what}: these {len(explanation.axioms)} axioms {clash}, and none can be left "
        f"out (found with {explanation.checks} HermiT runs in {explanation.seconds:.1f} s):"
    ]
    texts = [render_axiom(axiom, nm) for axiom in explanation.axioms]
    width = min(max((len(text) for text in texts), default=0), 60)
    for axiom, text in zip(explanation.axioms, texts, strict=True):
        files = ", ".join(ds.file_of(g) or str(g) for g in explanation.origins.get(axiom, []))
        lines.append(f"  {text:<{width}}  [{files}]" if files else f"  {text}")
    return lines
