"""The dataset's `VoID <https://www.w3.org/TR/void/>`_ description: its size (triples,
entities, classes, properties), a partition per class and per property, one subset per named
graph with the source document it holds, the endpoint, and the dumps.

The counts come from SPARQL queries on an engine (:data:`COUNTS`): the endpoint runs them
in a query worker once per version of the data (:mod:`coopgraph.web.describe`), a release
on the released data itself (:meth:`DatasetFigures.of`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, VOID, XSD

from coopgraph.namespace import COOP, ID_SPACE, INFERRED_GRAPH, PREFIXES
from coopgraph.store.engine import Engine


def triples_per_graph(engine: Engine) -> dict[str, int]:
    rows = engine.select("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    return {str(r["g"]): int(r["n"]) for r in rows}


def union_statistics(engine: Engine) -> dict[str, int]:
    # Every engine's default graph is a set (the union of the named graphs, each triple
    # once), so the triples need no DISTINCT of their own.
    row = engine.select(
        """SELECT (COUNT(*) AS ?triples) (COUNT(DISTINCT ?s) AS ?subjects)
                  (COUNT(DISTINCT ?o) AS ?objects) (COUNT(DISTINCT ?p) AS ?properties)
           WHERE { ?s ?p ?o }"""
    )[0]
    entities = engine.select(
        f"""SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{
              ?s ?p ?o FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{ID_SPACE}")) }}"""
    )[0]
    classes = engine.select("SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE { ?x a ?c }")[0]
    found = {k: int(v) for k, v in row.items()}
    found["entities"] = int(entities["n"])
    found["classes"] = int(classes["n"])
    return found


def instances_per_class(engine: Engine) -> list[tuple[URIRef, int]]:
    rows = engine.select(
        "SELECT ?c (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a ?c } GROUP BY ?c ORDER BY DESC(?n) ?c"
    )
    return [(URIRef(str(r["c"])), int(r["n"])) for r in rows]


def triples_per_property(engine: Engine) -> list[tuple[URIRef, int]]:
    rows = engine.select(
        "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p ORDER BY DESC(?n) ?p"
    )
    return [(URIRef(str(r["p"])), int(r["n"])) for r in rows]


def source_labels(engine: Engine) -> dict[str, str]:
    rows = engine.select(
        f"""SELECT ?d ?label WHERE {{ ?d a <{COOP.SourceDocument}> .
            OPTIONAL {{ ?d <{RDFS.label}> ?label }} }}"""
    )
    return {str(r["d"]): str(r.get("label", r["d"])) for r in rows}


#: The counts an engine is asked for, each a function of the engine.
COUNTS = (
    triples_per_graph,
    union_statistics,
    instances_per_class,
    triples_per_property,
    source_labels,
)


@dataclass(frozen=True)
class DatasetFigures:
    """What VoID says of a dataset.

    Attributes:
        statistics: Sizes of the union graph (:func:`union_statistics`).
        classes: Instances per class, most first.
        properties: Triples per property, most first.
        graph_sizes: Triples per named graph.
        sources: The source documents' labels, by IRI.
        files: Graph name -> the file it was loaded from.
    """

    statistics: dict[str, int]
    classes: list[tuple[URIRef, int]]
    properties: list[tuple[URIRef, int]]
    graph_sizes: dict[str, int]
    sources: dict[str, str]
    files: dict[str, str]

    @classmethod
    def of(cls, engine: Engine) -> DatasetFigures:
        """Count over ``engine``, in this process."""
        return cls(
            statistics=union_statistics(engine),
            classes=instances_per_class(engine),
            properties=triples_per_property(engine),
            graph_sizes=triples_per_graph(engine),
            sources=source_labels(engine),
            files=dict(engine.files),
        )


#: The title of the inferred graph's subset.
INFERRED_TITLE = (
    "The OWL 2 RL inferences: computed from the other graphs and the ontology, not asserted "
    "by any source (left out of the default graph by infer=false)"
)


def void_graph(figures: DatasetFigures, base: str, dumps: Iterable[str]) -> Graph:
    """The VoID description of the dataset served at ``base`` (ending in ``/``), with the
    IRIs of its ``dumps``."""
    graph = Graph()
    graph.bind("void", VOID)
    graph.bind("dcterms", DCTERMS)
    graph.bind("coop", COOP)
    dataset = URIRef(base + ".well-known/void#coopgraph")
    add = graph.add
    add((dataset, RDF.type, VOID.Dataset))
    add((dataset, DCTERMS.title, Literal("coopgraph", lang="en")))
    add(
        (
            dataset,
            DCTERMS.description,
            Literal(
                "A knowledge graph of international cooperation: organizations, the instruments "
                "that bind them, who signed or approved them, the crime areas and goals they "
                "serve, with the quoted evidence for every fact.",
                lang="en",
            ),
        )
    )
    add((dataset, VOID.sparqlEndpoint, URIRef(base + "sparql")))
    add((dataset, VOID.uriSpace, Literal(ID_SPACE)))
    add((dataset, VOID.exampleResource, URIRef(ID_SPACE + "org/interpol")))
    for dump in dumps:
        add((dataset, VOID.dataDump, URIRef(dump)))
    _add_figures(graph, dataset, figures)
    _add_subsets(graph, dataset, figures)
    return graph


def _add_figures(graph: Graph, dataset: URIRef, figures: DatasetFigures) -> None:
    """The dataset's counts, vocabularies, and class and property partitions."""
    add = graph.add
    stats = figures.statistics
    for key, prop in (
        ("triples", VOID.triples),
        ("entities", VOID.entities),
        ("classes", VOID.classes),
        ("properties", VOID.properties),
        ("subjects", VOID.distinctSubjects),
        ("objects", VOID.distinctObjects),
    ):
        add((dataset, prop, Literal(stats[key], datatype=XSD.integer)))
    for vocabulary in ("coop", "prov", "skos", "dcterms"):
        add((dataset, VOID.vocabulary, URIRef(PREFIXES[vocabulary])))
    for cls, count in figures.classes:
        part = BNode()
        add((dataset, VOID.classPartition, part))
        add((part, VOID["class"], cls))
        add((part, VOID.entities, Literal(count, datatype=XSD.integer)))
    for prop, count in figures.properties:
        part = BNode()
        add((dataset, VOID.propertyPartition, part))
        add((part, VOID.property, prop))
        add((part, VOID.triples, Literal(count, datatype=XSD.integer)))


def _add_subsets(graph: Graph, dataset: URIRef, figures: DatasetFigures) -> None:
    """One subset per named graph, with its size, its source and the file it came from."""
    add = graph.add
    sources = figures.sources
    for name, size in sorted(figures.graph_sizes.items()):
        subset = URIRef(name)
        add((dataset, VOID.subset, subset))
        add((subset, RDF.type, VOID.Dataset))
        add((subset, VOID.triples, Literal(size, datatype=XSD.integer)))
        if name == str(INFERRED_GRAPH):
            add((subset, DCTERMS.title, Literal(INFERRED_TITLE, lang="en")))
        if name in sources:
            add((subset, DCTERMS.source, URIRef(name)))
            add((subset, DCTERMS.title, Literal(f"Facts from: {sources[name]}", lang="en")))
        file_name = figures.files.get(name)
        if file_name:
            add((subset, RDFS.comment, Literal(f"loaded from {file_name}", lang="en")))
