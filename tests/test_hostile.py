"""Hostile requests, one class of attack per test, against real servers on 127.0.0.1.

Each test is a break found by an attacker (or a guarantee the endpoint makes), tried in the
variants its class allows, on the development server and the production one (granian and
coopgraph's front) and on every engine where it applies. Every test is bounded in time and
in the traffic it sends. What the guarantees rest on is tested below these servers too:
tests/test_jail.py hands hostile jobs straight to a pool of confined workers.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.support import Listener, Server, descendants, start_engine_server, start_server

pytestmark = pytest.mark.slow  # real servers on 127.0.0.1, attacked

JSON = "application/sparql-results+json"
TOKEN = "hostile-test-token"
LIMITS = {
    "COOPGRAPH_QUERY_TIMEOUT": "4",
    # An update includes computing the inferences again: about 2 s on the bundled graph,
    # more on a loaded machine.
    "COOPGRAPH_UPDATE_TIMEOUT": "12",
    "COOPGRAPH_QUERY_MEMORY_MB": "256",
    "COOPGRAPH_MAX_ANSWER_MB": "1",
    "COOPGRAPH_CACHE_MB": "16",
    "COOPGRAPH_CACHE_ENTRY_KB": "256",
    "COOPGRAPH_MAX_REQUEST_BYTES": "1000000",
    "COOPGRAPH_UPDATE_TOKEN": TOKEN,
    "COOPGRAPH_HEADER_TIMEOUT": "5",
    "COOPGRAPH_BODY_TIMEOUT": "5",
}
INTERPOL = "https://w3id.org/coopgraph/id/org/interpol"
LOOKUP = f"SELECT ?p ?o WHERE {{ <{INTERPOL}> ?p ?o }}"


@pytest.fixture(scope="module", params=["development", "production"])
def target(request) -> Iterator[Server]:
    """The bundled graph on Oxigraph, with small limits, on each server in turn."""
    args = ("--production", "--workers", "1") if request.param == "production" else ()
    running = start_server(*args, env=LIMITS)
    yield running
    running.stop()


@pytest.fixture(scope="module", params=["oxigraph", "rdflib", "remote"])
def engine(request) -> Iterator[Server]:
    """The bundled graph on each engine (development server), with the same limits."""
    running = start_engine_server(request.param, env=LIMITS)
    yield running
    running.stop()


def ask(server: Server, query: str, accept: str = JSON, timeout: float = 60) -> requests.Response:
    return requests.get(
        server.url + "sparql", params={"query": query}, headers={"Accept": accept}, timeout=timeout
    )


def post_query(server: Server, query: str, timeout: float = 60) -> requests.Response:
    return requests.post(
        server.url + "sparql",
        data=query.encode(),
        headers={"Content-Type": "application/sparql-query", "Accept": JSON},
        timeout=timeout,
    )


def update(server: Server, text: str, timeout: float = 60) -> requests.Response:
    return requests.post(
        server.url + "update",
        data=text.encode(),
        headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"},
        timeout=timeout,
    )


def triples(server: Server) -> int:
    found = ask(server, "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
    assert found.status_code == 200, found.text
    return int(found.json()["results"]["bindings"][0]["n"]["value"])


def server_mb(server: Server) -> float:
    """The memory of all the server's processes (web processes, zygotes, query workers), in
    MB: their proportional set size, so that pages they share count once."""
    total = 0
    for pid in [server.process.pid, *descendants(server.process.pid)]:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        total += next(
            int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")
        )
    return total / 1024


@pytest.fixture
def listener() -> Iterator[Listener]:
    running = Listener()
    yield running
    running.close()


# --------------------------------------------------------------------------- 1. reaching out


def reaching_out(base: str) -> list[str]:
    """Queries that would make an unconfined engine fetch ``base``..., in every spelling
    the class allows."""
    return [
        f"SELECT * WHERE {{ SERVICE <{base}sparql> {{ ?s ?p ?o }} }}",
        f"PREFIX : <{base}> SELECT * WHERE {{ SERVICE:sparql {{ ?s ?p ?o }} }}",
        f"PREFIX : <{base}> select * where {{ service:sparql {{ ?s ?p ?o }} }}",
        f"PREFIX : <{base}> SELECT * WHERE {{ SeRvIcE:sparql{{ ?s ?p ?o }} }}",
        f"PREFIX : <{base}> SELECT * WHERE {{ SERVICE#note\n:sparql {{ ?s ?p ?o }} }}",
        f"PREFIX : <{base}> SELECT * WHERE {{ ?s ?p ?o "
        f"FILTER EXISTS {{ SERVICE:x {{ ?a ?b ?c }} }} }}",
        f"PREFIX : <{base}> CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE:x {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ OPTIONAL {{ SERVICE SILENT <{base}x> {{ ?s ?p ?o }} }} }}",
        f"SELECT * WHERE {{ \\u0053ERVICE <{base}x> {{ ?s ?p ?o }} }}",
        f"SELECT * FROM <{base}doc> WHERE {{ ?s ?p ?o }}",
        f"PREFIX : <{base}> SELECT * FROM:f5 WHERE {{ ?s ?p ?o }}",
        f"SELECT * \\u0046ROM <{base}doc> WHERE {{ ?s ?p ?o }}",
        f"SELECT * FROM NAMED <{base}doc> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}",
        "SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }",
    ]


def test_no_query_reaches_the_network(engine: Server, listener: Listener) -> None:
    base = f"http://127.0.0.1:{listener.port}/"
    for query in reaching_out(base):
        response = ask(engine, query, accept="*/*")
        assert response.status_code == 400, (query, response.status_code, response.text)
        assert response.text.strip(), query
    assert listener.connections == 0


def test_no_update_reaches_the_network(engine: Server, listener: Listener) -> None:
    base = f"http://127.0.0.1:{listener.port}/"
    updates = [
        f"LOAD <{base}doc>",
        f"LOAD SILENT <{base}doc> INTO GRAPH <urn:x:g>",
        f'PREFIX : <{base}> INSERT DATA {{ <urn:x:a> <urn:x:b> "c" }} ;LOAD:l4',
        f"PREFIX : <{base}> INSERT {{ ?s ?p ?o }} WHERE {{ SERVICE:x {{ ?s ?p ?o }} }}",
        "LOAD <file:///etc/passwd>",
    ]
    before = triples(engine)
    for text in updates:
        response = update(engine, text)
        assert response.status_code == 400, (text, response.status_code, response.text)
    assert listener.connections == 0
    assert triples(engine) == before


def test_open_and_closed_ports_answer_alike(target: Server, listener: Listener) -> None:
    """No port scan: whether something listens makes no difference to the answer."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    answers = []
    for p in (listener.port, port):
        query = f"SELECT * WHERE {{ SERVICE <http://127.0.0.1:{p}/> {{ ?s ?p ?o }} }}"
        response = ask(target, query)
        answers.append((response.status_code, response.text.replace(str(p), "PORT")))
    assert answers[0] == answers[1]
    assert listener.connections == 0


