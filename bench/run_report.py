"""What the harness finds for one size (:class:`SizeReport`, with a :class:`TargetInfo` per
HTTP server and an :class:`HttpRow` per row), and the goals the figures are judged against."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import loadgen
from servers import TreeMemory

#: The goals of the issue, printed next to the figures (targets, not assertions).
GOAL_SIZE = 1_000_000
GOAL_LOAD_S = 3.0
GOAL_QUERY_S = 0.3
GOAL_VALIDATE_S = 10.0
GOAL_REASON_S = 30.0  # the OWL 2 RL closure at 1 M triples
GOAL_MEMORY = 600 * 1024 * 1024
GOAL_VS_PEER = 10.0  # uncached lookups ≥ 10× rdflib-endpoint
GOAL_VS_CEILING = 0.6  # ≥ 60 % of a Flask hello world under the same server


@dataclass
class HttpRow:
    """A row of the HTTP table: one target under one scenario's load."""

    target: str
    label: str
    scenario: str
    load: loadgen.Load | None = None
    error: str | None = None
    runs: list[float] = field(default_factory=list)  # req/s of each run, when repeated
    cpu_ms: float | None = None  # the server's CPU per request, all its processes
    pool_cpu_ms: float | None = None  # of which its query workers (and their zygotes)


@dataclass
class TargetInfo:
    """One HTTP server: its labels, start-up time and memory, the rows its first answers
    had, or why it was not measured."""

    label: str
    short: str = ""  # the label in the ratio rows
    server: str = ""  # "granian" or "gunicorn" for coopgraph and the hello worlds
    ready_s: float | None = None
    memory: TreeMemory | None = None
    rows: dict[str, int | None] = field(default_factory=dict)
    error: str | None = None
    coopgraph: bool = False
    store_pss: int | None = None


@dataclass
class SizeReport:
    """What was measured for one size; its section of tables is rendered from it."""

    label: str
    triples: int
    summary: dict[str, Any] = field(default_factory=dict)
    generate_s: float | None = None
    inproc: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: validator -> its measurement (or why it was skipped); a string when none ran.
    validate: dict[str, Any] | str | None = None
    reason: dict[str, Any] | str | None = None
    targets: dict[str, TargetInfo] = field(default_factory=dict)
    http: list[HttpRow] = field(default_factory=list)
    oxigraph_load_s: float | None = None
    notes: list[str] = field(default_factory=list)
    client: str = ""


def at_goal_size(report: SizeReport) -> bool:
    """True at the size the goals are for, and above: only there are they judged."""
    return report.triples >= GOAL_SIZE
