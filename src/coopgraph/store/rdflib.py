"""The rdflib engine: the dataset in an rdflib Dataset in memory, the reference the other
engines are tested against."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from rdflib import Dataset, Graph, URIRef
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Node

from coopgraph import formats
from coopgraph.errors import QueryError
from coopgraph.namespace import INFERRED_GRAPH
from coopgraph.reason import Triple
from coopgraph.sparql import results
from coopgraph.sparql.guard import install_network_guard
from coopgraph.sparql.parse import parse_query
from coopgraph.store.answers import evaluation_error, row_size, select_reply
from coopgraph.store.engine import Engine, QueryJob, QueryReply
from coopgraph.store.updates import _apply_using_named, check_graph_operations


class RdflibEngine(Engine):
    """The dataset in an rdflib Dataset: slow, but the reference the others are checked against."""

    name = "rdflib"

    @property
    def in_memory(self) -> bool:
        return True

    def __init__(self, dataset: Dataset, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dataset = dataset
        install_network_guard()

    def evaluate(self, job: QueryJob) -> QueryReply:
        parsed = parse_query(job.query, job.base_iri)
        if not job.dataset_given and not job.infer and self.inferences is not None:
            asserted = tuple(self.asserted_graph_names())
            job = replace(job, default_graphs=asserted, named_graphs=asserted, dataset_given=True)
        if job.dataset_given:
            parsed.algebra["datasetClause"] = [
                *(CompValue("DatasetClause", default=URIRef(g)) for g in job.default_graphs),
                *(CompValue("DatasetClause", named=URIRef(g)) for g in job.named_graphs),
            ]
        try:
            answer = self.dataset.query(parsed)
            if answer.type == "ASK":
                body = results.write_ask(job.media_type, bool(answer.askAnswer))
                return QueryReply(body, job.media_type, 1, False)
            if answer.type == "SELECT":
                names = [str(v) for v in answer.vars or []]
                plain = ([results.plain_of(row[i]) for i in range(len(names))] for row in answer)
                rows, cut, cut_bytes = results.take(plain, job.row_cap, job.max_bytes, row_size)
            else:
                triples, cut, cut_bytes = results.take(
                    answer.graph, job.row_cap, job.max_bytes, _rdflib_triple_size
                )
        except QueryError:
            raise
        except MemoryError:
            raise
        except Exception as err:  # noqa: BLE001 - rdflib raises many types while evaluating
            raise evaluation_error(err) from None
        if answer.type == "SELECT":
            return select_reply(job, names, rows, cut, cut_bytes)

        def write(count: int, _cut: bool) -> bytes:
            graph = Graph()
            for prefix, namespace in self.prefixes.items():
                graph.bind(prefix, namespace)
            graph.addN((s, p, o, graph) for s, p, o in triples[:count])
            return graph.serialize(format=formats.rdflib_name(job.media_type), encoding="utf-8")

        body, count = results.fit(write, len(triples), job.max_bytes)
        return QueryReply(body, job.media_type, count, cut, cut_bytes or count < len(triples))

    def select(self, query: str) -> list[dict[str, Node]]:
        answer = self.dataset.query(parse_query(query))
        return [{str(k): v for k, v in row.asdict().items()} for row in answer]

    def construct(self, query: str) -> Graph:
        graph = Graph()
        for prefix, namespace in self.prefixes.items():
            graph.bind(prefix, namespace)
        graph += self.dataset.query(parse_query(query)).graph
        return graph

    def graph_names(self) -> list[str]:
        return sorted(
            str(g.identifier)
            for g in self.dataset.graphs()
            if isinstance(g.identifier, URIRef)
            and len(g)
            and g.identifier != DATASET_DEFAULT_GRAPH_ID
        )

    def __len__(self) -> int:
        return sum(len(g) for g in self.dataset.graphs())

    def asserted_quads(self) -> Iterator[tuple[str | None, Triple]]:
        for graph in self.dataset.graphs():
            name = graph.identifier
            if name == INFERRED_GRAPH:
                continue
            shown = None if name == DATASET_DEFAULT_GRAPH_ID else str(name)
            for triple in graph:
                yield shown, triple

    def replace_inferred(self, inferred: Graph) -> None:
        self.dataset.remove_graph(self.dataset.graph(INFERRED_GRAPH))
        context = self.dataset.graph(INFERRED_GRAPH)
        context.addN((s, p, o, context) for s, p, o in inferred)

    def update(self, text: str, base_iri: str | None = None) -> None:
        """Apply an update. rdflib cannot insert into the default graph while SPARQL's
        default graph is the union (RDFLib/rdflib#2019), and that choice is a global of
        rdflib's, so the update runs with it switched off (it runs in a worker of its own:
        no query runs meanwhile in that process). Its WHERE, outside GRAPH, then matches
        the triples stated in the default graph itself, and an INSERT without GRAPH goes
        there. rdflib does not fail on a missing graph without SILENT, nor on CREATE of an
        existing one, as SPARQL 1.1 Update (3.1.3, 3.2) says it must: that is checked first.
        """
        import rdflib.plugins.sparql as rdflib_sparql

        try:
            algebra = check_graph_operations(text, base_iri, set(self.graph_names()))
            for op in algebra.algebra:
                _apply_using_named(op)
            rdflib_sparql.SPARQL_DEFAULT_GRAPH_UNION = False
            self.dataset.update(algebra)
        except (QueryError, MemoryError):
            raise
        except Exception as err:  # noqa: BLE001 - the parser and evaluator raise many types
            raise QueryError(f"the update failed: {' '.join(str(err).split())}") from None
        finally:
            rdflib_sparql.SPARQL_DEFAULT_GRAPH_UNION = True

    def dump(self, media_type: str) -> bytes:
        fmt = formats.rdflib_name(media_type)
        if media_type in formats.DATASET_TYPES:
            return self.dataset.serialize(format=fmt, encoding="utf-8")
        union = Graph()
        for prefix, namespace in self.prefixes.items():
            union.bind(prefix, namespace)
        union.addN((s, p, o, union) for s, p, o, _ in self.dataset.quads((None, None, None, None)))
        return union.serialize(format=fmt, encoding="utf-8")


def _rdflib_triple_size(triple: tuple[Node, Node, Node]) -> int:
    return 24 + sum(len(t) for t in triple)
