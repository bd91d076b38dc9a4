"""Who may reach the server (coopgraph.web.access): no Host is trusted, and the update token
is neither on the command line nor open to guessing.

The Host checks go to a real `coopgraph serve` over a raw socket, so that the Host sent is
exactly the one in the table (empty, duplicated, not ASCII, ...).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
import requests
from rdflib import Graph, URIRef
from rdflib.namespace import VOID, Namespace

from coopgraph.errors import SettingError
from coopgraph.settings import resolve
from coopgraph.web.access import HostPolicy, parse_host
from coopgraph.web.update_token import FailureLimiter, client_key
from tests.support import ROOT, Server, descendants, free_port, start_server

pytestmark = pytest.mark.slow  # real servers on 127.0.0.1

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
TOKEN = "t0ken-" + os.urandom(8).hex()
INSERT = 'INSERT DATA { GRAPH <urn:x:access> { <urn:x:a> <urn:x:b> "c" } }'
ASK = "/sparql?query=" + quote("ASK { ?s ?p ?o }")
#: Every kind of page that writes or could write a URL.
PATHS = ("/sparql", ASK, "/.well-known/void", "/", "/id/org/interpol")
PUBLIC = "https://example.org/coop/"


def port_of(server: Server) -> int:
    return int(urlsplit(server.url).port or 0)


def raw(server: Server, path: str, hosts: list[str] | None, *extra: str) -> tuple[int, bytes]:
    """Send ``GET path`` with exactly these Host lines (None: no Host line); return the
    status and the body."""
    lines = [f"GET {path} HTTP/1.1"]
    lines += [f"Host: {host}" for host in hosts or []]
    lines += [*extra, "Accept: text/turtle, application/sparql-results+json", "Connection: close"]
    lines += ["", ""]
    address = urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall("\r\n".join(lines).encode("utf-8"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def argv_of(pid: int) -> str:
    """What `ps` shows of a process's command line ("" when it has just ended)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def post_update(server: Server, token: str | None, **headers: str) -> requests.Response:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(
        server.url + "update", data={"update": INSERT}, headers=headers, timeout=30
    )


@pytest.fixture(scope="module")
def plain() -> Iterator[Server]:
    """The default settings: the hosts of the address served (127.0.0.1, port 0)."""
    running = start_server()
    yield running
    running.stop()


# --------------------------------------------------------------------------- hostile hosts


def hostile_hosts(port: int) -> list[tuple[str, list[str] | None]]:
    """(what it is, the Host lines sent)."""
    return [
        ("another name", ["evil.example"]),
        ("another name, the port served", [f"evil.example:{port}"]),
        ("another port", ["127.0.0.1:1"]),
        ("the default port", ["127.0.0.1"]),
        ("a port out of range", ["localhost:99999"]),
        ("a port with a leading zero", [f"127.0.0.1:0{port}"]),
        ("two ports", [f"127.0.0.1:{port}:{port}"]),
        ("another loopback address", [f"127.0.0.2:{port}"]),
        ("a short IPv4 form", [f"127.1:{port}"]),
        ("a decimal IPv4", [f"2130706433:{port}"]),
        ("userinfo", ["a@b"]),
        ("userinfo before an allowed host", [f"evil.example@127.0.0.1:{port}"]),
        ("an allowed host before userinfo", [f"127.0.0.1:{port}@evil.example"]),
        ("a fragment", [f"evil.example#@127.0.0.1:{port}"]),
        ("a path", [f"127.0.0.1:{port}/x"]),
        ("an IPv6 literal", [f"[2001:db8::1]:{port}"]),
        ("an IPv4-mapped IPv6 literal", [f"[::ffff:127.0.0.1]:{port}"]),
        ("an unclosed IPv6 literal", [f"[::1:{port}"]),
        ("a bare IPv6 literal", ["::1"]),
        ("a trailing dot", [f"localhost.:{port}"]),
        ("a space inside", [f"localhost :{port}"]),
        ("percent-escapes", [f"%6c%6f%63%61%6c%68%6f%73%74:{port}"]),
        ("not ASCII", [f"l\u043ecalhost:{port}"]),
        ("very long", ["a" * 5000 + ".example"]),
        ("a long label of an allowed name", ["x" * 250 + f".localhost:{port}"]),
        ("empty", [""]),
        ("none at all", None),
        ("twice the same", [f"127.0.0.1:{port}", f"127.0.0.1:{port}"]),
        ("an allowed one, then another", [f"127.0.0.1:{port}", "evil.example"]),
        ("another, then an allowed one", ["evil.example", f"127.0.0.1:{port}"]),
    ]


