"""Start the web server: Werkzeug's threaded server, or gunicorn in production mode.

In production mode the data is loaded once, in gunicorn's master process (``preload_app``);
each worker process is a fork of it and shares its memory, and starts its own query workers
(:mod:`coopgraph.sandbox`) once it is forked, before it starts its threads.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask

from coopgraph.errors import CoopgraphError
from coopgraph.project import find_root, is_root
from coopgraph.store import Engine, file_sources, open_engine, project_sources
from coopgraph.web import create_app

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
    engine = open_engine(str(settings["store"]), sources, root, path=path, options=dict(settings))
    return engine, root


def build_app(settings: dict[str, Any], files: tuple[str, ...], start_pool: bool = True) -> Flask:
    """Load the data and create the app."""
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
    announce(f"coopgraph serving on http://{_shown_host(host)}:{server.port}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    finally:
        app.extensions["coopgraph"].stop_pool()


def run_production(app: Flask, settings: dict[str, Any], announce: Callable[[str], None]) -> None:
    """Serve with gunicorn: ``workers`` processes of ``threads`` threads each."""
    from gunicorn.app.base import BaseApplication

    workers = int(settings["workers"])
    if settings["update_token"] and workers > 1:
        raise CoopgraphError(
            "SPARQL Update needs a single server process (each process holds its own copy of "
            "the data): use --workers 1 with an update token"
        )
    options = {
        "bind": f"{settings['host']}:{settings['port']}",
        "workers": workers,
        "threads": int(settings["threads"]),
        "worker_class": "gthread",
        "preload_app": True,
        "timeout": int(float(settings["query_timeout"])) + 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "limit_request_line": 8190,
        "accesslog": "-",
        "control_socket_disable": True,
        "post_worker_init": _start_worker_pool,
        "worker_exit": _stop_worker_pool,
        "on_starting": lambda arbiter: announce(
            f"coopgraph serving on http://{_shown_host(str(settings['host']))}:{settings['port']}/ "
            f"with {workers} processes (gunicorn)"
        ),
    }

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            return app

    Server().run()


def _start_worker_pool(worker: Any) -> None:
    worker.wsgi.extensions["coopgraph"].start_pool()


def _stop_worker_pool(server: Any, worker: Any) -> None:
    state = getattr(getattr(worker, "wsgi", None), "extensions", {}).get("coopgraph")
    if state is not None:
        state.stop_pool()


def _shown_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else host


def echo_err(message: str) -> None:
    """Print a line on stderr."""
    print(message, file=sys.stderr, flush=True)
