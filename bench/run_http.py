"""The HTTP measurements of one size: each target's rows (:func:`scenarios`) under load,
with the rate, latency and errors the load generator saw and the server's CPU per request."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import loadgen
import workload
from run_common import JSON_RESULTS, say
from run_options import Options
from run_report import HttpRow, SizeReport, TargetInfo
from run_targets import Target, serving, skip_reason, targets_for
from servers import BenchError, Children, cpu_between, http_get, tree_cpu


def load(job: loadgen.Job, opts: Options) -> loadgen.Load:
    """Run ``job`` with wrk or with the Python client, as ``--client`` says."""
    use_wrk = opts.client == "wrk" or (opts.client == "auto" and loadgen.wrk_binary())
    return loadgen.run_wrk(job) if use_wrk else loadgen.run_python(job)


#: Depth, below the server's first process, of its query workers' zygotes: the first process
#: (granian's or gunicorn's) starts the serving processes, each of which forks a zygote.
POOL_DEPTH = 2


def measured_load(
    job: loadgen.Job, opts: Options, server: int
) -> tuple[loadgen.Load, tuple[float, float]]:
    """Run ``job``; also return the CPU seconds the server's processes used meanwhile, in all
    and in its query-worker pools."""
    before = tree_cpu(server)
    result = load(job, opts)
    after = tree_cpu(server)
    return result, (
        cpu_between(before, after),
        cpu_between(before, after, min_depth=POOL_DEPTH),
    )


def scenarios(target: Target, report: SizeReport) -> list[tuple[str, list[str], bool]]:
    """(name, paths, vary) for each row of ``target``."""
    if target.hello:
        return [("GET /", ["/"], False)]
    if target.floor:  # no cache on that route: every lookup is uncached
        lookups = workload.lookup_paths(target.endpoint, int(report.summary["agreements"]))
        return [("lookup", lookups, True)]
    agreements = int(report.summary["agreements"])
    lookups = workload.lookup_paths(target.endpoint, agreements)
    aggregate = [workload.query_path(target.endpoint, workload.AGGREGATE)]
    if target.coopgraph:
        return [
            ("lookup, cached", lookups[:1], False),
            ("lookup, uncached", lookups, True),
            ("aggregate, cached", aggregate, False),
            ("aggregate, uncached", aggregate, True),
        ]
    return [("lookup", lookups, True), ("aggregate", aggregate, True)]


#: How many times a hello world's row runs; the best run is the ceiling. A gunicorn row
#: now and then falls for a few seconds to a third of its rate or less (its threads contend
#: for the interpreter lock, as perf showed: more futex calls and context switches); the
#: best of three keeps such a run from lowering the ceiling, which only makes the ratios to
#: it stricter.
CEILING_RUNS = 3


def ceiling_runs(target: Target, opts: Options) -> int:
    """Runs of ``target``'s rows: :data:`CEILING_RUNS` for the hello worlds, else one."""
    return CEILING_RUNS if target.hello and not opts.quick else 1


def bench_http(
    report: SizeReport, root: Path, opts: Options, children: Children, work: Path
) -> None:
    """Start each target in turn and measure its rows; say why a target has none."""
    for target in targets_for(opts, report):
        info = report.targets.setdefault(
            target.name,
            TargetInfo(target.label, target.short, target.server, coopgraph=target.coopgraph),
        )
        reason = skip_reason(target, report, opts)
        if reason:
            info.error = reason
            continue
        try:
            with serving(target, root, opts, children, work, report) as (child, base):
                if not target.hello and not target.floor:
                    first = workload.lookup_paths(target.endpoint, 1)[0]
                    info.rows["lookup"] = result_rows(base, first)
                    agg = workload.query_path(target.endpoint, workload.AGGREGATE)
                    info.rows["aggregate"] = result_rows(base, agg)
                for name, paths, vary in scenarios(target, report):
                    row = HttpRow(target.name, target.label, name)
                    report.http.append(row)
                    measure_row(row, target, base, paths, vary, opts, report, child.pid)
        except BenchError as err:
            info.error = str(err)[:300]


def measure_row(
    row: HttpRow,
    target: Target,
    base: str,
    paths: list[str],
    vary: bool,
    opts: Options,
    report: SizeReport,
    server: int,
) -> None:
    """Put the server (process ``server``) under the load of ``row``'s scenario: after a
    warm-up, once, or for a hello world the best of :data:`CEILING_RUNS` runs."""
    job = loadgen.Job(base, paths, vary, duration=opts.duration, connections=opts.connections)
    say(f"[{report.label}] {target.label}: {row.scenario}")
    try:
        if not opts.quick:  # warm up: caches, workers still starting
            warm = loadgen.Job(base, paths, vary, duration=2, connections=opts.connections)
            load(warm, opts)
        runs = [measured_load(job, opts, server) for _ in range(ceiling_runs(target, opts))]
        row.load, cpu = max(runs, key=lambda run: run[0].rps)
        runs_rps = [run.rps for run, _ in runs]
        if row.load.requests:
            row.cpu_ms = cpu[0] * 1000 / row.load.requests
            if target.coopgraph or target.floor:
                row.pool_cpu_ms = cpu[1] * 1000 / row.load.requests
        row.runs = runs_rps if len(runs) > 1 else []
        report.client = row.load.client
    except (RuntimeError, subprocess.TimeoutExpired) as err:
        row.error = " ".join(str(err).split())[:200]


def result_rows(base: str, path: str) -> int | None:
    """The number of rows the query at ``path`` answers (None: not a 200 JSON answer)."""
    try:
        status, body = http_get(base + path, JSON_RESULTS)
        if status != 200:
            return None
        return len(json.loads(body)["results"]["bindings"])
    except (OSError, ValueError, KeyError):
        return None
