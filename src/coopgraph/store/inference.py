"""The inferred graph of an engine: the OWL 2 RL closure of the asserted graphs it holds,
materialised into the named graph :data:`coopgraph.namespace.INFERRED_GRAPH` when the data
is opened, and computed again after each accepted update
(:meth:`coopgraph.store.engine.Engine.materialise`).

The ontology is whatever the engine's graphs declare as one (a graph holding an
``owl:Ontology``); every other asserted graph is data. The closure is computed by
:func:`coopgraph.reason.infer` (the reasoner the ``reasoner`` setting names) on rdflib terms
read from the engine, and written back as one graph: the asserted graphs are never touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF

from coopgraph.namespace import INFERRED_GRAPH
from coopgraph.reason import REASONERS, Triple, infer

#: The entailment regime the default graph follows when it holds the inferences (SPARQL 1.1
#: Entailment Regimes), and the OWL 2 profile whose rules give them: for the service
#: description.
ENTAILMENT_OWL_RDF_BASED = "http://www.w3.org/ns/entailment/OWL-RDF-Based"
PROFILE_OWL_RL = "http://www.w3.org/ns/owl-profile/RL"


@dataclass(frozen=True)
class Inferences:
    """What the materialised inferred graph holds and how it was made.

    Attributes:
        reasoner: The reasoner that ran (one of :data:`coopgraph.reason.REASONERS`).
        asked: The reasoner the settings asked for (run again after an update).
        triples: The number of inferred triples.
        seconds: How long reasoning took.
        inconsistencies: The reasoner's messages about clashes (empty when consistent).
        note: Why the reasoner is not the one asked for, when it is not.
    """

    reasoner: str
    asked: str
    triples: int
    seconds: float
    inconsistencies: tuple[str, ...] = ()
    note: str = ""

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Inferences:
        """Read what :func:`dataclasses.asdict` wrote (an on-disk store's note)."""
        return cls(**{**value, "inconsistencies": tuple(value.get("inconsistencies", ()))})


def split_ontology(quads: Iterable[tuple[str | None, Triple]]) -> tuple[Graph, list[Triple]]:
    """The triples of the graphs that declare an ontology, and every other triple."""
    by_graph: dict[str | None, list[Triple]] = {}
    for graph, triple in quads:
        by_graph.setdefault(graph, []).append(triple)
    ontology = Graph()
    data: list[Triple] = []
    for triples in by_graph.values():
        if any(p == RDF.type and o == OWL.Ontology for _, p, o in triples):
            ontology.addN((s, p, o, ontology) for s, p, o in triples)
        else:
            data.extend(triples)
    return ontology, data


def closure_of(
    quads: Iterable[tuple[str | None, Triple]],
    prefixes: dict[str, str],
    reasoner: str = REASONERS[0],
) -> tuple[Graph, Inferences]:
    """The inferred graph of the asserted ``quads`` (graph name, triple), and what it holds."""
    ontology, data = split_ontology(quads)
    bound = Graph()
    for prefix, namespace in prefixes.items():
        bound.bind(prefix, namespace)
    result = infer(ontology, lambda: data, reasoner, prefixes=bound)
    found = Inferences(
        result.reasoner,
        reasoner,
        len(result.inferred),
        result.seconds,
        tuple(result.inconsistencies),
        result.note,
    )
    return result.inferred, found


def is_inferred_graph(name: str | URIRef) -> bool:
    """Whether ``name`` is the inferred graph's."""
    return str(name) == str(INFERRED_GRAPH)
