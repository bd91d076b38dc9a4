"""Settings, declared once in :data:`SETTINGS`.

Each setting has a name, a default and a help text. A value is taken from, in order: a
command-line flag (such as ``--format`` or ``--root``), ``--setting NAME VALUE``, the
environment variable ``COOPGRAPH_<NAME>`` (upper case), and the default. The secrets in
:data:`SECRETS` are refused by ``--setting``: they come from the environment (or a file).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from coopgraph.errors import SettingError

ENV_PREFIX = "COOPGRAPH_"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Setting:
    """One setting: its name, default value and help text.

    Attributes:
        name: The setting's name, as used by ``--setting`` (env: ``COOPGRAPH_<NAME>``).
        default: The value used when nothing else sets it; its type is the setting's type.
        help: One sentence for a person: what the setting changes.
    """

    name: str
    default: str | float | int | bool
    help: str

    @property
    def env_var(self) -> str:
        """The environment variable that sets this setting."""
        return ENV_PREFIX + self.name.upper()

    def convert(self, value: Any, origin: str) -> str | float | int | bool:
        """Return ``value`` converted to this setting's type.

        Raises:
            SettingError: when the value cannot be converted; names ``origin``.
        """
        kind = type(self.default)
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE or text in _FALSE:
                return text in _TRUE
            raise SettingError(
                f"setting {self.name} (from {origin}) must be true or false, not {value!r}"
            )
        if kind in (int, float):
            try:
                number = kind(value)
            except (TypeError, ValueError):
                raise SettingError(
                    f"setting {self.name} (from {origin}) must be "
                    f"{'a whole number' if kind is int else 'a number'}, not {value!r}"
                ) from None
            if number < 0 and self.name != "progress_after":
                raise SettingError(
                    f"setting {self.name} (from {origin}) cannot be negative, not {value!r}"
                )
            return number
        return str(value)


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "root",
        "",
        "The project folder holding ontology/, data/ and shapes/; empty: look for it from "
        "the current directory upwards, then from the installed package.",
    ),
    Setting("validate_format", "text", "Output format of `coopgraph validate`."),
    Setting(
        "validator",
        "auto",
        "The SHACL engine: pyshacl (the reference), pyshacl-turbo (the same reports, several "
        "times faster), or auto (pyshacl-turbo when installed).",
    ),
    Setting("reason_format", "turtle", "RDF format in which `coopgraph reason` writes."),
    Setting(
        "reasoner",
        "rules",
        "The OWL 2 RL reasoner: rules (owlrl on the ontology, the instance rules on the data; "
        "the same closure, much faster) or owlrl (the reference, on everything).",
    ),
    Setting(
        "infer",
        True,
        "Serve the OWL 2 RL inferences: the default graph of a query is the asserted graphs "
        "and their closure (a graph of its own); false: the asserted graphs alone. A request "
        "with infer=false, or `coopgraph query --no-infer`, asks for the asserted graphs.",
    ),
    Setting("query_format", "table", "Output format of `coopgraph query`."),
    Setting("stats_format", "table", "Output format of `coopgraph stats`."),
    Setting("check_format", "text", "Output format of `coopgraph check`."),
    Setting(
        "check_fail_on",
        "error",
        "The least severe finding that makes `coopgraph check` exit 1: error, warn or none.",
    ),
    Setting(
        "progress_after",
        2.0,
        "Seconds of loading after which progress is reported on stderr (negative: never).",
    ),
    Setting(
        "store",
        "oxigraph",
        "Store engine: oxigraph (fast), rdflib (the reference), or remote (a SPARQL store).",
    ),
    Setting(
        "store_path",
        "",
        "A folder for the Oxigraph store on disk, reopened without loading when it holds the "
        "same data (rebuilt otherwise), served read-only; empty: in memory.",
    ),
    Setting(
        "remote_query_url",
        "",
        "The SPARQL query endpoint of the remote store (--store remote), e.g. "
        "http://127.0.0.1:7878/query for an Oxigraph server.",
    ),
    Setting(
        "remote_update_url",
        "",
        "The remote store's SPARQL update endpoint (loading, and /update when enabled).",
    ),
    Setting(
        "remote_store_url",
        "",
        "The remote store's Graph Store Protocol endpoint, used to load files as they are; "
        "empty: load by SPARQL Update.",
    ),
    Setting("remote_user", "", "User name for the remote store (HTTP basic); empty: none."),
    Setting("remote_password", "", "Password for the remote store (HTTP basic)."),
    Setting(
        "remote_load",
        True,
        "Load the data into the remote store at start (replacing its graphs); false: serve "
        "what the store already holds.",
    ),
    Setting("host", "127.0.0.1", "Address `coopgraph serve` listens on."),
    Setting("port", 8000, "Port `coopgraph serve` listens on."),
    Setting(
        "query_timeout",
        10.0,
        "Seconds a SPARQL query may run; past it the query is stopped and the client gets 503.",
    ),
    Setting(
        "row_cap",
        10000,
        "Most rows (or triples) a query result holds; a cut result says so in its headers.",
    ),
    Setting(
        "max_request_bytes",
        1_000_000,
        "Largest request body, and largest query string, the endpoint accepts (else 413/414).",
    ),
    Setting(
        "query_workers",
        2,
        "Worker processes that evaluate queries, per server process (each can be stopped).",
    ),
    Setting(
        "worker_memory_mb",
        0,
        "Private memory (MB) a query worker may keep after a query; past it the worker is "
        "replaced by a fresh one, which shares the data again (0: no limit). A limit keeps "
        "memory down after large queries, and makes the next large query slower.",
    ),
    Setting(
        "max_waiting",
        32,
        "Queries that may wait for a free worker; beyond that the endpoint answers 503.",
    ),
    Setting(
        "queue_timeout",
        2.0,
        "Seconds a query waits for a free worker before the endpoint answers 503.",
    ),
    Setting(
        "cache_mb",
        64.0,
        "Memory (MB) for kept query answers per server process, for the result cache and "
        "the replay of repeated requests each (0: none); emptied whenever the data changes.",
    ),
    Setting(
        "cache_entry_kb",
        256.0,
        "The largest answer (KB) kept in the result cache; larger ones are always computed.",
    ),
    Setting(
        "max_answer_mb",
        16.0,
        "The largest answer (MB) a query may send; a longer one is cut at a row, and says "
        "so as the row cap does.",
    ),
    Setting(
        "query_memory_mb",
        512.0,
        "Memory (MB) a query worker may allocate for one query, beyond the data it shares; "
        "past it the query ends with 503 and the worker is replaced.",
    ),
    Setting(
        "update_timeout",
        30.0,
        "Seconds an update may run; past it the update is stopped, the data is unchanged "
        "and the client gets 503.",
    ),
    Setting(
        "dump_timeout",
        300.0,
        "Seconds a query worker may take to write a dump (/dumps/...) of the data, once per "
        "version of the data.",
    ),
    Setting(
        "confine_workers",
        True,
        "Confine the query workers with the kernel (seccomp, Landlock, a memory limit) so "
        "that no query reaches the network or a file; switch off only on a machine that "
        "no one else can query.",
    ),
    Setting(
        "update_token",
        "",
        "A secret that enables SPARQL Update on /update (sent as 'Authorization: Bearer "
        "TOKEN'); set it by the environment variable only (or update_token_file), never on "
        "the command line; empty: the endpoint is read-only.",
    ),
    Setting(
        "update_token_file",
        "",
        "A file whose first line is the update token, read at start (an unreadable or empty "
        "file stops the server); empty: the token is COOPGRAPH_UPDATE_TOKEN, if set.",
    ),
    Setting(
        "update_max_failures",
        5,
        "Failed token attempts at /update a client address may make within "
        "update_failure_window; past them it gets 429 until the window passes.",
    ),
    Setting(
        "update_failure_window",
        60.0,
        "Seconds over which failed token attempts at /update are counted, per client address.",
    ),
    Setting(
        "public_url",
        "",
        "The URL the server is published at, e.g. https://example.org/coop/; every absolute "
        "URL it writes (links, sd:endpoint, VoID) starts with it, whatever the request's "
        "Host; empty: built from the request's Host, which must be in allowed_hosts.",
    ),
    Setting(
        "allowed_hosts",
        "",
        "The Host values answered (comma-separated name or name:port; a name alone means "
        "the default port); any other gets 400 (/health excepted); empty: the address "
        "served (host:port, with localhost, 127.0.0.1 and [::1] on loopback), or any Host "
        "when public_url is set.",
    ),
    Setting(
        "cors_origins",
        "*",
        "Origins allowed to query /sparql from a browser (comma-separated; empty: none).",
    ),
    Setting(
        "trusted_proxies",
        0,
        "Reverse proxies in front of the server whose X-Forwarded-* headers are trusted "
        "(host, scheme, and the sub-path in X-Forwarded-Prefix).",
    ),
    Setting("workers", 2, "Server processes in production mode (granian)."),
    Setting(
        "threads",
        8,
        "Threads per server process that run requests in production mode; a request gets "
        "one only once it has arrived whole.",
    ),
    Setting(
        "header_timeout",
        10.0,
        "Seconds a client may take to send a request's headers in production mode; past "
        "them the connection is closed.",
    ),
    Setting(
        "body_timeout",
        10.0,
        "Seconds a client may take to send a request's body in production mode; past them "
        "it gets 408.",
    ),
    Setting(
        "max_connections",
        512,
        "Requests a server process handles at once in production mode (waiting for their "
        "body or for a thread included); beyond, new connections wait in the backlog.",
    ),
    Setting(
        "yasgui_dir",
        "",
        "Folder holding yasgui.min.js and yasgui.min.css (from the npm package "
        "@zazuko/yasgui); empty: node_modules/@zazuko/yasgui/build in the project.",
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}

#: Settings refused by ``--setting``, and where to give them instead.
SECRETS = {
    "update_token": "set the environment variable COOPGRAPH_UPDATE_TOKEN, or name a file "
    "holding it with --setting update_token_file PATH (serve --update-token-file PATH)",
    "remote_password": "set the environment variable COOPGRAPH_REMOTE_PASSWORD",
}


def get_setting(name: str) -> Setting:
    """Return the setting called ``name``.

    Raises:
        SettingError: when there is no such setting.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        known = ", ".join(sorted(_BY_NAME))
        raise SettingError(f"unknown setting {name!r}; known settings: {known}") from None


