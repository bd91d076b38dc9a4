"""The endpoint is safe to put on the internet: it never reaches out, stops runaway queries,
caps what it reads and writes, and tells caches and browsers what they need.

Every check runs against a real `coopgraph serve` on 127.0.0.1.
"""

from __future__ import annotations

import gzip
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyoxigraph as ox
import pytest
import requests
from rdflib import Graph, URIRef
from rdflib.namespace import Namespace

from tests.support import ROOT, Listener, Server, start_engine_server, start_server

pytestmark = pytest.mark.slow  # real servers on 127.0.0.1

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
VOID = Namespace("http://rdfs.org/ns/void#")
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i FILTER(STR(?c) != STR(?i)) }"
JSON = "application/sparql-results+json"


def ask(
    server: Server, query: str, accept: str = JSON, headers: dict[str, str] | None = None
) -> requests.Response:
    return requests.get(
        server.url + "sparql",
        params={"query": query},
        headers={"Accept": accept, **(headers or {})},
        timeout=60,
    )


def count(server: Server) -> int:
    response = ask(server, COUNT)
    assert response.status_code == 200, response.text
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


# --------------------------------------------------------------------------- reaching out


class Fifo:
    """A named pipe that records whether any process opened it for reading."""

    def __init__(self, path: Path) -> None:
        self.path = path
        os.mkfifo(path)
        self.opened = False
        self.running = True
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while self.running:
            try:  # succeeds only while a reader has the pipe open
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:
                time.sleep(0.005)
                continue
            self.opened = True
            os.close(fd)

    def close(self) -> None:
        self.running = False
        self.thread.join(2)


@pytest.fixture(scope="module", params=["oxigraph", "rdflib", "remote"])
def any_engine(request) -> Iterator[Server]:
    running = start_engine_server(request.param)
    yield running
    running.stop()


def reaching_out(iri: str) -> list[str]:
    return [
        f"SELECT * WHERE {{ SERVICE <{iri}> {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ ?x ?y ?z . SERVICE SILENT <{iri}> {{ ?s ?p ?o }} }}",
        f"SELECT * FROM <{iri}> WHERE {{ ?s ?p ?o }}",
        f"SELECT * FROM NAMED <{iri}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
    ]


def test_service_load_and_from_never_reach_the_network(any_engine: Server) -> None:
    listener = Listener()
    target = f"http://127.0.0.1:{listener.port}/sparql"
    try:
        for query in reaching_out(target)[:4]:
            response = ask(any_engine, query)
            assert response.status_code == 400, (query, response.text)
            assert "SERVICE" in response.text or "not a graph of this dataset" in response.text
        response = requests.get(
            any_engine.url + "sparql",
            params={"query": "ASK { ?s ?p ?o }", "default-graph-uri": target},
            timeout=30,
        )
        assert response.status_code == 400
        response = requests.post(
            any_engine.url + "sparql",
            data={"query": f"SELECT * WHERE {{ ?s ?p ?o }} LIMIT 1 #\nLOAD <{target}>"},
            timeout=30,
        )
        assert response.status_code == 400
        time.sleep(0.5)
    finally:
        listener.close()
    assert listener.connections == 0, "the server connected to the listener"


def test_service_load_and_from_never_read_a_file(any_engine: Server, tmp_path: Path) -> None:
    fifo = Fifo(tmp_path / "pipe.ttl")
    target = fifo.path.as_uri()
    try:
        for query in reaching_out(target)[:4]:
            assert ask(any_engine, query).status_code == 400, query
        time.sleep(0.5)
    finally:
        fifo.close()
    assert not fifo.opened, "the server opened the file"


def test_a_graph_of_the_dataset_may_be_named_in_from(any_engine: Server) -> None:
    graph = "https://w3id.org/coopgraph/graph/persons"
    response = ask(any_engine, f"SELECT (COUNT(*) AS ?n) FROM <{graph}> WHERE {{ ?s ?p ?o }}")
    assert response.status_code == 200
    assert int(response.json()["results"]["bindings"][0]["n"]["value"]) == 20


# --------------------------------------------------------------------------- the deadline


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


@pytest.fixture(scope="module", params=["oxigraph", "rdflib", "remote"])
def strict(request) -> Iterator[Server]:
    """A server with a 2 s deadline, a row cap of 5 and one query worker."""
    running = start_engine_server(
        request.param,
        env={
            "COOPGRAPH_QUERY_TIMEOUT": "2",
            "COOPGRAPH_ROW_CAP": "5",
            "COOPGRAPH_MAX_REQUEST_BYTES": "20000",
            "COOPGRAPH_CACHE_MB": "0",
        },
    )
    yield running
    running.stop()