# --------------------------------------------------------------------------- 3. memory


DOUBLING = "\n".join(f"BIND(CONCAT(?a{i}, ?a{i}) AS ?a{i + 1})" for i in range(26))
BOMB = 'SELECT (STRLEN(?a26) AS ?n) WHERE { BIND("' + "x" * 64 + '" AS ?a0)\n' + DOUBLING + "\n}"


def test_a_query_past_the_memory_limit_is_a_503_and_the_server_recovers(engine: Server) -> None:
    before = server_mb(engine)
    with ThreadPoolExecutor(1) as pool:
        bomb = pool.submit(ask, engine, BOMB)
        time.sleep(0.2)
        meanwhile = ask(engine, LOOKUP)
        response = bomb.result()
    if "--store remote" in " ".join(map(str, engine.process.args)):
        # The remote store evaluates the query with its own memory (give it a limit of its
        # own); coopgraph's part is the deadline, which stops the wait.
        assert response.status_code == 503 and "stopped after" in response.text
        return
    assert response.status_code == 503, response.text
    assert "needed more than 256 MB" in response.text
    assert meanwhile.status_code == 200
    time.sleep(0.5)
    after = server_mb(engine)
    print(f"\nmemory of the server's processes: {before:.0f} MB before, {after:.0f} MB after")
    assert after - before < 100, (before, after)
    assert ask(engine, LOOKUP).status_code == 200


# --------------------------------------------------------------------------- 4. bytes


