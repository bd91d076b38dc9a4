"""One store interface, several engines: rdflib in memory (the reference) and Oxigraph.

An :class:`Engine` holds the whole dataset (one named graph per file; the default graph of a
query is the union of all of them) and answers:

- :meth:`Engine.evaluate`: a SPARQL query from the outside, evaluated and written in the
  media type asked for, cut at the row cap. This runs inside a sandbox worker
  (:mod:`coopgraph.sandbox`), so it may take as long as it likes: it is killed at its
  deadline.
- :meth:`Engine.select` and :meth:`Engine.construct`: the server's own, bounded queries (for
  the resource pages, VoID, the home page), answered in process with rdflib terms.
- :meth:`Engine.dump`: the dataset or its union graph in an RDF format.

The engines are built from files (:func:`open_engine`) so that the Oxigraph engine parses
with Oxigraph's fast parser; the rdflib engine reuses :mod:`coopgraph.load`.
"""

from __future__ import annotations

import gc
import hashlib
import io
import itertools
import json
import os
import re
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox
from rdflib import BNode, Dataset, Graph, Literal, URIRef, Variable
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.namespace import OWL, RDF, XSD
from rdflib.plugins.sparql.algebra import translateUpdate
from rdflib.plugins.sparql.parser import parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Node

from coopgraph import formats, jail, results
from coopgraph.errors import CoopgraphError, LayoutError, MissingFileError, ParseError, QueryError
from coopgraph.load import ProjectDataset
from coopgraph.namespace import GRAPH
from coopgraph.project import data_files, find_root, ontology_files
from coopgraph.query import PARSER_LOCK, parse_query
from coopgraph.safety import install_network_guard
from coopgraph.turtle import parse_turtle

#: A character class in Oxigraph's "expected ..." lists: ['A' ..= 'Z' | ...], [_].
_OX_CHAR_CLASS = re.compile(r",?\s*\[[^\[\]]*\]")
_OX_SYNTAX = re.compile(r"error at (?P<line>\d+):(?P<column>\d+): (?P<message>.*)", re.DOTALL)


# --------------------------------------------------------------------------- jobs


@dataclass(frozen=True)
class QueryJob:
    """A query from the outside, with what the protocol request added to it.

    Attributes:
        query: The query text.
        form: SELECT, ASK, CONSTRUCT or DESCRIBE (from :func:`coopgraph.querytext.scan`).
        media_type: The media type to write the result in.
        row_cap: At most this many rows (or triples) are written.
        default_graphs: The graphs whose merge is the default graph (from
            ``default-graph-uri`` or the query's FROM clauses).
        named_graphs: The only graphs GRAPH can reach (``named-graph-uri`` or FROM NAMED).
        dataset_given: The request or the query chose a dataset; otherwise the default
            graph is the union of all graphs, and every named graph is reachable.
        truncated_link: Written in the head of a cut JSON or XML result.
        capped: The query itself returns at most ``row_cap + 1`` rows (the protocol added
            a LIMIT to a lookup), so an engine may write the whole answer in one go.
        max_bytes: The largest answer written, in bytes (0: no limit); a longer one is
            cut, at a row, and says so as a row cap does.
        base_iri: What relative IRIs in the query resolve against (the request's URL).
        from_clause: The query has FROM or FROM NAMED and no dataset was given: the worker
            reads the clauses and checks that they name graphs of the dataset.
    """

    query: str
    form: str
    media_type: str
    row_cap: int
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    dataset_given: bool = False
    truncated_link: str | None = None
    capped: bool = False
    max_bytes: int = 0
    base_iri: str | None = None
    from_clause: bool = False


