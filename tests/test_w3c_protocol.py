"""The W3C SPARQL 1.1 Protocol test suite, run against a real `coopgraph serve`.

The suite (``../shared/w3c/sparql11-protocol/`` beside the checkout) is machine-readable:
each ``mf:ProtocolTest`` lists the HTTP requests to send, in order, and what each response
must be (status class, result format, ASK answer). This module reads the manifest, builds
the dataset the suite expects, sends every request exactly as the manifest describes it (a
raw http.client connection, so that nothing is added but Host and Content-Length), and
checks every response.

The manifest's paths all start with ``/sparql/``; queries go to ``/sparql`` and updates to
``/update`` (with the update token), as the manifest allows. Tests that send an update get a
server of their own, since updates change the data; the others share one.
"""

from __future__ import annotations

import csv
import http.client
import io
import json
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qsl, urlsplit

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, RDFS

from tests.support import ROOT, Server, start_server

pytestmark = pytest.mark.slow  # a real server on 127.0.0.1

SUITE = ROOT.parent / "shared" / "w3c" / "sparql11-protocol"
MANIFEST = SUITE / "manifest.ttl"

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
HTS = Namespace("http://www.w3.org/2011/http-statusCodes#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")

#: The graph the query tests name in default-graph-uri without giving it data.
DATA0 = "http://kasei.us/2009/09/sparql/data/data0.rdf"

TOKEN = secrets.token_urlsafe(16)

SPARQL_UPDATE = "application/sparql-update"
FORM = "application/x-www-form-urlencoded"

#: The first keyword of an update operation (after the prologue).
UPDATE_KEYWORDS = {
    "INSERT",
    "DELETE",
    "LOAD",
    "CLEAR",
    "CREATE",
    "DROP",
    "COPY",
    "MOVE",
    "ADD",
    "WITH",
}

RESULTS_NS = "{http://www.w3.org/2005/sparql-results#}"
JSON_RESULTS = {"application/sparql-results+json", "application/json"}
XML_RESULTS = {"application/sparql-results+xml", "application/xml", "text/xml"}
CSV_RESULTS = {"text/csv"}
TSV_RESULTS = {"text/tab-separated-values"}
#: rdflib's parser for each RDF media type.
RDF_FORMATS = {
    "text/turtle": "turtle",
    "application/x-turtle": "turtle",
    "application/rdf+xml": "xml",
    "application/n-triples": "nt",
    "text/plain": "nt",
    "text/n3": "n3",
    "application/ld+json": "json-ld",
    "application/n-quads": "nquads",
    "application/trig": "trig",
}


# --------------------------------------------------------------------------- the manifest


@dataclass(frozen=True)
class Expected:
    """What a response must be: ``statuses`` are "2xx"-style classes or exact codes."""

    statuses: tuple[str, ...]
    fmt: str | None
    boolean: bool | None


@dataclass(frozen=True)
class Exchange:
    """One request of a test, as the manifest describes it, and its expected response."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    expected: Expected

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def mimetype(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    @property
    def is_update(self) -> bool:
        """An update request: Content-Type application/sparql-update, a parameter named
        ``update`` (in the URL or a form-like body, whatever its Content-Type), or a body
        whose first keyword after the prologue starts an update operation."""
        if self.mimetype == SPARQL_UPDATE:
            return True
        if any(k == "update" for k, _ in parse_qsl(urlsplit(self.path).query)):
            return True
        if self.body is None:
            return False
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            return False
        if any(k == "update" for k, _ in parse_qsl(text)):
            return True
        return _first_keyword(text) in UPDATE_KEYWORDS

    def target(self, endpoint: str) -> str:
        """The manifest's path with ``/sparql/`` replaced by ``endpoint`` ("/sparql")."""
        path = self.path
        assert path.startswith("/sparql/"), f"unexpected absolutePath {path!r}"
        rest = path[len("/sparql/") :]
        return endpoint + rest if rest.startswith("?") or not rest else endpoint + "/" + rest

    def describe(self, path: str) -> str:
        shown = self.body.decode("latin-1")[:200] if self.body is not None else None
        headers = ", ".join(f"{k}: {v}" for k, v in self.headers) or "none"
        return f"{self.method} {path} (headers: {headers}; body: {shown!r})"


