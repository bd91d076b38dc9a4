"""Count what the dataset holds: triples per named graph, instances per class.

Instances are counted by their asserted ``rdf:type`` (one count per class it is declared
in); when an inferred graph is attached, a second count includes the inferred types, so
that superclass membership shows (every cooperation agreement is also an agreement).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from prettytable import PrettyTable, TableStyle
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF

from coopgraph.errors import FormatError
from coopgraph.graph.load import ProjectDataset
from coopgraph.graph.project import GraphKind
from coopgraph.namespace import COOP
from coopgraph.terms import short

FORMATS = ("table", "json")


@dataclass(frozen=True)
class GraphCount:
    """One named graph: its name, what it holds, its file, and its number of triples."""

    name: URIRef
    kind: GraphKind
    file: str | None
    triples: int


@dataclass(frozen=True)
class Stats:
    """The counts of a dataset.

    Attributes:
        graphs: One entry per named graph, in load order.
        classes: Asserted instances per class, most first.
        classes_inferred: Instances per class with the inferred types, or ``None`` when
            no inferred graph is attached.
        ontology_terms: Classes, object, datatype and annotation properties declared in the
            coopgraph namespace.
        quotes: The number of evidence quotes.
    """

    graphs: list[GraphCount]
    classes: Counter[URIRef]
    classes_inferred: Counter[URIRef] | None
    ontology_terms: dict[str, int]
    quotes: int

    @property
    def triples(self) -> int:
        """The triples of every graph together (inferred graph included)."""
        return sum(g.triples for g in self.graphs)


_DATA_KINDS = (GraphKind.SOURCE, GraphKind.REFERENCE, GraphKind.OTHER)

_TERM_KINDS = (
    ("classes", OWL.Class),
    ("object properties", OWL.ObjectProperty),
    ("datatype properties", OWL.DatatypeProperty),
    ("annotation properties", OWL.AnnotationProperty),
)


def compute(ds: ProjectDataset) -> Stats:
    """Count the triples of every graph and the instances of every class."""
    graphs = [
        GraphCount(name, kind, ds.file_of(name), len(ds.graph(name)))
        for name, kind in ds.kinds.items()
    ]
    data = ds.merged(*_DATA_KINDS)
    classes = _instances(data)
    inferred = None
    if GraphKind.INFERRED in ds.kinds.values():
        inferred = _instances(ds.merged(*_DATA_KINDS, include_inferred=True))
    ontology = ds.merged(GraphKind.ONTOLOGY)
    terms = {
        label: sum(1 for t in ontology.subjects(RDF.type, cls) if str(t).startswith(str(COOP)))
        for label, cls in _TERM_KINDS
    }
    quotes = sum(1 for _ in data.subjects(RDF.type, COOP.Quote))
    return Stats(graphs, classes, inferred, terms, quotes)


def _instances(graph: Graph) -> Counter[URIRef]:
    counts: Counter[URIRef] = Counter()
    for _, cls in set(graph.subject_objects(RDF.type)):
        if isinstance(cls, URIRef):
            counts[cls] += 1
    return counts


def render(stats: Stats, ds: ProjectDataset, fmt: str = "table") -> str:
    """Write the counts as tables for a person or as JSON.

    Raises:
        FormatError: for a format other than ``table`` or ``json``.
    """
    if fmt == "json":
        return _render_json(stats)
    if fmt != "table":
        raise FormatError(fmt, FORMATS, "the statistics")
    nsm = ds.namespace_manager
    graphs = _table(["graph", "holds", "file", "triples"], "lllr")
    for g in stats.graphs:
        graphs.add_row([short(g.name, nsm), g.kind.value, g.file or "", g.triples])
    graphs.add_row(["all graphs", "", "", stats.triples], divider=False)
    heads = ["class", "instances"] + (["with inferences"] if stats.classes_inferred else [])
    classes = _table(heads, "lr" + ("r" if stats.classes_inferred else ""))
    for cls in _class_order(stats):
        row = [short(cls, nsm), stats.classes.get(cls, 0)]
        if stats.classes_inferred is not None:
            row.append(stats.classes_inferred.get(cls, 0))
        classes.add_row(row)
    terms = ", ".join(f"{n} {label}" for label, n in stats.ontology_terms.items())
    return (
        f"Triples per graph\n{graphs.get_string()}\n\n"
        f"Instances per class (data graphs)\n{classes.get_string()}\n\n"
        f"Ontology terms: {terms}\nEvidence quotes: {stats.quotes}\n"
    )


def _class_order(stats: Stats) -> list[URIRef]:
    counts = stats.classes_inferred or stats.classes
    return sorted(counts, key=lambda c: (-counts[c], str(c)))


def _table(heads: list[str], align: str) -> PrettyTable:
    table = PrettyTable(heads)
    table.set_style(TableStyle.SINGLE_BORDER)
    for head, side in zip(heads, align, strict=True):
        table.align[head] = side
    return table


def _render_json(stats: Stats) -> str:
    doc = {
        "triples": stats.triples,
        "graphs": [
            {"graph": str(g.name), "holds": g.kind.value, "file": g.file, "triples": g.triples}
            for g in stats.graphs
        ],
        "instances": {str(c): n for c, n in sorted(stats.classes.items())},
        "ontologyTerms": stats.ontology_terms,
        "quotes": stats.quotes,
    }
    if stats.classes_inferred is not None:
        doc["instancesWithInferences"] = {
            str(c): n for c, n in sorted(stats.classes_inferred.items())
        }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
