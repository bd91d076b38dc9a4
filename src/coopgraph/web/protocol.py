"""The SPARQL 1.1 Protocol at ``/sparql`` (queries) and ``/update`` (updates, with a token).

`SPARQL 1.1 Protocol <https://www.w3.org/TR/sparql11-protocol/>`_, section 2.1: a query by
GET, by POST ``application/x-www-form-urlencoded``, or by POST ``application/sparql-query``;
``default-graph-uri`` and ``named-graph-uri`` set the dataset. GET without a query returns
the service description (or, to a browser, the query editor).

Before a query reaches the engine it is read by :mod:`coopgraph.sparql.querytext`: SERVICE and
LOAD are refused with their position (an early message: the query workers cannot reach the
network or a file whatever the text says, see :mod:`coopgraph.store.jail`), and an update sent
here is refused. The query then runs in a confined query worker, under the deadline and the
memory limit; the worker reads its FROM and FROM NAMED clauses, and refuses any graph, named
there or by the protocol's parameters, that is not one of the dataset's. Its answer is cut
at the row cap and the byte cap, and cached (when small) until the data changes. Relative
IRIs in a query or an update resolve against the endpoint's URL.

``/update`` takes ``using-graph-uri`` and ``using-named-graph-uri`` (SPARQL 1.1 Protocol,
2.2.3); an update runs in a worker of its own, under its deadline, and its data is served
only once it has succeeded whole.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import lru_cache
from urllib.parse import parse_qsl

from flask import Blueprint, Response, current_app, render_template, request
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import http_date, parse_accept_header, quote_etag

from coopgraph import formats
from coopgraph.errors import QueryError
from coopgraph.sparql import querytext
from coopgraph.store.engine import QueryJob, QueryReply, UpdateJob
from coopgraph.web import access, describe, media, replay, update_token
from coopgraph.web.cache import digest
from coopgraph.web.errors import ApiError
from coopgraph.web.resources import is_safe_iri
from coopgraph.web.state import ServerState, get_state
from coopgraph.web.worker import Failure

bp = Blueprint("protocol", __name__)

FORM = "application/x-www-form-urlencoded"
SPARQL_QUERY = "application/sparql-query"
SPARQL_UPDATE = "application/sparql-update"


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
    infer: bool = True


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
    limit = int(get_state().settings["max_request_bytes"])
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
        body = read_body(limit)
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
    query = kind == "query"
    default = _all(params, "default-graph-uri" if query else "using-graph-uri")
    named = _all(params, "named-graph-uri" if query else "using-named-graph-uri")
    for graph in (*default, *named):
        if not is_safe_iri(graph):
            raise ApiError(400, f"the graph parameter {graph!r} is not an absolute IRI")
    fmt = _all(params, "format") + _all(params, "output")
    return ProtocolRequest(text, default, named, fmt, _infer(_single(params, "infer")))


def _infer(value: str | None) -> bool:
    """GraphDB's and RDF4J's ``infer``: the OWL 2 RL inferences in the default graph or not."""
    if value is None or value.lower() in ("true", "false"):
        return value is None or value.lower() == "true"
    raise ApiError(400, f"infer={value!r}: use infer=true (the default) or infer=false")


def read_body(limit: int) -> bytes:
    """The request's body, read whole, chunked or not; never more than ``limit`` bytes.

    Raises:
        ApiError: 413 for a longer body (nothing of it is used), 400 for one that cannot
            be read (a bad chunk, a body shorter than its Content-Length).
    """
    cached = request.environ.get(_BODY)
    if cached is not None:
        return cached
    length = request.content_length
    if length is not None and length > limit:
        raise ApiError(413, f"the request body is longer than {limit} bytes; send less")
    stream = request.environ["wsgi.input"]
    wanted = limit + 1 if length is None else length
    chunks: list[bytes] = []
    held = 0
    try:
        while held < wanted:
            chunk = stream.read(min(65536, wanted - held))
            if not chunk:
                break
            chunks.append(chunk)
            held += len(chunk)
    except Exception as err:  # noqa: BLE001 - each server raises its own kind for a bad body
        raise ApiError(400, f"the request body could not be read: {err}") from None
    if length is None and held > limit:
        raise ApiError(413, f"the request body is longer than {limit} bytes; send less")
    if length is not None and held < length:
        raise ApiError(400, f"the request body ended after {held} of {length} bytes")
    body = b"".join(chunks)
    request.environ[_BODY] = body
    return body


#: Where the body, once read, is kept for the request.
_BODY = "coopgraph.body"


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
        # A store elsewhere evaluates the query itself: refuse whatever it could misread.
        querytext.refuse_remote(found, strict=not get_state().engine.in_workers)
    except QueryError as err:
        raise ApiError(400, str(err)) from None
    media_type = _negotiated(request.environ.get("HTTP_ACCEPT", ""), found.is_graph_query, req.fmt)
    st = get_state()
    # The base URL is part of the key: it is what relative IRIs and the limits link become.
    key = digest(
        req.query, media_type, req.default_graphs, req.named_graphs, access.base_url(), req.infer
    )
    etag = st.etag("sparql", key.hex())
    if request.method in ("GET", "HEAD") and _not_modified(etag, st):
        return _not_modified_response(etag, st)
    reply = st.cached(key) or _evaluate(st, req, found, media_type, key)
    if request.method == "GET":
        request.environ[replay.REPLAYABLE] = True
    return _reply_response(reply, etag, st)


@lru_cache(maxsize=256)
def _negotiated(accept: str, graph: bool, fmt: tuple[str, ...]) -> str:
    """The media type of a query's answer, for one ``Accept`` header, kind of result and
    ``format`` parameters (remembered: clients send few distinct headers)."""
    offers = formats.GRAPH_TYPES if graph else media.RESULT_TYPES
    names = media.GRAPH_NAMES if graph else media.RESULT_NAMES
    return media.negotiate(parse_accept_header(accept, MIMEAccept), offers, fmt, names)


def _evaluate(
    st: ServerState,
    req: ProtocolRequest,
    found: querytext.Scan,
    media_type: str,
    key: bytes,
) -> QueryReply:
    """Run the query in a query worker (which also reads its FROM clauses and checks the
    graphs it names), under the deadline and the memory limit."""
    given = bool(req.default_graphs or req.named_graphs)
    job = QueryJob(
        query=req.query or "",
        form=found.form or "SELECT",
        media_type=media_type,
        row_cap=int(st.settings["row_cap"]),
        default_graphs=req.default_graphs,
        named_graphs=req.named_graphs,
        dataset_given=given,
        truncated_link=_limits_link(access.base_url()),
        max_bytes=st.max_answer_bytes(),
        base_iri=access.base_url() + "sparql",
        from_clause=found.from_clause is not None and not given,
        infer=req.infer,
    )
    if found.unlimited_lookup and not given:
        # The statements of one node: capped in the query itself, the engine can write the
        # answer in one go.
        job = replace(job, query=querytext.with_limit(job.query, job.row_cap + 1), capped=True)
    started = time.monotonic()
    reply = st.run(job)
    if isinstance(reply, Failure):
        raise ApiError(400, reply.message)
    current_app.logger.debug("query answered in %.3f s", time.monotonic() - started)
    st.remember(key, reply)
    return reply


@lru_cache(maxsize=64)
def _limits_link(base: str) -> str:
    """Where the endpoint's limits are explained, for a result cut at the row cap."""
    return base + "#limits"


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
    elif reply.bytes_cut:
        most = st.max_answer_bytes()
        response.headers["Coopgraph-Truncated"] = f"true; max-bytes={most}"
        response.headers["Warning"] = (
            f'199 coopgraph "result cut at {most} bytes, the largest answer of this endpoint"'
        )
    return response


