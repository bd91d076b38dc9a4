"""The Oxigraph engine: the dataset in a pyoxigraph store, in memory or on disk, and the
writing of its answers."""

from __future__ import annotations

import io
import itertools
import os
import re
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import Graph
from rdflib.term import Node

from coopgraph import formats
from coopgraph.errors import QueryError
from coopgraph.graph.sources import Source, ox_load, shown_path
from coopgraph.namespace import INFERRED_GRAPH
from coopgraph.reason import Triple
from coopgraph.store.answers import evaluation_error
from coopgraph.store.engine import Engine, QueryJob, QueryReply
from coopgraph.store.oxigraph_answers import ox_reply
from coopgraph.store.updates import check_graph_operations
from coopgraph.terms import ox_to_rdflib, rdflib_to_ox

#: A character class in Oxigraph's "expected ..." lists: ['A' ..= 'Z' | ...], [_].
_OX_CHAR_CLASS = re.compile(r",?\s*\[[^\[\]]*\]")


_OX_SYNTAX = re.compile(r"error at (?P<line>\d+):(?P<column>\d+): (?P<message>.*)", re.DOTALL)


#: Update steps that keep the union in the default graph (see :class:`OxigraphEngine`).
UNION_STRIP = "DELETE { ?s ?p ?o } WHERE { ?s ?p ?o FILTER EXISTS { GRAPH ?g { ?s ?p ?o } } }"


UNION_FILL = (
    f"INSERT {{ ?s ?p ?o }} WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g != <{INFERRED_GRAPH}>) }}"
)


NAMED_COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"


#: Whether a triple of the named graph ?g (bound when asked) is in another named graph.
_SHARED_TRIPLE = "ASK { GRAPH ?g { ?s ?p ?o } GRAPH ?h { ?s ?p ?o } FILTER(?g != ?h) }"


#: The query option that makes the default graph the union of the named graphs.
_UNION = {"use_default_graph_as_union": True}


_DIRECT = "SELECT ?s ?p ?o WHERE { ?s ?p ?o FILTER NOT EXISTS { GRAPH ?g { ?s ?p ?o } } }"