@dataclass(frozen=True)
class UpdateJob:
    """A SPARQL Update from the outside.

    Attributes:
        update: The update text.
        base_iri: What relative IRIs in it resolve against (the request's URL).
        using_graphs: ``using-graph-uri`` values: the default graph of every operation's
            WHERE (as USING clauses would make it).
        using_named_graphs: ``using-named-graph-uri`` values (as USING NAMED).
    """

    update: str
    base_iri: str | None = None
    using_graphs: tuple[str, ...] = ()
    using_named_graphs: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueryReply:
    """The written result of a :class:`QueryJob`.

    Attributes:
        body: The result, in ``media_type``.
        media_type: What ``body`` is.
        count: Rows (SELECT), triples (CONSTRUCT, DESCRIBE), or 1 (ASK).
        truncated: The row cap cut the result.
        bytes_cut: The byte cap cut the result.
    """

    body: bytes
    media_type: str
    count: int
    truncated: bool
    bytes_cut: bool = False


@dataclass(frozen=True)
class Source:
    """A file to load, and the named graph its triples go into (``None``: its own quads)."""

    path: Path
    graph: str | None
    media_type: str


# --------------------------------------------------------------------------- engines


@dataclass
class Engine(ABC):
    """The dataset, held by one engine.

    Attributes:
        prefixes: Prefixes to write Turtle with and to offer in the query editor.
        files: Graph name -> the file it came from (relative to the project, or its name).
        build: A digest of the loaded files, the same for the same data: for ETags.
        reopened: The data was already in the store (on disk) and was not loaded again.
    """

    prefixes: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    build: str = ""
    reopened: bool = False

    name = "engine"
    #: Whether several threads may read at once, each on a core of its own (the engine
    #: releases the GIL while it evaluates).
    parallel_reads = False

    @property
    def in_memory(self) -> bool:
        """Whether the data lives in this process's memory (and is copied into a forked
        process that reads much of it), rather than on disk or in another server."""
        return False

    @abstractmethod
    def evaluate(self, job: QueryJob) -> QueryReply:
        """Evaluate an outside query and write its result (runs in a sandbox worker)."""

    @abstractmethod
    def select(self, query: str) -> list[dict[str, Node]]:
        """Run one of the server's own SELECT queries; rows map variables to rdflib terms."""

    @abstractmethod
    def construct(self, query: str) -> Graph:
        """Run one of the server's own CONSTRUCT queries."""

    @abstractmethod
    def graph_names(self) -> list[str]:
        """The named graphs, sorted."""

    @abstractmethod
    def __len__(self) -> int:
        """The number of quads."""

    @abstractmethod
    def update(self, text: str, base_iri: str | None = None) -> None:
        """Apply a SPARQL Update; relative IRIs in it resolve against ``base_iri``.

        It runs in a worker of the pool, on that worker's copy of the data (see
        :meth:`coopgraph.sandbox.Pool.adopt`): a failure leaves the served data unchanged,
        however far the update got.

        Raises:
            QueryError: for an update that does not parse or that SPARQL says fails (a
                missing graph without SILENT, CREATE of an existing graph, ...).
        """

    @abstractmethod
    def dump(self, media_type: str) -> bytes:
        """The dataset (TriG, N-Quads) or its union graph (Turtle, N-Triples, JSON-LD, RDF/XML)."""

    def dump_to(self, media_type: str, output: Any) -> None:
        """Write :meth:`dump`'s bytes to the binary file ``output``."""
        output.write(self.dump(media_type))

    @property
    def in_workers(self) -> bool:
        """Whether the query workers hold the data themselves (a copy of this process's,
        in memory), so that an update is applied to a worker's copy and then adopted."""
        return True

    def read_paths(self) -> tuple[str, ...]:
        """The folders a confined query worker must be able to read (an on-disk store)."""
        return ()

    def open_in_worker(self) -> None:  # noqa: B027 - most engines have nothing to open
        """Open what a query worker reads, before it is confined (an on-disk store)."""

    def services(self) -> dict[str, Any]:
        """What the query workers must ask the server's process for (see
        :func:`coopgraph.sandbox.call`): the remote store's HTTP requests."""
        return {}

    def describe(self) -> str:
        """A short description for logs: the engine and the size."""
        return f"{self.name}: {len(self)} quads in {len(self.graph_names())} graphs"


