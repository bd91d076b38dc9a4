"""Descriptions of the service and of the dataset: SPARQL Service Description and VoID.

- `SPARQL 1.1 Service Description <https://www.w3.org/TR/sparql11-service-description/>`_:
  what ``/sparql`` supports (query language, result formats, the union default graph) and
  the dataset (each named graph and its size). ``sd:endpoint`` is the URL the client used.
  Federated query is not advertised: SERVICE is refused here.
- `VoID <https://www.w3.org/TR/void/>`_: the dataset's size (triples, entities, classes,
  properties), a partition per class and per property, one subset per named graph with the
  source document it holds, the endpoint, and the dumps.

Counts come from the server's own SPARQL queries, run by a query worker (see
:mod:`coopgraph.web.worker`) once per version of the data (see
:meth:`coopgraph.web.state.ServerState.memoize`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, VOID, XSD

from coopgraph import formats
from coopgraph.namespace import FORMATS, INFERRED_GRAPH, SD
from coopgraph.publish import void
from coopgraph.publish.void import COUNTS, DatasetFigures
from coopgraph.store.engine import Engine
from coopgraph.store.inference import ENTAILMENT_OWL_RDF_BASED, PROFILE_OWL_RL
from coopgraph.web.state import ServerState
from coopgraph.web.worker import reader

_RESULT_FORMATS = (
    "SPARQL_Results_JSON",
    "SPARQL_Results_XML",
    "SPARQL_Results_CSV",
    "SPARQL_Results_TSV",
    *(f.w3c for f in formats.GRAPHS),
)


def warm(st: ServerState) -> None:
    """Compute, once, what the pages, VoID and /health count over the whole store.

    Called before the server forks its processes: they inherit the figures. Counting in
    each forked process would make it read the whole in-memory store, and Oxigraph's reads
    write reference counts, so every page it read would be copied into that process (at
    1M triples, 800 MB more per process). Only for a store in memory: an on-disk store must
    not be opened before a fork (its handle cannot cross one), and reading it copies nothing.
    """
    # Oxigraph releases the GIL while it counts: two threads use two cores. They are
    # joined before the function returns, so no thread is left when the server forks.
    with ThreadPoolExecutor(2 if st.engine.parallel_reads else 1) as pool:
        for done in [pool.submit(figures, st) for figures in WARMED]:
            done.result()


def graph_names(st: ServerState) -> list[str]:
    """The named graphs of the dataset."""
    return st.memoize("graph-names", lambda: st.read("named_graphs"))


def quad_count(st: ServerState) -> int:
    """The quads of the dataset (a triple stated in two graphs is two quads)."""
    return st.memoize("quads", lambda: st.read("quads"))


def graph_sizes(st: ServerState) -> dict[str, int]:
    """Triples per named graph."""
    return st.memoize("graph-sizes", lambda: st.read("triples_per_graph"))


def statistics(st: ServerState) -> dict[str, int]:
    """Sizes of the union graph: triples, entities, distinct subjects and objects, ..."""
    return st.memoize("statistics", lambda: st.read("union_statistics"))


def class_partitions(st: ServerState) -> list[tuple[URIRef, int]]:
    """Instances per class, most first."""
    return st.memoize("class-partitions", lambda: st.read("instances_per_class"))


def property_partitions(st: ServerState) -> list[tuple[URIRef, int]]:
    """Triples per property, most first."""
    return st.memoize("property-partitions", lambda: st.read("triples_per_property"))


def source_titles(st: ServerState) -> dict[str, str]:
    """The source documents' labels, by IRI (a source graph is named after its document)."""
    return st.memoize("source-titles", lambda: st.read("source_labels"))


# ---------------------------------------------------------------------- in a query worker


@reader
def named_graphs(engine: Engine) -> list[str]:
    return engine.graph_names()


@reader
def quads(engine: Engine) -> int:
    return len(engine)


for _count in COUNTS:
    reader(_count)

#: The figures :func:`warm` computes.
WARMED = (
    graph_names,
    quad_count,
    graph_sizes,
    statistics,
    class_partitions,
    property_partitions,
    source_titles,
)


#: What a query's default graph follows without inferences (SPARQL 1.1 Entailment Regimes).
ENTAILMENT_SIMPLE = "http://www.w3.org/ns/entailment/Simple"
INFER_NOTE = (
    "The default graph is the union of the asserted graphs and of their OWL 2 RL closure, "
    f"kept in the named graph <{INFERRED_GRAPH}>; add infer=false to a request for the "
    "asserted graphs alone."
)


def service_graph(st: ServerState, endpoint: str) -> Graph:
    """The service description of ``/sparql``, with ``sd:endpoint`` = ``endpoint``."""
    graph = Graph()
    graph.bind("sd", SD)
    graph.bind("void", VOID)
    graph.bind("formats", FORMATS)
    service = URIRef(endpoint + "#service")
    graph.add((service, RDF.type, SD.Service))
    graph.add((service, SD.endpoint, URIRef(endpoint)))
    graph.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    graph.add((service, SD.feature, SD.UnionDefaultGraph))
    if st.engine.inferences is None:
        graph.add((service, SD.defaultEntailmentRegime, URIRef(ENTAILMENT_SIMPLE)))
    else:  # the default graph holds the OWL 2 RL closure; infer=false leaves it out
        graph.add((service, SD.defaultEntailmentRegime, URIRef(ENTAILMENT_OWL_RDF_BASED)))
        graph.add((service, SD.supportedEntailmentProfile, URIRef(PROFILE_OWL_RL)))
        graph.add((service, RDFS.comment, Literal(INFER_NOTE, lang="en")))
    for name in _RESULT_FORMATS:
        graph.add((service, SD.resultFormat, FORMATS[name]))
    graph.add(
        (service, RDFS.seeAlso, URIRef(endpoint.rsplit("/sparql", 1)[0] + "/.well-known/void"))
    )
    dataset = BNode()
    graph.add((service, SD.defaultDataset, dataset))
    graph.add((dataset, RDF.type, SD.Dataset))
    default = BNode()
    graph.add((dataset, SD.defaultGraph, default))
    graph.add((default, RDF.type, SD.Graph))
    graph.add((default, VOID.triples, Literal(statistics(st)["triples"], datatype=XSD.integer)))
    for name, size in sorted(graph_sizes(st).items()):
        named, inner = BNode(), BNode()
        graph.add((dataset, SD.namedGraph, named))
        graph.add((named, RDF.type, SD.NamedGraph))
        graph.add((named, SD.name, URIRef(name)))
        graph.add((named, SD.graph, inner))
        graph.add((inner, RDF.type, SD.Graph))
        graph.add((inner, VOID.triples, Literal(size, datatype=XSD.integer)))
    return graph


def figures(st: ServerState) -> DatasetFigures:
    """The counts VoID gives, from the figures this server computed once."""
    return DatasetFigures(
        statistics=statistics(st),
        classes=class_partitions(st),
        properties=property_partitions(st),
        graph_sizes=graph_sizes(st),
        sources=source_titles(st),
        files=dict(st.engine.files),
    )


def void_graph(st: ServerState, base: str) -> Graph:
    """The VoID description of the dataset served at ``base`` (ending in ``/``)."""
    dumps = [base + "dumps/" + name for name in formats.DUMPS]
    return void.void_graph(figures(st), base, dumps)
