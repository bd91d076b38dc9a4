"""The dataset a request names, in its text: its FROM clauses, and the protocol's
``using-graph-uri`` and ``using-named-graph-uri`` written into an update as USING clauses.

Both run in a query worker (:func:`~coopgraph.store.engine.run_query`,
:func:`~coopgraph.store.engine.run_update`), under the deadline: reading FROM takes rdflib's
full parser, slow on a long query.
"""

from __future__ import annotations

from coopgraph.errors import QueryError
from coopgraph.sparql.querytext import position_of, tokens


def dataset_clause(text: str, base: str | None = None) -> tuple[list[str], list[str]]:
    """Return the IRIs of the query's FROM and FROM NAMED clauses, fully parsed (relative
    IRIs resolved against ``base``).

    Raises:
        QueryError: when the query does not parse.
    """
    from coopgraph.sparql.parse import parse_query  # rdflib's parser: slow, so only when needed

    parsed = parse_query(text, base)
    default: list[str] = []
    named: list[str] = []
    for clause in parsed.algebra.get("datasetClause") or []:
        # CompValue.get answers a missing key with a placeholder, not None: test membership.
        if "default" in clause:
            default.append(str(clause["default"]))
        elif "named" in clause:
            named.append(str(clause["named"]))
    return default, named


def with_using(text: str, graphs: tuple[str, ...], named: tuple[str, ...]) -> str:
    """The update ``text`` with the protocol's ``using-graph-uri`` (``graphs``) and
    ``using-named-graph-uri`` (``named``) as USING and USING NAMED clauses of each
    DELETE/INSERT operation (SPARQL 1.1 Protocol, 2.2.3: they set the dataset of every
    operation's WHERE). Operations without a WHERE (INSERT DATA, DELETE DATA, the graph
    management ones) are left as they are.

    Raises:
        QueryError: when an operation has USING, USING NAMED or WITH of its own (the
            protocol says the request is then an error), or is a DELETE WHERE (which has
            no place for USING).
    """
    clauses = " ".join([*(f"USING <{g}>" for g in graphs), *(f"USING NAMED <{g}>" for g in named)])
    inserts: list[int] = []
    depth = 0
    operation: list[tuple[str, int]] = []  # the depth-0 words of the current operation
    for match in tokens(text):
        kind = match.lastgroup
        token = match.group(kind)  # type: ignore[arg-type]
        if kind == "other":
            if token == "{":
                depth += 1
            elif token == "}":
                depth -= depth > 0
            elif token == ";" and depth == 0:
                _place_using(text, operation, inserts)
                operation = []
            continue
        if kind == "word" and depth == 0 and ":" not in token:
            operation.append((token.upper(), match.start(kind)))
    _place_using(text, operation, inserts)
    for at in sorted(inserts, reverse=True):
        text = f"{text[:at]}{clauses} {text[at:]}"
    return text


def _place_using(text: str, words: list[tuple[str, int]], inserts: list[int]) -> None:
    """Where USING clauses go in one operation (before its WHERE), if it takes them."""
    names = [w for w, _ in words if w not in ("PREFIX", "BASE")]
    if not names or names[0] not in ("INSERT", "DELETE", "WITH"):
        return
    if names[:2] in (["INSERT", "DATA"], ["DELETE", "DATA"]):
        return
    where_at = next((at for word, at in words if word == "WHERE"), None)
    if names[:2] == ["DELETE", "WHERE"]:
        raise QueryError(
            "using-graph-uri and using-named-graph-uri cannot apply to DELETE WHERE; write "
            "it as DELETE { ... } WHERE { ... }",
            *position_of(text, where_at or 0),
        )
    for word, at in words:
        if word in ("USING", "WITH"):
            raise QueryError(
                f"the update has {word} of its own and the request has using-graph-uri or "
                "using-named-graph-uri: give the dataset one way only (SPARQL 1.1 "
                "Protocol, 2.2.3)",
                *position_of(text, at),
            )
    if where_at is not None:
        inserts.append(where_at)