#: Update steps that keep the union in the default graph (see :class:`OxigraphEngine`).
UNION_STRIP = "DELETE { ?s ?p ?o } WHERE { ?s ?p ?o FILTER EXISTS { GRAPH ?g { ?s ?p ?o } } }"
UNION_FILL = "INSERT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"
_NAMED_COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
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
    one of two ways, chosen when the data is loaded (:func:`_ox_fill`):

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
            raise _evaluation_error(err) from None

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
        named = int(next(iter(self.store.query(_NAMED_COUNT)))[0].value)
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
                plain = ([_rdflib_plain(row[i]) for i in range(len(names))] for row in answer)
                rows, cut, cut_bytes = results.take(plain, job.row_cap, job.max_bytes, _row_size)
            else:
                triples, cut, cut_bytes = results.take(
                    answer.graph, job.row_cap, job.max_bytes, _rdflib_triple_size
                )
        except QueryError:
            raise
        except MemoryError:
            raise
        except Exception as err:  # noqa: BLE001 - rdflib raises many types while evaluating
            raise _evaluation_error(err) from None
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


ENGINES = ("oxigraph", "rdflib", "remote")


def run_query(engine: Engine, job: QueryJob) -> QueryReply:
    """Evaluate an outside query (in a query worker): read its FROM clauses when it has
    some, check that every graph it names is one of the dataset's, and write the answer.

    Raises:
        QueryError: for a query that does not parse, names a graph the dataset does not
            hold, or fails while evaluated.
    """
    if job.from_clause and not job.dataset_given:
        from coopgraph.querydataset import dataset_clause

        default, named = dataset_clause(job.query, job.base_iri)
        job = replace(job, default_graphs=tuple(default), named_graphs=tuple(named))
        job = replace(job, dataset_given=True)
    if job.dataset_given:
        known = set(engine.graph_names())
        unknown = [g for g in (*job.default_graphs, *job.named_graphs) if g not in known]
        if unknown:
            raise QueryError(
                f"<{unknown[0]}> is not a graph of this dataset; FROM, FROM NAMED and the "
                "graph parameters can only name its graphs (listed in the service "
                "description), and nothing is ever fetched from elsewhere"
            )
    return engine.evaluate(job)


def run_update(engine: Engine, job: UpdateJob) -> int:
    """Apply an outside update (in a worker of its own); return the dataset's quads after.

    Raises:
        QueryError: for an update that does not parse or fails, or protocol graph
            parameters beside USING, USING NAMED or WITH in the text.
    """
    text = job.update
    if job.using_graphs or job.using_named_graphs:
        from coopgraph.querydataset import with_using

        text = with_using(text, job.using_graphs, job.using_named_graphs)
    engine.update(text, job.base_iri)
    return len(engine)


def check_graph_operations(text: str, base_iri: str | None, existing: set[str]) -> Any:
    """Parse the update ``text`` (rdflib's parser) and fail as :func:`_check_graph_operations`
    says; return rdflib's translated update.

    Raises:
        QueryError: for an update that does not parse, or an operation on a missing graph
            (or CREATE of an existing one) without SILENT.
    """
    try:
        with PARSER_LOCK:
            parsed = parseUpdate(text)
        algebra = translateUpdate(parsed, base=base_iri)
    except Exception as err:  # noqa: BLE001 - the parser raises many types
        raise QueryError(f"the update does not parse: {' '.join(str(err).split())}") from None
    _check_graph_operations(algebra, existing)
    return algebra


