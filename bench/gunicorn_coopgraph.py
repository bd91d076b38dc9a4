"""coopgraph's production app under gunicorn's threaded worker, for the benchmark only.

    python bench/gunicorn_coopgraph.py --root DIR [--store ENGINE] [--store-path DIR]
        [--host 127.0.0.1] [--port 8000] [--workers 2]

``coopgraph serve --production`` now runs granian and coopgraph's front
(:mod:`coopgraph.web.front`); this launcher serves the same app, built by
:func:`coopgraph.web.serve.build_app` from the same settings (``COOPGRAPH_*`` in the environment
apply, as for ``coopgraph serve``), the way the production mode did under gunicorn: loaded
once in the master (preloaded), forked into ``workers`` gthread workers of ``threads``
threads, each starting its own query workers once forked (``post_worker_init``) and
stopping them when it exits, with an access-log line per request on stdout. Its rows in
the benchmark are the same app on the old server.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from flask import Flask

from coopgraph.web.state import EXTENSION, get_state


def options(settings: dict[str, Any]) -> dict[str, Any]:
    """gunicorn's settings, as ``coopgraph serve --production`` set them under gunicorn."""
    return {
        "bind": f"{settings['host']}:{settings['port']}",
        "workers": int(settings["workers"]),
        "threads": int(settings["threads"]),
        "worker_class": "gthread",
        "preload_app": True,
        "timeout": int(float(settings["query_timeout"])) + 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "limit_request_line": 8190,
        "accesslog": "-",
        "control_socket_disable": True,
        "post_worker_init": _start_pool,
        "worker_exit": _stop_pool,
    }


def _start_pool(worker: Any) -> None:
    get_state(worker.wsgi).start_pool()


def _stop_pool(server: Any, worker: Any) -> None:
    app = getattr(worker, "wsgi", None)
    state = getattr(app, "extensions", {}).get(EXTENSION)
    if state is not None:
        state.stop_pool()


def serve(app: Flask, config: dict[str, Any]) -> None:
    """Run gunicorn on ``app`` (already built) until it is stopped."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in config.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return app

    Server().run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", required=True, help="the project folder")
    parser.add_argument("--store", help="store engine (default: the store setting)")
    parser.add_argument("--store-path", help="keep the Oxigraph store on disk there")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, help="gunicorn processes (default: the setting)")
    args = parser.parse_args(argv)

    from coopgraph.settings import resolve
    from coopgraph.web import access, update_token
    from coopgraph.web.serve import build_app

    flags = {
        "root": args.root,
        "store": args.store,
        "store_path": args.store_path,
        "host": args.host,
        "port": args.port,
        "workers": args.workers,
    }
    settings = resolve({k: v for k, v in flags.items() if v is not None})
    update_token.resolve_update_token(settings)
    started = time.monotonic()
    app = build_app(settings, files=(), start_pool=False)
    engine = get_state(app).engine
    print(f"loaded {engine.describe()} in {time.monotonic() - started:.1f} s", file=sys.stderr)
    access.listening(app, int(settings["port"]))
    print(
        f"coopgraph serving on http://{settings['host']}:{settings['port']}/ with "
        f"{settings['workers']} processes (gunicorn, bench/gunicorn_coopgraph.py)",
        file=sys.stderr,
        flush=True,
    )
    serve(app, options(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