def test_hostile_hosts_get_400_on_every_page(plain: Server) -> None:
    port = port_of(plain)
    for what, hosts in hostile_hosts(port):
        for path in PATHS:
            status, body = raw(plain, path, hosts)
            assert status == 400, (what, path, body[:200])
            assert body.startswith(b"400 Bad Request: "), (what, path)
        # /health writes no URL: a load balancer may send any Host. (Werkzeug's own routing
        # refuses a name with a label over 63 characters, which no DNS name has.)
        if not any(len(host) > 200 for host in hosts or []):
            assert raw(plain, "/health", hosts)[0] == 200, what


def test_the_message_names_the_host_and_how_to_allow_it(plain: Server) -> None:
    status, body = raw(plain, "/sparql", [f"evil.example:{port_of(plain)}"])
    text = body.decode()
    assert status == 400
    assert f"'evil.example:{port_of(plain)}' is not served here" in text
    assert "allowed_hosts" in text and "COOPGRAPH_ALLOWED_HOSTS" in text and "public_url" in text
    status, body = raw(plain, "/sparql", ["a" * 5000])
    assert status == 400 and len(body) < 400  # the value is cut in the message


def test_the_hosts_of_the_address_served_are_answered(plain: Server) -> None:
    port = port_of(plain)
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LocalHost:{port}", f"[::1]:{port}"):
        for path in PATHS:
            status, body = raw(plain, path, [host])
            assert status == 200, (host, path, body[:200])
    _, body = raw(plain, "/sparql", [f"LocalHost:{port}"])
    endpoints = set(Graph().parse(data=body, format="turtle").objects(None, SD.endpoint))
    assert endpoints == {URIRef(f"http://localhost:{port}/sparql")}  # the checked, lower-cased


def test_a_replayed_answer_is_not_sent_to_a_refused_host(plain: Server) -> None:
    """Replay (web/replay.py) answers a repeated GET of /sparql without the app: it keys on
    the Host, and a refused Host never gets a 200 that could be kept."""
    port = port_of(plain)
    query = "/sparql?query=" + quote("SELECT * WHERE { ?s ?p ?o } LIMIT 3")
    accept = "Accept-Encoding: identity"
    first = raw(plain, query, [f"127.0.0.1:{port}"], accept)
    again = raw(plain, query, [f"127.0.0.1:{port}"], accept)
    assert first[0] == again[0] == 200 and first[1] == again[1]
    for hosts in (["evil.example"], [f"127.0.0.1:{port}", "evil.example"], [f"127.0.0.2:{port}"]):
        for _ in range(2):
            assert raw(plain, query, hosts, accept)[0] == 400, hosts
    assert raw(plain, query, [f"127.0.0.1:{port}"], accept) == again


def _many_hosts(server: Server, count: int, start: int) -> list[int]:
    statuses = []
    with requests.Session() as session:
        for i in range(start, start + count):
            host = f"h{i}.example"
            for path in ("sparql", ".well-known/void"):
                response = session.get(
                    server.url + path, headers={"Host": host, "Accept": "text/turtle"}, timeout=30
                )
                statuses.append(response.status_code)
    return statuses


def test_memory_does_not_grow_with_distinct_hosts(plain: Server) -> None:
    pid = plain.process.pid
    _many_hosts(plain, 300, 0)  # warm the allocator and the threads
    before = rss_kb(pid)
    statuses = _many_hosts(plain, 2000, 1000)
    grown = rss_kb(pid) - before
    assert set(statuses) == {400}
    assert grown < 4096, f"RSS grew by {grown} KB over 4000 requests with 2000 distinct Hosts"


# --------------------------------------------------------------------------- public_url