@dataclass(frozen=True)
class ProtocolTest:
    name: str
    title: str
    exchanges: tuple[Exchange, ...]
    #: (graph name, N-Triples file) pairs the endpoint must hold.
    graph_data: tuple[tuple[str, Path], ...]

    @property
    def updates(self) -> bool:
        return any(e.is_update for e in self.exchanges)


def _first_keyword(text: str) -> str:
    """The first keyword of a query or update, past PREFIX and BASE declarations."""
    words = text.split()
    i = 0
    while i < len(words):
        word = words[i].upper()
        if word == "PREFIX":
            i += 3
        elif word == "BASE":
            i += 2
        else:
            return word.split("{")[0]
    return ""


def _local(node: URIRef) -> str:
    return str(node).rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _suite_file(node: URIRef) -> Path:
    return SUITE / PurePosixPath(urlsplit(str(node)).path).name


def _status(node: URIRef) -> str:
    name = _local(node)
    assert name.startswith("StatusCode"), f"unexpected status {node}"
    return name[len("StatusCode") :]


def _body(g: Graph, request: URIRef) -> bytes | None:
    content = g.value(request, HT.body)
    if content is None:
        return None
    chars = g.value(content, CNT.chars)
    encoding = str(g.value(content, CNT.characterEncoding) or "UTF-8")
    assert chars is not None, "a body without cnt:chars"
    return str(chars).encode(encoding)


def _exchange(g: Graph, request: URIRef) -> Exchange:
    headers = g.value(request, HT.headers)
    pairs = tuple(
        (str(g.value(h, HT.fieldName)), str(g.value(h, HT.fieldValue)))
        for h in (Collection(g, headers) if headers is not None else [])
    )
    resp = g.value(request, HT.resp)
    fmt = g.value(resp, MF.expectedFormat)
    boolean = g.value(resp, MF.expectedBoolean)
    expected = Expected(
        statuses=tuple(sorted(_status(s) for s in g.objects(resp, MF.expectedStatus))),
        fmt=str(fmt) if fmt is not None else None,
        boolean=boolean.toPython() if isinstance(boolean, Literal) else None,
    )
    return Exchange(
        method=str(g.value(request, HT.methodName)),
        path=str(g.value(request, HT.absolutePath)),
        headers=pairs,
        body=_body(g, request),
        expected=expected,
    )


def read_manifest() -> list[ProtocolTest]:
    """The manifest's tests, in mf:entries order."""
    g = Graph().parse(MANIFEST, format="turtle", publicID=MANIFEST.as_uri())
    manifest = next(g.subjects(RDF.type, MF.Manifest))
    tests = []
    for entry in Collection(g, g.value(manifest, MF.entries)):
        assert (entry, RDF.type, MF.ProtocolTest) in g, f"{entry} is not an mf:ProtocolTest"
        action = g.value(entry, MF.action)
        exchanges = tuple(_exchange(g, r) for r in Collection(g, g.value(action, HT.requests)))
        graph_data = tuple(
            sorted(
                (str(g.value(d, RDFS.label)), _suite_file(g.value(d, UT.graph)))
                for d in g.objects(entry, UT.graphData)
            )
        )
        tests.append(
            ProtocolTest(_local(entry), str(g.value(entry, MF.name)), exchanges, graph_data)
        )
    return tests


TESTS = read_manifest() if MANIFEST.is_file() else []


# --------------------------------------------------------------------------- the dataset


def dataset_graphs() -> dict[str, str]:
    """The named graphs the suite expects, as N-Triples text by graph name: every
    ut:graphData of the manifest (data1.rdf ... data3.rdf, from the suite's .nt files) and
    data0.rdf."""
    graphs: dict[str, str] = {}
    for test in TESTS:
        for name, path in test.graph_data:
            graphs[name] = path.read_text(encoding="utf-8")
    # data0.rdf is named by the query tests (default-graph-uri) but has no file in the
    # suite: it gets one triple of the same shape as data1-3 hold, <data0.rdf> a foaf:Document.
    graphs.setdefault(DATA0, f"<{DATA0}> <{RDF.type}> <{FOAF.Document}> .\n")
    return graphs


def dataset_trig() -> str:
    """:func:`dataset_graphs` as one TriG document."""
    graphs = dataset_graphs()
    return "".join(f"<{name}> {{\n{triples}}}\n\n" for name, triples in sorted(graphs.items()))


