"""What the tests share: the checkout's paths, the competency questions, running the
``coopgraph`` command (in process or as a process), real servers on 127.0.0.1 (coopgraph's
and Oxigraph's), a listener that must never be reached, headless Chromium, and reading the
site's HTML. Fixtures are in ``conftest.py``; everything else a test needs is here."""

from __future__ import annotations

import http.client
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

from click.testing import CliRunner, Result

from coopgraph.cli.main import cli
from coopgraph.namespace import BASE

ROOT = Path(__file__).resolve().parents[1]


def load_bench(name: str) -> ModuleType:
    """The module ``bench/<name>.py``, loaded from its file (bench/ is a folder of scripts
    that import each other as siblings, not a package)."""
    path = ROOT / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module


_SERVERS = load_bench("servers")
#: All processes below a pid, from /proc; a TCP port free on 127.0.0.1 (the benchmark's).
descendants: Callable[[int], list[int]] = _SERVERS.descendants
free_port: Callable[[], int] = _SERVERS.free_port


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


# --------------------------------------------------------------------------- the command

#: The competency questions, each NAME.rq with its expected answer NAME.csv.
QUERIES = sorted((ROOT / "queries" / "competency").glob("*.rq"))


def invoke(*args: str, root: Path | None = None, stdin: str | None = None) -> Result:
    """Run ``coopgraph ARGS`` in this process (``--root ROOT`` first when given)."""
    prefix = ["--root", str(root)] if root is not None else []
    return CliRunner().invoke(cli, [*prefix, *args], input=stdin, catch_exceptions=False)


def coopgraph(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run ``python -m coopgraph ARGS`` as a process of its own (text output, 300 s at most)."""
    return subprocess.run(
        [sys.executable, "-m", "coopgraph", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
        check=False,
    )


# --------------------------------------------------------------------------- HTML

#: The Accept header of a browser.
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@dataclass
class Element:
    """An element of a parsed page."""

    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    def text(self) -> str:
        """All the text inside, whitespace collapsed."""
        parts: list[str] = []

        def walk(node: Element) -> None:
            for child in node.children:
                if isinstance(child, str):
                    parts.append(child)
                else:
                    walk(child)

        walk(self)
        return " ".join("".join(parts).split())

    def raw_text(self) -> str:
        """All the text inside, as it is."""
        return "".join(c if isinstance(c, str) else c.raw_text() for c in self.children)

    def iter(self, tag: str | None = None, **attrs: str) -> Iterator[Element]:
        """The elements below, in document order, with this tag and these attributes
        (``class_`` matches one of the classes)."""
        for child in self.children:
            if isinstance(child, Element):
                if child.matches(tag, attrs):
                    yield child
                yield from child.iter(tag, **attrs)

    def matches(self, tag: str | None, attrs: dict[str, str]) -> bool:
        if tag is not None and self.tag != tag:
            return False
        for name, value in attrs.items():
            if name == "class_":
                if value not in self.attrs.get("class", "").split():
                    return False
            elif self.attrs.get(name) != value:
                return False
        return True

    def find(self, tag: str | None = None, **attrs: str) -> Element:
        """The first element below with this tag and these attributes."""
        for found in self.iter(tag, **attrs):
            return found
        raise AssertionError(f"no <{tag}> with {attrs} on the page")

    def links(self) -> list[tuple[str, str]]:
        """(href, text) of every link below."""
        return [(a.attrs.get("href", ""), a.text()) for a in self.iter("a")]


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in _VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse_html(text: str) -> Element:
    """The page as a tree of elements."""
    parser = _Parser()
    parser.feed(text)
    parser.close()
    return parser.root


def section(page: Element, heading_id: str) -> Element:
    """The first table or list after the heading with this id."""
    found = False
    for element in page.iter():
        if element.tag == "h2" and element.attrs.get("id") == heading_id:
            found = True
        elif found and element.tag in ("table", "ul"):
            return element
    raise AssertionError(f"the page has no section #{heading_id}")


# --------------------------------------------------------------------------- HTTP


@dataclass
class Reply:
    """A response, read and closed."""

    status: int
    content_type: str
    vary: str
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


_local = threading.local()
_opened: list[http.client.HTTPConnection] = []
_opened_lock = threading.Lock()


def _connection(netloc: str, fresh: bool = False) -> http.client.HTTPConnection:
    """This thread's keep-alive connection to ``netloc``."""
    connections = _local.__dict__.setdefault("connections", {})
    if fresh or netloc not in connections:
        connection = http.client.HTTPConnection(netloc, timeout=30)
        with _opened_lock:
            _opened.append(connection)
        connections[netloc] = connection
    return connections[netloc]


def fetch(url: str, accept: str | None = None) -> Reply:
    """GET ``url`` with this ``Accept`` header, or with none at all (``None``)."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {"Accept": accept} if accept is not None else {}
    for attempt in range(2):
        connection = _connection(parts.netloc, fresh=attempt > 0)
        try:
            connection.request("GET", target, headers=headers)
            with connection.getresponse() as response:
                return Reply(
                    response.status,
                    response.getheader("Content-Type", ""),
                    response.getheader("Vary", ""),
                    response.read(),
                )
        except (http.client.HTTPException, ConnectionError):
            connection.close()  # the server closed a kept-alive connection: once more
            if attempt:
                raise
    raise AssertionError("unreachable")


def close_connections() -> None:
    """Close the connections :func:`fetch` kept alive."""
    with _opened_lock:
        for connection in _opened:
            connection.close()
        _opened.clear()


def page(url: str) -> Element:
    reply = fetch(url, BROWSER)
    assert reply.status == 200, f"{url}: {reply.status} {reply.text[:200]}"
    assert reply.content_type.startswith("text/html"), url
    return parse_html(reply.text)


def local_path(iri: str) -> str:
    """The path at which the server publishes a coopgraph IRI."""
    assert iri.startswith(BASE)
    return "/" + iri.split("#", 1)[0][len(BASE) :]
