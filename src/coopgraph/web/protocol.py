"""The SPARQL 1.1 Protocol at ``/sparql`` (queries) and ``/update`` (updates, with a token).

`SPARQL 1.1 Protocol <https://www.w3.org/TR/sparql11-protocol/>`_, section 2.1: a query by
GET, by POST ``application/x-www-form-urlencoded``, or by POST ``application/sparql-query``;
``default-graph-uri`` and ``named-graph-uri`` set the dataset. GET without a query returns
the service description (or, to a browser, the query editor).

Before a query reaches the engine it is read by :mod:`coopgraph.querytext`: SERVICE and
LOAD are refused with their position, an update sent here is refused, and FROM, FROM NAMED
and the protocol's graph parameters may only name graphs of the dataset. The query then
runs in a sandbox worker with a deadline; its result is cut at the row cap and cached until
the data changes.
"""

from __future__ import annotations

import hmac
import time
from dataclasses import dataclass, replace
from functools import lru_cache
from urllib.parse import parse_qsl

from flask import Blueprint, Response, current_app, render_template, request
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import http_date, parse_accept_header, quote_etag
from werkzeug.sansio.utils import get_current_url

from coopgraph import querytext
from coopgraph.errors import QueryError
from coopgraph.sandbox import DeadlineExceeded, JobFailed, PoolBusy, WorkerDied
from coopgraph.store import QueryJob, QueryReply
from coopgraph.web import describe, media, replay
from coopgraph.web.errors import ApiError
from coopgraph.web.state import Failure, ServerState, evaluate_in_worker

bp = Blueprint("protocol", __name__)

FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"
SPARQL_UPDATE = "application/sparql-update"


def state() -> ServerState:
    """The app's shared state."""
    return current_app.extensions["coopgraph"]


@dataclass(frozen=True)
class ProtocolRequest:
    """A protocol request, read and checked.

    Attributes:
        query: The query (or update) text, or ``None`` when the request has none.
        default_graphs: ``default-graph-uri`` values.
        named_graphs: ``named-graph-uri`` values.
        fmt: The ``format`` (or ``output``) parameters, in the order sent.
    """

    query: str | None
    default_graphs: tuple[str, ...]
    named_graphs: tuple[str, ...]
    fmt: tuple[str, ...]


# --------------------------------------------------------------------------- reading requests


