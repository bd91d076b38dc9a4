"""Smoke tests of the benchmark harness (bench/run.py) on tiny graphs.

They check that the harness runs end to end and prints the tables it should, that its
servers are gone afterwards (also after Ctrl-C), and that the Python load client works; the
figures themselves are not judged. The smoke run has every HTTP row: coopgraph under its
production server (granian and coopgraph's front) and under gunicorn, the hello world
under both, and the peers (rdflib-endpoint, Oxigraph's server), which are left out only
when their packages are not installed (``pip install -e .[bench]``).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import ROOT

pytestmark = pytest.mark.slow  # the benchmark harness and its servers

RUN = ROOT / "bench" / "run.py"
QUERY_LABELS = (
    "lookup by IRI",
    "two-hop join",
    "aggregate",
    "text search, REGEX",
    "text search, CONTAINS",
    "DESCRIBE",
    "CONSTRUCT",
)
_PID = re.compile(r"\(pid (\d+)\) serving on")
_TIME = re.compile(r"^\d[\d,.]* (ms|s)$")


def _has_oxigraph_server() -> bool:
    return (Path(sys.executable).parent / "oxigraph").is_file() or bool(shutil.which("oxigraph"))


def _has_rdflib_endpoint() -> bool:
    return all(importlib.util.find_spec(m) for m in ("rdflib_endpoint", "uvicorn"))


def _peers() -> list[str]:
    peers = []
    if _has_rdflib_endpoint():
        peers.append("rdflib-endpoint")
    if _has_oxigraph_server():
        peers.append("oxigraph-server")
    return peers


@dataclass
class Run:
    code: int
    out: str
    err: str
    workdir: Path

    def rows(self, first_cell: str) -> list[list[str]]:
        """The table rows whose first cell starts with ``first_cell``."""
        found = []
        for line in self.out.splitlines():
            if line.startswith("| "):
                cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
                if cells[0].startswith(first_cell):
                    found.append(cells)
        return found

    def pids(self) -> list[int]:
        return [int(p) for p in _PID.findall(self.err)]


def _bench(*args: str, workdir: Path, timeout: float = 240) -> Run:
    done = subprocess.run(
        [sys.executable, str(RUN), *args, "--workdir", str(workdir), "--no-results"],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
    )
    return Run(done.returncode, done.stdout, done.stderr, workdir)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> Run:
    targets = ",".join(
        ["coopgraph", "coopgraph-gunicorn", *_peers(), "hello", "hello-granian", "pool-floor"]
    )
    run = _bench(
        "--sizes",
        "2k",
        "--quick",
        "--engines",
        "oxigraph,rdflib",
        "--targets",
        targets,
        "--reason-max",
        "2k",
        workdir=tmp_path_factory.mktemp("bench"),
    )
    assert run.code == 0, run.err[-3000:]
    return run


def test_the_run_prints_a_section_per_size(smoke: Run) -> None:
    assert "# coopgraph benchmark" in smoke.out
    assert "## 2k triples" in smoke.out
    assert "Goals (from the issue" in smoke.out


def test_in_process_figures_for_each_engine(smoke: Run) -> None:
    assert any("| oxigraph | rdflib |" in line for line in smoke.out.splitlines())
    for label in ("load (open_engine", "memory growth", *QUERY_LABELS):
        rows = smoke.rows(label)
        assert rows, f"no row {label!r}"
        engines = rows[0][1:3]
        if label == "memory growth":
            assert all(cell.endswith("MB") for cell in engines), rows[0]
        else:
            assert all(_TIME.match(cell) for cell in engines), rows[0]
    assert "Row counts differ" not in smoke.out


def test_validation_and_reasoning(smoke: Run) -> None:
    (reference,) = smoke.rows("validate (pyshacl)")
    (turbo,) = smoke.rows("validate (pyshacl-turbo, as `coopgraph validate`)")
    for validate in (reference, turbo):
        assert _TIME.match(validate[1]) and "conforms, 0 results" in validate[3]
    (reference,) = smoke.rows("reason (owlrl")
    assert _TIME.match(reference[1]) and "consistent" in reference[3]
    (fast,) = smoke.rows("reason (rules")
    assert _TIME.match(fast[1]) and "the same as owlrl's" in fast[3]


def _ok(row: list[str]) -> bool:
    """Answers came, and at most a few requests failed (a busy machine may time one out)."""
    answered = float(row[2].replace(",", ""))  # successful requests per second, for 1 s
    failed = int(row[6].replace(",", ""))
    return answered > 0 and failed <= max(3, 0.05 * answered)


def _http(smoke: Run, server: str) -> dict[str, list[str]]:
    return {row[1]: row for row in smoke.rows(server)}


#: The first cells of the HTTP rows of each server of the smoke run but the peers.
PRODUCTION = "coopgraph oxigraph (granian 2×8 + front)"
GUNICORN = "coopgraph oxigraph (gunicorn 2×8)"
HELLO_GUNICORN = "Flask hello world (gunicorn 2×8)"
HELLO_GRANIAN = "Flask hello world (granian 2×8 + front)"
FLOOR = "query workers alone, oxigraph (granian 2×8 + front)"
ALL_SCENARIOS = ("lookup, cached", "lookup, uncached", "aggregate, cached", "aggregate, uncached")


def test_http_rows_for_every_target(smoke: Run) -> None:
    expected = {
        PRODUCTION: ALL_SCENARIOS,
        GUNICORN: ALL_SCENARIOS,
        "coopgraph rdflib (granian 2×8 + front)": ("lookup, cached", "lookup, uncached"),
        "coopgraph rdflib (gunicorn 2×8)": ("lookup, cached", "lookup, uncached"),
        HELLO_GUNICORN: ("GET /",),
        HELLO_GRANIAN: ("GET /",),
        FLOOR: ("lookup",),
        "query workers alone, rdflib (granian 2×8 + front)": ("lookup",),
    }
    if "rdflib-endpoint" in _peers():
        expected["rdflib-endpoint"] = ("lookup", "aggregate")
    if "oxigraph-server" in _peers():
        expected["Oxigraph server"] = ("lookup", "aggregate")
    for server, scenarios in expected.items():
        rows = _http(smoke, server)
        for scenario in scenarios:
            assert scenario in rows, f"{server}: no {scenario!r} row in {sorted(rows)}"
            row = rows[scenario]
            assert _ok(row), row
            assert _TIME.match(row[3]) and _TIME.match(row[4]), row
            # the server's CPU per request, with its query workers' part where it has them
            pooled = server.startswith(("coopgraph", "query workers alone"))
            cpu = r"\d+\.\d\d ms \(\d+\.\d\d\)" if pooled else r"\d+\.\d\d ms"
            assert re.fullmatch(cpu, row[5]), row
    for server in (PRODUCTION, GUNICORN):
        memory = smoke.rows(server)[0][8]
        assert re.fullmatch(r"[\d,]+ MB in \d+ processes; largest process [\d,]+ MB RSS", memory)
    assert "Servers disagree" not in smoke.out
    assert re.search(r"runs on the same \d+ cores as the server", smoke.out)


def test_the_production_server_is_granian_and_the_old_one_gunicorn(smoke: Run) -> None:
    """The production rows come from `coopgraph serve --production` (granian), the gunicorn
    rows from the bench's launcher of the same app, the hello world from both servers."""
    logs = {
        "coopgraph-oxigraph": "(granian)",
        "coopgraph-gunicorn-oxigraph": "(gunicorn, bench/gunicorn_coopgraph.py)",
        "hello-granian": "(granian + coopgraph's front)",
        "pool-floor-oxigraph": "(granian)",
    }
    for name, said in logs.items():
        log = (smoke.workdir / f"server-{name}.log").read_text(encoding="utf-8")
        assert said in log, log[-2000:]
        assert "Traceback" not in log, log[-3000:]
    hello = (smoke.workdir / "server-hello.log").read_text(encoding="utf-8")
    assert "Using worker: gthread" in hello, hello[-2000:]