def test_a_runaway_query_is_stopped_and_the_server_keeps_answering(strict: Server) -> None:
    before = set(strict.child_pids())
    answers: list[float] = []

    def meanwhile() -> None:
        time.sleep(0.5)
        for _ in range(3):
            started = time.monotonic()
            assert ask(strict, "ASK { ?s ?p ?o }").status_code == 200
            answers.append(time.monotonic() - started)

    side = threading.Thread(target=meanwhile)
    side.start()
    started = time.monotonic()
    response = ask(strict, SLOW)
    took = time.monotonic() - started
    side.join()
    assert response.status_code == 503
    assert "stopped after 2 s" in response.text
    assert 1.5 < took < 6, took
    assert answers and max(answers) < 2, "other queries were answered during it"
    time.sleep(0.5)
    pids = [strict.process.pid, *strict.child_pids()]
    used = cpu_seconds(pids)
    time.sleep(1.0)
    assert cpu_seconds(pids) - used < 0.3, "something still burns CPU"
    assert set(strict.child_pids()) != before, "the worker that ran it was replaced"
    assert count(strict) > 2000


def test_the_row_cap_cuts_and_says_so(strict: Server) -> None:
    response = ask(strict, "SELECT * WHERE { ?s ?p ?o }")
    assert response.status_code == 200
    assert len(response.json()["results"]["bindings"]) == 5
    assert response.headers["Coopgraph-Truncated"].startswith("true")
    assert "row cap" in response.headers["Warning"]
    small = ask(strict, "SELECT * WHERE { ?s ?p ?o } LIMIT 3")
    assert len(small.json()["results"]["bindings"]) == 3
    assert "Coopgraph-Truncated" not in small.headers


@pytest.mark.parametrize("form", ["SELECT ?p ?o WHERE", "# cap me\nSELECT * WHERE"])
def test_the_row_cap_cuts_a_lookup_answered_in_the_web_process(strict: Server, form: str) -> None:
    """A lookup is answered without a query worker, with a LIMIT the endpoint adds: it is
    cut at the cap all the same, says so, and a lookup under the cap is whole."""
    interpol = "https://w3id.org/coopgraph/id/org/interpol"
    response = ask(strict, f"{form} {{ <{interpol}> ?p ?o }} # no LIMIT here")
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["results"]["bindings"]) == 5
    assert body["head"]["link"] == [strict.url + "#limits"]
    assert response.headers["Coopgraph-Results"] == "5"
    assert response.headers["Coopgraph-Truncated"].startswith("true")
    few = ask(strict, f"{form} {{ <{interpol}> <http://www.w3.org/2000/01/rdf-schema#label> ?o }}")
    assert few.status_code == 200 and "Coopgraph-Truncated" not in few.headers
    assert 0 < len(few.json()["results"]["bindings"]) < 5
    assert "link" not in few.json()["head"]


def test_oversized_requests_are_refused(strict: Server) -> None:
    padding = "#" + "x" * 30000 + "\n"
    response = requests.post(
        strict.url + "sparql",
        data=(padding + "ASK {}").encode(),
        headers={"Content-Type": "application/sparql-query"},
        timeout=30,
    )
    assert response.status_code == 413
    response = ask(strict, padding + "ASK {}")
    assert response.status_code in (413, 414)
    assert count(strict) > 2000


def test_beyond_the_concurrency_cap_the_answer_is_503_with_retry_after() -> None:
    busy = start_server(
        "--store",
        "oxigraph",
        env={
            "COOPGRAPH_QUERY_TIMEOUT": "3",
            "COOPGRAPH_QUERY_WORKERS": "1",
            "COOPGRAPH_MAX_WAITING": "1",
            "COOPGRAPH_QUEUE_TIMEOUT": "0.5",
            "COOPGRAPH_CACHE_MB": "0",
        },
    )
    try:
        with ThreadPoolExecutor(6) as pool:
            replies = list(pool.map(lambda i: ask(busy, SLOW + f" # {i}"), range(6)))
        refused = [r for r in replies if r.status_code == 503 and "busy" in r.text]
        assert refused, [r.status_code for r in replies]
        assert all(r.headers.get("Retry-After") for r in refused)
        assert count(busy) > 2000
    finally:
        busy.stop()