def resolve(
    flags: Mapping[str, Any] | None = None,
    overrides: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Return every setting's value.

    Args:
        flags: Values from dedicated command-line flags; ``None`` means "not given".
        overrides: Values from ``--setting NAME VALUE``.
        environ: The environment to read ``COOPGRAPH_*`` from (default: ``os.environ``).

    Returns:
        A mapping from each setting's name to its value.

    Raises:
        SettingError: for an unknown name or a value of the wrong type.
    """
    flags = flags or {}
    overrides = overrides or {}
    environ = os.environ if environ is None else environ
    for name in [*flags, *overrides]:
        get_setting(name)
    for name in overrides:
        if name in SECRETS:
            raise SettingError(
                f"{name} is a secret and is not taken from the command line, where any user "
                f"of the machine can read it (ps): {SECRETS[name]}"
            )
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        values[setting.name] = _value(setting, flags, overrides, environ)
    return values


def _value(
    setting: Setting,
    flags: Mapping[str, Any],
    overrides: Mapping[str, str],
    environ: Mapping[str, str],
) -> str | float:
    if flags.get(setting.name) is not None:
        return setting.convert(flags[setting.name], "the command line")
    if setting.name in overrides:
        return setting.convert(overrides[setting.name], f"--setting {setting.name}")
    if setting.env_var in environ:
        return setting.convert(environ[setting.env_var], setting.env_var)
    return setting.default