class OxigraphEngine(Engine):
    """The dataset in a pyoxigraph store, in memory or on disk.

    pyoxigraph 0.5 merges graphs as a multiset: with ``use_default_graph_as_union``, or with
    several ``default_graph`` / FROM graphs, a triple stated in two graphs matches twice
    (oxigraph/oxigraph#1919, fixed after 0.5.13). The union default graph is kept a set in
    one of two ways, chosen when the data is loaded (:func:`ox_fill`):

    - when no triple is in two named graphs and the default graph itself is empty, which is
      the common case (each source states its own triples), the multiset union *is* the set
      union, and queries read it with ``use_default_graph_as_union`` (``union_stored``
      False): nothing is copied, so loading takes half the time and the store half the
      memory;
    - otherwise the store's default graph holds every distinct triple of the named graphs
      (:data:`UNION_FILL`, run by Oxigraph, so it scales), besides the triples stated in
      the default graph itself (``union_stored`` True). An update always switches to this
      way first, since it may state a triple a second time.

    A query that merges several graphs is evaluated over a store built for it.

    An on-disk store (``path``) is opened read-only in each process that uses it, lazily: a
    RocksDB handle must not cross a fork (query workers and the server's processes are forks).
    It is served read-only.
    """

    name = "oxigraph"
    parallel_reads = True

    @property
    def in_memory(self) -> bool:
        return self.path is None

    def __init__(
        self,
        store: ox.Store | None = None,
        path: Path | None = None,
        union_stored: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.union_stored = union_stored
        self._store = store
        self._pid = os.getpid() if store is not None else 0

    @property
    def store(self) -> ox.Store:
        """The store, opened read-only in this process if it is on disk."""
        if self.path is not None and self._pid != os.getpid():
            self._store = ox.Store.read_only(str(self.path))
            self._pid = os.getpid()
        assert self._store is not None
        return self._store

    def _default_dataset(self, infer: bool) -> dict[str, Any]:
        """The dataset arguments of a query that names none: the union of the asserted
        graphs, and of the inferred graph unless ``infer`` is False."""
        inferred = self.inferences is not None
        if infer or not inferred:
            if self.union_stored and inferred:  # the stored union holds the asserted triples
                both = [ox.DefaultGraph(), ox.NamedNode(str(INFERRED_GRAPH))]
                return {"default_graph": both}
            return {} if self.union_stored else _UNION
        asserted = [ox.NamedNode(g) for g in self.asserted_graph_names()]
        if self.union_stored:
            return {"default_graph": ox.DefaultGraph(), "named_graphs": asserted}
        return {"default_graph": asserted, "named_graphs": asserted}

    def _dataset_for(self, job: QueryJob) -> tuple[ox.Store, dict[str, Any]]:
        """The store to run ``job`` on, and the dataset arguments for it."""
        if not job.dataset_given:
            return self.store, self._default_dataset(job.infer)
        named = [ox.NamedNode(g) for g in job.named_graphs]
        if len(job.default_graphs) <= 1:
            default = [ox.NamedNode(g) for g in job.default_graphs]
            return self.store, {"default_graph": default, "named_graphs": named}
        merged = ox.Store()
        for graph in job.default_graphs:
            merged.extend(
                ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph())
                for q in self.store.quads_for_pattern(None, None, None, ox.NamedNode(graph))
            )
        for graph in named:
            merged.extend(self.store.quads_for_pattern(None, None, None, graph))
        return merged, {"default_graph": ox.DefaultGraph(), "named_graphs": named}

    def _query(
        self, query: str, store: ox.Store | None = None, base_iri: str | None = None, **args: Any
    ) -> Any:
        if not args:
            args = self._default_dataset(True)
        try:
            return (store or self.store).query(query, base_iri=base_iri, **args)
        except SyntaxError as err:
            raise _ox_query_error(err) from None
        except (OSError, RuntimeError, ValueError) as err:
            raise evaluation_error(err) from None

    def evaluate(self, job: QueryJob) -> QueryReply:
        store, args = self._dataset_for(job)
        answer = self._query(job.query, store, job.base_iri, **args)
        return ox_reply(answer, job, self.prefixes)

    def _prefixes_for(self, media_type: str) -> dict[str, str] | None:
        return self.prefixes if formats.by_media_type(media_type).prefixes else None

    def read_paths(self) -> tuple[str, ...]:
        return () if self.path is None else (str(self.path),)

    def open_in_worker(self) -> None:
        if self.path is not None:
            _ = self.store  # RocksDB reads /proc and /sys as it opens: before confinement

    def select(self, query: str) -> list[dict[str, Node]]:
        answer = self._query(query)
        names = [v.value for v in answer.variables]
        return [
            {n: ox_to_rdflib(t) for n, t in zip(names, row, strict=True) if t is not None}
            for row in answer
        ]

    def construct(self, query: str) -> Graph:
        graph = Graph()
        for prefix, namespace in self.prefixes.items():
            graph.bind(prefix, namespace)
        for t in self._query(query):
            graph.add((ox_to_rdflib(t.subject), ox_to_rdflib(t.predicate), ox_to_rdflib(t.object)))
        return graph

    def graph_names(self) -> list[str]:
        names = self.store.named_graphs()
        return sorted(g.value for g in names if isinstance(g, ox.NamedNode))

    def asserted_quads(self) -> Iterator[tuple[str | None, Triple]]:
        term = memo_converter()
        for name in self.asserted_graph_names():
            for q in self.store.quads_for_pattern(None, None, None, ox.NamedNode(name)):
                yield name, (term(q.subject), term(q.predicate), term(q.object))
        if self.union_stored:
            for t in self._direct():
                yield None, (term(t.subject), term(t.predicate), term(t.object))

    def replace_inferred(self, inferred: Graph) -> None:
        name = ox.NamedNode(str(INFERRED_GRAPH))
        self.store.remove_graph(name)
        self.store.extend(
            ox.Quad(rdflib_to_ox(s), rdflib_to_ox(p), rdflib_to_ox(o), name)  # type: ignore[arg-type]
            for s, p, o in inferred
        )

    def _direct(self) -> list[ox.Triple]:
        """The triples stated in the default graph itself (not copied from a named graph)."""
        return [ox.Triple(*row) for row in self.store.query(_DIRECT)]

    def __len__(self) -> int:
        named = int(next(iter(self.store.query(NAMED_COUNT)))[0].value)
        return named + len(self._direct())

    def update(self, text: str, base_iri: str | None = None) -> None:
        """Apply an update as the rdflib engine does: outside GRAPH, its WHERE matches and its
        INSERT and DELETE change the triples stated in the default graph itself; the union
        is then rebuilt from the named graphs.
        """
        if self.path is not None:
            raise QueryError(
                f"the store in {self.path.parent} is on disk and served read-only; "
                "serve it in memory to accept updates"
            )
        check_graph_operations(text, base_iri, set(self.graph_names()))
        if not self.union_stored:
            self.store.update(UNION_FILL)
            self.union_stored = True
        self.store.update(UNION_STRIP)
        try:
            self.store.update(text, base_iri=base_iri)
        except SyntaxError as err:
            raise _ox_query_error(err) from None
        except (OSError, RuntimeError, ValueError) as err:
            raise QueryError(f"the update failed: {' '.join(str(err).split())}") from None
        finally:
            self.store.update(UNION_FILL)

    def dump(self, media_type: str) -> bytes:
        output = io.BytesIO()
        self.dump_to(media_type, output)
        return output.getvalue()

    def dump_to(self, media_type: str, output: Any) -> None:
        """Stream the dump into ``output`` (Oxigraph writes it as it reads the store)."""
        fmt = formats.by_media_type(media_type).oxigraph
        prefixes = self._prefixes_for(media_type)
        if media_type in formats.DATASET_TYPES:
            default = ox.DefaultGraph()
            direct = (ox.Quad(t.subject, t.predicate, t.object, default) for t in self._direct())
            named = (
                quad
                for name in self.graph_names()
                for quad in self.store.quads_for_pattern(None, None, None, ox.NamedNode(name))
            )
            ox.serialize(itertools.chain(direct, named), output, fmt, prefixes=prefixes)
        elif not self.union_stored:  # the union is the named graphs' triples, each once
            triples = (ox.Triple(q.subject, q.predicate, q.object) for q in self.store)
            ox.serialize(triples, output, fmt, prefixes=prefixes)
        elif self.inferences is None:
            self.store.dump(output, format=fmt, from_graph=ox.DefaultGraph(), prefixes=prefixes)
        else:  # the stored union (the asserted triples) and the inferred graph
            graphs = (ox.DefaultGraph(), ox.NamedNode(str(INFERRED_GRAPH)))
            triples = (
                ox.Triple(q.subject, q.predicate, q.object)
                for graph in graphs
                for q in self.store.quads_for_pattern(None, None, None, graph)
            )
            ox.serialize(triples, output, fmt, prefixes=prefixes)


