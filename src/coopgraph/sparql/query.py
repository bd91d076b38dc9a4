"""Run SPARQL queries on the dataset and write their results for people and programs.

Queries are parsed first (:func:`parse_query`), so that a syntax error is reported with
its line and column in the query text before anything is evaluated. Evaluation happens in
this process with the network guard of :mod:`coopgraph.sparql.guard` in place: no ``SERVICE``
call, no ``FROM`` graph fetched from the web.

SELECT and ASK results are written as an aligned table, CSV, TSV or SPARQL JSON
(`SPARQL 1.1 Query Results JSON Format <https://www.w3.org/TR/sparql11-results-json/>`_);
CONSTRUCT and DESCRIBE results as Turtle, N-Triples or JSON-LD.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from prettytable import PrettyTable, TableStyle
from pyparsing import ParseBaseException
from rdflib import Graph
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parser import parseUpdate
from rdflib.plugins.sparql.sparql import Query
from rdflib.query import Result

from coopgraph import formats
from coopgraph.errors import FormatError, QueryError
from coopgraph.graph.load import ProjectDataset
from coopgraph.graph.turtle import position
from coopgraph.sparql import results
from coopgraph.sparql.guard import install_network_guard
from coopgraph.terms import plain

#: Formats for SELECT and ASK results.
TABLE_FORMATS = ("table", *results.NAMES)
#: Formats for CONSTRUCT and DESCRIBE results (``table`` means Turtle for these).
GRAPH_FORMATS = tuple(f.name for f in formats.GRAPHS)
FORMATS = TABLE_FORMATS + GRAPH_FORMATS
_UNKNOWN_PREFIX = re.compile(r"Unknown namespace prefix : (?P<prefix>\S*)")

#: rdflib's SPARQL grammar (pyparsing) keeps parse state in shared objects: two threads
#: parsing at once can corrupt it for the rest of the process. Every parse holds this lock.
PARSER_LOCK = threading.Lock()


@dataclass(frozen=True)
class Answer:
    """A query's result and the kind of query that produced it.

    Attributes:
        kind: ``SELECT``, ``ASK``, ``CONSTRUCT`` or ``DESCRIBE``.
        result: rdflib's result (rows, a boolean, or a graph).
    """

    kind: str
    result: Result


def parse_query(text: str, base: str | None = None) -> Query:
    """Parse and translate a SPARQL 1.1 query.

    Raises:
        QueryError: for a syntax error (with its line and column), an undeclared prefix
            (with the place of its first use), or an update where a query was expected.
    """
    try:
        with PARSER_LOCK:
            return prepareQuery(text, base=base)
    except ParseBaseException as err:
        if _is_update(text):
            raise QueryError(
                "this is a SPARQL Update (INSERT, DELETE, LOAD, ...); only queries "
                "(SELECT, ASK, CONSTRUCT, DESCRIBE) can be run here"
            ) from None
        raise QueryError(_parser_message(err), err.lineno, err.col) from None
    except Exception as err:  # noqa: BLE001 - rdflib raises bare Exceptions while translating
        raise _translation_error(text, err) from None


def _is_update(text: str) -> bool:
    try:
        with PARSER_LOCK:
            parseUpdate(text)
    except Exception:  # noqa: BLE001 - any failure means "not an update either"
        return False
    return True


def _parser_message(err: ParseBaseException) -> str:
    found = f", found {err.found}" if getattr(err, "found", None) else ""
    expected = str(err.msg)
    if expected.startswith("Expected"):
        expected = "expected" + expected[len("Expected") :]
        expected = re.sub(r", found .*\Z", "", expected)
    return f"syntax error: {expected}{found}"


def _translation_error(text: str, err: Exception) -> QueryError:
    message = " ".join(str(err).split()) or type(err).__name__
    match = _UNKNOWN_PREFIX.search(message)
    if match:
        prefix = match["prefix"]
        found = re.search(rf"(?<![\w:<]){re.escape(prefix)}:", text)
        line, column = position(text, found.start()) if found else (None, None)
        return QueryError(
            f"prefix {prefix}: is used but not declared (add a PREFIX line)", line, column
        )
    return QueryError(message)


def run_query(ds: ProjectDataset, text: str) -> Answer:
    """Parse ``text`` and evaluate it on the union of the dataset's graphs.

    Raises:
        QueryError: for a query that does not parse, or that fails while evaluated.
    """
    install_network_guard()
    query = parse_query(text)
    try:
        result = ds.query(query)
        if result.type == "SELECT":
            # Evaluate now, so that an error during evaluation is raised here.
            result.bindings = list(result.bindings)
    except QueryError:
        raise
    except Exception as err:  # noqa: BLE001 - evaluation errors come as many types
        raise QueryError(f"evaluation failed: {' '.join(str(err).split())}") from None
    return Answer(str(result.type), result)


def render(answer: Answer, fmt: str = "table", namespaces: Graph | None = None) -> str:
    """Write a query's answer in format ``fmt``.

    Args:
        answer: What :func:`run_query` returned.
        fmt: One of :data:`TABLE_FORMATS` for SELECT and ASK, one of
            :data:`GRAPH_FORMATS` (or ``table``) for CONSTRUCT and DESCRIBE.
        namespaces: Prefixes to shorten IRIs with in tables and Turtle.

    Raises:
        FormatError: for a format that does not fit the kind of query.
    """
    result = answer.result
    if answer.kind in ("CONSTRUCT", "DESCRIBE"):
        if fmt != "table" and fmt not in GRAPH_FORMATS:
            raise FormatError(fmt, GRAPH_FORMATS, f"{answer.kind} results")
        written = formats.by_name("turtle" if fmt == "table" else fmt) or formats.TURTLE
        graph = result.graph
        if namespaces is not None:
            for prefix, namespace in namespaces.namespaces():
                graph.bind(prefix, namespace, override=False)
        return graph.serialize(format=written.rdflib)
    if fmt not in TABLE_FORMATS:
        raise FormatError(fmt, TABLE_FORMATS, f"{answer.kind} results")
    if answer.kind == "ASK":
        return _render_ask(bool(result.askAnswer), fmt)
    return _render_rows(result, fmt, namespaces)


def _render_ask(value: bool, fmt: str) -> str:
    if fmt == "table":
        return ("yes" if value else "no") + "\n"
    return results.write_ask(results.NAMES[fmt], value).decode("utf-8")


def _render_rows(result: Result, fmt: str, namespaces: Graph | None) -> str:
    names = [str(v) for v in result.vars or []]
    rows = [[row.get(v) for v in result.vars or []] for row in result.bindings]
    if fmt != "table":  # the endpoint's writers, byte for byte
        terms = [[results.plain_of(term) for term in row] for row in rows]
        return results.write_select(results.NAMES[fmt], names, terms, None).decode("utf-8")
    nsm = namespaces.namespace_manager if namespaces is not None else None
    table = PrettyTable(names or ["(no variables)"])
    table.set_style(TableStyle.SINGLE_BORDER)
    table.align = "l"
    for row in rows:
        table.add_row([plain(t, nsm) for t in row] if names else [""])
    count = len(rows)
    return f"{table.get_string()}\n{count} row{'' if count == 1 else 's'}\n"
