"""The remote engine: the dataset held by another SPARQL 1.1 store.

For data beyond one machine, coopgraph hands the dataset to an existing triple store
(Fuseki, GraphDB, Virtuoso, Neptune, an Oxigraph server, ...) and keeps everything else:
the protocol checks, the deadline and row cap, the linked-data pages. The store is reached
by the SPARQL 1.1 Protocol for queries and updates, and by the Graph Store Protocol for
loading when it has one (else by SPARQL Update).

The store holds what the local engines hold: one named graph per source file and, in its
default graph, the union of the named graphs as a set (copied there by a SPARQL Update
after loading), so that every store answers as the reference engine does, whether or not
it can make its default graph the union itself, and whether or not its union is a set.

Queries run in the sandbox workers like any other, and those workers cannot open a
connection (:mod:`coopgraph.store.jail`): a worker hands each request to the server's process
(the pool's :data:`BROKER` service), which sends it to the configured endpoint, the only
one it knows, waits at most until the job's deadline, and reads a bounded answer. The store
evaluates the query itself: what it does with SERVICE or FROM is its own configuration
(switch its federation off; coopgraph refuses both before a query is sent).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import requests
from rdflib import Graph
from rdflib.term import Node

from coopgraph import formats
from coopgraph.errors import CoopgraphError, QueryError
from coopgraph.graph.sources import Source
from coopgraph.namespace import INFERRED_GRAPH
from coopgraph.reason import Triple
from coopgraph.store import processes
from coopgraph.store.engine import Engine, QueryJob, QueryReply
from coopgraph.store.oxigraph import NAMED_COUNT, UNION_STRIP, OxigraphEngine, memo_converter
from coopgraph.store.oxigraph_answers import ox_reply
from coopgraph.store.updates import check_graph_operations
from coopgraph.terms import ox_to_rdflib, rdflib_to_ox

SELECT_TYPE = "application/sparql-results+json"
_DIRECT_COUNT = (
    "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o FILTER NOT EXISTS { GRAPH ?g { ?s ?p ?o } } }"
)
_QUADS = "SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }"
_DIRECT = "SELECT ?s ?p ?o WHERE { ?s ?p ?o FILTER NOT EXISTS { GRAPH ?g { ?s ?p ?o } } }"
#: The union of every named graph, the inferred one too, copied into the store's default
#: graph (what a query that names no dataset reads; ``infer=false`` merges the asserted
#: graphs here instead).
UNION_FILL = "INSERT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"


class RemoteEngine(Engine):
    """The dataset in a remote SPARQL store.

    Attributes:
        query_url: The store's SPARQL query endpoint.
        update_url: Its SPARQL update endpoint (for loading without a Graph Store, and for
            updates); empty when the store is read-only to us.
        store_url: Its Graph Store Protocol endpoint, if it has one.
        auth: HTTP basic credentials, if any.
        timeout: Seconds to wait for one answer from the store.
        max_answer: The most bytes read of one answer of the store (0: any); past it the
            request fails rather than fill the server's memory.
    """

    name = "remote"

    def __init__(
        self,
        query_url: str,
        update_url: str = "",
        store_url: str = "",
        auth: tuple[str, str] | None = None,
        timeout: float = 30.0,
        max_answer: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_answer = max_answer
        self.query_url = query_url
        self.update_url = update_url
        self.store_url = store_url
        self.auth = auth
        self.timeout = timeout
        self._session: requests.Session | None = None
        self._pid = 0

    @property
    def in_workers(self) -> bool:
        return False  # the store holds the data; an update goes to it

    def services(self) -> dict[str, Any]:
        return {BROKER: self.forward}

    # ------------------------------------------------------------------ HTTP

    @property
    def session(self) -> requests.Session:
        """One HTTP session per process (a session must not cross a fork)."""
        if self._session is None or self._pid != os.getpid():
            self._session = requests.Session()
            self._session.auth = self.auth
            self._session.headers["User-Agent"] = "coopgraph"
            self._pid = os.getpid()
        return self._session

    def _send(self, method: str, which: str, what: str, **kwargs: Any) -> bytes:
        """Send a request to one of the store's endpoints (``which``: ``query_url``,
        ``update_url`` or ``store_url``) and return the body of its answer.

        In a query worker, which cannot open a connection (:mod:`coopgraph.store.jail`), the
        request is handed to the server's process (:func:`coopgraph.store.processes.call`), which
        sends it to that endpoint and nowhere else.
        """
        if processes.in_worker():
            return processes.call(BROKER, (method, which, what, kwargs))
        return self.forward((method, which, what, kwargs), self.timeout)

    def forward(self, request: tuple[str, str, str, dict[str, Any]], seconds: float) -> bytes:
        """Send ``request`` (see :meth:`_send`) to the store, waiting at most ``seconds``
        (and :attr:`timeout`), reading at most :attr:`max_answer` bytes of the answer."""
        method, which, what, kwargs = request
        if which not in ("query_url", "update_url", "store_url"):
            raise CoopgraphError(f"no such endpoint of the remote store: {which}")
        url = getattr(self, which)
        wait = max(0.1, min(self.timeout, seconds))
        try:
            with self.session.request(method, url, timeout=wait, stream=True, **kwargs) as response:
                body = _read_at_most(response, self.max_answer, url)
        except requests.RequestException as err:
            raise CoopgraphError(
                f"the remote store at {url} did not answer {what}: {err}"
            ) from None
        if response.status_code >= 400:
            message = " ".join(body.decode("utf-8", "replace").split())[:500]
            if response.status_code in (400, 422):
                raise QueryError(f"the remote store refused {what}: {message}")
            raise CoopgraphError(
                f"the remote store at {url} answered {what} with {response.status_code}: {message}"
            )
        return body

    def _ask(self, query: str, accept: str, params: Sequence[tuple[str, str]] = ()) -> bytes:
        return self._send(
            "POST",
            "query_url",
            "a query",
            data=[("query", query), *params],
            headers={"Accept": accept},
        )

    def _update(self, text: str) -> None:
        if not self.update_url:
            raise CoopgraphError("no update URL is set for the remote store (remote_update_url)")
        self._send("POST", "update_url", "an update", data={"update": text})

    def _solutions(self, query: str) -> ox.QuerySolutions:
        response = self._ask(query, SELECT_TYPE)
        return ox.parse_query_results(response, format=ox.QueryResultsFormat.JSON)

    # ------------------------------------------------------------------ loading

    def load(self, sources: Sequence[Source], progress: Any = None) -> None:
        """Replace each source's graph in the store, then copy the union into the default
        graph. Triple files go as they are (Graph Store PUT, streamed); quad files are
        split by graph here first."""
        self._update("CLEAR DEFAULT")
        for number, source in enumerate(sources, 1):
            if progress is not None:
                progress(number, len(sources), source.path)
            if source.graph is not None and self.store_url:
                # As N-Triples, parsed here: a relative IRI resolves against the file's URL
                # (the store would resolve it against its own).
                with tempfile.TemporaryFile() as body:
                    ox.serialize(_triples_of(source), body, ox.RdfFormat.N_TRIPLES)
                    body.seek(0)
                    self._send(
                        "PUT",
                        "store_url",
                        f"the graph of {source.path.name}",
                        params={"graph": source.graph},
                        data=body,
                        headers={"Content-Type": formats.NTRIPLES.media_type},
                    )
                continue
            for graph, triples in _graphs_of(source).items():
                self._put_triples(graph, triples, source.path)
        self._update(UNION_FILL)

    def _put_triples(self, graph: str | None, triples: list[ox.Triple], path: Path) -> None:
        body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
        if self.store_url:
            params = {"graph": graph} if graph else {"default": ""}
            self._send(
                "PUT",
                "store_url",
                f"a graph of {path.name}",
                params=params,
                data=body,
                headers={"Content-Type": formats.NTRIPLES.media_type},
            )
            return
        text = body.decode("utf-8")
        target = f"GRAPH <{graph}> {{ {text} }}" if graph else text
        clear = f"CLEAR SILENT GRAPH <{graph}> ;\n" if graph else ""
        self._update(f"{clear}INSERT DATA {{ {target} }}")

    # ------------------------------------------------------------------ queries

    def evaluate(self, job: QueryJob) -> QueryReply:
        if not job.dataset_given and not job.infer and self.inferences is not None:
            asserted = tuple(self.asserted_graph_names())
            job = replace(job, default_graphs=asserted, named_graphs=asserted, dataset_given=True)
        if job.dataset_given and len(job.default_graphs) > 1:
            return self._evaluate_merged(job)
        params: list[tuple[str, str]] = []
        if job.dataset_given:
            params += [("default-graph-uri", g) for g in job.default_graphs]
            params += [("named-graph-uri", g) for g in job.named_graphs]
            if not job.default_graphs:
                # No default graph chosen: an empty one, not the store's own.
                params.append(("default-graph-uri", "urn:coopgraph:empty"))
        if job.form in ("CONSTRUCT", "DESCRIBE"):
            response = self._ask(job.query, formats.NTRIPLES.media_type, params)
            quads = ox.parse(response, format=ox.RdfFormat.N_TRIPLES)
            return ox_reply((q.triple for q in quads), job, self.prefixes)
        response = self._ask(job.query, SELECT_TYPE, params)
        answer = ox.parse_query_results(response, format=ox.QueryResultsFormat.JSON)
        return ox_reply(answer, job, self.prefixes)

    def _evaluate_merged(self, job: QueryJob) -> QueryReply:
        """Several default graphs: merged here, as a set (stores differ on this)."""
        local = ox.Store()
        for graph in job.default_graphs:
            local.extend(
                ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph())
                for t in self._graph_triples(graph)
            )
        for graph in job.named_graphs:
            name = ox.NamedNode(graph)
            local.extend(
                ox.Quad(t.subject, t.predicate, t.object, name) for t in self._graph_triples(graph)
            )
        engine = OxigraphEngine(local, prefixes=self.prefixes)
        return engine.evaluate(
            replace(job, default_graphs=(), named_graphs=(), dataset_given=False)
        )

    def _graph_triples(self, graph: str) -> Iterator[ox.Triple]:
        query = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
        response = self._ask(query, formats.NTRIPLES.media_type)
        return (q.triple for q in ox.parse(response, format=ox.RdfFormat.N_TRIPLES))

    def asserted_quads(self) -> Iterator[tuple[str | None, Triple]]:
        term = memo_converter()
        for name in self.asserted_graph_names():
            for t in self._graph_triples(name):
                yield name, (term(t.subject), term(t.predicate), term(t.object))

    def replace_inferred(self, inferred: Graph) -> None:
        """Replace the store's inferred graph, and its copy in the default graph."""
        self._update(UNION_STRIP)
        self._update(f"DROP SILENT GRAPH <{INFERRED_GRAPH}>")
        if len(inferred):
            triples = [
                ox.Triple(rdflib_to_ox(s), rdflib_to_ox(p), rdflib_to_ox(o))  # type: ignore[arg-type]
                for s, p, o in inferred
            ]
            self._put_triples(str(INFERRED_GRAPH), triples, Path("inferred.nt"))
        self._update(UNION_FILL)

    def select(self, query: str) -> list[dict[str, Node]]:
        answer = self._solutions(query)
        names = [v.value for v in answer.variables]
        return [
            {n: ox_to_rdflib(t) for n, t in zip(names, row, strict=True) if t is not None}
            for row in answer
        ]

    def construct(self, query: str) -> Graph:
        graph = Graph()
        for prefix, namespace in self.prefixes.items():
            graph.bind(prefix, namespace)
        response = self._ask(query, formats.NTRIPLES.media_type)
        for quad in ox.parse(response, format=ox.RdfFormat.N_TRIPLES):
            graph.add(tuple(ox_to_rdflib(t) for t in quad.triple))  # type: ignore[arg-type]
        return graph

    def graph_names(self) -> list[str]:
        rows = self._solutions("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        return sorted(row[0].value for row in rows if isinstance(row[0], ox.NamedNode))

    def __len__(self) -> int:
        named = next(iter(self._solutions(NAMED_COUNT)))[0]
        direct = next(iter(self._solutions(_DIRECT_COUNT)))[0]
        return int(named.value) + int(direct.value)

    def update(self, text: str, base_iri: str | None = None) -> None:
        """As on the other engines: outside GRAPH, the update sees and changes the default
        graph's own triples; the union is then copied into it again."""
        check_graph_operations(text, base_iri, set(self.graph_names()))
        self._update(UNION_STRIP)
        try:
            self._update(f"BASE <{base_iri}>\n{text}" if base_iri else text)
        finally:
            self._update(UNION_FILL)

    def dump(self, media_type: str) -> bytes:
        fmt = formats.by_media_type(media_type).oxigraph
        prefixes = self.prefixes if formats.by_media_type(media_type).prefixes else None
        if media_type in formats.DATASET_TYPES:
            default = ox.DefaultGraph()
            quads = [ox.Quad(*row, default) for row in self._solutions(_DIRECT)]
            rows = sorted(self._solutions(_QUADS), key=lambda r: (str(r[0]), str(r[1])))
            quads += [ox.Quad(row[1], row[2], row[3], row[0]) for row in rows]
            return ox.serialize(quads, format=fmt, prefixes=prefixes)
        response = self._ask(
            "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", formats.NTRIPLES.media_type
        )
        triples = [q.triple for q in ox.parse(response, format=ox.RdfFormat.N_TRIPLES)]
        return ox.serialize(triples, format=fmt, prefixes=prefixes)


def _read_at_most(response: requests.Response, most: int, url: str) -> bytes:
    """The body of ``response``, or an error once it is longer than ``most`` bytes."""
    if not most:
        return response.content
    chunks: list[bytes] = []
    held = 0
    for chunk in response.iter_content(65536):
        held += len(chunk)
        if held > most:
            raise CoopgraphError(
                f"the remote store at {url} sent an answer of more than {most} bytes; "
                "ask for less (a LIMIT), or raise max_answer_bytes"
            )
        chunks.append(chunk)
    return b"".join(chunks)


#: The pool's service (:func:`coopgraph.store.processes.call`) through which workers reach
#: the store.
BROKER = "remote-store"


def _triples_of(source: Source) -> Iterator[ox.Triple]:
    """The triples of a triple file, read as they come, relative IRIs resolved against it."""
    base = source.path.resolve().as_uri()
    parsed = ox.parse(
        path=str(source.path),
        format=formats.by_media_type(source.media_type).oxigraph,
        base_iri=base,
    )
    return (quad.triple for quad in parsed)


def _graphs_of(source: Source) -> dict[str | None, list[ox.Triple]]:
    """The triples of a file, by the graph they go into."""
    found: dict[str | None, list[ox.Triple]] = {}
    base = source.path.resolve().as_uri()
    for quad in ox.parse(
        path=str(source.path),
        format=formats.by_media_type(source.media_type).oxigraph,
        base_iri=base,
    ):
        if source.graph is not None:
            graph: str | None = source.graph
        elif isinstance(quad.graph_name, ox.NamedNode):
            graph = quad.graph_name.value
        else:
            graph = None
        found.setdefault(graph, []).append(quad.triple)
    return found