def _check_graph_operations(update: Any, existing: set[str]) -> None:
    """Fail as SPARQL 1.1 Update says on a missing graph (DROP, CLEAR, ADD, MOVE, COPY of a
    graph that does not exist) or an existing one (CREATE), unless SILENT; drop the CREATE
    operations, which rdflib does not implement (an empty graph leaves no trace in it).
    Operations are followed in order: a graph an earlier one fills exists for the later."""
    graphs = set(existing)
    kept = []
    for op in update.algebra:
        silent = "silent" in op and bool(op["silent"])
        if op.name in ("Clear", "Drop"):
            target = op["graphiri"]
            if isinstance(target, URIRef):
                _must_exist(str(target), graphs, silent, op.name.upper())
                if op.name == "Drop":
                    graphs.discard(str(target))
            elif op.name == "Drop" and str(target) in ("NAMED", "ALL"):
                graphs.clear()
        elif op.name == "Create":
            target = str(op["graphiri"])
            if target in graphs and not silent:
                raise QueryError(f"CREATE GRAPH <{target}>: the graph already exists (add SILENT)")
            graphs.add(target)
            continue
        elif op.name in ("Add", "Move", "Copy"):
            source, destination = op["graph"]
            if isinstance(source, URIRef):
                _must_exist(str(source), graphs, silent, op.name.upper())
            if isinstance(destination, URIRef):
                graphs.add(str(destination))
            if op.name == "Move" and isinstance(source, URIRef) and source != destination:
                graphs.discard(str(source))
        else:
            template = op["insert"] if op.name == "Modify" and "insert" in op else op
            quads = template["quads"] if "quads" in template else None
            for graph in quads or ():
                if isinstance(graph, URIRef):
                    graphs.add(str(graph))
        kept.append(op)
    update.algebra[:] = kept


#: A graph no data names: the default graph of a WHERE whose USING clauses are all NAMED.
_EMPTY_GRAPH = URIRef("urn:coopgraph:empty")


def _apply_using_named(op: Any) -> None:
    """Make rdflib honour USING NAMED in a DELETE/INSERT operation as SPARQL 1.1 Update
    (3.1.3) says: GRAPH in its WHERE reaches only the graphs named, and without a USING of
    a default graph, the default graph is empty. rdflib 7.6 lets GRAPH reach every graph
    and keeps the whole default graph."""
    if op.name != "Modify" or "using" not in op or not op["using"]:
        return
    named = {c["named"] for c in op["using"] if "named" in c}
    if not named:
        return
    if not any("default" in c for c in op["using"]):
        op["using"].append(CompValue("UsingClause", default=_EMPTY_GRAPH))
    op["where"] = _only_graphs(op["where"], sorted(named))


def _only_graphs(part: Any, named: list[URIRef]) -> Any:
    """``part`` with each GRAPH pattern joined to the graphs it may reach."""
    if isinstance(part, list):
        return [_only_graphs(p, named) for p in part]
    if not isinstance(part, CompValue):
        return part
    for key in list(part):
        part[key] = _only_graphs(part[key], named)
    if part.name != "Graph":
        return part
    term = part["term"]
    if isinstance(term, Variable):
        rows = [{term: graph} for graph in named]
    else:
        rows = [] if term not in named else [{}]
    reach = CompValue("ToMultiSet", p=CompValue("values", res=rows))
    return CompValue("Join", p1=reach, p2=part)


def _must_exist(graph: str, graphs: set[str], silent: bool, operation: str) -> None:
    if graph not in graphs and not silent:
        raise QueryError(f"{operation} <{graph}>: the graph does not exist (add SILENT)")


# --------------------------------------------------------------------------- building


def project_sources(root: str | Path | None = None) -> list[Source]:
    """Return the project's ontology and data files with the graph each loads into.

    Raises:
        MissingFileError, LayoutError, ParseError: as :func:`coopgraph.load.build_dataset`.
    """
    found = find_root(root)
    sources = [
        Source(p, _ontology_iri(p, found), formats.TURTLE.media_type) for p in ontology_files(found)
    ]
    sources += [Source(f.path, str(f.graph), formats.TURTLE.media_type) for f in data_files(found)]
    return sources


def file_sources(paths: Iterable[str | Path]) -> list[Source]:
    """Return loose RDF files to serve, each triple file in a graph named after the file.

    Raises:
        MissingFileError: for a file that does not exist.
        CoopgraphError: for an extension that is not an RDF format, or two files that
            would share a graph name.
    """
    sources: list[Source] = []
    names: dict[str, Path] = {}
    for given in paths:
        path = Path(given)
        if not path.is_file():
            raise MissingFileError(f"{given}: no such file")
        fmt = formats.by_suffix(path.suffix)
        if fmt is None:
            known = ", ".join(sorted(s for f in formats.ALL for s in f.suffixes))
            raise CoopgraphError(f"{given}: not an RDF file extension (known: {known})")
        graph = None
        if not fmt.dataset:
            graph = str(GRAPH["file/" + quote(path.name)])
            if graph in names:
                raise CoopgraphError(
                    f"{given}: {names[graph]} has the same file name; each file's triples go "
                    f"into a graph named after the file, so names must differ"
                )
            names[graph] = path
        sources.append(Source(path, graph, fmt.media_type))
    return sources