@pytest.fixture(scope="module")
def public() -> Iterator[Server]:
    """public_url set (and a row cap of 1, for the link in a cut result)."""
    running = start_server(
        env={
            "COOPGRAPH_PUBLIC_URL": PUBLIC,
            "COOPGRAPH_ROW_CAP": "1",
            "COOPGRAPH_TRUSTED_PROXIES": "1",
        }
    )
    yield running
    running.stop()


def test_with_public_url_every_url_starts_with_it_whatever_the_host(public: Server) -> None:
    port = port_of(public)
    proxied = ("X-Forwarded-Host: evil.example", "X-Forwarded-Prefix: /evil")
    for hosts, extra in (
        ([f"127.0.0.1:{port}"], ()),
        (["evil.example"], ()),
        (["a@b"], ()),
        ([f"127.0.0.1:{port}"], proxied),
    ):
        status, body = raw(public, "/sparql", hosts, *extra)
        assert status == 200, hosts
        graph = Graph().parse(data=body, format="turtle")
        assert set(graph.objects(None, SD.endpoint)) == {URIRef(PUBLIC + "sparql")}
        status, body = raw(public, "/.well-known/void", hosts, *extra)
        assert status == 200, hosts
        void = Graph().parse(data=body, format="turtle")
        assert set(void.objects(None, VOID.sparqlEndpoint)) == {URIRef(PUBLIC + "sparql")}
        dumps = {str(d) for d in void.objects(None, VOID.dataDump)}
        assert dumps and all(d.startswith(PUBLIC + "dumps/") for d in dumps)
        assert "evil" not in body.decode()
    home = requests.get(
        public.url, headers={"Host": "evil.example", "Accept": "text/html"}, timeout=30
    )
    assert f"<code>{PUBLIC}sparql</code>" in home.text and "evil" not in home.text
    cut = requests.get(
        public.url + "sparql",
        params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 5"},
        headers={"Host": "evil.example", "Accept": "application/sparql-results+json"},
        timeout=30,
    )
    assert cut.headers["Coopgraph-Truncated"].startswith("true")
    assert PUBLIC + "#limits" in cut.text and "evil" not in cut.text


def test_with_public_url_memory_does_not_grow_with_distinct_hosts(public: Server) -> None:
    pid = public.process.pid
    _many_hosts(public, 300, 0)
    before = rss_kb(pid)
    statuses = _many_hosts(public, 2000, 1000)
    grown = rss_kb(pid) - before
    assert set(statuses) == {200}
    assert grown < 4096, f"RSS grew by {grown} KB over 4000 requests with 2000 distinct Hosts"


# --------------------------------------------------------------------------- behind a proxy


def test_behind_a_proxy_the_forwarded_host_must_be_allowed() -> None:
    port = free_port()
    proxied = start_server(
        "--port",
        str(port),
        env={
            "COOPGRAPH_TRUSTED_PROXIES": "1",
            "COOPGRAPH_ALLOWED_HOSTS": f"example.org, 127.0.0.1:{port}",
        },
    )
    try:
        forwarded = (
            "X-Forwarded-Proto: https",
            "X-Forwarded-Host: example.org",
            "X-Forwarded-Prefix: /coop",
        )
        status, body = raw(proxied, "/sparql", [f"127.0.0.1:{port}"], *forwarded)
        assert status == 200
        graph = Graph().parse(data=body, format="turtle")
        assert set(graph.objects(None, SD.endpoint)) == {URIRef(PUBLIC + "sparql")}
        for extra in (
            ("X-Forwarded-Host: evil.example",),
            ("X-Forwarded-Host: example.org:8443",),
            ("X-Forwarded-Proto: javascript", "X-Forwarded-Host: example.org"),
            ("X-Forwarded-Host: example.org", "X-Forwarded-Prefix: /a b"),
        ):
            status, body = raw(proxied, "/sparql", [f"127.0.0.1:{port}"], *extra)
            assert status == 400, (extra, body)
        # listed hosts replace the default ones
        assert raw(proxied, "/sparql", [f"localhost:{port}"])[0] == 400
        assert raw(proxied, "/sparql", [f"127.0.0.1:{port}"])[0] == 200
    finally:
        proxied.stop()


def test_without_trusted_proxies_forwarded_hosts_are_ignored(plain: Server) -> None:
    status, body = raw(
        plain, "/sparql", [f"127.0.0.1:{port_of(plain)}"], "X-Forwarded-Host: evil.example"
    )
    assert status == 200 and b"evil" not in body