def test_a_lookup_too_runs_in_a_query_worker() -> None:
    """Every query, a lookup of one node's statements (or of a blank node's) included, runs
    in a query worker under the deadline and the memory limit: while the only worker runs a
    slow query and the queue is full, a lookup is told the endpoint is busy (it is not
    answered by the web process outside the limits), and it is answered once the worker is
    free."""
    busy = start_server(
        "--store",
        "oxigraph",
        env={
            "COOPGRAPH_QUERY_TIMEOUT": "3",
            "COOPGRAPH_QUERY_WORKERS": "1",
            "COOPGRAPH_MAX_WAITING": "0",
            "COOPGRAPH_QUEUE_TIMEOUT": "0.2",
            "COOPGRAPH_CACHE_MB": "0",
        },
    )
    interpol = "https://w3id.org/coopgraph/id/org/interpol"
    lookup = f"SELECT ?p ?o WHERE {{ <{interpol}> ?p ?o }}"
    try:
        with ThreadPoolExecutor(1) as pool:
            slow = pool.submit(ask, busy, SLOW)
            time.sleep(1.0)
            # Lookups of every shape: of an IRI, and of a blank node (a scan of every
            # triple), written as a label or as [].
            shapes = (lookup, "SELECT DISTINCT ?p WHERE { _:x ?p ?o }", "SELECT * { [] ?p ?o }")
            during = [ask(busy, query) for query in shapes]
            assert slow.result().status_code == 503
        after = ask(busy, lookup)
        for query, response in zip(shapes, during, strict=True):
            assert response.status_code == 503 and "busy" in response.text, query
        assert after.status_code == 200, after.text
        assert len(after.json()["results"]["bindings"]) > 5
    finally:
        busy.stop()


# --------------------------------------------------------------------------- HTTP niceties


def test_large_responses_are_gzipped(server: Server) -> None:
    raw = requests.get(
        server.url + "dumps/coopgraph.nt", headers={"Accept-Encoding": "identity"}, timeout=30
    )
    response = requests.get(
        server.url + "dumps/coopgraph.nt",
        headers={"Accept-Encoding": "gzip"},
        stream=True,
        timeout=30,
    )
    assert response.headers.get("Content-Encoding") == "gzip"
    assert gzip.decompress(response.raw.read()) == raw.content


def test_etag_and_last_modified_give_304(server: Server) -> None:
    for path in ("sparql?query=ASK%7B%7D", "dumps/coopgraph.ttl", "id/org/interpol"):
        first = requests.get(server.url + path, headers={"Accept": "text/turtle, */*"}, timeout=30)
        assert first.status_code == 200
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        again = requests.get(
            server.url + path,
            headers={"Accept": "text/turtle, */*", "If-None-Match": etag},
            timeout=30,
        )
        assert again.status_code == 304 and again.content == b"", path
        since = requests.get(
            server.url + path,
            headers={"Accept": "text/turtle, */*", "If-Modified-Since": modified},
            timeout=30,
        )
        assert since.status_code == 304, path
    other = ask(server, "ASK { ?s ?p ?o }")
    assert other.headers["ETag"] != ask(server, "ASK {}").headers["ETag"]


def test_browsers_may_query_from_other_origins(server: Server) -> None:
    preflight = requests.options(
        server.url + "sparql",
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=30,
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] in ("*", "https://example.org")
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "content-type" in preflight.headers["Access-Control-Allow-Headers"].lower()
    response = ask(server, "ASK {}", headers={"Origin": "https://example.org"})
    assert response.headers["Access-Control-Allow-Origin"] in ("*", "https://example.org")


def test_health_counts_the_triples(server: Server, served) -> None:
    """The triples served: the asserted ones and the inferred ones."""
    health = requests.get(server.url + "health", timeout=30).json()
    assert health["status"] == "ok"
    assert health["triples"] == len(served.merged(include_inferred=True))
    assert health["quads"] == sum(1 for _ in served.quads((None, None, None, None)))


# --------------------------------------------------------------------------- descriptions


def test_the_service_description_names_the_url_the_client_used(server: Server) -> None:
    local = "localhost:" + server.url.rstrip("/").rsplit(":", 1)[1]
    other = {"Accept": "text/turtle", "Host": "example.org:8080"}
    assert requests.get(server.url + "sparql", headers=other, timeout=30).status_code == 400
    for host in (None, local):
        headers = {"Accept": "text/turtle"} | ({"Host": host} if host else {})
        response = requests.get(server.url + "sparql", headers=headers, timeout=30)
        assert response.status_code == 200
        graph = Graph().parse(data=response.text, format="turtle")
        endpoint = str(next(graph.objects(None, SD.endpoint)))
        assert endpoint == (f"http://{host}/sparql" if host else server.url + "sparql")
        formats = set(graph.objects(None, SD.resultFormat))
        assert formats, "it lists its result formats"
        assert (None, SD.feature, SD.UnionDefaultGraph) in graph


