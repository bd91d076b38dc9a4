"""Shared fixtures: the project root, the loaded bundled graph, and throwaway copies of it."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from coopgraph.graph.load import ProjectDataset, build_dataset

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    """The checkout's project root (ontology/, data/, shapes/)."""
    return ROOT


@pytest.fixture(scope="session")
def bundled() -> ProjectDataset:
    """The bundled graph, loaded once. Tests must not change it."""
    return build_dataset(ROOT)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project that a test may break."""
    copy = tmp_path / "project"
    for folder in ("ontology", "data", "shapes"):
        shutil.copytree(ROOT / folder, copy / folder)
    return copy


# --------------------------------------------------------------------------- a real server

_SERVING = re.compile(r"serving on (?P<url>http://\S+/)")


@dataclass
class Server:
    """A `coopgraph serve` process on 127.0.0.1, and what it printed on stderr."""

    url: str
    process: subprocess.Popen
    log: list[str] = field(default_factory=list)
    drain: threading.Thread | None = None
    #: Processes the server needs and that stop with it (an Oxigraph server behind it).
    companions: list[subprocess.Popen] = field(default_factory=list)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and wait for it, then its companions."""
        for process in (self.process, *self.companions):
            _terminate(process)
        if self.drain is not None:
            self.drain.join(5)
        if self.process.stderr is not None:
            self.process.stderr.close()

    def child_pids(self) -> list[int]:
        """The processes forked by the server (zygote, query workers), from /proc."""
        return descendants(self.process.pid)


def _terminate(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def descendants(pid: int) -> list[int]:
    """All processes below ``pid``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60.0, cwd: Path = ROOT
) -> Server:
    """Start `coopgraph serve ARGS` on 127.0.0.1 and wait until /health answers.

    Pass ``--port N`` to choose the port; by default any free port is used.
    """
    command = [sys.executable, "-m", "coopgraph", "serve", *args]
    if "--port" not in args:
        command += ["--port", "0"]
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env={**os.environ, "COOPGRAPH_ROOT": str(ROOT), **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = Server("", process)
    assert process.stderr is not None
    deadline = time.monotonic() + timeout
    for line in process.stderr:
        server.log.append(line.rstrip("\n"))
        match = _SERVING.search(line)
        if match:
            server.url = match["url"]
            break
        if time.monotonic() > deadline:
            break
    if not server.url:
        server.stop()
        raise RuntimeError("the server did not start:\n" + "\n".join(server.log))
    server.drain = threading.Thread(target=_drain, args=(process.stderr, server.log), daemon=True)
    server.drain.start()
    _wait_healthy(server, deadline)
    return server


def _drain(stream, log: list[str]) -> None:
    for line in stream:
        log.append(line.rstrip("\n"))


def _wait_healthy(server: Server, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(server.url + "health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError("the server never answered /health:\n" + "\n".join(server.log))


#: The engines every cross-engine test runs on: Oxigraph in memory and on disk, rdflib (the
#: reference), and a remote store (a real Oxigraph server started for the test).
ENGINES = ("oxigraph", "oxigraph-disk", "rdflib", "remote")


def oxigraph_command() -> str:
    """The `oxigraph` server installed with the test dependencies: beside the running Python
    (a virtual environment's bin/, which `make test` does not put on PATH), else on PATH."""
    beside = Path(sys.executable).parent / "oxigraph"
    found = str(beside) if beside.is_file() else shutil.which("oxigraph")
    if found is None:
        raise RuntimeError("no `oxigraph` server: pip install oxigraph (a test dependency)")
    return found


def start_oxigraph_server(timeout: float = 30.0) -> tuple[subprocess.Popen, str]:
    """Start `oxigraph serve` (in memory) on 127.0.0.1; return it and its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [oxigraph_command(), "serve", "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/query?query=ASK%7B%7D", timeout=2):
                return process, url
        except OSError:
            time.sleep(0.1)
    _terminate(process)
    raise RuntimeError("the Oxigraph server did not start")


def start_engine_server(engine: str, *args: str, folder: Path | None = None, **kwargs) -> Server:
    """Start `coopgraph serve` on one of :data:`ENGINES` (``folder``: for the disk store)."""
    if engine == "remote":
        oxigraph, base = start_oxigraph_server()
        env = {
            "COOPGRAPH_REMOTE_QUERY_URL": base + "/query",
            "COOPGRAPH_REMOTE_UPDATE_URL": base + "/update",
            "COOPGRAPH_REMOTE_STORE_URL": base + "/store",
            **(kwargs.pop("env", None) or {}),
        }
        try:
            server = start_server(*args, "--store", "remote", env=env, **kwargs)
        except Exception:
            _terminate(oxigraph)
            raise
        server.companions.append(oxigraph)
        return server
    if engine == "oxigraph-disk":
        assert folder is not None, "the disk store needs a folder"
        return start_server(*args, "--store", "oxigraph", "--store-path", str(folder), **kwargs)
    return start_server(*args, "--store", engine, **kwargs)


@pytest.fixture(scope="session", params=ENGINES)
def engine_server(request, tmp_path_factory) -> Iterator[Server]:
    """The bundled graph served on each engine in turn, shared by tests that do not change it."""
    folder = tmp_path_factory.mktemp("store") / "oxigraph"
    running = start_engine_server(request.param, folder=folder)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    """The bundled graph served by `coopgraph serve` (Oxigraph engine), shared by tests
    that do not change it."""
    running = start_server()
    yield running
    running.stop()


class Listener:
    """A TCP port on 127.0.0.1 that counts the connections made to it (a server that must
    never be reached: a SERVICE, LOAD or FROM target)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.running = False
        self.thread.join(2)
        self.sock.close()


#: The browser of the browser tests (Debian's chromium), how it is started, and how long
#: a step in it may take.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BROWSER_TIMEOUT = 15_000  # ms


@contextmanager
def chromium_context(profile: Path) -> Iterator:
    """A headless Chromium with a fresh profile in ``profile`` (a Playwright context)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(BROWSER_TIMEOUT)
        try:
            yield context
        finally:
            context.close()
