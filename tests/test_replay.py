"""A repeated GET of a query is answered with the bytes sent the first time, without the app,
and only when nothing the answer depends on has changed (coopgraph.web.replay)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from coopgraph.graph.sources import project_sources
from coopgraph.store.engine import Engine
from coopgraph.store.opening import open_engine
from coopgraph.web import create_app, replay
from coopgraph.web.state import get_state
from tests.support import ROOT

LOOKUP = "SELECT ?p ?o WHERE { <https://w3id.org/coopgraph/id/org/interpol> ?p ?o }"
JSON = "application/sparql-results+json"
TOKEN = "replay-test-token"


@pytest.fixture
def engine() -> Engine:
    return open_engine("oxigraph", project_sources(ROOT), ROOT)


def _app(engine: Engine, pool: bool = False, **settings: Any) -> tuple[Flask, list[str]]:
    """The app, and the list of the requests that reached it behind the middleware."""
    app = create_app(engine, {"update_token": TOKEN, **settings}, start_pool=pool)
    middleware = app.wsgi_app
    assert isinstance(middleware, replay.Replay)
    reached: list[str] = []
    inner = middleware.app

    def counting(environ: dict[str, Any], start_response: Callable) -> Iterator[bytes]:
        reached.append(environ.get("QUERY_STRING", ""))
        return inner(environ, start_response)

    middleware.app = counting
    return app, reached


def _get(app: Flask, query: str = LOOKUP, **headers: str):
    return app.test_client().get(
        "/sparql", query_string={"query": query}, headers={"Accept": JSON, **headers}
    )


def test_a_repeated_query_is_sent_again_without_the_app(engine: Engine) -> None:
    app, reached = _app(engine)
    first, second = _get(app), _get(app)
    assert first.status_code == second.status_code == 200
    assert second.data == first.data and first.get_json()["results"]["bindings"]
    assert dict(second.headers) == dict(first.headers)
    assert first.headers["ETag"] and first.headers["Coopgraph-Results"]
    assert len(reached) == 1


def test_what_the_answer_depends_on_is_part_of_the_key(engine: Engine) -> None:
    app, reached = _app(engine, allowed_hosts="localhost,example.org")
    as_json = _get(app)
    as_csv = _get(app, Accept="text/csv")
    gzipped = _get(app, **{"Accept-Encoding": "gzip"})
    other_host = _get(app, Host="example.org")
    assert as_csv.headers["Content-Type"].startswith("text/csv")
    assert as_csv.data.startswith(b"p,o\r\n")
    assert gzipped.headers.get("Content-Encoding") == "gzip"
    assert as_json.headers.get("Content-Encoding") is None
    assert other_host.status_code == 200
    assert len(reached) == 4  # each a first time
    assert _get(app, Accept="text/csv").data == as_csv.data
    assert len(reached) == 4


def test_a_conditional_request_goes_to_the_app_and_gets_304(engine: Engine) -> None:
    app, reached = _app(engine)
    first = _get(app)
    again = _get(app, **{"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert len(reached) == 2


def test_an_update_makes_the_kept_answers_unreachable(engine: Engine) -> None:
    app, reached = _app(engine, pool=True)  # an update runs in a query worker
    try:
        _check_an_update(app)
    finally:
        get_state(app).stop_pool()


def _check_an_update(app: Flask) -> None:
    before = _get(app).get_json()["results"]["bindings"]
    update = app.test_client().post(
        "/update",
        data="INSERT DATA { <https://w3id.org/coopgraph/id/org/interpol> "
        "<http://www.w3.org/2000/01/rdf-schema#comment> 'added by the test' }",
        headers={"Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"},
    )
    assert update.status_code in (200, 204), update.data
    after = _get(app).get_json()["results"]["bindings"]
    assert len(after) == len(before) + 1
    assert any(b["o"]["value"] == "added by the test" for b in after)
    assert len(get_state(app).replay.kept) == 1  # the old one was dropped


def test_errors_and_large_bodies_are_not_kept(engine: Engine, monkeypatch) -> None:
    app, reached = _app(engine)
    for _ in range(2):
        assert _get(app, "SELECT * WHERE { SERVICE <http://x/> { ?s ?p ?o } }").status_code == 400
    assert len(reached) == 2
    monkeypatch.setattr(replay, "MAX_BODY", 100)
    for _ in range(2):
        assert _get(app).status_code == 200
    assert len(reached) == 4


def test_without_a_cache_every_request_reaches_the_app(engine: Engine) -> None:
    app, reached = _app(engine, cache_mb=0)
    assert _get(app).data == _get(app).data
    assert len(reached) == 2


def test_post_and_head_are_never_replayed(engine: Engine) -> None:
    app, reached = _app(engine)
    client = app.test_client()
    for _ in range(2):
        posted = client.post("/sparql", data={"query": LOOKUP}, headers={"Accept": JSON})
        assert posted.status_code == 200
    _get(app)
    head = client.head("/sparql", query_string={"query": LOOKUP}, headers={"Accept": JSON})
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == _get(app).headers["ETag"]
    assert len(reached) == 4