def open_engine(
    kind: str,
    sources: Sequence[Source],
    root: Path | None = None,
    prefixes: dict[str, str] | None = None,
    path: str | Path | None = None,
    options: dict[str, Any] | None = None,
) -> Engine:
    """Load ``sources`` into a new engine of the given kind.

    Args:
        path: For the Oxigraph engine, a folder to keep the store in: it is reopened
            without loading when it holds these very sources, and rebuilt otherwise.
        options: Settings for the remote engine (``remote_*``, ``query_timeout``).

    Raises:
        CoopgraphError: for an unknown engine, or a ``path`` that holds something else;
            ParseError for a file that does not parse.
    """
    shown = {s.graph or str(s.path): _shown(s.path, root) for s in sources}
    if kind == "oxigraph" and path is None:
        with ThreadPoolExecutor(1) as pool:  # read the digest and prefixes while loading
            build = pool.submit(_digest, sources)
            found = pool.submit(source_prefixes, sources, prefixes)
            store = ox.Store()
            stored = _ox_fill(store, sources, root)
        meta = {"prefixes": found.result(), "files": shown, "build": build.result()}
        return OxigraphEngine(store, union_stored=stored, **meta)
    if kind == "rdflib":
        ds = _rdflib_dataset(sources, root)
        names = dict(prefixes or {})
        names.update({p: str(n) for p, n in ds.namespaces() if p and p not in names})
        return RdflibEngine(ds, prefixes=names, files=shown, build=_digest(sources))
    meta = {
        "prefixes": source_prefixes(sources, prefixes),
        "files": shown,
        "build": _digest(sources),
    }
    if kind == "oxigraph":
        return _open_on_disk(Path(str(path)), sources, root, meta)
    if kind == "remote":
        from coopgraph.remote import open_remote

        return open_remote(sources, options or {}, meta)
    raise CoopgraphError(f"unknown store engine {kind!r}; use one of: {', '.join(ENGINES)}")


#: The file in an on-disk store's folder that says what it was built from.
STORE_META = "coopgraph-store.json"


def _open_on_disk(
    folder: Path, sources: Sequence[Source], root: Path | None, meta: dict[str, Any]
) -> OxigraphEngine:
    """Reopen the store in ``folder`` if it was built from ``sources``; else rebuild it.

    The new store is built beside the old one and swapped in at the end, so an interrupted
    build leaves the previous store (or nothing) behind, never half a store.
    """
    marker = folder / STORE_META
    data = folder / "store"
    if folder.exists() and any(folder.iterdir()) and not marker.is_file():
        raise CoopgraphError(
            f"{folder}: not a coopgraph store (no {STORE_META}); give a new or empty folder"
        )
    if marker.is_file() and data.is_dir():
        try:
            noted = json.loads(marker.read_text(encoding="utf-8"))
            built, stored = noted.get("build"), noted.get("union") != "query"
        except (OSError, ValueError, AttributeError):
            built, stored = None, True
        if built == meta["build"]:
            return OxigraphEngine(path=data, reopened=True, union_stored=stored, **meta)
    folder.mkdir(parents=True, exist_ok=True)
    loading = folder / f"store.loading-{os.getpid()}"
    shutil.rmtree(loading, ignore_errors=True)
    try:
        store = ox.Store(str(loading))
        stored = _ox_fill(store, sources, root)
        store.flush()
        del store  # closes RocksDB, so that the folder can be moved and reopened
        gc.collect()
        marker.unlink(missing_ok=True)
        if data.exists():
            shutil.rmtree(data)
        loading.rename(data)
        union = "stored" if stored else "query"
        text = json.dumps(
            {"build": meta["build"], "union": union, "files": meta["files"]}, indent=2
        )
        partial = marker.with_suffix(".partial")
        partial.write_text(text + "\n", encoding="utf-8")
        partial.replace(marker)
    finally:
        shutil.rmtree(loading, ignore_errors=True)
    return OxigraphEngine(path=data, union_stored=stored, **meta)


