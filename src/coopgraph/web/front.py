"""The production front: granian's HTTP server (in Rust) in front of the WSGI app, with every
request read whole, under a deadline, before a thread is given to it.

A threaded WSGI server gives a thread to a connection as soon as its headers arrive, and the
thread then waits for the body at whatever pace the client sends it: a few clients sending a
byte a second hold every thread, and normal requests time out (the break measured under
gunicorn's threaded worker). Here the parts of a request that a client controls the pace
of are handled by the event loop, where a waiting connection costs no thread:

- granian reads the request line and headers in Rust, and drops a connection whose headers
  take longer than ``header_timeout`` seconds (``http1_header_read_timeout``); an idle
  keep-alive connection costs a task, not a thread;
- :class:`Front` then reads the body in the event loop, refusing at once one whose
  Content-Length is over ``max_request_bytes`` (413), stopping one that grows past it while
  it arrives (413, chunked or not), and one that takes longer than ``body_timeout`` seconds
  (408);
- only then does a thread of a fixed pool run the WSGI app on the complete request, and the
  answer is sent back by the event loop (a file, such as a dump, is sent by granian from
  disk).

A repeated GET that the replay cache holds (:mod:`coopgraph.web.replay`) is answered in the
event loop, without the thread.
"""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from typing import Any

from flask import Flask

from coopgraph.web import security
from coopgraph.web.replay import Replay

Wsgi = Callable[..., Iterable[bytes]]


class FileWrapper:
    """``wsgi.file_wrapper``: lets the front send a file from disk instead of its bytes."""

    def __init__(self, file: Any, block_size: int = 65536) -> None:
        self.file = file
        self.block_size = block_size

    def __iter__(self) -> Any:
        return iter(lambda: self.file.read(self.block_size), b"")

    def close(self) -> None:
        self.file.close()


