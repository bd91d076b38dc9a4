"""Start and stop the processes a benchmark runs: servers on 127.0.0.1, measuring children.

Every child is started in a session of its own (so that a Ctrl-C in the terminal reaches
only the benchmark, which then stops the children in order) and recorded in a
:class:`Children` registry; the registry stops what is still running when the benchmark
ends, however it ends (normal exit, error, Ctrl-C, SIGTERM). A child is stopped by its own
process group id: SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

HOST = "127.0.0.1"


class BenchError(Exception):
    """A problem reported as one line."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Child:
    """A process started by the benchmark, and where its output goes."""

    name: str
    process: subprocess.Popen
    log: Path | None
    started: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 5) -> str:
        """The last lines of the child's output, for an error message."""
        if self.log is None or not self.log.is_file():
            return ""
        text = self.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return " | ".join(line.strip() for line in text[-lines:])

    def wait(self, timeout: float) -> int:
        """Wait for the child to exit, as ``Popen.wait``, but in slices of 0.2 s with
        :func:`check_interrupt` between them, so that an interrupt ends the wait.

        Raises:
            subprocess.TimeoutExpired: when ``timeout`` passes first.
            KeyboardInterrupt: when the benchmark was interrupted (see :func:`check_interrupt`).
        """
        deadline = time.monotonic() + timeout
        while True:
            check_interrupt()
            left = deadline - time.monotonic()
            try:
                return self.process.wait(max(0.0, min(_SLICE, left)))
            except subprocess.TimeoutExpired:
                if left <= _SLICE:
                    raise subprocess.TimeoutExpired(self.process.args, timeout) from None

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the child's process group, SIGKILL it after ``grace`` seconds."""
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.process.wait(grace)
        # Processes the child forked may outlive it (a gunicorn worker): end the group.
        self._signal(signal.SIGKILL)

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


class Children:
    """The registry of running children; use it as a context manager."""

    def __init__(self) -> None:
        self.children: list[Child] = []
        self._previous: dict[int, object] = {}

    def __enter__(self) -> Children:
        _INTERRUPTED.clear()
        # SIGINT too: a shell starts background jobs with SIGINT ignored.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            self._previous[sig] = signal.signal(sig, _raise_interrupt)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()
        _INTERRUPTED.clear()
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def start(
        self,
        name: str,
        argv: Sequence[str],
        log: Path | None,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Child:
        """Start ``argv`` in a new session, its stdout and stderr going to ``log``."""
        out = log.open("w", encoding="utf-8") if log is not None else subprocess.DEVNULL
        try:
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                cwd=cwd,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        except OSError as err:
            raise BenchError(f"{name}: cannot start {argv[0]}: {err.strerror}") from None
        finally:
            if log is not None:
                out.close()  # type: ignore[union-attr]
        child = Child(name, process, log)
        self.children.append(child)
        check_interrupt()
        return child

    def stop(self, child: Child) -> None:
        child.stop()
        if child in self.children:
            self.children.remove(child)

    def stop_all(self) -> None:
        while self.children:
            self.stop(self.children[-1])


def die_with_parent() -> None:
    """In a child, before exec: ask Linux to SIGTERM it when the benchmark dies, even by
    SIGKILL (when no cleanup of ours can run)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


_INTERRUPTED = threading.Event()
_SLICE = 0.2  # seconds between two looks at the interrupt flag while a child runs


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    # The flag outlives the exception. Python swallows an exception raised in a signal
    # handler while it runs an at-fork hook (every Popen with a preexec_fn runs them): the
    # KeyboardInterrupt is then only printed, and the run went on to the end of its current
    # child, a wrk run of a minute. Every wait on a child looks at the flag (check_interrupt).
    _INTERRUPTED.set()
    raise KeyboardInterrupt(f"signal {signum}")


def check_interrupt() -> None:
    """Raise KeyboardInterrupt if the benchmark was interrupted, even if the exception
    the signal raised was swallowed on its way."""
    if _INTERRUPTED.is_set():
        raise KeyboardInterrupt("interrupted")


def run_to_end(
    argv: Sequence[str], timeout: float, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a measuring child (wrk, the Python load client) to its end and capture its
    output, as ``subprocess.run`` would, but kill it and raise KeyboardInterrupt as soon as
    the benchmark is interrupted.

    Raises:
        subprocess.TimeoutExpired: when ``timeout`` passes first (the child is killed).
    """
    process = subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=die_with_parent,
    )
    deadline = time.monotonic() + timeout
    pending = input
    try:
        while True:
            check_interrupt()
            left = deadline - time.monotonic()
            try:
                out, err = process.communicate(pending, timeout=max(0.0, min(_SLICE, left)))
                break
            except subprocess.TimeoutExpired:
                pending = None  # given once: communicate() keeps feeding it
                if left <= _SLICE:
                    raise subprocess.TimeoutExpired(process.args, timeout) from None
    except BaseException:
        process.kill()
        process.communicate()
        raise
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def wait_until(
    child: Child, ready: Callable[[], bool], timeout: float, what: str = "answer"
) -> float:
    """Poll ``ready`` until it is true; return the seconds since the child started.

    Raises:
        BenchError: when the child exits or ``timeout`` passes first.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        check_interrupt()
        if not child.running():
            raise BenchError(
                f"{child.name} exited with code {child.process.returncode} before it could "
                f"{what}: {child.tail()}"
            )
        if ready():
            return time.monotonic() - child.started
        time.sleep(0.1)
    raise BenchError(f"{child.name} did not {what} within {timeout:.0f} s: {child.tail()}")


def http_get(url: str, accept: str, timeout: float = 120.0) -> tuple[int, bytes]:
    """GET ``url``: (status, body)."""
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


# --------------------------------------------------------------------------- memory


def descendants(pid: int) -> list[int]:
    """All processes below ``pid``, from /proc."""
    return [child for child, _ in _below(pid)]


def _below(pid: int) -> list[tuple[int, int]]:
    """(pid, depth) of every process below ``pid``: its children at depth 1, theirs at 2..."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [(pid, 0)]
    while todo:
        parent, depth = todo.pop()
        for child in children.get(parent, []):
            found.append((child, depth + 1))
            todo.append((child, depth + 1))
    return found