def test_ratios_against_the_peers_and_the_ceiling(smoke: Run) -> None:
    ratios = {row[0]: row for row in smoke.rows("coopgraph oxigraph on ")}
    for server in ("granian", "gunicorn"):
        ceiling = f"coopgraph oxigraph on {server} ÷ Flask hello world on {server}"
        assert ceiling in ratios, sorted(ratios)
        assert re.fullmatch(
            r"≥ 60%: cached \*\*(met|missed)\*\*, uncached \*\*(met|missed)\*\*",
            ratios[ceiling][4],
        ), ratios[ceiling]
        if "rdflib-endpoint" in _peers():
            peer = ratios[f"coopgraph oxigraph on {server} ÷ rdflib-endpoint"]
            assert re.fullmatch(
                r"≥ 10×: cached \*\*(met|missed)\*\*, uncached \*\*(met|missed)\*\*", peer[4]
            ), peer
        if "oxigraph-server" in _peers():
            assert f"coopgraph oxigraph on {server} ÷ Oxigraph server" in ratios
    assert "coopgraph oxigraph on granian ÷ coopgraph oxigraph on gunicorn" in ratios
    assert "coopgraph oxigraph on granian ÷ query workers alone, oxigraph" in ratios
    floor = {row[0]: row for row in smoke.rows("query workers alone, oxigraph ÷ ")}
    assert re.fullmatch(
        r"\d+%", floor["query workers alone, oxigraph ÷ Flask hello world on granian"][1]
    )
    for row in ratios.values():
        assert re.match(r"^\d[\d,.]*(×|%)$", row[1]), row