def store_with_sources(sources: Sequence[Source], root: Path | None = None) -> ox.Store:
    """A new in-memory Oxigraph store holding ``sources``, each in its graph (to find which
    files state a triple; the default graph is not filled with their union).

    Raises:
        ParseError: for a file that does not parse (Oxigraph's message).
    """
    store = ox.Store()
    for source in sources:
        _ox_load(store, source, _shown(source.path, root))
    return store


def _ox_fill(store: ox.Store, sources: Sequence[Source], root: Path | None) -> bool:
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
            _ox_load(store, source, _shown(source.path, root))
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


def _rdflib_dataset(sources: Sequence[Source], root: Path | None) -> Dataset:
    ds = ProjectDataset(root)
    for source in sources:
        shown = _shown(source.path, root)
        target = ds if source.graph is None else ds.graph(URIRef(source.graph))
        if source.media_type == formats.TURTLE.media_type:
            parse_turtle(source.path, target, shown=shown)
            continue
        try:
            target.parse(
                source.path,
                format=formats.rdflib_name(source.media_type),
                publicID=source.path.resolve().as_uri(),
            )
        except Exception as err:  # noqa: BLE001 - rdflib parsers raise many types
            raise ParseError(shown, None, None, " ".join(str(err).split())) from None
    return ds


def _ox_load(store: ox.Store, source: Source, shown: str) -> None:
    kwargs: dict[str, Any] = {
        "path": str(source.path),
        "format": formats.by_media_type(source.media_type).oxigraph,
        "base_iri": source.path.resolve().as_uri(),  # a relative IRI is relative to the file
    }
    if source.graph is not None:
        kwargs["to_graph"] = ox.NamedNode(source.graph)
    try:
        store.bulk_load(**kwargs)
    except SyntaxError as err:
        line, column = getattr(err, "lineno", None), getattr(err, "offset", None)
        message = str(err.msg if hasattr(err, "msg") else err)
        message = re.sub(r"^Parser error at line \d+ between columns \d+ and \d+: ", "", message)
        raise ParseError(shown, line, column, message) from None
    except (OSError, ValueError) as err:
        raise ParseError(shown, None, None, str(err)) from None


def _ontology_iri(path: Path, root: Path) -> str:
    try:
        quads = ox.parse(
            path=str(path), format=ox.RdfFormat.TURTLE, base_iri=path.resolve().as_uri()
        )
        found = {
            q.subject.value
            for q in quads
            if q.predicate.value == str(RDF.type)
            and isinstance(q.object, ox.NamedNode)
            and q.object.value == str(OWL.Ontology)
            and isinstance(q.subject, ox.NamedNode)
        }
    except SyntaxError as err:
        raise ParseError(
            _shown(path, root), getattr(err, "lineno", None), getattr(err, "offset", None), str(err)
        ) from None
    if len(found) != 1:
        raise LayoutError(
            f"{_shown(path, root)}: an ontology file must declare exactly one owl:Ontology "
            f"with an IRI (it names the file's graph); found {len(found)}"
        )
    return found.pop()


_PREFIX_LINE = re.compile(
    r"^\s*@?prefix\s+([A-Za-z][\w.\-]*)?:\s*<([^>]*)>", re.IGNORECASE | re.MULTILINE
)


def turtle_prefixes(path: Path) -> dict[str, str]:
    """The prefixes a Turtle or TriG file declares (read from its text, first 64 KiB)."""
    with path.open(encoding="utf-8", errors="replace") as fh:
        head = fh.read(65536)
    return {m.group(1) or "": m.group(2) for m in _PREFIX_LINE.finditer(head) if m.group(1)}


def source_prefixes(
    sources: Sequence[Source], given: dict[str, str] | None = None
) -> dict[str, str]:
    """The ``given`` prefixes, then those the Turtle and TriG sources declare."""
    found = dict(given or {})
    for source in sources:
        if formats.by_media_type(source.media_type).prefixes:
            found.update({k: v for k, v in turtle_prefixes(source.path).items() if k not in found})
    return found


