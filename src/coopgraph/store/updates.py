"""SPARQL Update as the standard says, where rdflib's algebra differs: graphs that must or
must not exist (DROP, CLEAR, ADD, MOVE, COPY, CREATE without SILENT), and USING NAMED."""

from __future__ import annotations

from typing import Any

from rdflib import URIRef, Variable
from rdflib.plugins.sparql.algebra import translateUpdate
from rdflib.plugins.sparql.parser import parseUpdate
from rdflib.plugins.sparql.parserutils import CompValue

from coopgraph.errors import QueryError
from coopgraph.namespace import INFERRED_GRAPH
from coopgraph.sparql.parse import PARSER_LOCK


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
        if str(INFERRED_GRAPH) in _targets(op):
            raise QueryError(
                f"{op.name.upper()} changes <{INFERRED_GRAPH}>: the inferred graph is computed "
                "from the asserted graphs after each update, and is never written directly"
            )
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


def _targets(op: Any) -> set[str]:
    """The graphs an update operation writes to, by name (a MOVE writes its source too)."""
    found: list[Any] = []
    if op.name in ("Clear", "Drop", "Create"):
        found.append(op["graphiri"])
    elif op.name in ("Add", "Move", "Copy"):
        source, destination = op["graph"]
        found += [destination, source] if op.name == "Move" else [destination]
    else:
        found.append(op.get("withClause"))
        for part in (op, op.get("insert"), op.get("delete")):
            if isinstance(part, CompValue) and "quads" in part and part["quads"]:
                found += list(part["quads"])
    return {str(g) for g in found if isinstance(g, URIRef)}


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
