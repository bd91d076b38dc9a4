"""The Oxigraph engine: the dataset in a pyoxigraph store, in memory or on disk, and the
writing of its answers."""

from __future__ import annotations

import io
import itertools
import json
import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import Graph
from rdflib.term import Node

from coopgraph import formats
from coopgraph.errors import QueryError
from coopgraph.graph.sources import Source, ox_load, shown_path
from coopgraph.sparql import results
from coopgraph.store.answers import evaluation_error, row_size, select_reply, text_size
from coopgraph.store.engine import Engine, QueryJob, QueryReply
from coopgraph.store.updates import check_graph_operations
from coopgraph.terms import ox_to_rdflib

#: A character class in Oxigraph's "expected ..." lists: ['A' ..= 'Z' | ...], [_].
_OX_CHAR_CLASS = re.compile(r",?\s*\[[^\[\]]*\]")


_OX_SYNTAX = re.compile(r"error at (?P<line>\d+):(?P<column>\d+): (?P<message>.*)", re.DOTALL)


#: Update steps that keep the union in the default graph (see :class:`OxigraphEngine`).
UNION_STRIP = "DELETE { ?s ?p ?o } WHERE { ?s ?p ?o FILTER EXISTS { GRAPH ?g { ?s ?p ?o } } }"


UNION_FILL = "INSERT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"


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

    def _dataset_for(self, job: QueryJob) -> tuple[ox.Store, dict[str, Any]]:
        """The store to run ``job`` on, and the dataset arguments for it."""
        if not job.dataset_given:
            return self.store, {}
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
        if not args and not self.union_stored:
            args = _UNION
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
        else:
            self.store.dump(output, format=fmt, from_graph=ox.DefaultGraph(), prefixes=prefixes)


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


def ox_reply(answer: Any, job: QueryJob, prefixes: dict[str, str]) -> QueryReply:
    """Write a pyoxigraph answer (a boolean, solutions, or triples) as ``job`` asks, cut at
    the row cap and the byte cap."""
    if isinstance(answer, ox.QueryBoolean):
        return QueryReply(results.write_ask(job.media_type, bool(answer)), job.media_type, 1, False)
    try:
        if isinstance(answer, ox.QuerySolutions):
            return _ox_solutions(answer, job)
        triples, cut, cut_bytes = results.take(answer, job.row_cap, job.max_bytes, _ox_triple_size)
    except (OSError, RuntimeError, ValueError) as err:
        raise evaluation_error(err) from None

    def write(count: int, _cut: bool) -> bytes:
        return ox.serialize(
            triples[:count],
            format=formats.by_media_type(job.media_type).oxigraph,
            prefixes=prefixes if formats.by_media_type(job.media_type).prefixes else None,
        )

    body, count = results.fit(write, len(triples), job.max_bytes)
    return QueryReply(body, job.media_type, count, cut, cut_bytes or count < len(triples))


def _ox_solutions(answer: ox.QuerySolutions, job: QueryJob) -> QueryReply:
    names = [v.value for v in answer.variables]
    if job.media_type == results.JSON and job.capped:
        return _ox_native_json(answer, job)
    if job.media_type == results.JSON:
        json_rows = ([_ox_json(t) for t in row] for row in answer)
        rows, cut, cut_bytes = results.take(json_rows, job.row_cap, job.max_bytes, text_size)

        def write(count: int, cut_here: bool) -> bytes:
            link = job.truncated_link if cut or cut_bytes or cut_here else None
            return results.json_select_text(names, rows[:count], link)

        body, count = results.fit(write, len(rows), job.max_bytes)
        return QueryReply(body, job.media_type, count, cut, cut_bytes or count < len(rows))
    plain = ([_ox_plain(t) for t in row] for row in answer)
    rows, cut, cut_bytes = results.take(plain, job.row_cap, job.max_bytes, row_size)
    return select_reply(job, names, rows, cut, cut_bytes)


def _ox_triple_size(triple: Any) -> int:
    return 24 + sum(len(str(getattr(t, "value", t))) for t in triple)


def _ox_native_json(answer: ox.QuerySolutions, job: QueryJob) -> QueryReply:
    """Write a capped SELECT answer as JSON with pyoxigraph's own writer.

    One call into pyoxigraph, where reading the rows one by one crosses into Python (and
    gives up the GIL) once per row: under the web server's threads that costs more than
    the query. The rows are then counted, and cut when there is one more than the cap, or
    when they do not fit the byte cap.
    """
    body = answer.serialize(format=ox.QueryResultsFormat.JSON)
    doc = json.loads(body)
    rows = doc["results"]["bindings"]
    fits = not job.max_bytes or len(body) <= job.max_bytes
    if len(rows) <= job.row_cap and fits:
        return QueryReply(body, job.media_type, len(rows), False)
    cut = len(rows) > job.row_cap
    del rows[job.row_cap :]
    head = doc["head"]

    def write(count: int, cut_here: bool) -> bytes:
        page = {"head": dict(head), "results": {"bindings": rows[:count]}}
        if job.truncated_link and (cut or cut_here):
            page["head"]["link"] = [job.truncated_link]
        return results.json_document(page)

    written, count = results.fit(write, len(rows), job.max_bytes)
    return QueryReply(written, job.media_type, count, cut, count < len(rows))


def _ox_plain(term: Any) -> results.PlainTerm | None:
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return ("uri", term.value)
    if isinstance(term, ox.BlankNode):
        return ("bnode", term.value)
    if isinstance(term, ox.Literal):
        return ("literal", term.value, term.language, term.datatype.value)
    return ("literal", str(term), None, None)  # an RDF-star triple term: shown as text


def _ox_json(term: Any) -> str | None:
    """A pyoxigraph term as a SPARQL JSON results term, written (as :func:`_ox_plain` and
    the JSON writer would write it)."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return '{"type":"uri","value":' + results.json_string(term.value) + "}"
    if isinstance(term, ox.Literal):
        return results.json_literal(term.value, term.language, term.datatype.value)
    if isinstance(term, ox.BlankNode):
        return '{"type":"bnode","value":' + results.json_string(term.value) + "}"
    return results.json_literal(str(term), None, None)  # an RDF-star triple term: as text


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
