"""Linked data: every ``https://w3id.org/coopgraph/...`` IRI is served at the same path.

A browser gets an HTML page; other clients get RDF by ``Accept`` (Turtle by default) or by a
suffix (``.ttl``, ``.nt``, ``.jsonld``, ``.rdf``), with ``Vary: Accept``. The ontology
(``/ontology``, whose terms are ``/ontology#Term``) and the alignment module return their
whole document as RDF, and to a browser the ontology's documentation (pyLODE, see
:mod:`coopgraph.web.ontology_view`); a graph's IRI returns the graph's triples; anything
else, its description (its statements and incoming links).

Also here: the home page, the list of a class's instances, and the static files.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from flask import Blueprint, Response, abort, render_template, request, send_from_directory
from rdflib import URIRef

from coopgraph import formats
from coopgraph.namespace import BASE, COOP
from coopgraph.publish.site import Documentation, Page
from coopgraph.web import media, ontology_view, security
from coopgraph.web.describe import class_partitions, graph_sizes, source_titles, statistics
from coopgraph.web.errors import ApiError
from coopgraph.web.resources import add_source_text, is_safe_iri
from coopgraph.web.state import get_state

bp = Blueprint("pages", __name__)


def local_url(iri: str) -> str:
    """The path on this server of a coopgraph IRI (other IRIs are returned unchanged)."""
    if iri.startswith(BASE) and not iri[len(BASE) :].startswith(("/", "\\")):
        return request.script_root + "/" + iri[len(BASE) :]
    return iri


@bp.app_template_filter("local")
def _local_filter(iri: object) -> str:
    """Where a link to ``iri`` goes: its page here, the IRI itself (http, https), or ""
    for an IRI that must not be a link (see :func:`security.is_web_iri`)."""
    text = str(iri)
    return local_url(text) if security.is_web_iri(text) else ""


@bp.app_context_processor
def _base() -> dict[str, str]:
    """The IRI space this server publishes (the query editor opens its IRIs here)."""
    return {"coopgraph_base": BASE}


@bp.route("/")
def home() -> Response:
    """What the graph holds, and where to go from here."""
    st = get_state()
    counts = [(c, n) for c, n in class_partitions(st) if str(c).startswith(str(COOP))]
    names = st.read("labels", {str(c) for c, _ in counts})
    html = render_template(
        "home.html",
        stats=statistics(st),
        classes=[(c, names.get(str(c), str(c)), n) for c, n in counts],
        graphs=sorted(graph_sizes(st).items()),
        sources=source_titles(st),
        files=st.engine.files,
        dumps=formats.DUMPS,
        settings=st.settings,
        engine=st.engine.name,
    )
    return _html(html)


@bp.route("/-/instances")
def class_instances() -> Response:
    """The instances of one class, by label."""
    cls = request.args.get("class", "")
    if not cls:
        raise ApiError(400, "name the class: /-/instances?class=IRI")
    if not is_safe_iri(cls):
        raise ApiError(400, f"the class {cls!r} is not an absolute IRI (RFC 3987)")
    st = get_state()
    listed, cut = st.read("instances", cls)
    name = st.read("labels", {cls}).get(cls, cls)
    return _html(render_template("instances.html", cls=cls, name=name, listed=listed, cut=cut))


@bp.route("/-/static/<path:name>")
def static_file(name: str) -> Response:
    """The site's own CSS and scripts."""
    return send_from_directory(Path(__file__).parent / "static", name, max_age=3600)


@bp.route("/-/yasgui/<any('yasgui.min.js', 'yasgui.min.css'):name>")
def yasgui_file(name: str) -> Response:
    """The YASGUI editor, from the npm package installed beside the project."""
    folder = get_state().yasgui_dir
    if folder is None:
        abort(404)
    return send_from_directory(folder, name, max_age=86400)