def _decode(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ApiError(400, f"{what} is not UTF-8 (invalid byte at offset {err.start})") from None


def _parameters(data: bytes, what: str) -> list[tuple[str, str]]:
    """Parse ``a=b&c=d`` strictly: percent-escapes must decode to UTF-8."""
    text = _decode(data, what)
    try:
        return parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise ApiError(400, f"{what} holds a percent-escape that is not UTF-8") from None
    except ValueError as err:
        raise ApiError(400, f"{what} cannot be read: {err}") from None


def _single(params: list[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in params if k == name]
    if len(values) > 1:
        raise ApiError(400, f"the request has {len(values)} '{name}' parameters; send one")
    return values[0] if values else None


def _all(params: list[tuple[str, str]], name: str) -> tuple[str, ...]:
    return tuple(v for k, v in params if k == name)


def read_request(kind: str) -> ProtocolRequest:
    """Read a query (``kind`` "query") or update (``kind`` "update") request.

    Raises:
        ApiError: 400 for anything the protocol does not allow; 413/414 for oversized ones.
    """
    limit = int(state().settings["max_request_bytes"])
    if len(request.query_string) > limit:
        raise ApiError(414, f"the query string is longer than {limit} bytes; send it by POST")
    url_params = _parameters(request.query_string, "the query string")
    other = "update" if kind == "query" else "query"
    if request.method in ("GET", "HEAD"):
        if kind == "update" or _single(url_params, "update") is not None:
            raise ApiError(
                400, "SPARQL Update is never accepted by GET; POST it to /update with the token"
            )
        body_params: list[tuple[str, str]] = []
        text = _single(url_params, "query")
    else:
        mime = request.mimetype
        direct = SPARQL_QUERY if kind == "query" else SPARQL_UPDATE
        if not request.content_type:
            raise ApiError(400, f"a POST needs a Content-Type: {FORM} or {direct}")
        body = request.get_data(cache=True)
        if mime == FORM:
            body_params = _parameters(body, "the form body")
            if _single(body_params, other) is not None:
                raise ApiError(400, f"a '{other}' parameter does not belong on this endpoint")
            text = _single(body_params, kind)
            if text is None:
                raise ApiError(400, f"the form has no '{kind}' parameter")
        elif mime == direct:
            body_params = []
            if _single(url_params, kind) is not None:
                raise ApiError(400, f"the '{kind}' is in the body; do not also send it in the URL")
            text = _decode(body, "the request body")
        else:
            raise ApiError(400, f"Content-Type {mime} is not accepted here; use {FORM} or {direct}")
    params = url_params + body_params
    if kind == "query" and _single(params, "update") is not None:
        raise ApiError(400, "an 'update' parameter does not belong on /sparql; POST it to /update")
    if text is not None and not text.strip():
        raise ApiError(400, f"the {kind} is empty")
    return ProtocolRequest(
        text,
        _all(params, "default-graph-uri") or _all(params, "using-graph-uri"),
        _all(params, "named-graph-uri") or _all(params, "using-named-graph-uri"),
        _all(params, "format") + _all(params, "output"),
    )


# --------------------------------------------------------------------------- /sparql


@bp.route("/sparql", methods=["GET", "POST"])
def sparql() -> Response:
    """Answer a SPARQL query, or describe the service when there is none."""
    req = read_request("query")
    if req.query is None:
        return service_description(req.fmt)
    found = querytext.scan(req.query)
    if found.is_update:
        raise ApiError(400, f"this is a SPARQL Update ({found.form}); POST it to /update")
    try:
        querytext.refuse_remote(found)
    except QueryError as err:
        raise ApiError(400, str(err)) from None
    default_graphs, named_graphs, dataset_given = _dataset(req, found)
    media_type = _negotiated(request.environ.get("HTTP_ACCEPT", ""), found.is_graph_query, req.fmt)
    st = state()
    key = (req.query, media_type, req.default_graphs, req.named_graphs)
    etag = st.etag("sparql", *map(str, key))
    if request.method in ("GET", "HEAD") and _not_modified(etag, st):
        return _not_modified_response(etag, st)
    dataset = (default_graphs, named_graphs, dataset_given)
    reply = st.cached(key) or _evaluate(st, req, found, media_type, key, dataset)
    if request.method == "GET":
        request.environ[replay.REPLAYABLE] = True
    return _reply_response(reply, etag, st)


@lru_cache(maxsize=256)
def _negotiated(accept: str, graph: bool, fmt: tuple[str, ...]) -> str:
    """The media type of a query's answer, for one ``Accept`` header, kind of result and
    ``format`` parameters (remembered: clients send few distinct headers)."""
    offers = media.GRAPH_TYPES if graph else media.RESULT_TYPES
    names = media.GRAPH_NAMES if graph else media.RESULT_NAMES
    return media.negotiate(parse_accept_header(accept, MIMEAccept), offers, fmt, names)


def _dataset(
    req: ProtocolRequest, found: querytext.Scan
) -> tuple[tuple[str, ...], tuple[str, ...], bool]:
    """The default graphs, the named graphs, and whether a dataset was chosen at all.

    The protocol's graph parameters win over the query's FROM clauses (SPARQL 1.1 Protocol,
    2.1.4). Every graph named must be one of the dataset's.
    """
    default, named = req.default_graphs, req.named_graphs
    given = bool(default or named)
    if found.from_clause is not None and not given:
        try:
            from_default, from_named = querytext.dataset_clause(req.query or "")
        except QueryError as err:
            raise ApiError(400, str(err)) from None
        default, named, given = tuple(from_default), tuple(from_named), True
    if not given:
        return default, named, given
    known = set(describe.graph_names(state()))
    unknown = [g for g in (*default, *named) if g not in known]
    if unknown:
        raise ApiError(
            400,
            f"<{unknown[0]}> is not a graph of this dataset; FROM, FROM NAMED and the "
            "graph parameters can only name its graphs (listed in the service "
            "description), and nothing is ever fetched from elsewhere",
        )
    return default, named, given


def _evaluate(
    st: ServerState,
    req: ProtocolRequest,
    found: querytext.Scan,
    media_type: str,
    key: tuple,
    dataset: tuple[tuple[str, ...], tuple[str, ...], bool],
) -> QueryReply:
    job = QueryJob(
        query=req.query or "",
        form=found.form or "SELECT",
        media_type=media_type,
        row_cap=int(st.settings["row_cap"]),
        default_graphs=dataset[0],
        named_graphs=dataset[1],
        dataset_given=dataset[2],
        truncated_link=_limits_link(request.scheme, request.host, request.root_path),
    )
    started = time.monotonic()
    if st.engine.lookups_in_process and not dataset[2] and found.is_lookup:
        # The statements of one node: an index lookup that cannot run away, answered here
        # without the round trip to a query worker. Capped in the query itself, the
        # engine can write the answer in one go.
        if found.unlimited_lookup:
            job = replace(job, query=querytext.with_limit(job.query, job.row_cap + 1), capped=True)
        with st.lock.read():
            reply = evaluate_in_worker(st.engine)(job)
    else:
        reply = _in_worker(st, job)
    if isinstance(reply, Failure):
        raise ApiError(400, reply.message)
    current_app.logger.debug("query answered in %.3f s", time.monotonic() - started)
    st.remember(key, reply)
    return reply


@lru_cache(maxsize=64)
def _limits_link(scheme: str, host: str, root_path: str) -> str:
    """Where the endpoint's limits are explained, for a result cut at the row cap."""
    return get_current_url(scheme, host, root_path) + "#limits"


def _in_worker(st: ServerState, job: QueryJob) -> QueryReply | Failure:
    """Run ``job`` in a query worker, which is killed at the deadline."""
    if st.pool is None:
        raise ApiError(503, "the query workers are not running", retry_after=5)
    timeout = float(st.settings["query_timeout"])
    try:
        return st.pool.run(job, timeout)
    except DeadlineExceeded:
        raise ApiError(
            503,
            f"the query was stopped after {timeout:g} s, the time limit of this endpoint; "
            "simplify it, add a LIMIT, or run it on your own copy of the data (see /dumps)",
        ) from None
    except PoolBusy:
        raise ApiError(503, "the endpoint is busy; try again shortly", retry_after=2) from None
    except WorkerDied:
        raise ApiError(
            503, "the query stopped its worker (it may have needed too much memory)"
        ) from None
    except JobFailed as err:
        current_app.logger.error("query failed: %s\n%s", err, err.details)
        raise ApiError(400, f"the query could not be evaluated: {err}") from None


def _not_modified(etag: str, st: ServerState) -> bool:
    environ = request.environ
    if "HTTP_IF_NONE_MATCH" not in environ and "HTTP_IF_MODIFIED_SINCE" not in environ:
        return False
    if request.if_none_match:
        return request.if_none_match.contains(etag)
    since = request.if_modified_since
    return since is not None and int(st.modified) <= since.timestamp()


def _not_modified_response(etag: str, st: ServerState) -> Response:
    response = Response(status=304)
    _caching_headers(response, etag, st)
    return response


def _caching_headers(response: Response, etag: str, st: ServerState) -> None:
    headers = response.headers
    headers["ETag"] = quote_etag(etag)
    headers["Last-Modified"] = _http_date(int(st.modified))
    headers["Cache-Control"] = "no-cache"
    headers["Vary"] = "Accept"


@lru_cache(maxsize=4)
def _http_date(seconds: int) -> str:
    return http_date(seconds)


def _reply_response(reply: QueryReply, etag: str, st: ServerState) -> Response:
    response = Response(reply.body, content_type=media.content_type(reply.media_type))
    _caching_headers(response, etag, st)
    response.headers["Coopgraph-Results"] = str(reply.count)
    if reply.truncated:
        cap = int(st.settings["row_cap"])
        response.headers["Coopgraph-Truncated"] = f"true; row-cap={cap}"
        response.headers["Warning"] = f'199 coopgraph "result cut at the row cap of {cap}"'
    return response


# --------------------------------------------------------------------------- service description


def service_description(fmt: tuple[str, ...]) -> Response:
    """The service description, or the query editor for a browser."""
    offers = (*media.GRAPH_TYPES, media.HTML)
    media_type = media.negotiate(request.accept_mimetypes, offers, fmt, media.GRAPH_NAMES)
    if media_type == media.HTML:
        return editor_page()
    st = state()
    endpoint = request.base_url
    body = st.memoize(
        f"sd:{endpoint}:{media_type}",
        lambda: describe.service_graph(st, endpoint).serialize(
            format=_rdflib_format(media_type), encoding="utf-8"
        ),
    )
    response = Response(body, content_type=media.content_type(media_type))
    response.vary.add("Accept")
    return response


def _rdflib_format(media_type: str) -> str:
    return {
        "text/turtle": "turtle",
        "application/n-triples": "nt",
        "application/ld+json": "json-ld",
    }.get(media_type, "xml")


def editor_page() -> Response:
    """The YASGUI query editor, with the dataset's prefixes and the example queries."""
    st = state()
    html = render_template(
        "editor.html",
        prefixes=st.engine.prefixes,
        examples=st.examples,
        yasgui=st.yasgui_dir is not None,
    )
    response = Response(html, content_type=media.content_type(media.HTML))
    response.vary.add("Accept")
    return response


# --------------------------------------------------------------------------- /update


@bp.route("/update", methods=["GET", "POST"])
def update() -> Response:
    """Apply a SPARQL Update, for a client that holds the configured token."""
    st = state()
    token = str(st.settings["update_token"])
    if request.method == "GET":
        raise ApiError(405, "SPARQL Update is never accepted by GET; use POST", allow=("POST",))
    if not token:
        raise ApiError(403, "this endpoint is read-only: no update token is configured")
    _check_token(token)
    req = read_request("update")
    found = querytext.scan(req.query or "")
    if not found.is_update:
        raise ApiError(400, "this is not a SPARQL Update; send queries to /sparql")
    try:
        querytext.refuse_remote(found)
    except QueryError as err:
        raise ApiError(400, str(err)) from None
    started = time.monotonic()
    with st.lock.write():
        try:
            st.engine.update(req.query or "")
        except QueryError as err:
            raise ApiError(400, str(err)) from None
        st.data_changed()
        st.stop_pool()
        st.start_pool()
    seconds = time.monotonic() - started
    return Response(
        f"update applied in {seconds:.3f} s; the dataset now holds {len(st.engine)} quads\n",
        content_type=media.content_type("text/plain"),
    )


def _check_token(token: str) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        raise ApiError(
            401,
            "SPARQL Update needs the token: send 'Authorization: Bearer TOKEN'",
            headers={"WWW-Authenticate": 'Bearer realm="coopgraph update"'},
        )
