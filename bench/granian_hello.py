"""The Flask hello world (``hello_app.py``) under coopgraph's production server, for the
benchmark only: granian with the RSGI interface and :class:`coopgraph.web.front.Front`.

    python bench/granian_hello.py [--host 127.0.0.1] [--port 8000] [--workers 2]

The server is set up as :func:`coopgraph.web.serve.run_production` sets it up (the same
granian options, the front with the same ``threads``, ``max_request_bytes``,
``body_timeout``, ``header_timeout`` and ``max_connections`` settings, ``COOPGRAPH_*`` in
the environment applying), with two differences that only make it faster: there are no
query workers to start, and no access log (the hello world under gunicorn has none
either), so that it is the ceiling of a Flask app under that server.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def server_options(settings: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``Granian`` that ``run_production`` passes."""
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings

    return {
        "address": str(settings["host"]),
        "port": int(settings["port"]),
        "interface": Interfaces.RSGI,
        "workers": int(settings["workers"]),
        "http1_settings": HTTP1Settings(
            header_read_timeout=int(float(settings["header_timeout"]) * 1000)
        ),
        "backpressure": int(settings["max_connections"]),
        "log_access": False,
        "workers_kill_timeout": 10,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, help="server processes (default: the setting)")
    args = parser.parse_args(argv)

    from granian import Granian
    from hello_app import app

    from coopgraph.settings import resolve
    from coopgraph.web.front import Front

    flags = {"host": args.host, "port": args.port, "workers": args.workers}
    settings = resolve({k: v for k, v in flags.items() if v is not None})
    front = Front(
        app,
        threads=int(settings["threads"]),
        max_request_bytes=int(settings["max_request_bytes"]),
        body_timeout=float(settings["body_timeout"]),
    )
    server = Granian("hello", **server_options(settings))
    print(
        f"hello world serving on http://{args.host}:{settings['port']}/ with "
        f"{settings['workers']} processes (granian + coopgraph's front)",
        file=sys.stderr,
        flush=True,
    )
    server.serve(target_loader=lambda _target: front.loaded())
    return 0


if __name__ == "__main__":
    sys.exit(main())
