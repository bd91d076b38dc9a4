"""Browser hardening (coopgraph.web.security): no IRI becomes a script link, and every
response carries the security headers.

- The link rule: an IRI of the request or of the data is a link only when it is an
  ``http:`` or ``https:`` IRI (or this site's own page); any other (``javascript:`` in any
  spelling, ``data:``, ``vbscript:``, ``file:``, ``mailto:``, ``urn:``, relative, with
  controls or spaces) is shown as text. Checked with a table of hostile strings through the
  class page (``/-/instances?class=``), and with a data file of hostile IRIs (objects,
  subjects, types, graph names, and an ontology module that pyLODE documents) through
  every page that shows them, on Oxigraph and on rdflib (which loads the IRIs with controls
  that Oxigraph refuses). The HTML is read with the standard library's parser, which decodes
  attributes as a browser does.
- The headers, on every kind of response: pages, the editor, RDF, query results, errors,
  404s, static files, dumps, /health, a 304, and a query answer replayed by
  :class:`~coopgraph.web.replay.Replay` without the app.
- In Chromium (as tests/test_browser.py, whose launch options are repeated here): the
  pages, the ontology documentation with its class diagram, and the query editor running a
  query and resizing a column, with no console error and no CSP violation; the hostile
  pages too, with no dialog.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Callable, Iterator
from html import unescape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask, g

from coopgraph.formats import DUMPS
from coopgraph.graph.sources import project_sources
from coopgraph.store.engine import Engine
from coopgraph.store.opening import open_engine
from coopgraph.web import create_app, replay, security
from tests.support import CHROMIUM, ROOT, Server, chromium_context, start_server

pytestmark = pytest.mark.slow  # real servers on 127.0.0.1

BASE = "https://w3id.org/coopgraph/"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
JSON = "application/sparql-results+json"
AGREEMENT = "id/agreement/unodc-interpol-cooperation-arrangement"
PERSON = BASE + "ontology#Person"
LOOKUP = "SELECT ?p ?o WHERE { <https://w3id.org/coopgraph/id/org/interpol> ?p ?o }"

# --------------------------------------------------------------------------- hostile strings

#: Strings that must never become a link (as a class IRI in the request, or an IRI of the
#: data where the store takes it).
HOSTILE = [
    "javascript:alert(document.domain)",
    "JaVaScRiPt:alert(1)",
    "JAVASCRIPT:alert(1)",
    " javascript:alert(1)",
    "\tjavascript:alert(1)",
    "\njavascript:alert(1)",
    "\x00javascript:alert(1)",
    "\u00a0javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "java\rscript:alert(1)",
    "javascript\u200b:alert(1)",
    "javascript:alert%281%29",
    "javascript://example.org/%0Aalert(1)",
    "javascript&#58;alert(1)",
    "&#106;avascript:alert(1)",
    "&#x6A;avascript:alert(1)",
    "javascript&colon;alert(1)",
    "jav&#x09;ascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:text/html,x",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "mailto:someone@example.org",
    "urn:isbn:0451450523",
    "blob:https://example.org/x",
    "ws://example.org/",
    "relative/path",
    "//evil.example/x",
    "/\\evil.example/x",
    "\\\\evil.example\\x",
    "https://exa mple.org/",
    "https://example.org/\u2028x",
    "http://",
    "https:evil.example",
]
#: IRIs that may be links (as they are).
BENIGN = [
    "http://example.org/",
    "https://example.org/a/b?c=d#e",
    "HTTPS://EXAMPLE.ORG/",
    "https://example.org/J%C3%BCrgen",
    "https://example.org/Jürgen",
    BASE + "id/org/interpol",
]


@pytest.mark.parametrize("iri", HOSTILE)
def test_a_hostile_iri_is_not_a_web_iri(iri: str) -> None:
    assert not security.is_web_iri(iri)


@pytest.mark.parametrize("iri", BENIGN)
def test_an_http_iri_is_a_web_iri(iri: str) -> None:
    assert security.is_web_iri(iri)


#: The hostile strings that are harmless as the value of a URL attribute (relative, or
#: http(s)): the vetting of generated HTML keeps them, the link rule does not.
_HARMLESS_IN_HTML = {
    "relative/path",
    "https://exa mple.org/",
    "https://example.org/\u2028x",
    "http://",
    "https:evil.example",
}
SITE_URLS = ["/x", "#Agreement", "?class=x", "ontology.ttl", "-/docs/classes.svg"]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_url_attribute_is_taken_out_of_generated_html(value: str) -> None:
    decoded = unescape(value)  # as the HTML parser (and a browser) decodes the attribute
    assert security.is_safe_url(decoded) == (value in _HARMLESS_IN_HTML)
    if security.is_safe_url(decoded):
        assert allowed(decoded)


@pytest.mark.parametrize("value", [*SITE_URLS, *BENIGN])
def test_a_url_of_the_site_or_the_web_is_safe(value: str) -> None:
    assert security.is_safe_url(value) and allowed(value)


# --------------------------------------------------------------------------- the checker


class Links(HTMLParser):
    """Every URL attribute of a page (values decoded as a browser decodes them), and the
    executable scripts."""

    URLS = ("href", "src", "action", "formaction", "data", "poster", "xlink:href", "srcset")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str, str]] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in self.URLS and value is not None:
                self.urls.append((tag, name, value))
            if name.startswith("on"):
                self.urls.append((tag, name, value or ""))  # never allowed
        if tag == "script":
            kind = (dict(attrs).get("type") or "").lower()
            if kind not in ("application/json", "application/ld+json"):
                self.scripts.append(dict(attrs).get("src") or "(inline)")

    handle_startendtag = handle_starttag


def allowed(value: str) -> bool:
    """The rule of the brief, written independently of the code: after trimming and case
    folding, a URL attribute starts with http:, https:, /, # or ?, or is a relative path
    of the site (no scheme, not //host)."""
    view = re.sub(r"[\t\n\r]", "", value).strip("".join(map(chr, range(0x21)))).lower()
    if re.search(r"[\x00-\x1f\x7f]", view):
        return False
    if view.startswith(("http:", "https:")):
        return True
    if view.startswith(("//", "/\\", "\\")):
        return False
    if view.startswith(("/", "#", "?")):
        return True
    return re.match(r"[^:/?#]*(?:[/?#]|$)", view) is not None  # no ":" before any / ? #


def bad_links(html: str) -> list[tuple[str, str, str]]:
    """The URL attributes (and event handlers) of ``html`` that break the rule."""
    links = Links()
    links.feed(html)
    links.close()
    found = [(t, n, v) for t, n, v in links.urls if n.startswith("on") or not allowed(v)]
    found += [("script", "src", s) for s in links.scripts if s == "(inline)" or not allowed(s)]
    return found


def test_the_checker_catches_what_it_must() -> None:
    page = (
        '<a href=" JaVa&#x09;Script:alert(1)">a</a><a href="&#106;avascript:x">b</a>'
        '<link href="data:,"><img src="//evil.example/x"><a href="/ok">c</a>'
        '<a href="#x">d</a><a href="?q=1">e</a><a href="ontology.ttl">f</a>'
        '<a href="https://example.org/">g</a><p onclick="x()">h</p><script>x()</script>'
        '<script type="application/ld+json">{}</script>'
    )
    assert [v for _, _, v in bad_links(page)] == [
        " JaVa\tScript:alert(1)",
        "javascript:x",
        "data:,",
        "//evil.example/x",
        "x()",
        "(inline)",
    ]


#: (generated HTML, the part of the page, what the ``vetted`` filter makes of it).
VETTED = [
    ('<a href=" JaVa&#x09;script:x" class="c">t</a>', "body", '<a class="c">t</a>'),
    ('<a href="&#106;avascript:x">t</a><a href="/ok">o</a>', "body", '<a>t</a><a href="/ok">o</a>'),
    ('<img srcset="/a.png 1x, data:x 2x" alt="">', "body", '<img alt="">'),
    ("<p>a</p><script>alert(1)</script><p>b</p>", "body", "<p>a</p><p>b</p>"),
    ("<p>a</p><script>alert(1)", "body", "<p>a</p>"),  # left open: to the end
    ("<style>p { color: red }</style><p>a</p>", "body", "<p>a</p>"),
    ('<p onclick="x()" style="color: red">a</p>', "body", "<p>a</p>"),
    ('<div style="overflow: auto">d</div>', "body", '<div style="overflow: auto">d</div>'),
    ('<meta http-equiv="refresh" content="0;url=https://e/"><base href="https://e/">', "body", ""),
    (
        '<link rel="icon" href="data:,"><link rel="alternate" href="o.ttl">',
        "head",
        '<link rel="alternate" href="o.ttl">',
    ),  # fmt: skip
    ("<style>p { margin: 0 }</style>", "head", "<style>p { margin: 0 }</style>"),
    (
        '<script type="application/ld+json">{"a": "</script><script>alert(1)</script>"}</script>',
        "head",
        '<script type="application/ld+json">{"a": "</script>"}</script>',
    ),
]


@pytest.mark.parametrize(("html", "part", "expected"), VETTED)
def test_the_vetted_filter_takes_out_what_could_run(html: str, part: str, expected: str) -> None:
    with Flask(__name__).test_request_context():
        assert str(security.vet_html(html, part)) == expected
        assert not bad_links(expected)


def test_the_vetted_filter_allows_what_it_keeps_by_hash() -> None:
    head = "<style>p { margin: 0 }</style>"
    body = '<div style="overflow: auto"><object data="-/docs/classes.svg"></object></div>'
    with Flask(__name__).test_request_context():
        security.vet_html(head, "head")
        security.vet_html(body)
        policy = parse_policy(
            security.content_security_policy(security.PAGE_POLICY, g.get(security._EXTRA))
        )
    assert {
        security._hash_source("p { margin: 0 }"),
        security._hash_source("overflow: auto"),
        "'unsafe-hashes'",
    } <= set(policy["style-src"])
    assert policy["object-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["style-src"]
    # Without the documentation, the page policy is the strict one.
    plain = parse_policy(security.content_security_policy(security.PAGE_POLICY))
    assert plain["object-src"] == ["'none'"] and "'unsafe-hashes'" not in plain["style-src"]


# --------------------------------------------------------------------------- HTTP


def request(
    base: str,
    path: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request (no redirect followed): status, headers, body."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.netloc, timeout=60)
    try:
        connection.request(method, parts.path.rstrip("/") + path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def html_of(base: str, path: str) -> tuple[int, str, str]:
    """A page as a browser asks for it: status, media type, text."""
    status, headers, body = request(base, "/" + path, headers={"Accept": BROWSER})
    return status, headers.get_content_type(), body.decode("utf-8", "replace")


def text_of(html: str) -> str:
    """The page's text (tags dropped, entities decoded)."""
    return unescape(re.sub(r"<[^>]*>", "", html))


@pytest.mark.parametrize("iri", HOSTILE)
def test_a_hostile_class_iri_is_shown_as_text_on_the_class_page(server: Server, iri: str) -> None:
    status, media_type, html = html_of(server.url, "-/instances?class=" + quote(iri, safe=""))
    assert status in (200, 400), status  # 400: not an IRI the endpoint takes
    if media_type == "text/html":
        assert status == 200
        assert not bad_links(html), iri
        assert iri in text_of(html)  # shown, as text
    assert "alert(" not in _hrefs(html)


def test_the_reported_break_is_closed(server: Server) -> None:
    status, _, html = html_of(server.url, "-/instances?class=javascript:alert(document.domain)")
    assert status == 200
    assert 'href="javascript:' not in html.lower()
    assert '<span class="iri-text">javascript:alert(document.domain)</span>' in html


def _hrefs(html: str) -> str:
    links = Links()
    links.feed(html)
    return " ".join(v for _, _, v in links.urls)


# --------------------------------------------------------------------------- hostile data

#: IRIs Oxigraph takes (it refuses controls and spaces in an IRI).
_DATA_IRIS = [
    "javascript:alert(document.domain)",
    "JaVaScRiPt:alert(1)",
    "javascript:alert%281%29",
    "javascript://example.org/%0Aalert(1)",
    "vbscript:msgbox(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "file:///etc/passwd",
    "mailto:someone@example.org",
    "urn:isbn:0451450523",
    "blob:https://example.org/x",
    "https://w3id.org/coopgraph//evil.example/x",
]
#: Only rdflib loads these (written with \\u escapes in the file).
_CONTROL_IRIS = ["java\tscript:alert(1)", " javascript:alert(1)", "\njavascript:alert(1)"]
THING = BASE + "id/hostile/thing"


def _iri(text: str) -> str:
    return "<" + "".join(c if c > " " else f"\\u{ord(c):04X}" for c in text) + ">"


def hostile_trig(controls: bool) -> str:
    """A dataset whose IRIs are hostile wherever a page shows an IRI."""
    objects = _DATA_IRIS + (_CONTROL_IRIS if controls else [])
    values = ",\n      ".join(_iri(o) for o in [*objects, "http://example.org/fine"])
    return f"""@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix ex: <http://example.org/vocab#> .

<{BASE}graph/hostile> {{
  <{THING}> a <javascript:alert(4)>, <{BASE}ontology#Thing> ;
    rdfs:label "<script>alert('label')</script> thing" ;
    ex:see {values} .
  <javascript:alert(2)> ex:points <{THING}> .
  <data:text/html,x> ex:points <{THING}> .
  <javascript:alert(12)> a <javascript:alert(4)> ; rdfs:label "a hostile instance" .
}}
<javascript:alert(3)> {{
  <{THING}> ex:in "a graph with a hostile name" .
}}
<{BASE}ontology> {{
  <{BASE}ontology> a owl:Ontology ;
    rdfs:label "hostile </script><script>alert(10)</script> ontology" ;
    rdfs:seeAlso <javascript:alert(5)> .
  <{BASE}ontology#Thing> a owl:Class ; rdfs:label "thing" ;
    rdfs:seeAlso <javascript:alert(6)>, <data:text/html,x> ;
    rdfs:subClassOf <javascript:alert(7)> ;
    rdfs:comment "<script>alert(8)</script> <style>body {{ outline: 7px dotted red }}</style> \
<p style='color: #123456' onclick='alert(11)'>p</p> <a href='javascript:alert(9)'>x</a> \
<meta http-equiv='refresh' content='0;url=https://evil.example/'>" .
}}
"""


#: The pages that show the hostile IRIs.
HOSTILE_PAGES = [
    "",
    "id/hostile/thing",
    "graph/hostile",
    "ontology",
    "-/instances?class=" + quote("javascript:alert(4)", safe=""),
    "-/instances?class=" + quote(BASE + "ontology#Thing", safe=""),
    "sparql",
]


@pytest.fixture(scope="module", params=["oxigraph", "rdflib"])
def hostile(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A server of the hostile dataset (rdflib: with the IRIs that hold controls)."""
    path = tmp_path_factory.mktemp("hostile") / "hostile.trig"
    path.write_text(hostile_trig(controls=request.param == "rdflib"), encoding="utf-8")
    running = start_server(str(path), "--store", request.param)
    yield running
    running.stop()


@pytest.mark.parametrize("path", HOSTILE_PAGES)
def test_hostile_iris_of_the_data_are_shown_as_text(hostile: Server, path: str) -> None:
    status, media_type, html = html_of(hostile.url, path)
    assert status == 200 and media_type == "text/html", (status, path)
    assert not bad_links(html), path
    assert "alert(" not in _hrefs(html)
    assert "<script>alert" not in html


def test_the_hostile_iris_are_on_the_resource_page_as_text(hostile: Server) -> None:
    _, _, html = html_of(hostile.url, "id/hostile/thing")
    shown = text_of(html)
    for iri in ["javascript:alert(4)", "javascript:alert(3)", "vbscript:msgbox(1)"]:
        assert iri in shown
    assert "<script>alert('label')</script> thing" in shown  # the label, escaped
    assert 'href="http://example.org/fine"' in html  # a web IRI stays a link
    # A coopgraph IRI whose path starts with "/" is not turned into "//evil.example/x".
    assert 'href="https://w3id.org/coopgraph//evil.example/x"' in html


def test_the_documentation_of_a_hostile_ontology_keeps_no_script_or_link(
    hostile: Server,
) -> None:
    status, headers, body = request(hostile.url, "/ontology", headers={"Accept": BROWSER})
    html = body.decode("utf-8")
    assert status == 200
    assert "alert(8)" not in html and "7px dotted" not in html
    assert "alert(11)" not in html and "#123456" not in html
    assert "http-equiv='refresh'" not in html and 'content="0;url' not in html
    assert "<a>javascript:alert(7)</a>" in html  # the superclass, as text
    policy = parse_policy(headers["Content-Security-Policy"])
    assert "'unsafe-inline'" not in policy["style-src"]


# --------------------------------------------------------------------------- the headers


def parse_policy(value: str) -> dict[str, list[str]]:
    """A Content-Security-Policy value: directive -> sources."""
    policy: dict[str, list[str]] = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            assert words[0] not in policy, f"{words[0]} twice"
            policy[words[0]] = words[1:]
    return policy


def check_page_policy(value: str, diagram: bool = False) -> None:
    """The policy of an HTML page."""
    policy = parse_policy(value)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no inline script, no eval, no other host
    assert "'unsafe-inline'" not in policy["style-src"]
    hashes = [s for s in policy["style-src"] if s not in ("'self'", "'unsafe-hashes'")]
    assert all(s.startswith("'sha256-") for s in hashes), policy["style-src"]
    assert policy["img-src"] == ["'self'"]
    # The documentation shows the class diagram, an SVG of this site, in an <object>.
    assert policy["object-src"] == (["'self'"] if diagram else ["'none'"])
    assert policy["base-uri"] == ["'self'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["frame-ancestors"] in (["'none'"], ["'self'"])


def check_other_policy(value: str) -> None:
    """The policy of any other response: nothing loads or runs."""
    policy = parse_policy(value)
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] in (["'none'"], ["'self'"])


def check_common(headers: http.client.HTTPMessage) -> None:
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] in ("strict-origin-when-cross-origin", "no-referrer")
    assert len(headers.get_all("Content-Security-Policy") or []) == 1


_FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": JSON}
#: (method, path, request headers, body, expected status, the page kind or None).
RESPONSES = [
    ("GET", "/", {"Accept": BROWSER}, None, 200, "page"),
    ("GET", "/ontology", {"Accept": BROWSER}, None, 200, "diagram"),
    ("GET", "/ontology/align", {"Accept": BROWSER}, None, 200, "diagram"),
    ("GET", "/-/docs/schemes/crime-areas.html", {}, None, 200, "page"),
    ("GET", "/" + AGREEMENT, {"Accept": BROWSER}, None, 200, "page"),
    ("GET", "/graph/persons", {"Accept": BROWSER}, None, 200, "page"),
    ("GET", "/-/instances?class=" + quote(PERSON, safe=""), {}, None, 200, "page"),
    ("GET", "/sparql", {"Accept": BROWSER}, None, 200, "page"),
    ("GET", "/" + AGREEMENT, {"Accept": "text/turtle"}, None, 200, None),
    ("GET", "/" + AGREEMENT + ".jsonld", {}, None, 200, None),
    ("GET", "/ontology.ttl", {}, None, 200, None),
    ("GET", "/sparql?query=" + quote(LOOKUP), {"Accept": JSON}, None, 200, None),
    ("GET", "/sparql?query=" + quote(LOOKUP), {"Accept": "text/csv"}, None, 200, None),
    ("POST", "/sparql", _FORM, b"query=" + quote(LOOKUP).encode(), 200, None),
    (
        "POST",
        "/sparql",
        {"Content-Type": "application/sparql-query", "Accept": "application/sparql-results+xml"},
        LOOKUP.encode(),
        200,
        None,
    ),
    ("GET", "/sparql?format=ttl", {}, None, 200, None),  # the service description
    ("GET", "/sparql?query=SELEC", {"Accept": JSON}, None, 400, None),
    ("GET", "/-/instances", {"Accept": BROWSER}, None, 400, None),
    ("GET", "/id/nothing/here", {"Accept": BROWSER}, None, 404, None),
    ("GET", "/no/such/page", {"Accept": BROWSER}, None, 404, None),
    ("DELETE", "/sparql", {}, None, 405, None),
    ("GET", "/sparql?query=" + quote(LOOKUP), {"Accept": "image/png"}, None, 406, None),
    ("OPTIONS", "/sparql", {}, None, 200, "page"),  # Flask's, empty, typed text/html
    ("HEAD", "/", {"Accept": BROWSER}, None, 200, "page"),
    ("GET", "/-/static/coopgraph.css", {}, None, 200, None),
    ("GET", "/-/static/ontology.css", {}, None, 200, None),
    ("GET", "/-/static/editor.js", {}, None, 200, None),
    ("GET", "/-/static/favicon.svg", {}, None, 200, None),
    ("GET", "/-/yasgui/yasgui.min.js", {}, None, 200, None),
    ("GET", "/-/docs/classes.svg", {}, None, 200, None),
    *(("GET", f"/dumps/{name}", {}, None, 200, None) for name in DUMPS),
    ("GET", "/.well-known/void", {}, None, 200, None),
    ("GET", "/health", {}, None, 200, None),
]


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "kind"),
    RESPONSES,
    ids=[f"{r[0]} {r[1][:50]} {r[2].get('Accept', '')[:12]}" for r in RESPONSES],
)
def test_every_response_carries_the_security_headers(
    server: Server,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None,
    status: int,
    kind: str | None,
) -> None:
    got, sent, _ = request(server.url, path, method, headers, body)
    assert got == status, (method, path)
    check_common(sent)
    is_html = sent.get_content_type() == "text/html"
    assert is_html == (kind is not None), sent.get_content_type()
    if kind is None:
        check_other_policy(sent["Content-Security-Policy"])
    else:
        check_page_policy(sent["Content-Security-Policy"], diagram=kind == "diagram")


@pytest.mark.parametrize("path", ["/", "/ontology", "/" + AGREEMENT])
def test_a_304_carries_the_page_policy(server: Server, path: str) -> None:
    """A browser replaces the stored headers by those of a 304: it must send the same."""
    status, first, _ = request(server.url, path, headers={"Accept": BROWSER})
    assert status == 200
    again = {"Accept": BROWSER, "If-None-Match": first["ETag"]}
    status, sent, _ = request(server.url, path, headers=again)
    assert status == 304
    check_common(sent)
    assert sent["Content-Security-Policy"] == first["Content-Security-Policy"]


# --------------------------------------------------------------------------- replayed


@pytest.fixture
def engine() -> Engine:
    return open_engine("oxigraph", project_sources(ROOT), ROOT)


def test_a_replayed_query_answer_still_carries_the_headers(engine: Engine) -> None:
    app = create_app(engine, {}, start_pool=False)
    middleware = app.wsgi_app
    assert isinstance(middleware, replay.Replay)
    reached: list[str] = []
    inner = middleware.app

    def counting(environ: dict[str, Any], start_response: Callable) -> Iterator[bytes]:
        reached.append(environ.get("QUERY_STRING", ""))
        return inner(environ, start_response)

    middleware.app = counting
    client = app.test_client()
    answers = [
        client.get("/sparql", query_string={"query": LOOKUP}, headers={"Accept": JSON})
        for _ in range(3)
    ]
    assert len(reached) == 1  # the second and third were replayed, without the app
    for answer in answers:
        assert answer.status_code == 200
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == security.REFERRER_POLICY
        check_other_policy(answer.headers["Content-Security-Policy"])
    assert dict(answers[2].headers) == dict(answers[0].headers)


# --------------------------------------------------------------------------- in Chromium

#: Records every CSP violation of the page (also logged to the console, but kept here with
#: its directive and sample).
_WATCH = """window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(
  `${e.effectiveDirective} blocked ${e.blockedURI} ${e.sample}`
  + ` at ${e.sourceFile}:${e.lineNumber}`));
"""


class Tab:
    """A Chromium tab and what it complained about, asked for, or tried to show."""

    def __init__(self, context: Any, base: str) -> None:
        self.page = context.new_page()
        self.base = base
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.add_init_script(_WATCH)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", self._dialog)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"{message.text} at {message.location}")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, path: str) -> None:
        response = self.page.goto(self.base + path)
        assert response is not None and response.status == 200, path
        self.page.wait_for_load_state("load")

    def check(self, where: str) -> None:
        violations = self.page.evaluate("window.__violations")
        assert not violations, f"{where}: CSP violations {violations}"
        assert not self.errors, f"{where}: console errors {self.errors}"
        assert not self.dialogs, f"{where}: dialogs {self.dialogs}"
        outside = [u for u in self.requests if not u.startswith(self.base)]
        assert not outside, f"{where}: requests that left the server: {outside}"


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run browser tests")
    with chromium_context(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.mark.parametrize(
    "path",
    ["", AGREEMENT, "graph/persons", "-/instances?class=" + quote(PERSON, safe="")],
)
def test_the_pages_run_under_the_policy_in_chromium(
    chromium: Any, server: Server, path: str
) -> None:
    tab = Tab(chromium, server.url)
    try:
        tab.open(path)
        assert tab.page.locator("h1").count() == 1
        tab.check(path or "/")
    finally:
        tab.page.close()


@pytest.mark.parametrize("path", ["ontology", "ontology/align", "-/docs/schemes/crime-areas.html"])
def test_the_documentation_and_its_diagram_run_under_the_policy_in_chromium(
    chromium: Any, server: Server, path: str
) -> None:
    tab = Tab(chromium, server.url)
    try:
        tab.open(path)
        if path == "ontology":
            # pyLODE's style sheet applies (its table of contents is fixed on the right) ...
            position = tab.page.evaluate(
                "getComputedStyle(document.getElementById('toc')).position"
            )
            assert position == "fixed"
            # ... and the class diagram, an SVG document in an <object>, is shown.
            tab.page.wait_for_function(
                "() => { const o = document.querySelector('#diagram object');"
                " return o && o.contentDocument && o.contentDocument.querySelector('svg'); }"
            )
            overflow = tab.page.evaluate(
                "getComputedStyle(document.querySelector('#diagram .diagram')).overflow"
            )
            assert overflow == "auto"  # the style attribute allowed by its hash
        tab.check(path)
    finally:
        tab.page.close()


def test_the_query_editor_runs_under_the_policy_in_chromium(chromium: Any, server: Server) -> None:
    tab = Tab(chromium, server.url)
    page = tab.page
    try:
        tab.open("sparql")
        page.wait_for_selector("#yasgui .yasqe .CodeMirror")
        with page.expect_response(
            lambda r: r.url.endswith("/sparql") and r.request.method == "POST"
        ):
            page.locator("a.example").first.click()
        page.wait_for_selector(".yasr table.dataTable tbody tr")
        # YASR's column resizer adds its style sheets (allowed by hash): one with the table,
        # one while a column is dragged.
        grip = page.locator(".grip-handle .grip-resizable").first
        grip.scroll_into_view_if_needed()
        box = grip.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + 5, box["y"] + 5)
        page.mouse.down()
        page.mouse.move(box["x"] + 60, box["y"] + 5, steps=5)
        sheets = page.evaluate(
            "Array.from(document.querySelectorAll('style')).map((s) => s.textContent)"
        )
        page.mouse.up()
        assert set(security.YASGUI_STYLE_SHEETS) <= set(sheets)
        tab.check("sparql")
    finally:
        page.close()


@pytest.mark.parametrize("path", HOSTILE_PAGES)
def test_the_hostile_pages_run_nothing_in_chromium(
    chromium: Any, hostile: Server, path: str
) -> None:
    tab = Tab(chromium, hostile.url)
    try:
        tab.open(path)
        # Every link the browser sees (resolved against the page) goes to a web address.
        hrefs = tab.page.evaluate(
            "Array.from(document.querySelectorAll('main a[href]')).map((a) => a.href)"
        )
        assert not [h for h in hrefs if not h.startswith(("http://", "https://"))]
        tab.check(path or "/")
    finally:
        tab.page.close()