def rows_of(megabytes: int, count: int) -> str:
    """A query answering ``count`` rows of about ``megabytes`` MB each (a string doubled)."""
    steps = (megabytes * 2**20 // 64).bit_length() - 1
    doubling = " ".join(f"BIND(CONCAT(?a{i}, ?a{i}) AS ?a{i + 1})" for i in range(steps))
    values = " ".join(str(i) for i in range(count))
    return (
        f'SELECT ?x WHERE {{ VALUES ?i {{ {values} }} BIND("{"y" * 64}" AS ?a0) {doubling} '
        f"BIND(CONCAT(STR(?i), ?a{steps}) AS ?x) }}"
    )


def test_the_answer_is_capped_in_bytes(target: Server) -> None:
    for query, fmt in (
        (rows_of(2, 10), JSON),
        (rows_of(2, 1), JSON),
        (rows_of(2, 10), "text/csv"),
        (rows_of(2, 10), "application/sparql-results+xml"),
        (f"SELECT (GROUP_CONCAT(?x) AS ?all) WHERE {{ {{ {rows_of(1, 4)} }} }}", JSON),
    ):
        response = ask(target, query, accept=fmt)
        assert response.status_code == 200, response.text[:300]
        assert len(response.content) <= 2**20
        assert response.headers["Coopgraph-Truncated"] == f"true; max-bytes={2**20}"
        assert "cut at" in response.headers["Warning"]


def test_a_cut_graph_answer_is_capped_in_bytes(target: Server) -> None:
    construct = rows_of(1, 4).replace(
        "SELECT ?x WHERE", "CONSTRUCT { <urn:x:s> <urn:x:p> ?x } WHERE"
    )
    response = ask(target, construct, accept="text/turtle")
    assert response.status_code == 200, response.text[:300]
    assert len(response.content) <= 2**20
    assert response.headers["Coopgraph-Truncated"] == f"true; max-bytes={2**20}"


def test_the_caches_hold_no_large_answer_and_no_long_key(target: Server) -> None:
    """Large answers are not kept; long queries are kept by a digest, in bounded bytes."""
    ask(target, LOOKUP)
    time.sleep(0.3)
    before = server_mb(target)
    for i in range(5):
        assert ask(target, rows_of(1, 1).replace("?i", f"?i{i}")).status_code == 200
    padding = "#" + "p" * 900_000 + "\n"
    for i in range(120):
        response = post_query(target, f"{padding}ASK {{ <urn:x:{i}> ?p ?o }}")
        assert response.status_code == 200, response.text[:200]
    time.sleep(0.3)
    after = server_mb(target)
    print(f"\nthe server's processes: {before:.0f} MB before, {after:.0f} MB after")
    assert after - before < 40, f"the server kept {after - before:.0f} MB"


# --------------------------------------------------------------------------- 5. the deadline


def test_a_long_from_query_is_stopped_at_the_deadline(target: Server) -> None:
    """The FROM clauses are read (with rdflib's parser, slow) by a query worker, under the
    deadline; the web process stays free for other queries."""
    graph = "https://w3id.org/coopgraph/graph/organizations"
    numbers = ", ".join(str(i) for i in range(7000))
    slow = f"SELECT * FROM <{graph}> WHERE {{ ?s ?p ?o FILTER(?o IN ({numbers})) }}"
    other = f"SELECT (COUNT(*) AS ?n) FROM <{graph}> WHERE {{ ?s ?p ?o }}"
    with ThreadPoolExecutor(1) as pool:
        started = time.monotonic()
        long = pool.submit(post_query, target, slow)
        time.sleep(0.3)
        quick = post_query(target, other)
        response = long.result()
        took = time.monotonic() - started
    assert quick.status_code == 200, quick.text
    assert response.status_code in (200, 503), response.text
    if response.status_code == 503:
        assert "stopped after 4 s" in response.text
    print(f"\nthe FROM query with 7,000 numbers: {response.status_code} in {took:.1f} s")


def test_an_update_past_its_deadline_changes_nothing(target: Server) -> None:
    before = triples(target)
    long = (
        "INSERT { GRAPH <urn:x:long> { ?a <urn:x:p> ?c } } WHERE { GRAPH ?x { ?a ?b ?c } "
        "GRAPH ?y { ?d ?e ?f } GRAPH ?z { ?g ?h ?i } FILTER(STR(?c) != STR(?i)) }"
    )
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(update, target, long)
        time.sleep(0.5)
        health = requests.get(target.url + "health", timeout=5)
        during = ask(target, LOOKUP, timeout=5)
        response = running.result()
    assert health.status_code == 200 and during.status_code == 200
    assert response.status_code == 503, response.text
    assert "stopped after 12 s" in response.text or "needed more than" in response.text
    assert triples(target) == before


# --------------------------------------------------------------------------- 6. no 500s


HOSTILE_PATHS = [
    "/id/a%25",
    "/id/%ff%fe",
    "/id/%u002e%u002e/",
    "/id/a%25zz.ttl",
    "/id/%00",
    "/id/a%0a%0db",
    "/id/%2e%2e/%2e%2e/etc/passwd",
    "/graph/%25",
    "/ontology/%ff",
    "/-/instances?class=a:b%25",
    "/-/instances?class=%ff",
    "/-/instances?class=http://x/%00",
    "/-/instances?class=" + "a" * 5000 + ":b",
    "/sparql?query=%ff",
    "/sparql?default-graph-uri=a%25&query=ASK%7B%7D",
    "/sparql?named-graph-uri=%00&query=ASK%7B%7D",
    "/dumps/%2e%2e",
    "/-/static/%2e%2e/%2e%2e/x",
    "/-/docs/%ff",
]


def test_no_path_or_parameter_gets_a_5xx(target: Server) -> None:
    for path in HOSTILE_PATHS:
        response = requests.get(target.url.rstrip("/") + path, timeout=30)
        assert response.status_code < 500, (path, response.status_code, response.text[:200])
        assert response.text.strip(), path


def test_bad_chunks_are_a_400(target: Server) -> None:
    host, port = target.url.split("//")[1].rstrip("/").split(":")
    for chunks in (b"zz\r\nASK {}\r\n0\r\n\r\n", b"5\r\nASK {}\r\n0\r\n\r\n", b"-1\r\nx\r\n"):
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                b"POST /sparql HTTP/1.1\r\nHost: " + f"{host}:{port}".encode() + b"\r\n"
                b"Content-Type: application/sparql-query\r\nTransfer-Encoding: chunked\r\n\r\n"
                + chunks
            )
            sock.shutdown(socket.SHUT_WR)
            answer = _read_all(sock)
        status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
        assert status == 0 or 400 <= status < 500, answer[:300]


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except OSError:
        pass
    return data