class Front:
    """The RSGI app granian calls (``__rsgi__``) for every request.

    Args:
        app: The Flask app.
        threads: Threads that run the app (per server process).
        max_request_bytes: The largest body accepted.
        body_timeout: Seconds a client may take to send the body.
        on_start: Called in each server process once it is forked, before it serves (to
            start the query workers).
    """

    def __init__(
        self,
        app: Flask,
        threads: int,
        max_request_bytes: int,
        body_timeout: float,
        on_start: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self.wsgi: Wsgi = app.wsgi_app
        self.threads = threads
        self.max_request_bytes = max_request_bytes
        self.body_timeout = body_timeout
        self.on_start = on_start
        self.replay = self.wsgi if isinstance(self.wsgi, Replay) else None
        self.pool: ThreadPoolExecutor | None = None

    def loaded(self) -> Front:
        """Called by granian in each forked server process: start what it needs."""
        if self.on_start is not None:
            self.on_start()
        self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix="coopgraph")
        return self

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        if scope.proto != "http":
            proto.response_bytes(404, [("content-type", "text/plain")], b"not found\n")
            return
        headers = scope.headers
        length = headers.get("content-length")
        body = b""
        if length is not None or "transfer-encoding" in headers:
            body_or_error = await self._body(proto, length)
            if isinstance(body_or_error, tuple):
                status, message = body_or_error
                _plain(proto, status, message)
                return
            body = body_or_error
        environ = self._environ(scope, headers, body)
        if self.replay is not None:
            kept = self.replay.lookup(environ)
            if kept is not None:
                status, sent_headers, data = kept
                proto.response_bytes(int(status[:3]), sent_headers, data)
                return
        assert self.pool is not None, "the front was not loaded"
        loop = asyncio.get_running_loop()
        status, sent_headers, answer = await loop.run_in_executor(self.pool, self._call, environ)
        if isinstance(answer, FileWrapper):
            path = getattr(answer.file, "name", None)
            if isinstance(path, str):
                answer.close()
                proto.response_file(status, sent_headers, path)
                return
            data = b"".join(answer)
            answer.close()
            proto.response_bytes(status, sent_headers, data)
            return
        proto.response_bytes(status, sent_headers, answer)

    async def _body(self, proto: Any, length: str | None) -> bytes | tuple[int, str]:
        """The whole body, or the status and message that refuse it."""
        limit = self.max_request_bytes
        if length is not None:
            if not length.isdigit():
                return 400, f"the Content-Length {length!r} is not a number"
            if int(length) > limit:
                return 413, f"the request body is longer than {limit} bytes; send less"
        try:
            return await asyncio.wait_for(self._read(proto, limit), self.body_timeout)
        except TimeoutError:
            return 408, (
                f"the request body did not arrive within {self.body_timeout:g} s; send it at once"
            )
        except _TooLarge:
            return 413, f"the request body is longer than {limit} bytes; send less"
        except Exception as err:  # noqa: BLE001 - a bad chunk, a connection reset, ...
            return 400, f"the request body could not be read: {err}"

    @staticmethod
    async def _read(proto: Any, limit: int) -> bytes:
        chunks: list[bytes] = []
        held = 0
        async for chunk in proto:
            held += len(chunk)
            if held > limit:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    def _environ(self, scope: Any, headers: Any, body: bytes) -> dict[str, Any]:
        host, _, port = scope.server.rpartition(":")
        client = scope.client
        remote = client.rpartition(":")[0] if client.count(":") == 1 or "]" in client else client
        environ: dict[str, Any] = {
            "REQUEST_METHOD": scope.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": _path(scope.path),
            "QUERY_STRING": scope.query_string,
            "SERVER_NAME": host.strip("[]"),
            "SERVER_PORT": port,
            "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
            "REMOTE_ADDR": remote.strip("[]"),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": scope.scheme,
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.input_terminated": True,
            "wsgi.file_wrapper": FileWrapper,
        }
        for name, value in headers.items():
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH", "TRANSFER_ENCODING"):
                if key == "CONTENT_TYPE":
                    environ["CONTENT_TYPE"] = value
                continue
            key = "HTTP_" + key
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        if body or "HTTP_CONTENT_LENGTH" in environ or scope.method in ("POST", "PUT"):
            environ["CONTENT_LENGTH"] = str(len(body))
        return environ

    def _call(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], Any]:
        """Run the WSGI app on one request (in a thread of the pool)."""
        sent: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], _: Any = None) -> Any:
            sent["status"], sent["headers"] = status, headers
            return lambda data: None

        try:
            answer = self.wsgi(environ, start_response)
            if isinstance(answer, FileWrapper):
                return int(sent["status"][:3]), sent["headers"], answer
            try:
                data = b"".join(answer)
            finally:
                close = getattr(answer, "close", None)
                if close is not None:
                    close()
            return int(sent["status"][:3]), sent["headers"], data
        except Exception:  # noqa: BLE001 - the app's own handler logs what it catches
            self.app.logger.exception("the app failed on %s", environ.get("PATH_INFO"))
            message = b"500 Internal Server Error: the server failed on this request\n"
            return 500, [("content-type", "text/plain; charset=utf-8")], message


class _TooLarge(Exception):
    """The body grew past the limit while it arrived."""


def _path(raw: str) -> str:
    """PATH_INFO as WSGI servers give it: percent-decoded bytes, read as latin-1."""
    from urllib.parse import unquote_to_bytes

    return unquote_to_bytes(raw).decode("latin-1")


def _plain(proto: Any, status: int, message: str) -> None:
    phrase = HTTPStatus(status).phrase
    body = f"{status} {phrase}: {message}\n".encode()
    headers = [
        ("content-type", "text/plain; charset=utf-8"),
        ("cache-control", "no-store"),
        ("connection", "close"),
        ("content-security-policy", security.content_security_policy(security.OTHER_POLICY)),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", security.REFERRER_POLICY),
    ]
    proto.response_bytes(status, headers, body)
