"""The dataset as a whole: dumps at stable URLs, the VoID description, and /health."""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, request, send_file

from coopgraph import formats
from coopgraph.web import access, media
from coopgraph.web.describe import quad_count, statistics, void_graph
from coopgraph.web.state import get_state

bp = Blueprint("dataset", __name__)


@bp.route("/dumps/<name>")
def dump(name: str) -> Response:
    """A dump of the dataset (TriG, N-Quads) or of its union graph (Turtle, N-Triples,
    JSON-LD), built once per version of the data; sent gzipped when the client accepts it."""
    media_type = formats.DUMPS.get(name)
    if media_type is None:
        abort(404)
    st = get_state()
    path = st.dump_file(name, media_type)
    wants_gzip = "gzip" in request.accept_encodings
    if wants_gzip:
        path = path.with_name(path.name + ".gz")
    response = send_file(
        path,
        mimetype=media.content_type(media_type),
        as_attachment=True,
        download_name=name,
        etag=st.etag("dump", name, "gzip" if wants_gzip else "identity"),
        last_modified=int(st.modified),
        conditional=True,
    )
    if wants_gzip:
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/.well-known/void")
def void() -> Response:
    """The VoID description of the dataset, in Turtle or another RDF type by Accept."""
    st = get_state()
    media_type = media.negotiate(
        request.accept_mimetypes, formats.GRAPH_TYPES, request.args.get("format"), media.GRAPH_NAMES
    )
    base = access.base_url()
    body = access.memoize(
        st,
        f"void:{base}:{media_type}",
        lambda: void_graph(st, base).serialize(
            format=formats.rdflib_name(media_type), encoding="utf-8"
        ),
    )
    response = Response(body, content_type=media.content_type(media_type))
    response.vary.add("Accept")
    response.set_etag(st.etag("void", base, media_type))
    response.last_modified = int(st.modified)
    return response.make_conditional(request)


@bp.route("/health")
def health() -> Response:
    """Whether the server answers, and what it holds: the distinct triples of the union
    graph (what a query's default graph holds) and the quads of the dataset (a triple
    stated in two graphs is two quads)."""
    st = get_state()
    pool = st.pool
    triples = statistics(st)["triples"]
    quads = quad_count(st)
    return jsonify(
        status="ok" if pool is not None else "no query workers",
        triples=triples,
        quads=quads,
        engine=st.engine.name,
        version=st.version,
        queryWorkers=pool.size if pool else 0,
        queriesRun=pool.stats.jobs if pool else 0,
        queriesStopped=pool.stats.killed if pool else 0,
        workersRecycled=pool.stats.recycled if pool else 0,
        queriesOutOfMemory=pool.stats.memory_exceeded if pool else 0,
        generation=pool.generation if pool else 0,
    )
