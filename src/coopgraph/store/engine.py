"""What every store engine offers (:class:`Engine`), the jobs a query worker runs and the
replies it sends back.

An :class:`Engine` holds the whole dataset (one named graph per file; the default graph of a
query is the union of all of them) and answers:

- :meth:`Engine.evaluate`: a SPARQL query from the outside, evaluated and written in the
  media type asked for, cut at the row cap. This runs inside a worker of the pool
  (:mod:`coopgraph.store.sandbox`), so it may take as long as it likes: it is killed at its
  deadline. :func:`run_query` and :func:`run_update` are the workers' entry points.
- :meth:`Engine.select` and :meth:`Engine.construct`: the server's own, bounded queries (for
  the resource pages, VoID, the home page), answered in process with rdflib terms.
- :meth:`Engine.dump`: the dataset or its union graph in an RDF format.

The engines: :mod:`coopgraph.store.oxigraph`, :mod:`coopgraph.store.rdflib` (the reference)
and :mod:`coopgraph.store.remote`; :func:`coopgraph.store.opening.open_engine` builds one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from rdflib import Graph
from rdflib.term import Node

from coopgraph.errors import QueryError
from coopgraph.reason import REASONERS, Triple
from coopgraph.sparql.querydataset import dataset_clause, with_using
from coopgraph.store.inference import Inferences, closure_of, is_inferred_graph


@dataclass(frozen=True)
class QueryJob:
    """A query from the outside, with what the protocol request added to it.

    Attributes:
        query: The query text.
        form: SELECT, ASK, CONSTRUCT or DESCRIBE (from :func:`coopgraph.sparql.querytext.scan`).
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
        infer: Without a dataset given, the default graph holds the inferred graph too
            (and GRAPH reaches it); False (``infer=false``): the asserted graphs only.
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
    infer: bool = True


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


@dataclass
class Engine(ABC):
    """The dataset, held by one engine.

    Attributes:
        prefixes: Prefixes to write Turtle with and to offer in the query editor.
        files: Graph name -> the file it came from (relative to the project, or its name).
        build: A digest of the loaded files, the same for the same data: for ETags.
        reopened: The data was already in the store (on disk) and was not loaded again.
        inferences: What the inferred graph holds, once :meth:`materialise` made it
            (``None``: the engine serves the asserted graphs alone).
    """

    prefixes: dict[str, str] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    build: str = ""
    reopened: bool = False
    inferences: Inferences | None = None

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
        :meth:`coopgraph.store.sandbox.Pool.adopt`): a failure leaves the served data unchanged,
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
        :func:`coopgraph.store.processes.call`): the remote store's HTTP requests."""
        return {}

    @abstractmethod
    def asserted_quads(self) -> Iterator[tuple[str | None, Triple]]:
        """Every asserted triple (not the inferred graph's) with its graph's name (``None``:
        stated in the default graph itself), as rdflib terms."""

    @abstractmethod
    def replace_inferred(self, inferred: Graph) -> None:
        """Make ``inferred`` the engine's inferred graph, in place of the one it had."""

    def asserted_graph_names(self) -> list[str]:
        """The named graphs but the inferred one, sorted."""
        return [g for g in self.graph_names() if not is_inferred_graph(g)]

    def materialise(self, reasoner: str = REASONERS[0]) -> Inferences:
        """Compute the OWL 2 RL closure of the asserted graphs and serve it as the
        inferred graph (:mod:`coopgraph.store.inference`)."""
        inferred, self.inferences = closure_of(self.asserted_quads(), self.prefixes, reasoner)
        self.replace_inferred(inferred)
        return self.inferences

    def refresh_inferences(self) -> None:
        """After an update: compute the inferred graph again, if the engine keeps one."""
        if self.inferences is not None:
            self.materialise(self.inferences.asked)

    def describe(self) -> str:
        """A short description for logs: the engine and the size."""
        return f"{self.name}: {len(self)} quads in {len(self.graph_names())} graphs"


ENGINES = ("oxigraph", "rdflib", "remote")


def run_query(engine: Engine, job: QueryJob) -> QueryReply:
    """Evaluate an outside query (in a query worker): read its FROM clauses when it has
    some, check that every graph it names is one of the dataset's, and write the answer.

    Raises:
        QueryError: for a query that does not parse, names a graph the dataset does not
            hold, or fails while evaluated.
    """
    if job.from_clause and not job.dataset_given:
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
        text = with_using(text, job.using_graphs, job.using_named_graphs)
    engine.update(text, job.base_iri)
    engine.refresh_inferences()
    return len(engine)
