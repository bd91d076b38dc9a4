"""The web app: SPARQL protocol, linked-data pages, query editor, dumps.

:func:`create_app` is handed a ready engine (the web layer never parses data files) and
the settings; see :mod:`coopgraph.web.protocol`, :mod:`coopgraph.web.pages` and
:mod:`coopgraph.web.dataset` for the routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask_compress import Compress
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from coopgraph import formats
from coopgraph.settings import resolve
from coopgraph.store.engine import Engine
from coopgraph.store.processes import release_free_memory
from coopgraph.web import access, dataset, describe, errors, pages, protocol, security, update_token
from coopgraph.web.replay import Replay
from coopgraph.web.state import EXTENSION, ServerState

#: Types worth compressing (all text-like results and pages).
COMPRESSED = [
    "text/html",
    "text/css",
    "text/plain",
    "text/csv",
    "text/tab-separated-values",
    "application/javascript",
    "application/json",
    "application/sparql-results+json",
    "application/sparql-results+xml",
    *(f.media_type for f in formats.ALL),
]


def create_app(
    engine: Engine,
    settings: Mapping[str, Any] | None = None,
    *,
    sources_dir: Path | None = None,
    examples: list[tuple[str, str]] | None = None,
    yasgui_dir: Path | None = None,
    start_pool: bool = True,
) -> Flask:
    """Build the app around ``engine``.

    Args:
        engine: The loaded dataset.
        settings: Setting values (defaults from :mod:`coopgraph.settings` fill the rest).
        sources_dir: The folder of the source texts, for the source documents' pages.
        examples: Example queries for the editor: (title, text).
        yasgui_dir: The folder holding yasgui.min.js and yasgui.min.css.
        start_pool: Fork the query workers now (call this while single-threaded); pass
            False when a server starts them later in each of its processes.
    """
    values = resolve({}, {}, {})
    values.update(settings or {})
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=int(values["max_request_bytes"]),
        JSON_SORT_KEYS=False,
        COMPRESS_MIMETYPES=COMPRESSED,
        COMPRESS_MIN_SIZE=1024,
        COMPRESS_ALGORITHM=["gzip"],
        COMPRESS_REGISTER=True,
    )
    state = ServerState(
        engine,
        dict(values),
        sources_dir=sources_dir,
        examples=list(examples or []),
        yasgui_dir=yasgui_dir,
    )
    app.extensions[EXTENSION] = state
    update_token.init_app(app, state.settings)  # the token file, and the limit on wrong tokens
    access.init_app(app, state.settings)  # the Host check
    errors.register(app)
    security.register(app)
    app.register_blueprint(protocol.bp)
    app.register_blueprint(dataset.bp)
    app.register_blueprint(pages.bp)
    _allow_origins(app, str(values["cors_origins"]))
    Compress(app)
    _wrap(app, state, values)
    if engine.in_memory:
        describe.warm(state)  # before any fork: the processes share the figures
    release_free_memory()  # what loading and counting freed is not inherited by the forks
    if start_pool:
        state.start_pool()
    return app


def _wrap(app: Flask, state: ServerState, values: Mapping[str, Any]) -> None:
    """Put the WSGI layers around the app: the proxy headers' reader (when proxies are
    trusted), then the answer cache in front of everything."""
    hops = int(values["trusted_proxies"])
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )
    replay = Replay(app.wsgi_app, lambda: state.version, int(float(values["cache_mb"]) * 2**20))
    app.wsgi_app = replay  # type: ignore[method-assign]
    state.replay = replay


def _allow_origins(app: Flask, setting: str) -> None:
    """Let the origins listed in ``setting`` (comma-separated) query ``/sparql`` and read
    the VoID description from a browser (CORS); none when the setting is empty."""
    origins = [o.strip() for o in setting.split(",") if o.strip()]
    if origins:
        CORS(
            app,
            resources={
                r"/sparql": {"origins": origins},
                r"/.well-known/void": {"origins": origins},
            },
            methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Content-Type", "Accept"],
            expose_headers=["Coopgraph-Truncated", "Coopgraph-Results", "ETag"],
            max_age=86400,
        )
