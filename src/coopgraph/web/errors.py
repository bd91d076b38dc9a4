"""Errors at the HTTP edge: every refusal is a status code and a sentence saying why."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from coopgraph.web.media import NotAcceptable


class ApiError(Exception):
    """A request the server refuses, with the status and a message for the client.

    Args:
        status: The HTTP status (4xx, or 503).
        message: What was wrong, and where, in words for the person who sent it.
        retry_after: Seconds after which the client may try again (503).
        allow: The methods allowed (405).
        headers: Any other headers.
    """

    def __init__(
        self,
        status: int,
        message: str,
        retry_after: int | None = None,
        allow: Iterable[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        if retry_after is not None:
            self.headers["Retry-After"] = str(retry_after)
        if allow is not None:
            self.headers["Allow"] = ", ".join(allow)


def text_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """A plain-text error response: the status line's phrase, then the message."""
    from http import HTTPStatus

    phrase = HTTPStatus(status).phrase
    response = Response(f"{status} {phrase}: {message}\n", status=status)
    response.content_type = "text/plain; charset=utf-8"
    response.headers.extend(headers or {})
    response.headers["Cache-Control"] = "no-store"
    return response


def register(app: Flask) -> None:
    """Turn every error into a text response with a message."""

    @app.errorhandler(ApiError)
    def api_error(err: ApiError) -> Response:
        return text_response(err.status, err.message, err.headers)

    @app.errorhandler(NotAcceptable)
    def not_acceptable(err: NotAcceptable) -> Response:
        return text_response(406, str(err), {"Vary": "Accept"})

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> Response:
        status = err.code or 500
        message = _MESSAGES.get(status) or (err.description or "").strip()
        headers = {}
        if status == 405 and err.response is None:
            valid = getattr(err, "valid_methods", None) or ()
            headers["Allow"] = ", ".join(valid)
            message = f"{request.method} is not allowed on {request.path}; use " + " or ".join(
                m for m in valid if m not in ("HEAD", "OPTIONS")
            )
        return text_response(status, message, headers)

    @app.errorhandler(Exception)
    def unexpected(err: Exception) -> Response:
        app.logger.exception("unexpected error on %s %s", request.method, request.path)
        return text_response(500, "the server failed on this request; it has been logged")


_MESSAGES = {
    404: "nothing is published at this address",
    413: "the request body is too large for this endpoint",
}
