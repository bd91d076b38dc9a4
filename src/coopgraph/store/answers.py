"""Writing a SELECT answer under the row cap and the byte cap, for every engine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from coopgraph.errors import QueryError
from coopgraph.sparql import results
from coopgraph.store import jail
from coopgraph.store.engine import QueryJob, QueryReply


def select_reply(
    job: QueryJob, names: list[str], rows: list[Any], cut: bool, cut_bytes: bool
) -> QueryReply:
    """Write SELECT rows of plain terms, cut at the byte cap when they do not fit."""

    def write(count: int, cut_here: bool) -> bytes:
        link = job.truncated_link if cut or cut_bytes or cut_here else None
        return results.write_select(job.media_type, names, rows[:count], link)

    body, count = results.fit(write, len(rows), job.max_bytes)
    return QueryReply(body, job.media_type, count, cut, cut_bytes or count < len(rows))


def row_size(row: Sequence[results.PlainTerm | None]) -> int:
    return sum(results.term_size(t) for t in row)


def text_size(row: Sequence[str | None]) -> int:
    return sum(len(t) if t else 1 for t in row)


def evaluation_error(err: BaseException) -> QueryError:
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
