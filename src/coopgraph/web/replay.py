"""Answer a repeated GET of a SPARQL query with the bytes sent the first time.

The result cache (:meth:`ServerState.cached`) spares a repeated query its evaluation, but
the request still goes through Flask: reading the parameters, scanning the query,
negotiating the media type, and setting the caching, CORS and compression headers cost
several times more than the lookup itself. :class:`Replay` is a WSGI middleware in front
of the app that keeps whole responses, status, headers and body, and sends them again
without calling the app, as a reverse-proxy cache would.

A response is kept only when the handler marked it replayable (a 200 to a GET of
``/sparql`` with a query: :data:`REPLAYABLE`) and its body is at most
:data:`MAX_BODY` bytes. It is found again only by a request that would get the same bytes:
the key is a digest of the data version and of everything in the request that a response
depends on (the path and query string, the host and scheme, the headers that content
negotiation, compression, CORS and a trusted proxy read). A conditional request
(``If-None-Match``, ``If-Modified-Since``) goes to the app, which answers 304. The entries
are emptied with the result cache when the data changes, and bounded in bytes by the
``cache_mb`` setting (:class:`coopgraph.web.cache.ByteCache`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from coopgraph.web.cache import ByteCache, digest

#: The environ key a handler sets (to True) on a response that may be replayed.
REPLAYABLE = "coopgraph.replayable"
#: The largest body kept, in bytes (a larger one costs its transfer more than the app).
MAX_BODY = 32 * 1024
#: The request headers a response may depend on (besides the path and query string).
KEYED = (
    "HTTP_HOST",
    "wsgi.url_scheme",
    "SCRIPT_NAME",
    "HTTP_ACCEPT",
    "HTTP_ACCEPT_ENCODING",
    "HTTP_ORIGIN",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
)
#: Requests with these headers always go to the app.
CONDITIONAL = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE")

StartResponse = Callable[..., Any]
Entry = tuple[str, list[tuple[str, str]], bytes]


class Replay:
    """WSGI middleware: send a kept response again for an identical GET of ``path``.

    Args:
        app: The WSGI app behind.
        version: Returns the current data version; a new version makes every kept
            response unreachable.
        capacity: The bytes of responses to keep (0: none, the middleware only passes
            through).
        path: The one path whose responses may be kept.
    """

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        version: Callable[[], str],
        capacity: int,
        path: str = "/sparql",
    ) -> None:
        self.app = app
        self.version = version
        self.capacity = capacity
        self.path = path
        self.kept = ByteCache(capacity, MAX_BODY + 8192)

    def clear(self) -> None:
        """Forget every kept response."""
        self.kept.clear()

    def key(self, environ: dict[str, Any]) -> bytes | None:
        """The key of the response to ``environ``, or None when it is never replayed."""
        if (
            not self.capacity
            or environ.get("PATH_INFO") != self.path
            or environ.get("REQUEST_METHOD") != "GET"
            or not environ.get("QUERY_STRING")
            or any(h in environ for h in CONDITIONAL)
        ):
            return None
        return digest(self.version(), environ["QUERY_STRING"], *(environ.get(h) for h in KEYED))

    def lookup(self, environ: dict[str, Any]) -> Entry | None:
        """The kept response to ``environ``, if any (the production front asks this in its
        event loop, before it hands the request to a thread)."""
        key = self.key(environ)
        return None if key is None else self.kept.get(key)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        key = self.key(environ)
        if key is None:
            return self.app(environ, start_response)
        entry = self.kept.get(key)
        if entry is not None:
            status, headers, body = entry
            start_response(status, list(headers))
            return [body]
        return self._forward(environ, start_response, key)

    def _forward(
        self, environ: dict[str, Any], start_response: StartResponse, key: bytes
    ) -> Iterable[bytes]:
        sent: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            sent[:] = [status, headers]
            return (
                start_response(status, headers, exc_info)
                if exc_info
                else start_response(status, headers)
            )

        body = self.app(environ, capture)
        if not environ.get(REPLAYABLE) or not sent or not sent[0].startswith("200 "):
            return body
        length = next((v for k, v in sent[1] if k.lower() == "content-length"), None)
        if length is None or not length.isdigit() or int(length) > MAX_BODY:
            return body
        try:
            data = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        self.kept.put(key, (sent[0], list(sent[1]), data))
        return [data]