def test_void_lists_the_dumps_and_they_agree(server: Server, served) -> None:
    response = requests.get(server.url + ".well-known/void", timeout=30)
    void = Graph().parse(data=response.text, format="turtle")
    dumps = sorted(str(d) for d in void.objects(None, VOID.dataDump))
    assert len(dumps) == 5
    assert (None, VOID.sparqlEndpoint, URIRef(server.url + "sparql")) in void
    triples = len(served.merged(include_inferred=True))
    assert any(int(t) == triples for t in void.objects(None, VOID.triples))
    syntax = {
        "trig": ox.RdfFormat.TRIG,
        "nq": ox.RdfFormat.N_QUADS,
        "ttl": ox.RdfFormat.TURTLE,
        "nt": ox.RdfFormat.N_TRIPLES,
        "jsonld": ox.RdfFormat.JSON_LD,
    }
    for url in dumps:
        body = requests.get(url, timeout=30).content
        found = ox.parse(body, format=syntax[url.rsplit(".", 1)[1]])
        assert len({q.triple for q in found}) == triples, url


# --------------------------------------------------------------------------- updates


def test_updates_need_the_token_and_then_apply() -> None:
    writable = start_server(env={"COOPGRAPH_UPDATE_TOKEN": "s3cret"})
    insert = 'INSERT DATA { GRAPH <urn:x:new> { <urn:x:a> <urn:x:b> "c" } }'
    try:
        before = count(writable)
        url = writable.url + "update"
        assert requests.post(url, data={"update": insert}, timeout=30).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert requests.post(
            url, data={"update": insert}, headers=wrong, timeout=30
        ).status_code in (
            401,
            403,
        )
        assert requests.get(url, params={"update": insert}, timeout=30).status_code in (400, 405)
        assert count(writable) == before
        good = {"Authorization": "Bearer s3cret"}
        done = requests.post(url, data={"update": insert}, headers=good, timeout=30)
        assert done.status_code == 200, done.text
        assert count(writable) == before + 1  # the cached count was forgotten
    finally:
        writable.stop()


def test_read_only_by_default(server: Server) -> None:
    insert = 'INSERT DATA { <urn:x:a> <urn:x:b> "c" }'
    assert (
        requests.post(server.url + "update", data={"update": insert}, timeout=30).status_code == 403
    )
    assert (
        requests.get(server.url + "sparql", params={"query": insert}, timeout=30).status_code == 400
    )
    assert (
        requests.post(server.url + "sparql", data={"query": insert}, timeout=30).status_code == 400
    )


# --------------------------------------------------------------------------- the protocol


def test_protocol_errors_are_400_with_a_reason(server: Server) -> None:
    url = server.url + "sparql"
    syntax = ask(server, "SELECT ?s WHERE {\n  ?s ?p ?o")
    assert syntax.status_code == 400 and "line 2, column" in syntax.text
    two = requests.get(url, params=[("query", "ASK {}"), ("query", "ASK {}")], timeout=30)
    assert two.status_code == 400 and "2 'query' parameters" in two.text
    bare = requests.post(url, data=b"ASK {}", headers={"Content-Type": ""}, timeout=30)
    assert bare.status_code == 400 and "Content-Type" in bare.text
    wrong = requests.post(url, data=b"ASK {}", headers={"Content-Type": "text/plain"}, timeout=30)
    assert wrong.status_code == 400 and "text/plain" in wrong.text
    latin = 'ASK { ?s ?p "caf\xe9" }'.encode("latin-1")
    body = requests.post(
        url, data=latin, headers={"Content-Type": "application/sparql-query"}, timeout=30
    )
    assert body.status_code == 400 and "UTF-8" in body.text


def test_406_lists_the_types_on_offer(server: Server) -> None:
    response = ask(server, "SELECT * WHERE { ?s ?p ?o } LIMIT 1", accept="image/png")
    assert response.status_code == 406
    for offered in (
        JSON,
        "application/sparql-results+xml",
        "text/csv",
        "text/tab-separated-values",
    ):
        assert offered in response.text


