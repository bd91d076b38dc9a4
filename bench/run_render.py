"""The Markdown a run prints: its header (the command, the machine, the versions, the
goals) and each size's section: what was generated, the in-process table and the checks
table, then the HTTP and ratio tables (``run_render_http.py``)."""

from __future__ import annotations

import datetime as dt
import os
import platform
import shlex

import loadgen
import workload
from run_common import human, validators, version
from run_format import fmb, ftime, goal_cell, table
from run_options import Options
from run_render_http import render_http, render_ratios
from run_report import (
    GOAL_LOAD_S,
    GOAL_QUERY_S,
    GOAL_REASON_S,
    GOAL_SIZE,
    GOAL_VALIDATE_S,
    SizeReport,
    at_goal_size,
)


def header(opts: Options, started: dt.datetime) -> str:
    """The run's heading: the command, the machine and its load, the versions, the goals."""
    load1, load5, _ = os.getloadavg()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    packages = [
        "rdflib",
        "pyoxigraph",
        "pyshacl",
        "owlrl",
        "flask",
        "granian",
        "gunicorn",
        "rdflib-endpoint",
        "oxigraph",
    ]
    versions = ", ".join(f"{p} {version(p)}" for p in packages)
    wrk = loadgen.wrk_binary()
    client = "wrk" if opts.client in ("auto", "wrk") and wrk else "python-aiohttp"
    return (
        f"# coopgraph benchmark, {started:%Y-%m-%d %H:%M}\n\n"
        f"`python bench/run.py {shlex.join(opts.argv)}` on {platform.node()}: "
        f"{os.cpu_count()} cores, {memory / 2**30:.0f} GiB, Python {platform.python_version()}; "
        f"load average {load1:.2f} / {load5:.2f} (1 / 5 min) at the start. {versions}. "
        f"HTTP load generator: {client}, sharing the cores with the servers.\n\n"
        "Goals (from the issue; targets, not assertions): at 1M triples load < 3 s, every query "
        "of the mix < 300 ms, validation < 10 s, serving memory < 600 MB; over HTTP, simple "
        "queries ≥ 10× rdflib-endpoint and ≥ 60% of a Flask hello world under the same "
        "server (uncached lookups; cached ones are said too).\n"
    )


def render_size(report: SizeReport, opts: Options) -> str:
    """The section of one size: what was generated, then its tables."""
    parts = [f"## {report.label} triples"]
    s = report.summary
    quads = next(
        (r["quads"] for r in report.inproc.values() if isinstance(r.get("quads"), int)), None
    )
    line = (
        f"{s['triples']:,} data triples (target {report.triples:,}) in {s['graphs']} data graphs: "
        f"{s['agreements']:,} agreements, {s['signatures']:,} signatures, "
        f"{s['plan']['orgs']:,} organizations, {s['quotes']:,} quotes"
    )
    if quads:
        line += f"; {quads:,} quads loaded with the ontology"
    line += f" (seed {opts.seed}"
    line += f", generated in {report.generate_s:.1f} s)." if report.generate_s else ", reused)."
    parts.append(line)
    parts.append("### In process\n\n" + render_inproc(report, opts))
    parts.append(render_checks(report))
    if report.targets:
        parts.append("### HTTP\n\n" + render_http(report, opts))
        ratios = render_ratios(report)
        if ratios:
            parts.append("### Ratios\n\n" + ratios)
    parts += report.notes
    return "\n\n".join(parts) + "\n"