def test_the_ceiling_is_the_best_of_three_runs_of_the_hello_world(tmp_path: Path) -> None:
    run = _bench(
        "--sizes", "1k", "--no-validate", "--no-reason", "--engines", "oxigraph",
        "--targets", "hello", "--duration", "1", workdir=tmp_path,
    )  # fmt: skip
    assert run.code == 0, run.err[-3000:]
    [row] = run.rows("Flask hello world")
    found = re.fullmatch(r"GET / \(best of 3 runs: ([\d,]+), ([\d,]+), ([\d,]+)\)", row[1])
    assert found, row
    runs = [int(x.replace(",", "")) for x in found.groups()]
    assert int(row[2].replace(",", "")) == max(runs)


def test_every_server_is_stopped_after_the_run(smoke: Run) -> None:
    pids = smoke.pids()
    assert len(pids) >= 6  # coopgraph under both servers, the hello world under both
    assert not [p for p in pids if _alive(p)]
    # Their workers and query workers too: forked, they have the server's command line,
    # which names the graph in the run's folder.
    deadline = time.monotonic() + 5  # a SIGKILL sent to a group takes effect a bit later
    while (left := [p for p in _processes_naming(str(smoke.workdir)) if _alive(p)]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.2)
    assert not left, [_cmdline(p) for p in left]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _processes_naming(text: str) -> list[int]:
    """The processes whose command line holds ``text`` (but this one)."""
    return [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit()
        and int(entry.name) != os.getpid()
        and text in _cmdline(int(entry.name))
    ]