# --------------------------------------------------------------------------- the token


def test_the_token_from_the_environment_works_and_is_not_in_argv() -> None:
    writable = start_server(env={"COOPGRAPH_UPDATE_TOKEN": TOKEN})
    try:
        assert post_update(writable, "wrong").status_code == 401
        assert post_update(writable, TOKEN).status_code == 200
        for pid in (writable.process.pid, *descendants(writable.process.pid)):
            assert TOKEN not in argv_of(pid)
    finally:
        writable.stop()


def test_the_token_from_a_file_works_and_is_not_in_argv(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(f"  {TOKEN}  \nsecond line ignored\n", encoding="utf-8")
    writable = start_server("--update-token-file", str(token_file))
    try:
        assert post_update(writable, None).status_code == 401
        assert post_update(writable, TOKEN).status_code == 200
        pids = (writable.process.pid, *descendants(writable.process.pid))
        assert str(token_file) in argv_of(writable.process.pid)
        for pid in pids:
            assert TOKEN not in argv_of(pid)
    finally:
        writable.stop()


def run_coopgraph(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "coopgraph", *args],
        cwd=ROOT,
        env={**os.environ, "COOPGRAPH_ROOT": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("name", "where"),
    [
        ("update_token", "COOPGRAPH_UPDATE_TOKEN"),
        ("remote_password", "COOPGRAPH_REMOTE_PASSWORD"),
    ],
)
def test_a_secret_is_refused_on_the_command_line(name: str, where: str) -> None:
    done = run_coopgraph("--setting", name, "x", "serve", "--port", "0")
    assert done.returncode == 2
    assert "not taken from the command line" in done.stderr and where in done.stderr
    if name == "update_token":
        assert "update_token_file" in done.stderr and "--update-token-file" in done.stderr
    with pytest.raises(SettingError, match="ps"):
        resolve({}, {name: "x"}, {})


def test_the_update_token_option_is_gone() -> None:
    done = run_coopgraph("serve", "--port", "0", "--update-token", "x")
    assert done.returncode == 2 and "--update-token" in done.stderr
    assert "--update-token-file" in run_coopgraph("serve", "--help").stdout


def test_an_unreadable_or_empty_token_file_stops_the_start(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    empty = tmp_path / "empty"
    empty.write_text("\n  \nsecond\n", encoding="utf-8")
    folder = tmp_path / "folder"
    folder.mkdir()
    for path, reason in ((missing, "cannot be read"), (folder, "cannot be read"), (empty, "empty")):
        done = run_coopgraph("serve", "--port", "0", "--update-token-file", str(path))
        assert done.returncode == 2, done.stderr
        assert f"update_token_file {path}" in done.stderr and reason in done.stderr
    both = tmp_path / "token"
    both.write_text("one\n", encoding="utf-8")
    args = ("serve", "--port", "0", "--update-token-file", str(both))
    done = run_coopgraph(*args, env={"COOPGRAPH_UPDATE_TOKEN": "two"})
    assert done.returncode == 2 and "given twice" in done.stderr


def test_bad_host_settings_stop_the_start() -> None:
    for env, message in (
        ({"COOPGRAPH_PUBLIC_URL": "ftp://example.org/"}, "public_url"),
        ({"COOPGRAPH_PUBLIC_URL": "https://example.org/?a=b"}, "public_url"),
        ({"COOPGRAPH_ALLOWED_HOSTS": "*"}, "wildcard"),
        ({"COOPGRAPH_ALLOWED_HOSTS": "https://example.org/"}, "allowed_hosts"),
    ):
        done = run_coopgraph("serve", "--port", "0", env=env)
        assert done.returncode == 2 and message in done.stderr, done.stderr


# --------------------------------------------------------------------------- failed attempts


@pytest.fixture
def limited() -> Iterator[Server]:
    """3 failures in 3 s per client; behind a (pretend) proxy, so that X-Forwarded-For gives
    each request its client."""
    running = start_server(
        env={
            "COOPGRAPH_UPDATE_TOKEN": TOKEN,
            "COOPGRAPH_UPDATE_MAX_FAILURES": "3",
            "COOPGRAPH_UPDATE_FAILURE_WINDOW": "3",
            "COOPGRAPH_TRUSTED_PROXIES": "1",
        }
    )
    yield running
    running.stop()


def test_failed_attempts_are_limited_per_client_and_recover(limited: Server) -> None:
    one, other = {"X-Forwarded-For": "203.0.113.7"}, {"X-Forwarded-For": "198.51.100.9"}
    for _ in range(3):
        assert post_update(limited, "wrong", **one).status_code == 401
    refused = post_update(limited, "wrong", **one)
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 3
    assert "too many failed token attempts" in refused.text and "3 in 3 s" in refused.text
    # the token is not even looked at during the wait
    assert post_update(limited, TOKEN, **one).status_code == 429
    # another client is not affected
    assert post_update(limited, TOKEN, **other).status_code == 200
    assert post_update(limited, "wrong", **other).status_code == 401
    time.sleep(wait + 0.2)
    assert post_update(limited, TOKEN, **one).status_code == 200
    # a success forgets the failures
    for _ in range(3):
        assert post_update(limited, "wrong", **one).status_code == 401
    assert post_update(limited, "wrong", **one).status_code == 429


def test_the_client_is_the_connection_without_trusted_proxies() -> None:
    writable = start_server(env={"COOPGRAPH_UPDATE_TOKEN": TOKEN})
    try:
        statuses = [
            post_update(writable, "wrong", **{"X-Forwarded-For": f"10.0.0.{i}"}).status_code
            for i in range(7)
        ]
        assert statuses == [401] * 5 + [429] * 2  # the default: 5 failures a minute
    finally:
        writable.stop()


# --------------------------------------------------------------------------- units


def test_parse_host() -> None:
    assert parse_host("Example.ORG:8080") == ("example.org", 8080)
    assert parse_host("[::1]") == ("[::1]", None)
    for bad in ("", "a@b", "a b", "[::g]", "x:0", "x:65536", "x:", ":80", "-a", "a-", "a" * 300):
        assert parse_host(bad) is None, bad


def test_the_default_hosts() -> None:
    loopback = HostPolicy.from_settings({"host": "127.0.0.1"})
    assert loopback.allows("localhost", 8000, "http") and loopback.allows("[::1]", 1, "http")
    loopback.port = 8000  # once the server has said which port it bound
    assert loopback.allows("localhost", 8000, "http")
    assert not loopback.allows("localhost", 8001, "http")
    assert not loopback.allows("localhost", None, "http")
    named = HostPolicy.from_settings({"host": "coop.internal"})
    assert named.names == {"coop.internal"}
    listed = HostPolicy.from_settings({"allowed_hosts": "example.org, b.example:8443"})
    assert listed.allows("example.org", None, "https") and listed.allows(
        "example.org", 443, "https"
    )
    assert listed.allows("example.org", 80, "http") and not listed.allows("example.org", 81, "http")
    assert listed.allows("b.example", 8443, "https") and not listed.allows(
        "b.example", None, "https"
    )
    assert not listed.allows("localhost", 8000, "http")
    public = HostPolicy.from_settings({"public_url": "https://Example.org/coop"})
    assert public.public_url == "https://example.org/coop/" and not public.checks


def test_the_limiter_forgets_the_oldest_clients_and_counts_a_sliding_window() -> None:
    now = [0.0]
    limiter = FailureLimiter(2, 10.0, clients=2, clock=lambda: now[0])
    for client in ("a", "a", "b", "b"):
        limiter.failed(client)
    assert limiter.wait("a") == 10.0 and limiter.wait("b") == 10.0
    limiter.failed("c")  # a third client: the least recently seen ("a") is forgotten
    assert len(limiter.failures) == 2 and limiter.wait("a") == 0
    now[0] = 10.0
    assert limiter.wait("b") == 0  # the window passed
    limiter.succeeded("c")
    assert "c" not in limiter.failures


def test_an_ipv6_client_counts_as_its_64() -> None:
    assert client_key("2001:db8::1") == client_key("2001:db8::ffff:1") == "2001:db8::/64"
    assert client_key("2001:db8:0:1::1") != client_key("2001:db8::1")
    assert client_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert client_key("203.0.113.7") == "203.0.113.7"
