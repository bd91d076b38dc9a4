"""The servers a run measures over HTTP: which targets the options name (:class:`Target`,
:func:`targets_for`), the command that starts each, and :func:`serving`, which starts one,
waits until it answers and stops it; also the Oxigraph server that the remote engine stores
its data in (:func:`remote_store`)."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import workload
from run_common import BENCH, DISK, JSON_RESULTS, human, say, version
from run_options import Options
from run_report import SizeReport
from servers import (
    HOST,
    BenchError,
    Child,
    Children,
    free_port,
    http_get,
    tree_memory,
    wait_until,
)


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


def targets_for(opts: Options, report: SizeReport) -> list[Target]:
    """The servers the ``--targets`` name: coopgraph and its floor once per engine."""
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
    """Why ``target`` is not measured at this size or on this machine (None: it is)."""
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


def server_label(server: str, opts: Options) -> str:
    """How a server is named in the labels: ``granian 2×8 + front``, ``gunicorn 2×8``."""
    shape = f"{opts.workers}×{coopgraph_threads()}"
    return f"granian {shape} + front" if server == "granian" else f"gunicorn {shape}"


def coopgraph_threads() -> int:
    """The threads per serving process, the ``threads`` setting's default."""
    from coopgraph.settings import get_setting

    return int(get_setting("threads").default)


def oxigraph_binary() -> str:
    """The ``oxigraph`` command, beside the Python running the harness or on the PATH."""
    beside = Path(sys.executable).parent / "oxigraph"
    if beside.is_file():
        return str(beside)
    found = shutil.which("oxigraph")
    if found is None:
        raise BenchError("the oxigraph command is not installed (pip install oxigraph)")
    return found


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
    argv, ready_path = server_command(target, root, opts, children, work, report, port)
    ready = base + ready_path
    say(f"[{report.label}] starting {target.label}")
    with remote_store(target.engine, children, work, opts) as (env, companion):
        # The peers serve the asserted triples: so does coopgraph here, for the same answers.
        env = {**env, "COOPGRAPH_INFER": "false"}
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


def server_command(
    target: Target,
    root: Path,
    opts: Options,
    children: Children,
    work: Path,
    report: SizeReport,
    port: int,
) -> tuple[list[str], str]:
    """The command that starts ``target`` on ``port``, and the path that answers once it is
    up (for Oxigraph's server, its store is loaded first)."""
    if target.coopgraph:
        # Not /health: it counts the distinct triples, which rdflib takes long to do, and a
        # probe that gives up and asks again would pile those counts up in the server.
        ready = workload.query_path("/sparql", "ASK {}")
        return coopgraph_command(target, root, opts, work, report, port), ready
    if target.name == "rdflib-endpoint":
        argv = [sys.executable, "-m", "rdflib_endpoint", "serve", str(root / "dataset.nq")]
        argv += ["--host", HOST, "--port", str(port)]
        return argv, workload.query_path("/", "ASK {}")
    if target.name == "oxigraph-server":
        binary = oxigraph_binary()
        location = oxigraph_store(binary, root, opts, children, work, report)
        argv = [binary, "serve-read-only", "--location", str(location)]
        argv += ["--bind", f"{HOST}:{port}", "--union-default-graph"]
        return argv, workload.query_path("/query", "ASK {}")
    if target.floor:  # the production server with a route straight to the pool
        argv = [sys.executable, str(BENCH / "granian_pool_floor.py"), "--root", str(root)]
        argv += ["--store", target.engine, "--workers", str(opts.workers)]
        argv += ["--host", HOST, "--port", str(port)]
        return argv, workload.query_path("/floor", "ASK {}")
    if target.server == "granian":  # the hello world under the production front
        argv = [sys.executable, str(BENCH / "granian_hello.py"), "--host", HOST]
        argv += ["--port", str(port), "--workers", str(opts.workers)]
        return argv, "/"
    threads = coopgraph_threads()
    argv = [sys.executable, "-m", "gunicorn", "--bind", f"{HOST}:{port}"]
    argv += ["--workers", str(opts.workers), "--threads", str(threads)]
    argv += ["--worker-class", "gthread", "--chdir", str(BENCH), "hello_app:app"]
    return argv, "/"


def coopgraph_command(
    target: Target, root: Path, opts: Options, work: Path, report: SizeReport, port: int
) -> list[str]:
    """The command of coopgraph's production server, or of the same app under gunicorn."""
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
    return argv


def oxigraph_store(
    binary: str, root: Path, opts: Options, children: Children, work: Path, report: SizeReport
) -> Path:
    """The store of Oxigraph's server for this size, loaded with ``oxigraph load`` unless it
    was already loaded for it."""
    location = work / f"oxigraph-{report.label}"
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
    return location


def _answers(url: str) -> bool:
    """True when GET ``url`` answers 200; waits for the answer once the server listens (a
    probe that timed out and asked again would only add work to a busy server)."""
    try:
        status, _ = http_get(url, JSON_RESULTS, timeout=600)
    except OSError:
        return False
    return status == 200
