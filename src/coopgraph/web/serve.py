"""Start the web server: Werkzeug's threaded server, or granian in production mode.

In production mode the data is loaded once, in granian's main process; each server process
is a fork of it and shares its memory, and starts its own query workers
(:mod:`coopgraph.store.sandbox`) once it is forked, before it starts its threads. Requests reach
the app through :mod:`coopgraph.web.front`, which reads each one whole, under a deadline,
before a thread runs it: slow or idle clients cost the server no thread.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask

from coopgraph.errors import CoopgraphError
from coopgraph.graph.project import find_root, is_root
from coopgraph.graph.sources import file_sources, project_sources
from coopgraph.store.engine import Engine
from coopgraph.store.opening import open_engine
from coopgraph.store.processes import limit_heaps
from coopgraph.web import access, create_app
from coopgraph.web.state import get_state

YASGUI_BUILD = Path("node_modules") / "@zazuko" / "yasgui" / "build"


def examples(root: Path | None) -> list[tuple[str, str]]:
    """The competency questions, as (question, query) pairs for the editor."""
    if root is None:
        return []
    found = []
    for path in sorted((root / "queries" / "competency").glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        first = text.splitlines()[0] if text else ""
        title = first.lstrip("#").strip() if first.startswith("#") else path.stem
        found.append((title, text))
    return found


def yasgui_folder(settings: dict[str, Any], root: Path | None) -> Path | None:
    """Where yasgui.min.js is, or None when the editor is not installed."""
    candidates = []
    if settings.get("yasgui_dir"):
        candidates.append(Path(str(settings["yasgui_dir"])))
    if root is not None:
        candidates.append(root / YASGUI_BUILD)
    for folder in candidates:
        if (folder / "yasgui.min.js").is_file() and (folder / "yasgui.min.css").is_file():
            return folder.resolve()
    return None


def load_engine(settings: dict[str, Any], files: tuple[str, ...]) -> tuple[Engine, Path | None]:
    """Load the bundled project (or the given RDF files) into the chosen engine."""
    root: Path | None
    if files:
        root = Path(str(settings["root"])).resolve() if settings["root"] else None
        sources = file_sources(files)
    else:
        root = find_root(settings["root"] or None)
        sources = project_sources(root)
    path = str(settings.get("store_path") or "") or None
    reasoner = str(settings["reasoner"]) if settings["infer"] else None
    engine = open_engine(
        str(settings["store"]), sources, root, path=path, options=dict(settings), reasoner=reasoner
    )
    return engine, root


def build_app(settings: dict[str, Any], files: tuple[str, ...], start_pool: bool = True) -> Flask:
    """Load the data and create the app."""
    limit_heaps()  # before any thread: a threaded server's heaps keep what their peaks took
    engine, root = load_engine(settings, files)
    data = root / "data" if root is not None and is_root(root) and not files else None
    return create_app(
        engine,
        settings,
        sources_dir=data,
        examples=examples(root) if not files else [],
        yasgui_dir=yasgui_folder(settings, root),
        start_pool=start_pool,
    )


def run_development(app: Flask, host: str, port: int, announce: Callable[[str], None]) -> None:
    """Serve with Werkzeug's threaded server until interrupted."""
    from werkzeug.serving import make_server

    server = make_server(host, port, app, threaded=True)
    access.listening(app, server.port)  # the real port, also when 0 was asked for
    announce(f"coopgraph serving on http://{_shown_host(host)}:{server.port}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    finally:
        get_state(app).stop_pool()


def run_production(app: Flask, settings: dict[str, Any], announce: Callable[[str], None]) -> None:
    """Serve with granian (HTTP in Rust) and the front of :mod:`coopgraph.web.front`:
    ``workers`` processes, each with ``threads`` threads for the app and its own query
    workers, started once it is forked."""
    from granian import Granian
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings

    from coopgraph.web.front import Front

    workers = int(settings["workers"])
    if settings["update_token"] and workers > 1:
        raise CoopgraphError(
            "SPARQL Update needs a single server process (each process holds its own copy of "
            "the data): use --workers 1 with an update token"
        )
    host, port = str(settings["host"]), int(settings["port"])
    if port == 0:  # each granian process binds the port itself: choose one for all
        port = _free_port(host)
    access.listening(app, port)
    state = get_state(app)
    front = Front(
        app,
        threads=int(settings["threads"]),
        max_request_bytes=int(settings["max_request_bytes"]),
        body_timeout=float(settings["body_timeout"]),
        on_start=state.start_pool,
    )
    server = Granian(
        "coopgraph",  # not imported: the loader below hands over the app built here
        address=host,
        port=port,
        interface=Interfaces.RSGI,
        workers=workers,
        http1_settings=HTTP1Settings(
            header_read_timeout=int(float(settings["header_timeout"]) * 1000)
        ),
        backpressure=int(settings["max_connections"]),
        log_access=True,
        workers_kill_timeout=10,
    )
    announce(
        f"coopgraph serving on http://{_shown_host(host)}:{port}/ "
        f"with {workers} processes (granian)"
    )
    try:
        server.serve(target_loader=lambda _target: front.loaded())
    finally:
        state.stop_pool()


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _shown_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else host


def echo_err(message: str) -> None:
    """Print a line on stderr."""
    print(message, file=sys.stderr, flush=True)
