"""The HTTP tables of a size's section: per server, the rate, latency, CPU per request,
errors, start-up time and memory of each row; then the ratios between the servers' rates,
next to the goals."""

from __future__ import annotations

import os
from dataclasses import dataclass

import loadgen
from run_common import JSON_RESULTS
from run_format import fmb, fms, fnum, ftime, goal_cell, table, verdict
from run_http import CEILING_RUNS
from run_options import Options
from run_report import (
    GOAL_MEMORY,
    GOAL_VS_CEILING,
    GOAL_VS_PEER,
    HttpRow,
    SizeReport,
    TargetInfo,
    at_goal_size,
)


def render_http(report: SizeReport, opts: Options) -> str:
    """The HTTP table with its notes, and which servers disagree on a query's rows."""
    judged = at_goal_size(report)
    rows = []
    for name, info in report.targets.items():
        rows += server_rows(info, [r for r in report.http if r.target == name], judged)
    head = ["server", "request", "req/s", "p50", "p99", "CPU per request"]
    head += ["errors", "ready after", "memory (PSS)"]
    client = report.client or ("wrk" if loadgen.wrk_binary() else "python-aiohttp")
    text = table(head, rows) + "\n\n" + http_notes(client, opts)
    if report.oxigraph_load_s is not None:
        text += f" `oxigraph load` took {ftime(report.oxigraph_load_s)} before its server started."
    return text + disagreements(report)


def server_rows(info: TargetInfo, mine: list[HttpRow], judged: bool) -> list[list[str]]:
    """The rows of one server: a row per scenario (or why there is none), its start-up time
    and memory said on the first."""
    memory = memory_cell(info, judged)
    ready = ftime(info.ready_s) if info.ready_s is not None else "–"
    if not mine:
        return [[info.label, info.error or "no result", "", "", "", "", "", ready, memory]]
    rows = []
    for r in mine:
        if r.load is None:
            rows.append(
                [info.label, r.scenario, r.error or "failed", "", "", "", "", ready, memory]
            )
        else:
            rows.append([info.label, scenario_cell(r), *load_cells(r, r.load), ready, memory])
        ready = memory = ""  # said once per server
    if info.error:
        rows.append([info.label, info.error, "", "", "", "", "", ready, memory])
    return rows


def memory_cell(info: TargetInfo, judged: bool) -> str:
    """The server's PSS over its processes (and its Oxigraph server's), and its largest
    process's RSS, judged against the memory goal for coopgraph at the goal's size."""
    mem = info.memory
    if mem:
        plural = "process" if mem.processes == 1 else "processes"
        memory = f"{fmb(mem.pss)} in {mem.processes} {plural}"
    else:
        memory = "–"
    if info.store_pss:
        memory += f" + {fmb(info.store_pss)} (its Oxigraph server)"
    if mem:
        largest = f"largest process {fmb(mem.largest_rss)} RSS"
        if info.coopgraph and judged:
            good = mem.largest_rss < GOAL_MEMORY
            largest = goal_cell(largest + f" (goal < {fmb(GOAL_MEMORY)})", good)
        memory += f"; {largest}"
    return memory


def scenario_cell(row: HttpRow) -> str:
    """The row's scenario, and the rate of each run when it is the best of several."""
    scenario = row.scenario
    if row.runs:
        scenario += f" (best of {len(row.runs)} runs: {', '.join(map(fnum, row.runs))})"
    return scenario


def load_cells(row: HttpRow, load: loadgen.Load) -> list[str]:
    """req/s, p50, p99, CPU per request and errors of a row that ran (``load``, its load)."""
    failed = f"{load.errors:,}" if load.errors else "0"
    return [fnum(load.rps), fms(load.p50_ms), fms(load.p99_ms), cpu_cell(row), failed]