def test_ctrl_c_stops_the_servers(tmp_path: Path) -> None:
    command = [sys.executable, str(RUN), "--sizes", "1k", "--quick", "--no-validate"]
    command += ["--no-reason", "--engines", "oxigraph", "--targets", "hello", "--duration", "60"]
    command += ["--workdir", str(tmp_path), "--no-results"]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    lines: list[str] = []
    drain = threading.Thread(target=lambda: lines.extend(process.stderr), daemon=True)
    drain.start()
    deadline = time.monotonic() + 90
    while not any("GET /" in line for line in lines) and time.monotonic() < deadline:
        assert process.poll() is None, "".join(lines)
        time.sleep(0.2)
    pids = [int(p) for p in _PID.findall("".join(lines))]
    assert pids and all(_alive(p) for p in pids), "".join(lines)
    process.send_signal(signal.SIGINT)
    try:
        code: int | None = process.wait(30)
    except subprocess.TimeoutExpired:
        code = None
        process.send_signal(signal.SIGUSR1)  # the run prints where its threads are
        time.sleep(1)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        drain.join(5)
        process.stderr.close()
    assert code == 130, "".join(lines)
    time.sleep(0.5)
    assert not [p for p in pids if _alive(p)]


# Run in a child: the at-fork hook cannot be unregistered from the test process.
_SWALLOWED_INTERRUPT = """
import os, signal, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
import servers

armed = [True]

def interrupt_while_forking():
    # As logging's own after-fork hook did when Ctrl-C came during a fork: the signal's
    # KeyboardInterrupt is raised inside the hook, and Python swallows it there.
    if armed:
        armed.clear()
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.5)

os.register_at_fork(after_in_parent=interrupt_while_forking)
started = time.monotonic()
outcome = "not interrupted"
try:
    with servers.Children() as children:
        if sys.argv[2] == "captured":  # wrk, the Python load client
            servers.run_to_end(["sleep", "30"], timeout=60)
        else:  # a measuring child, `oxigraph load`
            process = subprocess.Popen(
                ["sleep", "30"], start_new_session=True, preexec_fn=servers.die_with_parent
            )
            children.children.append(servers.Child("sleep", process, None))
            children.children[-1].wait(60)
except KeyboardInterrupt:
    outcome = "interrupted"
try:
    left = os.waitpid(-1, os.WNOHANG)
except ChildProcessError:
    left = "none"
print(f"{outcome} after {time.monotonic() - started:.1f} s, children left: {left}")
"""


@pytest.mark.parametrize("wait", ["captured", "logged"])
def test_an_interrupt_swallowed_during_a_fork_still_stops_the_run(wait: str) -> None:
    """A Ctrl-C whose KeyboardInterrupt Python swallows (raised in an at-fork hook, which
    every Popen with a preexec_fn runs) still stops the child being waited for, at once:
    a child whose output is captured (run_to_end) and one whose output goes to a log
    (Child.wait)."""
    done = subprocess.run(
        [sys.executable, "-c", _SWALLOWED_INTERRUPT, str(ROOT / "bench"), wait],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Exception ignored" in done.stderr  # the interrupt was indeed swallowed
    found = re.fullmatch(r"interrupted after ([\d.]+) s, children left: none\n", done.stdout)
    assert found, done.stdout + done.stderr
    assert float(found.group(1)) < 5


@pytest.mark.skipif(not importlib.util.find_spec("aiohttp"), reason="aiohttp is not installed")
def test_the_python_load_client(tmp_path: Path) -> None:
    run = _bench(
        "--sizes",
        "1k",
        "--quick",
        "--no-validate",
        "--no-reason",
        "--engines",
        "oxigraph",
        "--targets",
        "hello",
        "--client",
        "python",
        workdir=tmp_path,
    )
    assert run.code == 0, run.err[-2000:]
    assert "load generator `python-aiohttp`" in run.out
    (row,) = _http(run, "Flask hello world").values()
    assert _ok(row), row


def test_a_bad_option_is_one_line(tmp_path: Path) -> None:
    run = _bench("--sizes", "10k", "--engines", "nosuch", workdir=tmp_path)
    assert run.code == 2
    assert run.err.strip() == (
        "bench: unknown engine 'nosuch'; known: " + ", ".join(_known_engines())
    )


def _known_engines() -> list[str]:
    from coopgraph.store.engine import ENGINES

    known = list(ENGINES)
    if not any("disk" in e for e in known):
        known.append("oxigraph-disk")
    return known
