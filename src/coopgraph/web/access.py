"""Which Host a request may name, and the URLs the server writes from it.

The Host header. Every absolute URL the server writes (``sd:endpoint``, VoID, the link in a
cut result, the endpoint shown on the home page) comes from :func:`base_url`: the
``public_url`` setting when it is set, else the request's scheme, host and prefix once
:func:`check_host` has accepted them. Without ``public_url`` a request is answered only
when its host (after :class:`~werkzeug.middleware.proxy_fix.ProxyFix` when
``trusted_proxies`` is set, so the one in ``X-Forwarded-Host``) is listed in
``allowed_hosts``, whose default is the address served (see :class:`HostPolicy`); any
other gets 400. ``/health`` is not checked: it writes no URL, and a load balancer's health
check often sends the address it knows rather than the public name. What is derived from a
base URL is kept in a bounded memo (:func:`memoize`), so that no Host can make the server
keep more.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from cachetools import LRUCache
from flask import Flask, current_app, request, url_for

from coopgraph.errors import SettingError
from coopgraph.web.errors import ApiError

#: The paths answered whatever the Host (they write no URL).
UNCHECKED = frozenset({"/health"})
#: Base-dependent values (service description, VoID) kept at once, over all bases.
MEMO_ENTRIES = 64
#: The longest Host value, and the longest prefix (SCRIPT_NAME), considered at all.
MAX_HOST = 255
MAX_PREFIX = 256
#: The environ key under which the checked base URL of a request is kept.
BASE_KEY = "coopgraph.base_url"

_DEFAULT_PORTS = {"http": 80, "https": 443}
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
_HOST = re.compile(
    r"(?P<name>[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(?::(?P<port>[1-9][0-9]{0,4}))?",
    re.ASCII | re.IGNORECASE,
)
_SAFE = "!$&'()*+,/:;=@%"
_PREFIX = re.compile(r"(?:/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*/?", re.ASCII)


# --------------------------------------------------------------------------- the Host


def parse_host(value: str) -> tuple[str, int | None] | None:
    """Split ``name[:port]`` into the lower-cased name and the port, or None when it is not
    a host name, an IPv4 address or a bracketed IPv6 address with an optional port."""
    if len(value) > MAX_HOST:
        return None
    match = _HOST.fullmatch(value)
    if match is None:
        return None
    name = match["name"].lower()
    if name.startswith("["):
        try:
            ipaddress.IPv6Address(name[1:-1])
        except ValueError:
            return None
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 1 <= port <= 65535:
        return None
    return name, port


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _wildcard(host: str) -> bool:
    return host in ("", "0.0.0.0", "::", "[::]")


def _public_url(value: str) -> str:
    """``public_url`` checked and ending in ``/`` ("" when unset).

    Raises:
        SettingError: when it is not an http(s) URL with a host and no query or fragment.
    """
    value = value.strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if (
        parts.scheme not in _DEFAULT_PORTS
        or not parts.hostname
        or "@" in parts.netloc
        or parts.query
        or parts.fragment
        or parse_host(parts.netloc) is None
    ):
        raise SettingError(
            f"setting public_url must be an http or https URL with a host and no query, "
            f"such as https://example.org/coop/, not {value!r}"
        )
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    if not _PREFIX.fullmatch(path):
        raise SettingError(f"setting public_url has a path that is not plain: {parts.path!r}")
    return f"{parts.scheme}://{parts.netloc.lower()}{path}"


def _allowed_hosts(value: str) -> frozenset[tuple[str, int | None]]:
    """The entries of ``allowed_hosts``: (name, port), port None for the scheme's default.

    Raises:
        SettingError: for an entry that is not ``name`` or ``name:port``.
    """
    found = set()
    for entry in (e.strip() for e in value.split(",")):
        if not entry:
            continue
        parsed = parse_host(entry)
        if parsed is None:
            hint = (
                " (a wildcard would let any Host into the links: list each name)"
                if "*" in entry
                else " (name or name:port, IPv6 in brackets, no scheme or path)"
            )
            raise SettingError(f"setting allowed_hosts: {entry!r} is not a host{hint}")
        found.add(parsed)
    return frozenset(found)


@dataclass
class HostPolicy:
    """Which Host values a request may name.

    Attributes:
        public_url: The URL links are built from ("" when unset: from the request).
        listed: The ``allowed_hosts`` entries (name, port); port None means the default
            port of the request's scheme (80, 443).
        names: When nothing is listed, the names of the address served: the ``host``
            setting, and ``localhost``, ``127.0.0.1`` and ``[::1]`` when it is a loopback
            address (with a wildcard address, 0.0.0.0: those and the machine's name).
        port: The port served, once the server has told it (:func:`listening`); before
            that any port is accepted with :attr:`names`.
    """

    public_url: str
    listed: frozenset[tuple[str, int | None]]
    names: frozenset[str]
    port: int | None = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> HostPolicy:
        """The policy the settings describe.

        Raises:
            SettingError: for a malformed ``public_url`` or ``allowed_hosts``.
        """
        public = _public_url(str(settings.get("public_url") or ""))
        listed = _allowed_hosts(str(settings.get("allowed_hosts") or ""))
        if public and listed:
            listed = listed | {parse_host(urlsplit(public).netloc) or ("", None)}
        host = str(settings.get("host") or "").strip().lower()
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        names = set()
        if _wildcard(host):
            names.update(_LOOPBACK_NAMES)
            names.add(socket.gethostname().lower())
        else:
            names.add(host)
            if _is_loopback(host):
                names.update(_LOOPBACK_NAMES)
        return cls(public, listed, frozenset(names))

    @property
    def checks(self) -> bool:
        """Whether the Host is checked at all (not when only ``public_url`` is set)."""
        return bool(self.listed or not self.public_url)

    def allows(self, name: str, port: int | None, scheme: str) -> bool:
        """Whether a request for ``scheme://name[:port]`` is answered."""
        default = _DEFAULT_PORTS.get(scheme)
        effective = port if port is not None else default
        if self.listed:
            return any(
                name == n and effective == (p if p is not None else default) for n, p in self.listed
            )
        return name in self.names and (self.port is None or effective == self.port)


def _policy(app: Flask | None = None) -> HostPolicy:
    return (app or current_app).extensions["coopgraph.access"].hosts


def _shown(value: str) -> str:
    """A client's value, quoted and cut, for a message."""
    return repr(value if len(value) <= 80 else value[:80] + "...")


_HOW = (
    "to serve it, add it to the allowed_hosts setting (COOPGRAPH_ALLOWED_HOSTS, "
    "comma-separated name or name:port), or set public_url (COOPGRAPH_PUBLIC_URL) to the "
    "server's public address"
)


def check_host() -> str:
    """Accept the request's scheme, host and prefix, and return its base URL.

    Raises:
        ApiError: 400 for a Host (or ``X-Forwarded-Host``, ``-Proto``, ``-Prefix`` from a
            trusted proxy) that is malformed or not allowed.
    """
    environ = request.environ
    if BASE_KEY in environ:
        return environ[BASE_KEY]
    policy = _policy()
    raw = environ.get("HTTP_HOST")
    if not policy.checks:
        base = policy.public_url
    else:
        if raw is None:
            raise ApiError(400, "the request has no Host header; send one")
        scheme = str(environ.get("wsgi.url_scheme", ""))
        if scheme not in _DEFAULT_PORTS:
            raise ApiError(400, f"the scheme {_shown(scheme)} is not http or https")
        parsed = parse_host(raw)
        if parsed is None:
            raise ApiError(
                400,
                f"the Host {_shown(raw)} is not a host name or address with an optional "
                "port; send one Host, such as example.org or 127.0.0.1:8000",
            )
        name, port = parsed
        if not policy.allows(name, port, scheme):
            shown = name if port is None else f"{name}:{port}"
            raise ApiError(400, f"the Host {_shown(shown)} is not served here; {_HOW}")
        if policy.public_url:
            base = policy.public_url
        else:
            prefix = str(environ.get("SCRIPT_NAME", ""))
            if len(prefix) > MAX_PREFIX or not _PREFIX.fullmatch(prefix):
                raise ApiError(400, f"the prefix {_shown(prefix)} is not a plain path")
            netloc = name if port in (None, _DEFAULT_PORTS[scheme]) else f"{name}:{port}"
            base = f"{scheme}://{netloc}{quote(prefix.rstrip('/'), safe=_SAFE)}/"
    environ[BASE_KEY] = base
    return base


def base_url() -> str:
    """The URL every absolute link of this request starts with, ending in ``/``:
    ``public_url`` when set, else the request's checked scheme, host and prefix."""
    return check_host()


def external_url(endpoint: str, **values: Any) -> str:
    """The absolute URL of ``endpoint`` (as :func:`flask.url_for`), under :func:`base_url`."""
    path = url_for(endpoint, **values)
    root = request.script_root
    if root and path.startswith(root):
        path = path[len(root) :]
    return base_url() + path.lstrip("/")


def listening(app: Flask, port: int) -> None:
    """Tell the app the port it is served on (known once the server has bound it, which
    matters with port 0): the default ``allowed_hosts`` then accept that port only."""
    _policy(app).port = int(port)


# --------------------------------------------------------------------------- bounded memo


def memoize(state: Any, name: str, compute: Callable[[], Any]) -> Any:
    """Like :meth:`ServerState.memoize` (once per data version), for values that depend on
    a base URL (which ``name`` holds): at most :data:`MEMO_ENTRIES` are kept, the least
    recently used going first."""
    access: Access = current_app.extensions["coopgraph.access"]
    key = (state.version, name)
    with access.memo_lock:
        found = access.memo.get(key)
    if found is not None:
        return found
    value = compute()
    with access.memo_lock:
        access.memo[key] = value
    return value


# --------------------------------------------------------------------------- the app


@dataclass
class Access:
    """What this module keeps per app (``app.extensions["coopgraph.access"]``)."""

    hosts: HostPolicy
    memo: LRUCache[Any, Any]
    memo_lock: threading.Lock


def init_app(app: Flask, settings: MutableMapping[str, Any]) -> None:
    """Check the host settings, and check every request's Host.

    Raises:
        SettingError: for a malformed ``public_url`` or ``allowed_hosts``.
    """
    app.extensions["coopgraph.access"] = Access(
        HostPolicy.from_settings(settings),
        LRUCache(maxsize=MEMO_ENTRIES),
        threading.Lock(),
    )

    @app.before_request
    def _check_host() -> None:
        if request.path not in UNCHECKED:
            check_host()

    app.jinja_env.globals["external_url"] = external_url