# --------------------------------------------------------------------------- service description


def service_description(fmt: tuple[str, ...]) -> Response:
    """The service description, or the query editor for a browser."""
    offers = (*formats.GRAPH_TYPES, media.HTML)
    media_type = media.negotiate(request.accept_mimetypes, offers, fmt, media.GRAPH_NAMES)
    if media_type == media.HTML:
        return editor_page()
    st = get_state()
    endpoint = access.base_url() + "sparql"
    body = access.memoize(
        st,
        f"sd:{endpoint}:{media_type}",
        lambda: describe.service_graph(st, endpoint).serialize(
            format=formats.rdflib_name(media_type), encoding="utf-8"
        ),
    )
    response = Response(body, content_type=media.content_type(media_type))
    response.vary.add("Accept")
    return response


def editor_page() -> Response:
    """The YASGUI query editor, with the dataset's prefixes and the example queries."""
    st = get_state()
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
    st = get_state()
    token = str(st.settings["update_token"])
    if request.method == "GET":
        raise ApiError(405, "SPARQL Update is never accepted by GET; use POST", allow=("POST",))
    if not token:
        raise ApiError(403, "this endpoint is read-only: no update token is configured")
    update_token.check_update_token(token)
    req = read_request("update")
    found = querytext.scan(req.query or "")
    if not found.is_update:
        raise ApiError(400, "this is not a SPARQL Update; send queries to /sparql")
    try:
        # A store elsewhere evaluates the query itself: refuse whatever it could misread.
        querytext.refuse_remote(found, strict=not get_state().engine.in_workers)
    except QueryError as err:
        raise ApiError(400, str(err)) from None
    base = access.base_url() + "update"
    job = UpdateJob(req.query or "", base, req.default_graphs, req.named_graphs)
    started = time.monotonic()
    quads = st.update(job)
    if isinstance(quads, Failure):
        raise ApiError(400, quads.message)
    seconds = time.monotonic() - started
    return Response(
        f"update applied in {seconds:.3f} s; the dataset now holds {quads} quads\n",
        content_type=media.content_type("text/plain"),
    )
