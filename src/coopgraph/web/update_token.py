"""The update token: where it is read from, and how many wrong ones a client may send.

It is read from ``COOPGRAPH_UPDATE_TOKEN`` or from the file named by ``update_token_file``
(:func:`resolve_update_token`), never from the command line, where every user of the
machine could read it (``ps``). Failed attempts are counted per client address
(:class:`FailureLimiter`); past ``update_max_failures`` in ``update_failure_window``
seconds, ``/update`` answers 429 with ``Retry-After`` without looking at the token.
"""

from __future__ import annotations

import hmac
import ipaddress
import math
import threading
import time
from collections import deque
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

from cachetools import LRUCache
from flask import Flask, current_app, request

from coopgraph.errors import CoopgraphError
from coopgraph.web.errors import ApiError

#: Client addresses whose failed token attempts are remembered (least recently seen go).
MAX_CLIENTS = 4096


def resolve_update_token(settings: MutableMapping[str, Any]) -> str:
    """Read the token from ``update_token_file`` when set, store it in
    ``settings["update_token"]`` and return it (the file's first line, stripped).

    Raises:
        CoopgraphError: when the file cannot be read or its first line is empty, or when
            ``COOPGRAPH_UPDATE_TOKEN`` also gives a different token.
    """
    token = str(settings.get("update_token") or "")
    name = str(settings.get("update_token_file") or "")
    if not name:
        return token
    try:
        with Path(name).open(encoding="utf-8") as handle:
            first = handle.readline().strip()
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise CoopgraphError(f"update_token_file {name}: cannot be read ({reason})") from None
    if not first:
        raise CoopgraphError(
            f"update_token_file {name}: the first line is empty; it must hold the token"
        )
    if token and token != first:
        raise CoopgraphError(
            f"the update token is given twice, by COOPGRAPH_UPDATE_TOKEN and by "
            f"update_token_file {name}; keep one"
        )
    settings["update_token"] = first
    return first


def client_key(address: str | None) -> str:
    """The client an address counts as: the address, or its /64 network for IPv6 (one
    machine commonly holds a whole /64)."""
    text = (address or "")[:64]
    try:
        parsed = ipaddress.ip_address(text)
    except ValueError:
        return text
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


class FailureLimiter:
    """Failed attempts per client in a sliding window, for at most ``clients`` clients.

    Args:
        limit: Failures a client may have within ``window`` seconds.
        window: The window, in seconds.
        clients: How many clients are remembered (the least recently seen are forgotten).
        clock: The time, in seconds (monotonic).
    """

    def __init__(
        self,
        limit: int,
        window: float,
        clients: int = MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = max(1, int(limit))
        self.window = float(window)
        self.clock = clock
        self.failures: LRUCache[str, deque[float]] = LRUCache(maxsize=max(1, clients))
        self.lock = threading.Lock()

    def wait(self, client: str) -> float:
        """Seconds before ``client`` may try again (0: now)."""
        now = self.clock()
        with self.lock:
            times = self.failures.get(client)
            if times is None:
                return 0.0
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) < self.limit:
                return 0.0
            return times[0] + self.window - now

    def failed(self, client: str) -> None:
        """Count a failed attempt of ``client``."""
        with self.lock:
            times = self.failures.get(client)
            if times is None:
                times = self.failures[client] = deque(maxlen=self.limit)
            times.append(self.clock())

    def succeeded(self, client: str) -> None:
        """Forget ``client``'s failures."""
        with self.lock:
            self.failures.pop(client, None)


def check_update_token(token: str) -> None:
    """Let the request through only with ``Authorization: Bearer <token>``.

    Raises:
        ApiError: 429 (with ``Retry-After``) when the client failed too often lately,
            without looking at what it sent; 401 for a missing or wrong token.
    """
    limiter: FailureLimiter = current_app.extensions["coopgraph.token"]
    client = client_key(request.remote_addr)
    wait = limiter.wait(client)
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise ApiError(
            429,
            f"too many failed token attempts from this address ({limiter.limit} in "
            f"{limiter.window:g} s); try again in {seconds} s",
            retry_after=seconds,
        )
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        limiter.failed(client)
        raise ApiError(
            401,
            "SPARQL Update needs the token: send 'Authorization: Bearer TOKEN'",
            headers={"WWW-Authenticate": 'Bearer realm="coopgraph update"'},
        )
    limiter.succeeded(client)


def init_app(app: Flask, settings: MutableMapping[str, Any]) -> None:
    """Read the token file into the settings, and count each client's failed attempts.

    Raises:
        CoopgraphError: for an unreadable or empty ``update_token_file``.
    """
    resolve_update_token(settings)
    app.extensions["coopgraph.token"] = FailureLimiter(
        int(settings.get("update_max_failures", 5)),
        float(settings.get("update_failure_window", 60.0)),
    )
