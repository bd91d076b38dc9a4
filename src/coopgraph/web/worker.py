"""What a query worker does for the web app: every read of the data a request causes.

The web process never evaluates anything on the engine while it serves: outside queries,
updates, and the server's own reads for its pages and figures are all jobs for the pool of
confined workers (:mod:`coopgraph.store.sandbox`), so that each runs under the deadline and the
memory limit, and none can reach the network or a file.

- :class:`ReadJob`: one of the server's own reads, by name: a function registered with
  :func:`reader` that takes the engine and plain arguments and returns a picklable value
  (rdflib terms, small dataclasses, bytes);
- :class:`DumpJob`: a dump of the data, written to the file handed over with the job;
- :class:`~coopgraph.store.engine.QueryJob` and :class:`~coopgraph.store.engine.UpdateJob`: from
  outside.

:func:`handler` builds the function a worker runs each job with; :func:`prepare` loads, in
the zygote, the code the jobs will need (a confined worker cannot import from disk).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rdflib import Dataset, Graph

from coopgraph import formats
from coopgraph.errors import QueryError
from coopgraph.store import processes
from coopgraph.store.engine import Engine, QueryJob, UpdateJob, run_query, run_update

#: The server's own reads, by name.
READERS: dict[str, Callable[..., Any]] = {}

Reader = Callable[..., Any]


def reader(function: Reader) -> Reader:
    """Register ``function(engine, *args)`` as a read a worker can run (by its name)."""
    READERS[function.__name__] = function
    return function


@dataclass(frozen=True)
class ReadJob:
    """Run the reader ``name`` with ``args`` (see :func:`reader`)."""

    name: str
    args: tuple[Any, ...] = ()


@dataclass(frozen=True)
class DumpJob:
    """Write the dataset (or its union graph) in ``media_type`` to the file handed over
    with the job (``fd``: the descriptor to use when the job runs in the server's process)."""

    media_type: str
    fd: int = -1


@dataclass(frozen=True)
class Failure:
    """A job the engine refused (the worker's reply when evaluation raised QueryError)."""

    message: str


def handler(engine: Engine) -> Callable[[Any], Any]:
    """The function a worker runs each job with; a QueryError becomes a :class:`Failure`."""

    def handle(job: Any) -> Any:
        try:
            if isinstance(job, ReadJob):
                return READERS[job.name](engine, *job.args)
            if isinstance(job, QueryJob):
                return run_query(engine, job)
            if isinstance(job, UpdateJob):
                return run_update(engine, job)
            if isinstance(job, DumpJob):
                return _dump(engine, job)
        except QueryError as err:
            return Failure(str(err))
        raise TypeError(f"not a job: {job!r}")

    return handle


def _dump(engine: Engine, job: DumpJob) -> int:
    fds = processes.received_fds() or [job.fd]
    with os.fdopen(os.dup(fds[0]), "wb") as output:
        engine.dump_to(job.media_type, output)
        return output.tell()


_WARM_UP = (
    "ASK {}",
    "SELECT * WHERE { ?s ?p ?o } LIMIT 0",
    "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 0",
    "DESCRIBE <http://example.invalid/nothing>",
    "SELECT * FROM <http://example.invalid/g> WHERE { ?s ?p ?o } LIMIT 0",
)


def prepare(engine: Engine) -> Callable[[], None]:
    """What a zygote runs once before it forks workers: every kind of job on nothing, so
    that each module, parser and writer they use is loaded (and shared) already."""

    def run() -> None:
        from coopgraph.sparql import querydataset, querytext, results

        handle = handler(engine)
        for text in _WARM_UP:
            found = querytext.scan(text)
            kinds = formats.GRAPH_TYPES if found.is_graph_query else results.MEDIA_TYPES
            for media_type in kinds:
                job = QueryJob(text, found.form or "SELECT", media_type, 10, max_bytes=1000)
                handle(job if found.from_clause is None else _with_from(job))
        querydataset.dataset_clause("SELECT * FROM <http://example.invalid/g> WHERE {}")
        for fmt in formats.ALL:
            (Dataset() if fmt.dataset else Graph()).serialize(format=fmt.rdflib)
        from rdflib.plugins.sparql.parser import parseUpdate

        parseUpdate("INSERT DATA { <http://e/s> <http://e/p> 1 }")

    return run


def _with_from(job: QueryJob) -> QueryJob:
    from dataclasses import replace

    return replace(job, from_clause=True)
