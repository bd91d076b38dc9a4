"""Production mode: `coopgraph serve --production` runs granian and the front with several
processes."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
from rdflib import Graph, URIRef
from rdflib.namespace import Namespace

from tests.support import Server, descendants, free_port, start_server

pytestmark = pytest.mark.slow  # the production server on 127.0.0.1

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
CQ03 = "queries/competency/cq03-signatories-of-the-unodc-interpol-arrangement.rq"


@pytest.fixture(scope="module")
def production(root) -> Iterator[Server]:
    port = free_port()
    server = start_server(
        "--production",
        "--workers",
        "2",
        "--port",
        str(port),
        env={
            "COOPGRAPH_QUERY_TIMEOUT": "2",
            "COOPGRAPH_TRUSTED_PROXIES": "1",
            "COOPGRAPH_ALLOWED_HOSTS": f"127.0.0.1:{port},example.org",
        },
    )
    server.url = f"http://127.0.0.1:{port}/"
    try:
        yield server
    finally:
        server.stop()


def test_several_server_processes_each_with_query_workers(production: Server) -> None:
    """2 server processes, each with its zygote and 2 query workers."""
    deadline = time.monotonic() + 20
    while len(descendants(production.process.pid)) < 8 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(descendants(production.process.pid)) == 2 * (1 + 1 + 2)


def test_queries_are_answered(production: Server, root) -> None:
    query = (root / CQ03).read_text(encoding="utf-8")
    for _ in range(6):  # spread over both processes
        with requests.post(
            production.url + "sparql", data={"query": query, "format": "csv"}, timeout=10
        ) as response:
            assert response.status_code == 200
            assert "Yury Fedotov" in response.text


def test_the_deadline_holds_in_production(production: Server) -> None:
    slow = (
        "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i "
        "FILTER(STR(?c) != STR(?i)) }"
    )
    with requests.get(production.url + "sparql", params={"query": slow}, timeout=30) as response:
        assert response.status_code == 503
        assert "time limit" in response.text
    with requests.get(production.url + "health", timeout=5) as response:
        assert response.json()["status"] == "ok"


def test_behind_a_reverse_proxy_at_a_sub_path(production: Server) -> None:
    """With trusted_proxies=1, X-Forwarded-* set the URLs the server writes."""
    headers = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "example.org",
        "X-Forwarded-Prefix": "/coop",
        "Accept": "text/turtle",
    }
    with requests.get(production.url + "sparql", headers=headers, timeout=10) as response:
        assert response.status_code == 200
        graph = Graph().parse(data=response.text, format="turtle")
    assert set(graph.objects(None, SD.endpoint)) == {URIRef("https://example.org/coop/sparql")}
    page_headers = {**headers, "Accept": "text/html"}
    with requests.get(production.url + "id/org/interpol", headers=page_headers, timeout=10) as r:
        assert r.status_code == 200
        assert 'href="/coop/id/org/unodc"' in r.text or 'href="/coop/id/' in r.text