def render_inproc(report: SizeReport, opts: Options) -> str:
    """The in-process table: each engine's load, memory and query times."""
    engines = list(report.inproc)
    judged = at_goal_size(report)
    head = ["", *engines, f"goal at {human(GOAL_SIZE)}"]

    def ok(value: float | None, limit: float) -> bool | None:
        return None if not judged or value is None else value < limit

    rows: list[list[str]] = []
    load_row = ["load (open_engine, as `coopgraph serve`)"]
    mem_row = ["memory growth after load (RSS)"]
    loads = []
    for e in engines:
        r = report.inproc[e]
        if "skipped" in r:
            load_row.append(r["skipped"])
            mem_row.append("–")
            continue
        load_row.append(ftime(r["load_s"]))
        store = f" (+ {fmb(r['store_pss'])} in its Oxigraph server)" if r.get("store_pss") else ""
        mem_row.append(fmb(r["rss_delta"]) + store)
        loads.append(r["load_s"])
    best = min(loads) if loads else None
    rows.append([*load_row, goal_cell(f"< {GOAL_LOAD_S:g} s", ok(best, GOAL_LOAD_S))])
    rows.append([*mem_row, "–"])
    mismatched = []
    for query in workload.mix(report.summary["search_word"]):
        cells = [query.label]
        times, counts = [], set()
        for e in engines:
            q = report.inproc[e].get("queries", {}).get(query.name)
            if q is None:
                cells.append("–")
            elif "error" in q:
                cells.append(f"error: {q['error'][:60]}")
            else:
                runs = "" if q["runs"] >= opts.repeat else f" ({q['runs']} run)"
                cells.append(f"{ftime(q['median_s'])}{runs}")
                times.append(q["median_s"])
                counts.add(q["rows"])
        cells[0] += f" [{'/'.join(map(str, sorted(counts)))} rows]" if counts else ""
        if len(counts) > 1 and query.name != "describe":
            mismatched.append(query.label)
        fastest = min(times) if times else None
        rows.append([*cells, goal_cell(f"< {GOAL_QUERY_S * 1000:g} ms", ok(fastest, GOAL_QUERY_S))])
    text = table(head, rows)
    text += (
        f"\n\nMedian of {opts.repeat} runs of `Engine.evaluate` (evaluate and write SPARQL JSON or "
        "Turtle, as a query worker does); a query slower than 10 s runs once. "
        f"The goal column judges the fastest engine, at {human(GOAL_SIZE)} only."
    )
    if mismatched:
        text += f"\n\n**Row counts differ between engines** for: {', '.join(mismatched)}."
    return text


def render_checks(report: SizeReport) -> str:
    """The checks table: validation by each SHACL engine, and reasoning."""
    judged = at_goal_size(report)
    rows = []
    runs = report.validate if isinstance(report.validate, dict) else {}
    if not runs:
        rows.append(["validate", str(report.validate), "", "", f"< {GOAL_VALIDATE_S:g} s"])
    default = validators()[1]
    for validator, v in runs.items():
        # The goal is judged on what `coopgraph validate` runs.
        name = f"validate ({validator}" + (
            ", as `coopgraph validate`)" if validator == default else ")"
        )
        if not isinstance(v, dict):
            rows.append([name, str(v), "", "", f"< {GOAL_VALIDATE_S:g} s"])
            continue
        judge = judged and validator == default
        ok = v["validate_s"] < GOAL_VALIDATE_S if judge else None
        rows.append(
            [
                name,
                ftime(v["validate_s"]),
                (
                    f"rdflib load {ftime(v['load_s'])}"
                    if v["load_s"] is not None
                    else "native parse included"
                )
                + f", peak {fmb(v['peak_rss'])}",
                f"{'conforms' if v['conforms'] else 'DOES NOT CONFORM'}, {v['results']} results",
                goal_cell(f"< {GOAL_VALIDATE_S:g} s", ok) if validator == default else "",
            ]
        )
    rows += reasoning_rows(report)
    head = ["check", "time", "besides", "result", f"goal at {human(GOAL_SIZE)}"]
    return table(head, rows)


def reasoning_rows(report: SizeReport) -> list[list[str]]:
    """A row per reasoner: its time, its peak memory, its inferences and, for the fast one,
    whether they are owlrl's."""
    runs = report.reason if isinstance(report.reason, dict) else {}
    if not runs:
        return [["reason", str(report.reason), "", "", "–"]]
    reference = runs.get("owlrl")
    rows = []
    for reasoner, r in runs.items():
        name = f"reason ({reasoner}" + (", as `coopgraph reason`)" if reasoner == "rules" else ")")
        if not isinstance(r, dict):
            rows.append([name, str(r), "", "", "–"])
            continue
        state = "consistent" if r["consistent"] else "INCONSISTENT"
        result = f"{r['inferred']:,} inferred triples, {state}"
        if reasoner != "owlrl" and isinstance(reference, dict):
            same = r["digest"] == reference["digest"]
            result += ", the same as owlrl's" if same else ", **NOT owlrl's inferences**"
        goal = "–"
        if reasoner == "rules":
            ok = r["reason_s"] < GOAL_REASON_S if at_goal_size(report) else None
            goal = goal_cell(f"< {GOAL_REASON_S:g} s", ok)
        rows.append(
            [
                name,
                ftime(r["reason_s"]),
                f"rdflib load {ftime(r['load_s'])}, peak {fmb(r['peak_rss'])}",
                result,
                goal,
            ]
        )
    return rows
