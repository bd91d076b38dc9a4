"""Parse SPARQL with rdflib, and say where a query goes wrong.

rdflib's parser is the one the rdflib engine evaluates with and the one that reads a
query's dataset clauses; its errors are turned into :class:`~coopgraph.errors.QueryError`
with the line and column in the query text.
"""

from __future__ import annotations

import re
import threading

from pyparsing import ParseBaseException
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parser import parseUpdate
from rdflib.plugins.sparql.sparql import Query

from coopgraph.errors import QueryError
from coopgraph.graph.turtle import position

_UNKNOWN_PREFIX = re.compile(r"Unknown namespace prefix : (?P<prefix>\S*)")

#: rdflib's SPARQL grammar (pyparsing) keeps parse state in shared objects: two threads
#: parsing at once can corrupt it for the rest of the process. Every parse holds this lock.
PARSER_LOCK = threading.Lock()


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
