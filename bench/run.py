"""Benchmark coopgraph on synthetic graphs, and print the figures as Markdown tables.

    python bench/run.py --sizes 10k,100k,1m [--engines oxigraph,rdflib] [--quick]

For each size: generate the graph (``bench/generate.py``), then measure

- in process, per store engine (each in a fresh process): load time, memory growth, and a
  fixed query mix (lookup by IRI, two-hop join, aggregate, REGEX and CONTAINS text search,
  DESCRIBE, CONSTRUCT), median of several runs;
- SHACL validation (pySHACL, and pyshacl-turbo as ``coopgraph validate`` runs it) and OWL
  RL reasoning (owlrl, as ``coopgraph reason``), each skipped above a size;
- over HTTP, with 16 concurrent connections: ``coopgraph serve --production`` (granian and
  coopgraph's front) on each engine, cached and uncached; the same app under gunicorn's
  threaded worker (``bench/gunicorn_coopgraph.py``), the production server it replaced;
  rdflib-endpoint and Oxigraph's own server on the same data; and a bare Flask "hello world"
  under each of the two servers (gunicorn, and granian with the front:
  ``bench/granian_hello.py``), the ceiling of a Flask app under that server; then the ratios
  between them, next to the goals.

The tables go to stdout and are appended to ``bench/results/<date>.md``; progress goes to
stderr. Every server binds 127.0.0.1 on a free port and is stopped when the run ends, on
Ctrl-C and on errors too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import faulthandler
import importlib.metadata
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import generate
import loadgen
import workload
from servers import (
    HOST,
    BenchError,
    Child,
    Children,
    TreeMemory,
    check_interrupt,
    cpu_between,
    die_with_parent,
    free_port,
    http_get,
    tree_cpu,
    tree_memory,
    wait_until,
)

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DISK = "oxigraph-disk"
JSON_RESULTS = "application/sparql-results+json"

#: The goals of the issue, printed next to the figures (targets, not assertions).
GOAL_SIZE = 1_000_000
GOAL_LOAD_S = 3.0
GOAL_QUERY_S = 0.3
GOAL_VALIDATE_S = 10.0
GOAL_MEMORY = 600 * 1024 * 1024
GOAL_VS_PEER = 10.0  # uncached lookups ≥ 10× rdflib-endpoint
GOAL_VS_CEILING = 0.6  # ≥ 60 % of a Flask hello world under the same server


def validators() -> tuple[tuple[str, ...], str]:
    """The SHACL engines to measure, and the one `coopgraph validate` runs (judged)."""
    from coopgraph.quality.validate import VALIDATORS, default_validator

    return VALIDATORS, default_validator()


# --------------------------------------------------------------------------- options


@dataclass
class Options:
    sizes: list[tuple[str, int]]
    engines: list[str]
    targets: list[str]
    seed: int
    quick: bool
    repeat: int
    duration: float
    connections: int
    workers: int
    client: str
    validate: bool
    validate_max: int
    reason: bool
    reason_max: int
    rdflib_max: int
    timeout: float
    workdir: Path | None
    results: Path | None
    argv: list[str] = field(default_factory=list)


def human(n: int) -> str:
    """10000 -> 10k, 1000000 -> 1M."""
    if n >= 1_000_000 and n % 100_000 == 0:
        return f"{n / 1_000_000:g}M"
    if n >= 1000 and n % 100 == 0:
        return f"{n / 1000:g}k"
    return str(n)


def available_engines() -> list[str]:
    """The store's engines (``coopgraph.store.engine.ENGINES``), and the on-disk Oxigraph
    variant."""
    from coopgraph.store.engine import ENGINES

    engines = list(ENGINES)
    if "oxigraph" in engines and not any("disk" in e for e in engines):
        engines.append(DISK)
    return engines


#: The HTTP targets: coopgraph under its production server (granian + the front), the same
#: app under gunicorn, the two peers, the hello world under gunicorn and under granian, and
#: the floor of the production server (a query straight to the query-worker pool).
TARGETS = (
    "coopgraph",
    "coopgraph-gunicorn",
    "rdflib-endpoint",
    "oxigraph-server",
    "hello",
    "hello-granian",
    "pool-floor",
)


def parse_args(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="10k", help="data triples per run: 10k,100k,1m")
    parser.add_argument(
        "--engines", help="store engines (default: all of coopgraph.store.engine.ENGINES, + disk)"
    )
    parser.add_argument(
        "--targets", default=",".join(TARGETS), help=f"HTTP targets (default: {','.join(TARGETS)})"
    )
    parser.add_argument("--no-http", dest="targets", action="store_const", const="")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--quick", action="store_true", help="3 query runs, 1 s per HTTP row, no warm-up"
    )
    parser.add_argument("--repeat", type=int, help="runs per in-process query (default 5)")
    parser.add_argument("--duration", type=float, help="seconds per HTTP row (default 10)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--workers", type=int, default=2, help="processes per server, granian or gunicorn (2)"
    )
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--no-validate", dest="validate", action="store_false")
    parser.add_argument("--validate-max", default="1m", help="largest size to validate")
    parser.add_argument("--no-reason", dest="reason", action="store_false")
    parser.add_argument(
        "--reason-max", default="10k", help="largest size to reason on (owlrl: ~3 ms/triple)"
    )
    parser.add_argument(
        "--rdflib-max", default="1m", help="largest size for the rdflib engine and rdflib-endpoint"
    )
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds for one in-process step"
    )
    parser.add_argument(
        "--workdir", type=Path, help="keep generated data here and reuse it (default: a temp dir)"
    )
    parser.add_argument(
        "--results", type=Path, default=BENCH / "results", help="folder for <date>.md"
    )
    parser.add_argument("--no-results", dest="results", action="store_const", const=None)
    args = parser.parse_args(argv)
    known = available_engines()
    engines = args.engines.split(",") if args.engines else known
    unknown = [e for e in engines if e not in known]
    if unknown:
        raise BenchError(f"unknown engine {unknown[0]!r}; known: {', '.join(known)}")
    targets = [t for t in args.targets.split(",") if t]
    bad = [t for t in targets if t not in TARGETS]
    if bad:
        raise BenchError(f"unknown target {bad[0]!r}; known: {', '.join(TARGETS)}")
    if args.client == "wrk" and loadgen.wrk_binary() is None:
        raise BenchError("--client wrk: wrk is not installed (apt-get install wrk)")
    sizes = []
    for text in args.sizes.split(","):
        n = generate.parse_size(text)
        if n < 1000:
            raise BenchError(f"size {text!r} is below the smallest, 1k")
        sizes.append((human(n), n))
    return Options(
        sizes=sizes,
        engines=engines,
        targets=targets,
        seed=args.seed,
        quick=args.quick,
        repeat=args.repeat or (3 if args.quick else 5),
        duration=args.duration or (1.0 if args.quick else 10.0),
        connections=args.connections,
        workers=args.workers,
        client=args.client,
        validate=args.validate,
        validate_max=generate.parse_size(args.validate_max),
        reason=args.reason,
        reason_max=generate.parse_size(args.reason_max),
        rdflib_max=generate.parse_size(args.rdflib_max),
        timeout=args.timeout,
        workdir=args.workdir,
        results=args.results,
        argv=argv,
    )


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- formatting


def ftime(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 0.001:
        return f"{seconds * 1000:.3f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 100:
        return f"{seconds:.2f} s"
    return f"{seconds:.0f} s"


def fms(ms: float) -> str:
    return ftime(ms / 1000)


def fmb(n: int | None) -> str:
    return "–" if n is None else f"{n / 1024 / 1024:,.0f} MB"


def fnum(n: float) -> str:
    return f"{n:,.0f}" if n >= 10 else f"{n:,.1f}"


def table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    """Whether a goal is met, in bold."""
    return f"**{'met' if ok else 'missed'}**"


def goal_cell(text: str, ok: bool | None) -> str:
    """A goal, and whether it is met (None: not judged at this size)."""
    if ok is None:
        return text
    return f"{text}: {verdict(ok)}"


def version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


# --------------------------------------------------------------------------- one size


@dataclass
class HttpRow:
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


def project_for(size: int, opts: Options, work: Path) -> tuple[Path, dict[str, Any], float | None]:
    """Generate the graph, or reuse one generated before with the same parameters."""
    out = work / f"graph-{human(size)}-seed{opts.seed}"
    marker = out / "generated.json"
    if marker.is_file():
        summary = json.loads(marker.read_text(encoding="utf-8"))
        if (
            summary.get("generator_version") == generate.GENERATOR_VERSION
            and summary.get("target_triples") == size
            and summary.get("seed") == opts.seed
            and summary.get("nquads")
            and (out / "dataset.nq").is_file()
            and same_files(ROOT, out, "ontology")
            and same_files(ROOT, out, "shapes")
        ):
            say(f"[{human(size)}] reusing the graph in {out}")
            return out, summary, None
    say(f"[{human(size)}] generating {size:,} triples in {out}")
    started = time.monotonic()
    generate.generate(out, size, opts.seed, nquads=True, progress=True)
    seconds = time.monotonic() - started
    return out, json.loads(marker.read_text(encoding="utf-8")), seconds


def same_files(a: Path, b: Path, folder: str) -> bool:
    """True when ``a/folder`` and ``b/folder`` hold the same Turtle files."""
    ours = sorted((a / folder).glob("*.ttl"))
    theirs = sorted((b / folder).glob("*.ttl"))
    return [p.name for p in ours] == [p.name for p in theirs] and all(
        x.read_bytes() == y.read_bytes() for x, y in zip(ours, theirs, strict=True)
    )


def measure_child(
    children: Children,
    name: str,
    argv: list[str],
    timeout: float,
    work: Path,
    env: dict[str, str] | None = None,
) -> dict[str, Any] | str:
    """Run a measuring child to the end: its JSON on stdout, or why there is none."""
    out = work / f"{name}.out"
    err = work / f"{name}.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            argv,
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        child = Child(name, process, err)
        children.children.append(child)
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            children.stop(child)
            return f"stopped after {timeout:.0f} s (--timeout)"
        children.stop(child)
    if process.returncode != 0:
        return f"failed (exit {process.returncode}): {child.tail(1)[:200]}"
    try:
        return json.loads(out.read_text().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return "failed: no result"


def inproc_argv(task: str, *args: str) -> list[str]:
    return [sys.executable, str(BENCH / "inproc.py"), task, *args]


def bench_inproc(
    report: SizeReport, root: Path, opts: Options, children: Children, work: Path
) -> None:
    word = report.summary["search_word"]
    for engine in opts.engines:
        if engine == "rdflib" and report.triples > opts.rdflib_max:
            report.inproc[engine] = {
                "skipped": f"skipped (> {human(opts.rdflib_max)}, --rdflib-max)"
            }
            continue
        say(f"[{report.label}] in process: {engine}")
        argv = inproc_argv("engine", engine, str(root), "--repeat", str(opts.repeat))
        argv += ["--word", word]
        if engine == DISK:
            store = work / f"store-{report.label}"
            shutil.rmtree(store, ignore_errors=True)
            argv += ["--store-dir", str(store)]
        with remote_store(engine, children, work, opts) as (env, companion):
            result = measure_child(children, f"inproc-{engine}", argv, opts.timeout, work, env)
            if isinstance(result, dict) and companion is not None:
                result["store_pss"] = tree_memory(companion.pid).pss
        report.inproc[engine] = result if isinstance(result, dict) else {"skipped": result}
    if not opts.validate:
        report.validate = "skipped (--no-validate)"
    elif report.triples > opts.validate_max:
        report.validate = f"skipped (> {human(opts.validate_max)}, --validate-max)"
    else:
        report.validate = {}
        for validator in validators()[0]:
            say(f"[{report.label}] validating ({validator})")
            argv = inproc_argv("validate", str(root), "--validator", validator)
            report.validate[validator] = measure_child(
                children, f"validate-{validator}", argv, opts.timeout, work
            )
    if not opts.reason:
        report.reason = "skipped (--no-reason)"
    elif report.triples > opts.reason_max:
        report.reason = f"skipped (> {human(opts.reason_max)}, --reason-max)"
    else:
        say(f"[{report.label}] reasoning (owlrl)")
        report.reason = measure_child(
            children, "reason", inproc_argv("reason", str(root)), opts.timeout, work
        )


# --------------------------------------------------------------------------- HTTP targets


@dataclass
class Target:
    """A server to measure.

    Attributes:
        name: Its key (``coopgraph-oxigraph``, ``coopgraph-gunicorn-oxigraph``, ``hello``,
            ``hello-granian``, ``rdflib-endpoint``, ``oxigraph-server``).
        label: Its name in the HTTP table.
        short: Its name in the ratio rows.
        endpoint: The path queries are sent to.
        coopgraph: True for coopgraph (under either server).
        server: ``granian`` (coopgraph's production server: granian and the front) or
            ``gunicorn``, for coopgraph and the hello worlds; empty for the peers.
        engine: coopgraph's store engine.
    """

    name: str
    label: str
    short: str
    endpoint: str
    coopgraph: bool = False
    server: str = ""
    engine: str = ""

    @property
    def hello(self) -> bool:
        return self.name.startswith("hello")

    @property
    def floor(self) -> bool:
        return self.name.startswith("pool-floor")


@contextmanager
def remote_store(
    engine: str, children: Children, work: Path, opts: Options
) -> Iterator[tuple[dict[str, str], Child | None]]:
    """For the remote engine, an Oxigraph server (in memory) to be its store, and the
    settings that point coopgraph at it; for the other engines, nothing."""
    if engine != "remote":
        yield {}, None
        return
    port = free_port()
    base = f"http://{HOST}:{port}"
    argv = [oxigraph_binary(), "serve", "--bind", f"{HOST}:{port}"]
    child = children.start("oxigraph (remote store)", argv, log=work / "remote-store.log")
    try:
        ready = base + workload.query_path("/query", "ASK {}")
        wait_until(child, lambda: _answers(ready), timeout=60, what="answer")
        say(f"remote store: Oxigraph server (pid {child.pid}) serving on {base}")
        yield (
            {
                "COOPGRAPH_REMOTE_QUERY_URL": base + "/query",
                "COOPGRAPH_REMOTE_UPDATE_URL": base + "/update",
                "COOPGRAPH_REMOTE_STORE_URL": base + "/store",
            },
            child,
        )
    finally:
        children.stop(child)


@contextmanager
def serving(
    target: Target, root: Path, opts: Options, children: Children, work: Path, report: SizeReport
) -> Iterator[tuple[Child, str]]:
    """Start ``target`` on a free port, wait until it answers, stop it afterwards."""
    port = free_port()
    base = f"http://{HOST}:{port}"
    log = work / f"server-{target.name}.log"
    if target.coopgraph:
        engine = target.engine
        kind = "oxigraph" if engine == DISK else engine
        if target.server == "gunicorn":  # the same app on the server it replaced
            argv = [sys.executable, str(BENCH / "gunicorn_coopgraph.py"), "--root", str(root)]
        else:  # the production server: granian and coopgraph's front
            argv = [sys.executable, "-m", "coopgraph", "--root", str(root), "serve"]
            argv += ["--production"]
        argv += ["--store", kind, "--workers", str(opts.workers)]
        argv += ["--host", HOST, "--port", str(port)]
        if engine == DISK:
            store = work / f"serve-store-{report.label}-{target.server}"
            shutil.rmtree(store, ignore_errors=True)
            argv += ["--store-path", str(store)]
        # Not /health: it counts the distinct triples, which rdflib takes long to do, and a
        # probe that gives up and asks again would pile those counts up in the server.
        ready = base + workload.query_path("/sparql", "ASK {}")
    elif target.name == "rdflib-endpoint":
        argv = [sys.executable, "-m", "rdflib_endpoint", "serve", str(root / "dataset.nq")]
        argv += ["--host", HOST, "--port", str(port)]
        ready = base + workload.query_path("/", "ASK {}")
    elif target.name == "oxigraph-server":
        location = work / f"oxigraph-{report.label}"
        binary = oxigraph_binary()
        if report.oxigraph_load_s is None or not location.is_dir():
            shutil.rmtree(location, ignore_errors=True)
            say(f"[{report.label}] oxigraph load")
            started = time.monotonic()
            loading = children.start(
                "oxigraph load",
                [binary, "load", "--location", str(location), "--file", str(root / "dataset.nq")],
                log=work / "oxigraph-load.log",
            )
            if loading.wait(opts.timeout) != 0:
                raise BenchError(f"oxigraph load failed: {loading.tail()}")
            children.stop(loading)
            report.oxigraph_load_s = time.monotonic() - started
        argv = [binary, "serve-read-only", "--location", str(location)]
        argv += ["--bind", f"{HOST}:{port}", "--union-default-graph"]
        ready = base + workload.query_path("/query", "ASK {}")
    elif target.floor:  # the production server with a route straight to the pool
        argv = [sys.executable, str(BENCH / "granian_pool_floor.py"), "--root", str(root)]
        argv += ["--store", target.engine, "--workers", str(opts.workers)]
        argv += ["--host", HOST, "--port", str(port)]
        ready = base + workload.query_path("/floor", "ASK {}")
    elif target.server == "granian":  # the hello world under the production front
        argv = [sys.executable, str(BENCH / "granian_hello.py"), "--host", HOST]
        argv += ["--port", str(port), "--workers", str(opts.workers)]
        ready = base + "/"
    else:
        threads = coopgraph_threads()
        argv = [sys.executable, "-m", "gunicorn", "--bind", f"{HOST}:{port}"]
        argv += ["--workers", str(opts.workers), "--threads", str(threads)]
        argv += ["--worker-class", "gthread", "--chdir", str(BENCH), "hello_app:app"]
        ready = base + "/"
    say(f"[{report.label}] starting {target.label}")
    with remote_store(target.engine, children, work, opts) as (env, companion):
        child = children.start(target.name, argv, log=log, env=env)
        try:
            info = report.targets[target.name]
            info.ready_s = wait_until(
                child, lambda: _answers(ready), timeout=max(opts.timeout, 60), what="answer"
            )
            say(f"[{report.label}] {target.label} (pid {child.pid}) serving on {base}")
            yield child, base
            info.memory = tree_memory(child.pid)
            if companion is not None:
                info.store_pss = tree_memory(companion.pid).pss
        finally:
            children.stop(child)


def _answers(url: str) -> bool:
    """True when GET ``url`` answers 200; waits for the answer once the server listens (a
    probe that timed out and asked again would only add work to a busy server)."""
    try:
        status, _ = http_get(url, JSON_RESULTS, timeout=600)
    except OSError:
        return False
    return status == 200


def oxigraph_binary() -> str:
    beside = Path(sys.executable).parent / "oxigraph"
    if beside.is_file():
        return str(beside)
    found = shutil.which("oxigraph")
    if found is None:
        raise BenchError("the oxigraph command is not installed (pip install oxigraph)")
    return found


def coopgraph_threads() -> int:
    from coopgraph.settings import get_setting

    return int(get_setting("threads").default)


def result_rows(base: str, path: str) -> int | None:
    """The number of rows the query at ``path`` answers (None: not a 200 JSON answer)."""
    try:
        status, body = http_get(base + path, JSON_RESULTS)
        if status != 200:
            return None
        return len(json.loads(body)["results"]["bindings"])
    except (OSError, ValueError, KeyError):
        return None


def server_label(server: str, opts: Options) -> str:
    """How a server is named in the labels: ``granian 2×8 + front``, ``gunicorn 2×8``."""
    shape = f"{opts.workers}×{coopgraph_threads()}"
    return f"granian {shape} + front" if server == "granian" else f"gunicorn {shape}"


def targets_for(opts: Options, report: SizeReport) -> list[Target]:
    found: list[Target] = []
    for name in opts.targets:
        if name in ("coopgraph", "coopgraph-gunicorn"):
            server = "gunicorn" if name == "coopgraph-gunicorn" else "granian"
            prefix = "coopgraph-gunicorn-" if server == "gunicorn" else "coopgraph-"
            for engine in opts.engines:
                label = f"coopgraph {engine} ({server_label(server, opts)})"
                short = f"coopgraph {engine} on {server}"
                found.append(
                    Target(
                        prefix + engine, label, short, "/sparql", True, server=server, engine=engine
                    )
                )
        elif name == "pool-floor":  # in-memory engines only: the floor of their rows
            for engine in (e for e in opts.engines if e in ("oxigraph", "rdflib")):
                label = f"query workers alone, {engine} ({server_label('granian', opts)})"
                short = f"query workers alone, {engine}"
                found.append(
                    Target(
                        f"pool-floor-{engine}",
                        label,
                        short,
                        "/floor",
                        server="granian",
                        engine=engine,
                    )
                )
        elif name == "rdflib-endpoint":
            label = f"rdflib-endpoint {version('rdflib-endpoint')} (uvicorn)"
            found.append(Target(name, label, "rdflib-endpoint", "/"))
        elif name == "oxigraph-server":
            label = f"Oxigraph server {version('oxigraph')}"
            found.append(Target(name, label, "Oxigraph server", "/query"))
        else:
            server = "granian" if name == "hello-granian" else "gunicorn"
            label = f"Flask hello world ({server_label(server, opts)})"
            short = f"Flask hello world on {server}"
            found.append(Target(name, label, short, "/", server=server))
    return found


def skip_reason(target: Target, report: SizeReport, opts: Options) -> str | None:
    rdflib_based = target.engine == "rdflib" or target.name == "rdflib-endpoint"
    if rdflib_based and report.triples > opts.rdflib_max:
        return f"skipped (> {human(opts.rdflib_max)}, --rdflib-max)"
    if target.server == "gunicorn" and version("gunicorn") == "not installed":
        return "skipped: gunicorn is not installed (pip install -e .[bench])"
    if target.name == "rdflib-endpoint" and version("rdflib-endpoint") == "not installed":
        return "skipped: rdflib-endpoint is not installed (pip install -e .[bench])"
    if target.name == "oxigraph-server":
        try:
            oxigraph_binary()
        except BenchError as err:
            return f"skipped: {err}"
    return None


def load(job: loadgen.Job, opts: Options) -> loadgen.Load:
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
                    job = loadgen.Job(
                        base, paths, vary, duration=opts.duration, connections=opts.connections
                    )
                    say(f"[{report.label}] {target.label}: {name}")
                    try:
                        if not opts.quick:  # warm up: caches, workers still starting
                            warm = loadgen.Job(
                                base, paths, vary, duration=2, connections=opts.connections
                            )
                            load(warm, opts)
                        runs = [
                            measured_load(job, opts, child.pid)
                            for _ in range(ceiling_runs(target, opts))
                        ]
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
        except BenchError as err:
            info.error = str(err)[:300]


# --------------------------------------------------------------------------- rendering


def render_size(report: SizeReport, opts: Options) -> str:
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


def at_goal_size(report: SizeReport) -> bool:
    return report.triples >= GOAL_SIZE


def render_inproc(report: SizeReport, opts: Options) -> str:
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
    r = report.reason
    if isinstance(r, dict):
        state = "consistent" if r["consistent"] else "INCONSISTENT"
        rows.append(
            [
                "reason (owlrl, as `coopgraph reason`)",
                ftime(r["reason_s"]),
                f"rdflib load {ftime(r['load_s'])}, peak {fmb(r['peak_rss'])}",
                f"{r['inferred']:,} inferred triples, {state}",
                "–",
            ]
        )
    else:
        rows.append(["reason (owlrl)", str(r), "", "", "–"])
    head = ["check", "time", "besides", "result", f"goal at {human(GOAL_SIZE)}"]
    return table(head, rows)


def render_http(report: SizeReport, opts: Options) -> str:
    rows = []
    judged = at_goal_size(report)
    for name, info in report.targets.items():
        mine = [r for r in report.http if r.target == name]
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
        ready = ftime(info.ready_s) if info.ready_s is not None else "–"
        if not mine:
            rows.append([info.label, info.error or "no result", "", "", "", "", "", ready, memory])
            continue
        for r in mine:
            if r.load is None:
                rows.append(
                    [info.label, r.scenario, r.error or "failed", "", "", "", "", ready, memory]
                )
                ready = memory = ""
                continue
            failed = f"{r.load.errors:,}" if r.load.errors else "0"
            scenario = r.scenario
            if r.runs:
                scenario += f" (best of {len(r.runs)} runs: {', '.join(map(fnum, r.runs))})"
            rows.append(
                [
                    info.label,
                    scenario,
                    fnum(r.load.rps),
                    fms(r.load.p50_ms),
                    fms(r.load.p99_ms),
                    cpu_cell(r),
                    failed,
                    ready,
                    memory,
                ]
            )
            ready = memory = ""  # said once per server
        if info.error:
            rows.append([info.label, info.error, "", "", "", "", "", ready, memory])
    head = ["server", "request", "req/s", "p50", "p99", "CPU per request"]
    head += ["errors", "ready after", "memory (PSS)"]
    client = report.client or ("wrk" if loadgen.wrk_binary() else "python-aiohttp")
    text = table(head, rows)
    text += (
        f"\n\n{opts.connections} concurrent connections, {opts.duration:g} s per row, GET "
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
    if report.oxigraph_load_s is not None:
        text += f" `oxigraph load` took {ftime(report.oxigraph_load_s)} before its server started."
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


def header(opts: Options, started: dt.datetime) -> str:
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


# --------------------------------------------------------------------------- main


def bench_size(label: str, size: int, opts: Options, children: Children, work: Path) -> str:
    root, summary, seconds = project_for(size, opts, work)
    report = SizeReport(label, size, summary=summary, generate_s=seconds)
    bench_inproc(report, root, opts, children, work)
    if opts.targets:
        bench_http(report, root, opts, children, work)
    return render_size(report, opts)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # `kill -USR1 <pid>` prints where every thread of a run that seems stuck is.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        opts = parse_args(argv)
    except (BenchError, generate.GeneratorError) as err:
        print(f"bench: {err}", file=sys.stderr)
        return 2
    started = dt.datetime.now()
    sections = [header(opts, started)]
    print(sections[0], flush=True)
    temp = None
    try:
        with Children() as children:
            if opts.workdir is None:
                temp = tempfile.mkdtemp(prefix="coopgraph-bench-")
                work = Path(temp)
            else:
                work = opts.workdir.resolve()
                work.mkdir(parents=True, exist_ok=True)
            for label, size in opts.sizes:
                text = bench_size(label, size, opts, children, work)
                check_interrupt()
                print(text, flush=True)
                sections.append(text)
    except KeyboardInterrupt:
        say("interrupted; every server it started is stopped")
        return 130
    except (BenchError, generate.GeneratorError, OSError) as err:
        say(str(err))
        return 2
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
        if opts.results is not None and len(sections) > 1:
            write_results(opts.results, started, sections)
    return 0


def write_results(folder: Path, started: dt.datetime, sections: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{started:%Y-%m-%d}.md"
    text = "\n".join(sections)
    if path.is_file():
        text = path.read_text(encoding="utf-8").rstrip("\n") + "\n\n---\n\n" + text
    path.write_text(text, encoding="utf-8")
    say(f"tables written to {path}")


if __name__ == "__main__":
    sys.exit(main())