def _rollup(pid: int) -> dict[str, int]:
    """The fields of /proc/PID/smaps_rollup, in bytes (empty when it cannot be read)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return {}
    fields = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if len(parts) == 2 and parts[1] == "kB":
            fields[name] = int(parts[0]) * 1024
    return fields


@dataclass(frozen=True)
class TreeMemory:
    """Memory of a process and every process below it, in bytes.

    Attributes:
        pss: PSS summed over the processes. PSS splits the pages that forked processes
            share among them, so the sum is the memory the tree really holds.
        largest_rss: The largest RSS of one process. RSS counts every page a process maps,
            shared or not: the most one process can be said to hold.
        processes: How many processes there are.
    """

    pss: int
    largest_rss: int
    processes: int


def tree_memory(pid: int) -> TreeMemory:
    """The memory of ``pid`` and every process below it (each process read once)."""
    rollups = [_rollup(p) for p in [pid, *descendants(pid)]]
    return TreeMemory(
        pss=sum(r.get("Pss", 0) for r in rollups),
        largest_rss=max(r.get("Rss", 0) for r in rollups),
        processes=len(rollups),
    )


# --------------------------------------------------------------------------- CPU

_TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> dict[int, tuple[int, float]]:
    """For ``pid`` and every process below it: its depth in the tree (0 for ``pid``) and the
    CPU seconds it has used so far, in user and kernel mode (/proc/PID/stat)."""
    found = {}
    for process, depth in [(pid, 0), *_below(pid)]:
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended meanwhile
        found[process] = (depth, (int(fields[11]) + int(fields[12])) / _TICK)
    return found


def cpu_between(
    before: dict[int, tuple[int, float]], after: dict[int, tuple[int, float]], min_depth: int = 0
) -> float:
    """CPU seconds the processes at ``min_depth`` or deeper used between two
    :func:`tree_cpu` readings (a process started meanwhile counts from zero; one that ended
    meanwhile is not counted)."""
    used = 0.0
    for process, (depth, seconds) in after.items():
        if depth >= min_depth:
            used += seconds - before.get(process, (depth, 0.0))[1]
    return used
