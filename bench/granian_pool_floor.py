"""The floor of coopgraph's production server, for the benchmark only: a query sent straight
to the query-worker pool, without the SPARQL protocol's work.

    python bench/granian_pool_floor.py --root DIR [--store ENGINE] [--host 127.0.0.1]
        [--port 8000] [--workers 2]

The app is the one ``coopgraph serve --production`` serves, built by
:func:`coopgraph.web.serve.build_app` from the same settings (``COOPGRAPH_*`` in the environment
apply) and served by :func:`coopgraph.web.serve.run_production` (granian, the front, the access
log, confined query workers), with one route added in front of Flask: ``GET
/floor?query=Q`` reads the query from the query string, runs it in a query worker as
``/sparql`` does (the same job, deadline and memory limit) and sends the worker's answer as
SPARQL JSON. It skips everything else a request to ``/sparql`` costs the web process (Flask,
the Host check, the scanner, negotiation, the caches, the security, CORS and caching
headers), so its rate is what any design that runs each query in a worker process gets on
this server and machine: the ceiling of the ``/sparql`` rows.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any
from urllib.parse import parse_qsl

RESULTS_JSON = "application/sparql-results+json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, help="the project folder to serve")
    parser.add_argument("--store", help="the store engine (default: the setting)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, help="server processes (default: the setting)")
    args = parser.parse_args(argv)

    from coopgraph.settings import resolve
    from coopgraph.sparql import querytext
    from coopgraph.store.engine import QueryJob
    from coopgraph.web import serve as serving
    from coopgraph.web.state import get_state

    flags = {
        "root": args.root,
        "store": args.store,
        "host": args.host,
        "port": args.port,
        "workers": args.workers,
    }
    settings = resolve({k: v for k, v in flags.items() if v is not None})
    app = serving.build_app(settings, (), start_pool=False)
    state = get_state(app)
    base = f"http://{args.host}:{args.port}/"
    flask_app = app.wsgi_app

    def floor(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") != "/floor":
            return flask_app(environ, start_response)
        query = dict(parse_qsl(environ.get("QUERY_STRING", ""))).get("query", "")
        job = QueryJob(
            query=query,
            form=querytext.scan(query).form or "SELECT",  # ASK or SELECT: how to write it
            media_type=RESULTS_JSON,
            row_cap=int(settings["row_cap"]),
            default_graphs=(),
            named_graphs=(),
            dataset_given=False,
            truncated_link=base + "#limits",
            max_bytes=state.max_answer_bytes(),
            base_iri=base + "sparql",
            from_clause=False,
        )
        reply = state.run(job)
        body = getattr(reply, "body", b"")
        status = "200 OK" if body else "400 Bad Request"
        start_response(status, [("Content-Type", RESULTS_JSON)])
        return [body or str(getattr(reply, "message", "")).encode()]

    app.wsgi_app = floor  # type: ignore[method-assign]
    serving.run_production(app, settings, lambda line: print(line, file=sys.stderr, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
