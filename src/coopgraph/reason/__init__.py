"""Materialise the OWL 2 RL closure of the graph into a graph of its own.

Two reasoners give the same closure (``tests/test_rules.py`` compares them): ``rules``
(:mod:`coopgraph.reason.rules`, the default: owlrl on the schema, the instance rules on the
data) and ``owlrl``, the reference, which expands a copy of the asserted ontology and data
graphs as a whole, at about a millisecond per triple. What they add (minus the noise
described below) becomes the named graph :data:`coopgraph.namespace.INFERRED_GRAPH`. The
asserted graphs are never touched.

owlrl's output needs cleaning before it is worth keeping:

- triples with a literal subject (owlrl writes ``"17" rdf:type xsd:integer`` style triples,
  which are not valid RDF and cannot be serialised);
- reflexive triples that OWL 2 RL entails for every term (``x owl:sameAs x``,
  ``C rdfs:subClassOf C``, ``C owl:equivalentClass C``, ``p rdfs:subPropertyOf p``,
  ``p owl:equivalentProperty p``) and ``x rdf:type owl:Thing``: true of everything, they
  only hide the inferences that say something.

owlrl reports the inconsistencies it finds (an individual in two disjoint classes, a member
of ``owl:Nothing``, ...) as error messages instead of raising; they are collected in
:attr:`Reasoning.inconsistencies` so that callers can refuse an inconsistent graph.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain

import owlrl
from rdflib import Graph, Literal
from rdflib.namespace import OWL, RDF, RDFS
from rdflib.term import Node

from coopgraph.errors import FormatError
from coopgraph.graph.load import ProjectDataset
from coopgraph.graph.project import GraphKind
from coopgraph.namespace import INFERRED_GRAPH
from coopgraph.reason.rules import Triple, UnsupportedSchema, fast_closure, owlrl_errors

#: The reasoners, the default first.
REASONERS = ("rules", "owlrl")

_REFLEXIVE = (
    OWL.sameAs,
    OWL.equivalentClass,
    OWL.equivalentProperty,
    RDFS.subClassOf,
    RDFS.subPropertyOf,
)


@dataclass
class Reasoning:
    """The outcome of an OWL 2 RL run.

    Attributes:
        inferred: The new triples, in a graph named :data:`INFERRED_GRAPH`.
        inconsistencies: owlrl's messages about inconsistencies (empty when consistent).
        nothing: Individuals inferred to be members of ``owl:Nothing``.
        seconds: How long the reasoner took.
        reasoner: The reasoner that ran (one of :data:`REASONERS`).
        note: Why it is not the one asked for, when it is not.
    """

    inferred: Graph
    inconsistencies: list[str]
    nothing: list[Node]
    seconds: float
    reasoner: str = "owlrl"
    note: str = ""

    @property
    def consistent(self) -> bool:
        """True when owlrl found no inconsistency and ``owl:Nothing`` is empty."""
        return not self.inconsistencies and not self.nothing


def is_noise(triple: Triple) -> bool:
    """Return True for an owlrl triple that is invalid RDF or true of every term."""
    s, p, o = triple
    if isinstance(s, Literal):
        return True
    if p in _REFLEXIVE and s == o:
        return True
    return p == RDF.type and o == OWL.Thing


def closure(asserted: Graph) -> tuple[Graph, list[str], float]:
    """Expand a copy of ``asserted`` with owlrl and return what it added.

    Returns:
        The graph of new triples (noise removed, owlrl's error nodes removed), owlrl's
        inconsistency messages, and the seconds owlrl took.
    """
    work = Graph()
    work.addN((s, p, o, work) for s, p, o in asserted)
    start = time.monotonic()
    owlrl.DeductiveClosure(
        owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False
    ).expand(work)
    seconds = time.monotonic() - start
    messages, error_nodes = owlrl_errors(work)
    new = (t for t in work if t[0] not in error_nodes and t not in asserted)
    return _inferred_graph(asserted, new), messages, seconds


def _inferred_graph(prefixes: Graph, new: Iterable[Triple]) -> Graph:
    """The ``new`` triples that say something, as the inferred graph (with the prefixes
    bound in ``prefixes``)."""
    inferred = Graph(identifier=INFERRED_GRAPH)
    inferred.addN((s, p, o, inferred) for s, p, o in new if not is_noise((s, p, o)))
    for prefix, namespace in prefixes.namespaces():
        inferred.bind(prefix, namespace, override=False)
    return inferred


def members_of_nothing(graphs: Iterable[Graph]) -> list[Node]:
    """Return the nodes typed ``owl:Nothing`` in any of ``graphs``, sorted."""
    return sorted({s for g in graphs for s in g.subjects(RDF.type, OWL.Nothing)}, key=str)


def infer(
    ontology: Graph,
    data: Callable[[], Iterable[Triple]],
    reasoner: str = REASONERS[0],
    prefixes: Graph | None = None,
) -> Reasoning:
    """The OWL 2 RL closure of ``ontology`` and the triples ``data()`` yields.

    Args:
        ontology: The ontology graphs' triples.
        data: Gives every other asserted triple, each time it is called (the rules
            reasoner reads them once; owlrl, when it is the one that runs, once more).
        reasoner: One of :data:`REASONERS`; ``rules`` falls back to ``owlrl`` (saying why in
            :attr:`Reasoning.note`) for a construct its rules do not cover.
        prefixes: A graph whose prefixes the inferred graph binds.

    Raises:
        FormatError: for an unknown reasoner.
    """
    if reasoner not in REASONERS:
        raise FormatError(reasoner, REASONERS, kind="reasoner")
    note = ""
    bound = prefixes if prefixes is not None else ontology
    if reasoner == "rules":
        try:
            new, messages, seconds = fast_closure(ontology, data())
            inferred = _inferred_graph(bound, new)
        except UnsupportedSchema as err:
            reasoner, note = "owlrl", str(err)
    if reasoner == "owlrl":
        asserted = Graph()
        asserted.addN((s, p, o, asserted) for s, p, o in chain(ontology, data()))
        inferred, messages, seconds = closure(asserted)
        for prefix, namespace in bound.namespaces():
            inferred.bind(prefix, namespace, override=False)
    return Reasoning(inferred, messages, [], seconds, reasoner, note)


def reason(ds: ProjectDataset, attach: bool = True, reasoner: str = REASONERS[0]) -> Reasoning:
    """Compute the OWL 2 RL closure of the dataset's asserted graphs.

    Args:
        ds: The loaded dataset; its asserted graphs are read, never changed.
        attach: Add the inferences to ``ds`` as the named graph :data:`INFERRED_GRAPH`
            (replacing an earlier one).
        reasoner: One of :data:`REASONERS` (see :func:`infer`).

    Returns:
        The inferences and what the reasoner found wrong.

    Raises:
        FormatError: for an unknown reasoner.
    """
    # The graphs are read where they are: a merged copy of a large dataset costs more than
    # the reasoning.
    graphs = ds.graphs_of(GraphKind.SOURCE, GraphKind.REFERENCE, GraphKind.OTHER)
    result = infer(
        ds.merged(GraphKind.ONTOLOGY),
        lambda: chain.from_iterable(ds.graph(name) for name in graphs),
        reasoner,
        prefixes=ds,
    )
    asserted_graphs = [ds.graph(name) for name in ds.asserted_graphs()]
    result.nothing = members_of_nothing([*asserted_graphs, result.inferred])
    if attach:
        if INFERRED_GRAPH in ds.kinds:
            ds.remove_graph(ds.graph(INFERRED_GRAPH))
            del ds.kinds[INFERRED_GRAPH]
        ds.attach(result.inferred, GraphKind.INFERRED)
    return result