def http_notes(client: str, opts: Options) -> str:
    """What the HTTP table's figures are, and how they were measured."""
    return (
        f"{opts.connections} concurrent connections, {opts.duration:g} s per row, GET "
        f"with `Accept: {JSON_RESULTS}`, load generator `{client}`. **The load generator "
        f"runs on the same {os.cpu_count()} cores as the server**, so every figure is a lower "
        "bound. "
        + ("" if opts.quick else f"Each hello world's row is the best of {CEILING_RUNS} runs. ")
        + "*granian W×T + front* is `coopgraph serve --production`: granian (HTTP in Rust, "
        "RSGI) with W processes, and coopgraph's front, which reads each request in granian's "
        "event loop, runs the Flask app in a pool of T threads, and answers a repeated GET "
        "from the replay cache without a thread; *gunicorn W×T* is gunicorn's threaded worker "
        "(the production server before it), serving the same app "
        "(`bench/gunicorn_coopgraph.py`: preloaded, query workers started in each forked "
        "worker) or the hello world. Every query of coopgraph runs in a confined query "
        "worker process. *Uncached* rows put a unique comment in front of every query so that "
        "no result cache answers it; the lookups cycle through up to 500 agreements. *Ready "
        "after*: seconds from start to the first answer (loading included). Memory: PSS summed "
        "over the server's processes after its rows (the main process, its workers and their "
        "query workers; coopgraph writes an access-log line per request under either server, "
        "as its production mode does, the hello worlds none), and the RSS of the largest of "
        "them, which counts the pages it shares with the others in full; the memory goal is "
        "for one serving process, so it is judged on that RSS. *CPU per request*: the CPU time "
        "(user and kernel) all the server's processes used during the row, divided by its "
        "requests, and in brackets the part its query workers used (the rest is the serving "
        "processes': HTTP, the protocol's work, the round trip to a worker); the cores' total, "
        f"{os.cpu_count()} s per second, bounds the rate at about {os.cpu_count()} ÷ it. "
        "Errors: non-2xx answers and socket errors."
    )


def disagreements(report: SizeReport) -> str:
    """A paragraph for each query whose rows the servers count differently (else nothing)."""
    text = ""
    counts = {
        kind: {n: i.rows.get(kind) for n, i in report.targets.items() if kind in i.rows}
        for kind in ("lookup", "aggregate")
    }
    for kind, found in counts.items():
        if len(set(found.values())) > 1:
            listed = ", ".join(f"{n}: {c}" for n, c in found.items())
            text += f"\n\n**Servers disagree** on the {kind} query's rows: {listed}."
    return text


def cpu_cell(row: HttpRow) -> str:
    """The CPU per request, and in brackets its query workers' part."""
    if row.cpu_ms is None:
        return "–"
    text = f"{row.cpu_ms:.2f} ms"
    if row.pool_cpu_ms is not None:
        text += f" ({row.pool_cpu_ms:.2f})"
    return text


def _rps(report: SizeReport, target: str, scenario: str) -> float | None:
    for r in report.http:
        if r.target == target and r.scenario == scenario and r.load is not None:
            return r.load.rps
    return None


@dataclass(frozen=True)
class Peer:
    """What a coopgraph row is divided by in a ratio row."""

    target: str
    lookup: str  # the peer's row the lookups are divided by
    aggregate: str | None  # ... and the aggregate (None: no aggregate cell)
    unit: str  # "×" or "%"
    goal: float | None
    goal_text: str


def peers_of(name: str, info: TargetInfo) -> list[Peer]:
    """The ratio rows of the coopgraph target ``name``: the peers, the hello world under the
    same server, and for the production server the same app under gunicorn."""
    hello = "hello-granian" if info.server == "granian" else "hello"
    found = [
        Peer("rdflib-endpoint", "lookup", "aggregate", "×", GOAL_VS_PEER, f"≥ {GOAL_VS_PEER:g}×"),
        Peer(hello, "GET /", None, "%", GOAL_VS_CEILING, f"≥ {GOAL_VS_CEILING:.0%}"),
        Peer("oxigraph-server", "lookup", "aggregate", "×", None, "–"),
    ]
    if info.server == "granian":
        engine = name.removeprefix("coopgraph-")
        old = f"coopgraph-gunicorn-{engine}"
        found.append(Peer(old, "lookup, uncached", "aggregate, uncached", "×", None, "–"))
        found.append(Peer(f"pool-floor-{engine}", "lookup", None, "%", None, "–"))
    return found