def test_sparql_errors_in_updates_are_4xx_and_change_nothing(engine: Server) -> None:
    graph = "https://w3id.org/coopgraph/graph/organizations"
    before = triples(engine)
    for text in (
        f"CREATE GRAPH <{graph}>",
        "DROP GRAPH <urn:x:missing>",
        "CLEAR GRAPH <urn:x:missing>",
        "MOVE <urn:x:missing> TO <urn:x:other>",
        "COPY <urn:x:missing> TO <urn:x:other>",
        "ADD <urn:x:missing> TO <urn:x:other>",
        # atomic: the first operation would apply, the second fails, so neither does
        'INSERT DATA { GRAPH <urn:x:g> { <urn:x:a> <urn:x:b> "c" } } ; DROP GRAPH <urn:x:missing>',
    ):
        response = update(engine, text)
        assert response.status_code == 400, (text, response.status_code, response.text)
    assert triples(engine) == before
    for text in ("DROP SILENT GRAPH <urn:x:missing>", f"CREATE SILENT GRAPH <{graph}>"):
        response = update(engine, text)
        assert response.status_code == 200, (text, response.text)
    assert triples(engine) == before


def test_queries_during_updates_are_answered(target: Server) -> None:
    """Updates switch the query workers to the new data: queries meanwhile get their
    answers (from the old data or the new), never a 5xx."""
    stop = threading.Event()
    statuses: list[int] = []

    def query() -> None:
        while not stop.is_set():
            statuses.append(ask(target, LOOKUP).status_code)
            statuses.append(ask(target, "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").status_code)

    with ThreadPoolExecutor(4) as pool:
        for _ in range(4):
            pool.submit(query)
        try:
            for i in range(6):
                done = update(
                    target,
                    f"INSERT DATA {{ GRAPH <urn:x:during> {{ <urn:x:{i}> <urn:x:p> {i} }} }}",
                )
                assert done.status_code == 200, done.text
        finally:
            stop.set()
    assert statuses and set(statuses) == {200}, sorted(set(statuses))
    assert update(target, "DROP GRAPH <urn:x:during>").status_code == 200


# --------------------------------------------------------------------------- 7. bodies


def _chunked_post(server: Server, path: str, body: bytes, headers: dict[str, str]) -> int:
    host, port = server.url.split("//")[1].rstrip("/").split(":")

    def chunks() -> Iterator[bytes]:
        for at in range(0, len(body), 65536):
            yield body[at : at + 65536]

    response = requests.post(
        server.url + path.lstrip("/"), data=chunks(), headers=headers, timeout=60
    )
    return response.status_code