def _digest(sources: Sequence[Source]) -> str:
    digest = hashlib.sha256()
    for source in sorted(sources, key=lambda s: str(s.path)):
        digest.update(str(source.graph).encode())
        digest.update(source.path.read_bytes())
    return digest.hexdigest()[:16]


def _shown(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return path.name


# --------------------------------------------------------------------------- terms


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
        raise _evaluation_error(err) from None

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
        rows, cut, cut_bytes = results.take(json_rows, job.row_cap, job.max_bytes, _text_size)

        def write(count: int, cut_here: bool) -> bytes:
            link = job.truncated_link if cut or cut_bytes or cut_here else None
            return results.json_select_text(names, rows[:count], link)

        body, count = results.fit(write, len(rows), job.max_bytes)
        return QueryReply(body, job.media_type, count, cut, cut_bytes or count < len(rows))
    plain = ([_ox_plain(t) for t in row] for row in answer)
    rows, cut, cut_bytes = results.take(plain, job.row_cap, job.max_bytes, _row_size)
    return select_reply(job, names, rows, cut, cut_bytes)


def select_reply(
    job: QueryJob, names: list[str], rows: list[Any], cut: bool, cut_bytes: bool
) -> QueryReply:
    """Write SELECT rows of plain terms, cut at the byte cap when they do not fit."""

    def write(count: int, cut_here: bool) -> bytes:
        link = job.truncated_link if cut or cut_bytes or cut_here else None
        return results.write_select(job.media_type, names, rows[:count], link)

    body, count = results.fit(write, len(rows), job.max_bytes)
    return QueryReply(body, job.media_type, count, cut, cut_bytes or count < len(rows))


def _row_size(row: Sequence[results.PlainTerm | None]) -> int:
    return sum(results.term_size(t) for t in row)


def _text_size(row: Sequence[str | None]) -> int:
    return sum(len(t) if t else 1 for t in row)


def _ox_triple_size(triple: Any) -> int:
    return 24 + sum(len(str(getattr(t, "value", t))) for t in triple)


def _rdflib_triple_size(triple: tuple[Node, Node, Node]) -> int:
    return 24 + sum(len(t) for t in triple)


def _evaluation_error(err: BaseException) -> QueryError:
    """A query that failed while evaluated, in words for its author."""
    if jail.refused(err):
        return QueryError(REACHED_OUT)
    return QueryError(f"evaluation failed: {' '.join(str(err).split())}")


#: What a confined worker's engine that tried the network or a file is answered.
REACHED_OUT = (
    "the query tried to reach outside the dataset (SERVICE, LOAD, or a graph from the web "
    "or a file), which this endpoint never does: the kernel refused it; query the local "
    "dataset instead"
)


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


def _rdflib_plain(term: Node | None) -> results.PlainTerm | None:
    if term is None:
        return None
    if isinstance(term, URIRef):
        return ("uri", str(term))
    if isinstance(term, BNode):
        return ("bnode", str(term))
    if isinstance(term, Literal):
        datatype = str(term.datatype) if term.datatype else None
        return ("literal", str(term), term.language, datatype)
    return ("literal", str(term), None, None)


def rdflib_to_ox(node: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """An rdflib term as an Oxigraph term (a blank node keeps its id)."""
    if isinstance(node, URIRef):
        return ox.NamedNode(str(node))
    if isinstance(node, BNode):
        return ox.BlankNode(str(node))
    if isinstance(node, Literal):
        if node.language:
            return ox.Literal(str(node), language=node.language)
        datatype = ox.NamedNode(str(node.datatype)) if node.datatype else None
        return ox.Literal(str(node), datatype=datatype)
    raise TypeError(f"not an RDF term: {node!r}")


def ox_to_rdflib(term: Any) -> Node:
    """An Oxigraph term as an rdflib term (a plain literal for ``xsd:string``)."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == str(XSD.string):
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise TypeError(f"not a term: {term!r}")


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