@bp.route("/ontology", defaults={"rest": ""})
@bp.route("/ontology<any('.ttl', '.nt', '.jsonld', '.rdf'):rest>", endpoint="ontology_file")
@bp.route("/ontology/<path:rest>")
@bp.route("/id/<path:rest>", endpoint="ids")
@bp.route("/graph/<path:rest>", endpoint="graphs")
def resource(rest: str) -> Response:
    """Serve one IRI: HTML for browsers, RDF otherwise."""
    path = request.path[1:]  # (after the prefix a proxy may mount the site at)
    if not is_safe_iri(BASE + path):
        abort(404)
    iri, media_type = _resolve(path)
    st = get_state()
    offers = (*formats.GRAPH_TYPES, media.HTML)
    if media_type is None:
        media_type = media.negotiate(
            request.accept_mimetypes, offers, request.args.get("format"), media.GRAPH_NAMES
        )
    graph_names = set(graph_sizes(st))
    if iri in graph_names and _is_document(iri) and media_type == media.HTML:
        return _ontology_page(iri, graph_names)
    if media_type != media.HTML:
        # The RDF: a module's whole graph; else the resource's description, else (a
        # graph's IRI) the graph.
        document = iri in graph_names and _is_document(iri)
        body = st.read("rdf_document", iri, media_type, document)
        if body is None:
            abort(404)
        return _rdf(body, media_type)
    found = add_source_text(st.read("describe", iri), st.sources_dir)
    if not found.exists and iri not in graph_names:
        abort(404)
    html = render_template(
        "resource.html",
        r=found,
        graph_size=graph_sizes(st).get(iri),
        suffixes=media.SUFFIXES,
        vocabulary=ontology_view.vocabulary_link(found),
    )
    return _html(html)


def _resolve(path: str) -> tuple[str, str | None]:
    """The IRI a path stands for, and the media type its suffix asks for (if any)."""
    iri = BASE + path
    for suffix, media_type in media.SUFFIXES.items():
        if path.endswith(suffix):
            bare = BASE + path[: -len(suffix)]
            if is_safe_iri(bare) and _known(bare):
                return bare, media_type
    return iri, None


def _known(iri: str) -> bool:
    st = get_state()
    return iri in graph_sizes(st) or bool(st.read("is_known", iri))


def _is_document(iri: str) -> bool:
    """The ontology modules are documents: their IRI returns the whole module."""
    return iri == BASE + "ontology" or iri.startswith(BASE + "ontology/")


def _ontology_page(iri: str, graph_names: set[str]) -> Response:
    """The documentation of the ontology modules (built on first use), for a browser."""
    docs = ontology_view.documentation(get_state(), sorted(filter(_is_document, graph_names)))
    return _docs_page(docs.index, docs, base=None if iri == BASE + "ontology" else "ontology")


@bp.route("/-/docs/<path:name>")
def docs_file(name: str) -> Response:
    """The documentation's other files: the class diagram and the concept schemes' pages."""
    st = get_state()
    docs = ontology_view.documentation(st, sorted(filter(_is_document, graph_sizes(st))))
    scheme = ontology_view.scheme_page_name(name)
    if scheme is not None and scheme in docs.schemes:
        return _docs_page(docs.schemes[scheme], docs)
    found = ontology_view.docs_file(docs, name)
    if found is None:
        abort(404)
    response = Response(found[0], content_type=found[1])
    _conditional(response)
    return response


def _docs_page(page: Page, docs: Documentation, base: str | None = None) -> Response:
    """A documentation page in the site's frame; ``base``: the site path its relative links
    are relative to, when the page is served at another path."""
    base_href = None if base is None else request.script_root + "/" + base
    alternates = []
    if page is docs.index:
        alternates = [(media.SUFFIXES[posixpath.splitext(p)[1]], p) for _, p in docs.layout.formats]
    return _html(
        render_template("ontology.html", page=page, base_href=base_href, alternates=alternates)
    )


def _rdf(body: bytes, media_type: str) -> Response:
    response = Response(body, content_type=media.content_type(media_type))
    response.vary.add("Accept")
    _conditional(response)
    return response


def _html(html: str) -> Response:
    response = Response(html, content_type=media.content_type(media.HTML))
    response.vary.add("Accept")
    _conditional(response)
    return response


def _conditional(response: Response) -> None:
    st = get_state()
    response.set_etag(st.etag(request.full_path, response.mimetype or ""))
    response.last_modified = int(st.modified)
    response.headers["Cache-Control"] = "no-cache"
    response.make_conditional(request)


def is_coopgraph_iri(node: object) -> bool:
    """True for an IRI that this server publishes."""
    return isinstance(node, URIRef) and str(node).startswith(BASE)