def memo_converter() -> Any:
    """A converter of Oxigraph terms to rdflib terms that converts each distinct term once."""
    seen: dict[Any, Any] = {}

    def term(t: Any) -> Any:
        found = seen.get(t)
        if found is None:
            found = seen[t] = ox_to_rdflib(t)
        return found

    return term


def ox_fill(store: ox.Store, sources: Sequence[Source], root: Path | None) -> bool:
    """Load the sources into their graphs, then copy their union into the default graph
    unless querying it as the union already gives each triple once (see
    :class:`OxigraphEngine`); return whether it was copied.

    Whether a triple is in two graphs is asked of each graph once it is loaded, in a second
    thread while the next file is parsed (Oxigraph releases the GIL in both), so the check
    adds little to the load: each pair of graphs is compared by the check of the later one.
    """
    # A source without a graph of its own (N-Quads, TriG) names its graphs in its text:
    # then the graphs are compared all at once at the end.
    whole = any(source.graph is None for source in sources)
    with ThreadPoolExecutor(1) as pool:
        checks = []
        for source in sources:
            ox_load(store, source, shown_path(source.path, root))
            if not whole:
                checks.append(pool.submit(_shares_a_triple, store, source.graph))
        shared = any(check.result() for check in checks)
    if not shared and whole:
        shared = bool(store.query(_SHARED_TRIPLE))
    if not shared and _default_graph_is_empty(store):
        return False
    store.update(UNION_FILL)
    return True


def _shares_a_triple(store: ox.Store, graph: str) -> bool:
    """Whether a triple of ``graph`` is also in another named graph."""
    iri = ox.NamedNode(graph)
    return bool(store.query(_SHARED_TRIPLE, substitutions={ox.Variable("g"): iri}))


def _default_graph_is_empty(store: ox.Store) -> bool:
    return next(iter(store.quads_for_pattern(None, None, None, ox.DefaultGraph())), None) is None


def _readable(message: str) -> str:
    """Oxigraph lists the characters a name may continue with as Unicode ranges; say so."""
    shorter = _OX_CHAR_CLASS.sub("", message)
    if shorter != message:
        shorter += ", or a name (letters, digits, _)"
    return shorter


def _ox_query_error(err: SyntaxError) -> QueryError:
    match = _OX_SYNTAX.search(str(err))
    if match:
        return QueryError(
            "syntax error: " + _readable(" ".join(match["message"].split())),
            int(match["line"]),
            int(match["column"]),
        )
    return QueryError(" ".join(str(err).split()))