def test_the_graph_parameters_choose_the_dataset(server: Server) -> None:
    persons = "https://w3id.org/coopgraph/graph/persons"
    places = "https://w3id.org/coopgraph/graph/places"
    url = server.url + "sparql"
    one = requests.get(
        url,
        params={"query": COUNT, "default-graph-uri": persons},
        headers={"Accept": JSON},
        timeout=30,
    )
    assert int(one.json()["results"]["bindings"][0]["n"]["value"]) == 20
    named = "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    both = requests.post(
        url,
        data=[("query", named), ("named-graph-uri", persons), ("named-graph-uri", places)],
        headers={"Accept": JSON},
        timeout=30,
    )
    assert int(both.json()["results"]["bindings"][0]["n"]["value"]) == 2


def test_serve_rdf_files_in_every_syntax(tmp_path: Path) -> None:
    """`coopgraph serve FILE...`: each triple file in a graph named after it, quad files
    with their own graphs; the URL to open is printed."""
    triple = ox.Triple(
        ox.NamedNode("urn:x:s"), ox.NamedNode("urn:x:p"), ox.Literal("o", language="en")
    )
    files = []
    for suffix, syntax in (
        (".ttl", ox.RdfFormat.TURTLE),
        (".nt", ox.RdfFormat.N_TRIPLES),
        (".jsonld", ox.RdfFormat.JSON_LD),
        (".rdf", ox.RdfFormat.RDF_XML),
    ):
        path = tmp_path / f"data{suffix}"
        path.write_bytes(ox.serialize([triple], format=syntax))
        files.append(str(path))
    quad = ox.Quad(triple.subject, triple.predicate, triple.object, ox.NamedNode("urn:x:g"))
    for suffix, syntax in ((".trig", ox.RdfFormat.TRIG), (".nq", ox.RdfFormat.N_QUADS)):
        path = tmp_path / f"quads{suffix}"
        path.write_bytes(ox.serialize([quad], format=syntax))
        files.append(str(path))
    served = start_server(*files)
    try:
        assert any(line.startswith("coopgraph serving on http://127.0.0.1:") for line in served.log)
        query = "SELECT ?g WHERE { GRAPH ?g { <urn:x:s> <urn:x:p> ?o } } ORDER BY ?g"
        rows = ask(served, query).json()["results"]["bindings"]
        graphs = [row["g"]["value"] for row in rows]
        assert graphs == sorted(
            ["urn:x:g"]
            + [
                f"https://w3id.org/coopgraph/graph/file/data{s}"
                for s in (".jsonld", ".nt", ".rdf", ".ttl")
            ]
        )
        # One triple, six files: the union of the asserted graphs is a set.
        asserted = requests.get(
            served.url + "sparql",
            params={"query": COUNT, "infer": "false"},
            headers={"Accept": JSON},
            timeout=60,
        )
        assert int(asserted.json()["results"]["bindings"][0]["n"]["value"]) == 1
    finally:
        served.stop()


def test_the_whole_store_is_counted_once_before_the_server_forks(monkeypatch) -> None:
    """/health, the home page and VoID count over the whole store. They are counted when
    the app is built, before the server's processes and the query workers fork: a forked
    process that read the whole in-memory store would get its own copy of it (800 MB more
    per process at 1M triples). Serving them afterwards reads no more than the labels of the classes
    the home page lists (a VALUES lookup)."""
    from coopgraph.graph.sources import project_sources
    from coopgraph.store.opening import open_engine
    from coopgraph.web import create_app

    engine = open_engine("oxigraph", project_sources(ROOT), ROOT)
    app = create_app(engine, start_pool=False)
    reads: list[str] = []
    monkeypatch.setattr(engine, "select", lambda query: reads.append(query) or [])
    monkeypatch.setattr(type(engine), "__len__", lambda self: reads.append("len") or 0)
    client = app.test_client()
    health = client.get("/health").get_json()
    assert health["triples"] > 2000 and health["quads"] >= health["triples"]
    assert client.get("/.well-known/void").status_code == 200
    assert client.get("/", headers={"Accept": "text/html"}).status_code == 200
    assert [query for query in reads if not query.lstrip().startswith("SELECT ?x ?label")] == []


def test_an_on_disk_store_is_not_opened_before_the_fork(tmp_path) -> None:
    """An on-disk store is opened lazily in each process that reads it (a RocksDB handle
    must not cross a fork): building the app counts nothing ahead for it."""
    from coopgraph.graph.sources import project_sources
    from coopgraph.store.opening import open_engine
    from coopgraph.web import create_app

    engine = open_engine("oxigraph", project_sources(ROOT), ROOT, path=tmp_path / "store")
    assert engine._store is None  # built and closed: each process opens its own
    create_app(engine, start_pool=False)
    assert engine._store is None