def floor_rows(report: SizeReport) -> list[list[str]]:
    """The floor ÷ the hello world under the same server: how much of the hello world's
    rate is left for a query once it runs in a query worker, before any protocol work."""
    hello = _rps(report, "hello-granian", "GET /")
    rows = []
    for name, info in report.targets.items():
        mine = _rps(report, name, "lookup") if name.startswith("pool-floor") else None
        if mine is None or not hello:
            continue
        label = f"{info.short} ÷ {report.targets['hello-granian'].short}"
        rows.append([label, f"{mine / hello:.0%}", "–", "–", "–"])
    return rows


def render_ratios(report: SizeReport) -> str:
    """The ratio table: each coopgraph row divided by its peers' (empty: none to divide)."""
    rows = []
    for name, info in report.targets.items():
        if not info.coopgraph:
            continue
        for peer in peers_of(name, info):
            if peer.target not in report.targets:
                continue
            base_lookup = _rps(report, peer.target, peer.lookup)
            if base_lookup is None:
                continue
            cells = ratio_cells(report, name, peer, base_lookup)
            if all(cell == "–" for cell in cells):
                continue
            peer_info = report.targets[peer.target]
            rows.append(
                [
                    f"{info.short} ÷ {peer_info.short}",
                    *cells,
                    _lookup_goal(report, name, base_lookup, peer.goal, peer.goal_text),
                ]
            )
    rows += floor_rows(report)
    if not rows:
        return ""
    head = ["req/s ratio", "lookup, uncached", "lookup, cached", "aggregate, uncached", "goal"]
    return table(head, rows) + (
        "\n\nThe hello-world ratios divide by the GET / of the Flask hello world under the "
        "same server (the ceiling of a Flask app under that server on this machine); the "
        "others by the peer's own row for the same query (rdflib-endpoint and Oxigraph's "
        "server have no result cache: their one lookup row divides both lookup cells), and "
        "coopgraph on granian ÷ coopgraph on gunicorn is the same app on the new production "
        "server and on the old one, row by row. The goals of the issue are for the "
        "production server (the granian rows); the gunicorn rows are judged the same way for "
        "comparison. *Query workers alone* is the production server with a route that "
        "hands the query straight to the query-worker pool (`bench/granian_pool_floor.py`): "
        "the ceiling of the uncached rows; coopgraph ÷ it is the share the protocol's work "
        "leaves, and it ÷ the hello world what running each query in a worker process "
        "leaves."
    )


def ratio_cells(report: SizeReport, name: str, peer: Peer, base_lookup: float) -> list[str]:
    """The ratios of ``name``'s uncached and cached lookups and uncached aggregate to
    ``peer``'s rows (``base_lookup``: its lookup row's rate); ``–`` where one is missing."""
    base_agg = _rps(report, peer.target, peer.aggregate) if peer.aggregate else None
    same_scenario = peer.lookup.startswith("lookup, ")  # coopgraph ÷ coopgraph
    cells = []
    for scenario, base in (
        ("lookup, uncached", base_lookup),
        (
            "lookup, cached",
            _rps(report, peer.target, "lookup, cached") if same_scenario else base_lookup,
        ),
        ("aggregate, uncached", base_agg),
    ):
        mine = _rps(report, name, scenario)
        if mine is None or not base:
            cells.append("–")
        else:
            ratio = mine / base
            cells.append(f"{ratio:.0%}" if peer.unit == "%" else f"{ratio:.1f}×")
    return cells


def _lookup_goal(
    report: SizeReport, name: str, base: float, goal: float | None, goal_text: str
) -> str:
    """The lookup goal, judged on the cached row (the issue allows a cache keyed to the data
    build) and on the uncached one, each said separately."""
    if goal is None:
        return "–"
    verdicts = []
    for kind in ("cached", "uncached"):
        mine = _rps(report, name, f"lookup, {kind}")
        if mine is not None:
            verdicts.append(f"{kind} {verdict(mine / base >= goal)}")
    return f"{goal_text}: {', '.join(verdicts)}" if verdicts else goal_text
