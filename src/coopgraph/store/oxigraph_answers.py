"""Writing pyoxigraph's answers (a boolean, solutions, triples) in the media type a job
asks for, cut at its row cap and byte cap: for the Oxigraph engine and the remote one."""

from __future__ import annotations

import json
from typing import Any

import pyoxigraph as ox

from coopgraph import formats
from coopgraph.sparql import results
from coopgraph.store.answers import evaluation_error, row_size, select_reply, text_size
from coopgraph.store.engine import QueryJob, QueryReply


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