def test_a_body_over_the_limit_is_a_413_chunked_or_not(target: Server) -> None:
    query = b"ASK {}" + b"#" + b"x" * 1_500_000
    headers = {"Content-Type": "application/sparql-query"}
    assert _chunked_post(target, "/sparql", query, headers) == 413
    plain = requests.post(target.url + "sparql", data=query, headers=headers, timeout=60)
    assert plain.status_code == 413
    before = triples(target)
    pad = "#" + "y" * 600_000 + "\n"
    text = (
        f'INSERT DATA {{ GRAPH <urn:x:half> {{ <urn:x:a> <urn:x:b> "1" }} }} ;\n{pad}'
        f'INSERT DATA {{ GRAPH <urn:x:half> {{ <urn:x:a> <urn:x:b> "2" }} }}\n{pad}'
    ).encode()
    update_headers = {
        "Content-Type": "application/sparql-update",
        "Authorization": f"Bearer {TOKEN}",
    }
    assert _chunked_post(target, "/update", text, update_headers) == 413
    assert triples(target) == before


# --------------------------------------------------------------------------- 2. slow clients


def test_slow_and_idle_clients_do_not_starve_the_server() -> None:
    """64 idle connections, 16 sending headers a byte a second, 16 sending a body a byte a
    second, and 6 new silent connections a second: normal lookups are still answered."""
    read_only = {k: v for k, v in LIMITS.items() if k != "COOPGRAPH_UPDATE_TOKEN"}
    server = start_server("--production", "--workers", "2", env=read_only)
    host, port = server.url.split("//")[1].rstrip("/").split(":")
    address = (host, int(port))
    held: list[socket.socket] = []
    stop = threading.Event()

    def trickle(sock: socket.socket, data: bytes) -> None:
        for byte in data:
            if stop.is_set():
                return
            try:
                sock.send(bytes([byte]))
            except OSError:
                return
            stop.wait(1.0)

    def newcomers() -> None:
        while not stop.is_set():
            for _ in range(6):
                try:
                    held.append(socket.create_connection(address, timeout=5))
                except OSError:
                    pass
            stop.wait(1.0)

    latencies: list[float] = []
    try:
        for _ in range(64):
            held.append(socket.create_connection(address, timeout=5))
        threads = []
        for _ in range(16):
            sock = socket.create_connection(address, timeout=5)
            held.append(sock)
            threads.append(
                threading.Thread(target=trickle, args=(sock, b"GET /health HTTP/1.1\r\n"))
            )
            sock = socket.create_connection(address, timeout=5)
            held.append(sock)
            sock.send(
                b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                b"Content-Length: 1000\r\n\r\n"
            )
            threads.append(threading.Thread(target=trickle, args=(sock, b"ASK {}" * 100)))
        threads.append(threading.Thread(target=newcomers))
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        session = requests.Session()
        for i in range(20):
            started = time.monotonic()
            response = session.get(
                server.url + "sparql",
                params={"query": LOOKUP + f" LIMIT {50 + i}"},
                headers={"Accept": JSON},
                timeout=5,
            )
            latencies.append(time.monotonic() - started)
            assert response.status_code == 200, response.text
            time.sleep(0.25)
    finally:
        stop.set()
        for sock in held:
            sock.close()
        server.stop()
    latencies.sort()
    print(
        f"\nlookups during the slow-client attack: median {latencies[10] * 1000:.1f} ms, "
        f"slowest {latencies[-1] * 1000:.1f} ms"
    )


def test_a_body_slower_than_the_body_timeout_is_a_408() -> None:
    """In production, a body that does not arrive within body_timeout is refused, and the
    answer carries the hardening headers like every other."""
    server = start_server("--production", "--workers", "1", env={"COOPGRAPH_BODY_TIMEOUT": "2"})
    host, port = server.url.split("//")[1].rstrip("/").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                f"POST /sparql HTTP/1.1\r\nHost: {host}:{port}\r\n".encode()
                + b"Content-Type: application/sparql-query\r\nContent-Length: 100\r\n\r\nASK"
            )
            answer = _read_all(sock)
    finally:
        server.stop()
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"content-security-policy: default-src 'none'" in head
    assert b"x-content-type-options: nosniff" in head