@pytest.fixture(scope="module")
def trig(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("w3c-protocol") / "dataset.trig"
    path.write_text(dataset_trig(), encoding="utf-8")
    return path


#: The servers the suite runs against: the development server on Oxigraph, the production
#: one (granian and coopgraph's front), and the development server on rdflib.
SETUPS = {
    "development": (),
    "production": ("--production", "--workers", "1"),
    "rdflib": ("--store", "rdflib"),
}


def serve(trig: Path, setup: str) -> Server:
    return start_server(str(trig), *SETUPS[setup], env={"COOPGRAPH_UPDATE_TOKEN": TOKEN})


@pytest.fixture(scope="module", params=list(SETUPS))
def setup(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def shared_server(trig: Path, setup: str) -> Iterator[Server]:
    """The server of the tests that only query."""
    running = serve(trig, setup)
    yield running
    running.stop()


# --------------------------------------------------------------------------- HTTP


@dataclass(frozen=True)
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def mimetype(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    @property
    def charset(self) -> str:
        return self.headers.get_content_charset() or "utf-8"

    def text(self) -> str:
        return self.body.decode(self.charset, errors="replace")

    def shown(self) -> str:
        return (
            f"status {self.status}, Content-Type {self.headers.get('Content-Type')!r}, "
            f"body {self.text()[:300]!r}"
        )


def send(
    server: Server,
    method: str,
    path: str,
    headers: tuple[tuple[str, str], ...],
    body: bytes | None,
) -> Reply:
    """Send one request as given: http.client adds Host (and Content-Length) and nothing
    else (no Accept-Encoding, no Content-Type)."""
    url = urlsplit(server.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        elif method.upper() in ("POST", "PUT", "PATCH"):
            connection.putheader("Content-Length", "0")
        connection.endheaders(body)
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def status_matches(status: int, expected: tuple[str, ...]) -> bool:
    for wanted in expected:
        if wanted.endswith("xx"):
            if str(status)[0] == wanted[0]:
                return True
        elif str(status) == wanted:
            return True
    return False


# --------------------------------------------------------------------------- result formats


def boolean_of(reply: Reply) -> bool:
    """The boolean of a SPARQL results document (JSON or XML); fails for anything else."""
    mime = reply.mimetype
    if mime in JSON_RESULTS:
        document = json.loads(reply.text())
        assert isinstance(document, dict) and "boolean" in document, "no 'boolean' member"
        assert isinstance(document["boolean"], bool), "'boolean' is not true or false"
        return document["boolean"]
    if mime in XML_RESULTS:
        root = ET.fromstring(reply.body)
        assert root.tag == RESULTS_NS + "sparql", f"root element {root.tag}"
        element = root.find(RESULTS_NS + "boolean")
        assert element is not None, "no <boolean> element"
        value = (element.text or "").strip()
        assert value in ("true", "false"), f"<boolean> holds {value!r}"
        return value == "true"
    raise AssertionError(f"{mime or 'no Content-Type'} is not a SPARQL boolean result type")


def check_tabular(reply: Reply) -> None:
    """A SPARQL results document with variables and solutions (JSON, XML, CSV or TSV)."""
    mime = reply.mimetype
    if mime in JSON_RESULTS:
        document = json.loads(reply.text())
        assert isinstance(document.get("head", {}).get("vars"), list), "no head.vars"
        assert isinstance(document.get("results", {}).get("bindings"), list), "no bindings"
    elif mime in XML_RESULTS:
        root = ET.fromstring(reply.body)
        assert root.tag == RESULTS_NS + "sparql", f"root element {root.tag}"
        assert root.find(RESULTS_NS + "head") is not None, "no <head>"
        assert root.find(RESULTS_NS + "results") is not None, "no <results>"
    elif mime in CSV_RESULTS or mime in TSV_RESULTS:
        delimiter = "," if mime in CSV_RESULTS else "\t"
        rows = list(csv.reader(io.StringIO(reply.text()), delimiter=delimiter))
        assert rows and all(rows[0]), "no header row of variable names"
        if mime in TSV_RESULTS:
            assert all(v.startswith("?") for v in rows[0]), "TSV variables lack their '?'"
        assert all(len(row) == len(rows[0]) for row in rows[1:]), "ragged rows"
    else:
        raise AssertionError(f"{mime or 'no Content-Type'} is not a SPARQL tabular result type")


def check_rdf(reply: Reply) -> None:
    """An RDF document that rdflib parses as its Content-Type says."""
    fmt = RDF_FORMATS.get(reply.mimetype)
    assert fmt is not None, f"{reply.mimetype or 'no Content-Type'} is not an RDF media type"
    Graph().parse(data=reply.body, format=fmt)


def check_reply(reply: Reply, expected: Expected, request: str) -> None:
    where = f"{request}\n  -> {reply.shown()}"
    assert status_matches(reply.status, expected.statuses), (
        f"expected status {' or '.join(expected.statuses)}:\n  {where}"
    )
    try:
        if expected.fmt == "boolean":
            value = boolean_of(reply)
            if expected.boolean is not None:
                assert value is expected.boolean, f"the answer is {value}"
        elif expected.fmt == "tabular":
            check_tabular(reply)
        elif expected.fmt == "RDF":
            check_rdf(reply)
        else:
            assert expected.fmt is None, f"unknown expected format {expected.fmt!r}"
    except Exception as err:  # a parse error is a wrong format, reported with the reply
        want = f"format {expected.fmt!r}" + (
            f" answering {str(expected.boolean).lower()}" if expected.boolean is not None else ""
        )
        raise AssertionError(f"expected {want}: {err}\n  {where}") from None


# --------------------------------------------------------------------------- the tests


def run_exchange(server: Server, exchange: Exchange) -> None:
    update = exchange.is_update
    path = exchange.target("/update" if update else "/sparql")
    headers = exchange.headers
    if update:
        headers = (*headers, ("Authorization", f"Bearer {TOKEN}"))
    reply = send(server, exchange.method, path, headers, exchange.body)
    # A redirect the suite allows (3xx) is followed, by GET, for the format checks.
    hops = 0
    while 300 <= reply.status < 400 and reply.status != 304 and exchange.expected.fmt:
        location = reply.headers.get("Location")
        assert location and hops < 5, f"a redirect without (or in a loop of) Location: {reply}"
        hops += 1
        target = urlsplit(location)
        path = target.path + (f"?{target.query}" if target.query else "")
        reply = send(server, "GET", path, (), None)
    check_reply(reply, exchange.expected, exchange.describe(path))
    if update and exchange.method == "GET":
        # An update by GET (bad_update_get) must be refused by the query endpoint too.
        path = exchange.target("/sparql")
        reply = send(server, exchange.method, path, exchange.headers, exchange.body)
        check_reply(reply, exchange.expected, exchange.describe(path))


def ask(server: Server, query: str) -> tuple[Reply, bool | None]:
    body = query.encode("utf-8")
    headers = (
        ("Content-Type", "application/sparql-query"),
        ("Accept", "application/sparql-results+json"),
    )
    reply = send(server, "POST", "/sparql", headers, body)
    try:
        return reply, boolean_of(reply) if reply.status == 200 else None
    except (AssertionError, ValueError):
        return reply, None


def graph_holds(server: Server, name: str, triples: str, when: str) -> None:
    """The endpoint holds ``triples`` (N-Triples) in graph ``name``."""
    reply, answer = ask(server, f"ASK {{ GRAPH <{name}> {{ {triples} }} }}")
    assert answer is True, f"{when}, the dataset does not hold <{name}>: {reply.shown()}"


@pytest.mark.parametrize("test", TESTS or [None], ids=[t.name for t in TESTS] or ["manifest"])
def test_protocol(test: ProtocolTest | None, trig: Path, setup: str, request) -> None:
    assert test is not None, f"the W3C suite is missing: no {MANIFEST}"
    if test.updates:
        server = serve(trig, setup)
        request.addfinalizer(server.stop)
    else:
        server = request.getfixturevalue("shared_server")
    for name, path in test.graph_data:  # ut:graphData
        graph_holds(server, name, path.read_text(encoding="utf-8"), "before the test")
    for exchange in test.exchanges:
        run_exchange(server, exchange)
    if test.updates and not any(status_matches(200, e.expected.statuses) for e in test.exchanges):
        # Every update was to be refused: the data must be as it was.
        for name, triples in dataset_graphs().items():
            graph_holds(server, name, triples, "after the refused updates")
