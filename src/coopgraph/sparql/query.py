"""Run SPARQL queries on the dataset and write their results for people and programs.

Queries are parsed first (:func:`coopgraph.sparql.parse.parse_query`), so that a syntax
error is reported with its line and column in the query text before anything is evaluated.
Evaluation happens in this process with the network guard of :mod:`coopgraph.sparql.guard`
in place: no ``SERVICE`` call, no ``FROM`` graph fetched from the web.

SELECT and ASK results are written as an aligned table, CSV, TSV or SPARQL JSON
(`SPARQL 1.1 Query Results JSON Format <https://www.w3.org/TR/sparql11-results-json/>`_);
CONSTRUCT and DESCRIBE results as Turtle, N-Triples or JSON-LD.
"""

from __future__ import annotations

from dataclasses import dataclass

from prettytable import PrettyTable, TableStyle
from rdflib import Graph
from rdflib.query import Result

from coopgraph import formats
from coopgraph.errors import FormatError, QueryError
from coopgraph.graph.load import ProjectDataset
from coopgraph.sparql import results
from coopgraph.sparql.guard import install_network_guard
from coopgraph.sparql.parse import parse_query
from coopgraph.terms import plain

#: Formats for SELECT and ASK results.
TABLE_FORMATS = ("table", *results.NAMES)
#: Formats for CONSTRUCT and DESCRIBE results (``table`` means Turtle for these).
GRAPH_FORMATS = tuple(f.name for f in formats.GRAPHS)
FORMATS = TABLE_FORMATS + GRAPH_FORMATS


@dataclass(frozen=True)
class Answer:
    """A query's result and the kind of query that produced it.

    Attributes:
        kind: ``SELECT``, ``ASK``, ``CONSTRUCT`` or ``DESCRIBE``.
        result: rdflib's result (rows, a boolean, or a graph).
    """

    kind: str
    result: Result


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
