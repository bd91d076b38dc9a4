"""Run untrusted work (SPARQL queries) in worker processes that can be killed at a deadline.

Neither rdflib nor pyoxigraph can stop a query once it runs: a Python thread cannot be
killed, and pyoxigraph holds its thread in native code. The one mechanism that always
works is a separate process, killed when its deadline passes (see the measurements in
``shared/reference/measurements.md``). This module keeps a pool of such processes:

- At start, while the calling process is still single-threaded, it forks a *zygote*: a
  small process that holds a copy-on-write image of everything loaded so far (the store)
  and does nothing but fork workers on request. Forking from the zygote, never from the
  multi-threaded web process, keeps the workers free of locks held by other threads.
- Each worker serves one job at a time over a socket pair: it receives a pickled job,
  runs the handler given at start, and sends back a pickled reply.
- :meth:`Pool.run` hands a job to an idle worker and waits for the reply until the
  deadline. When the deadline passes, the worker is killed (SIGKILL: its CPU is freed at
  once), a fresh one is forked from the zygote, and :class:`DeadlineExceeded` is raised.
- When every worker is busy, a job waits for one at most ``queue_timeout`` seconds, and at
  most ``max_waiting`` jobs wait; beyond that :class:`PoolBusy` is raised at once.

Workers and the zygote die with their parent: the zygote exits when its control socket
closes, and workers are sent SIGKILL by the kernel when the zygote dies (Linux
``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from multiprocessing.connection import Connection
from typing import Any

from coopgraph.errors import CoopgraphError

Handler = Callable[[Any], Any]

_SPAWN = b"S"
_PR_SET_PDEATHSIG = 1


class SandboxError(CoopgraphError):
    """Base class of the errors of the worker pool."""


class DeadlineExceeded(SandboxError):
    """The job ran past its deadline; its worker was killed."""


class PoolBusy(SandboxError):
    """Every worker is busy and too many jobs are already waiting."""


class WorkerDied(SandboxError):
    """The worker died while running the job (it was replaced)."""


class JobFailed(SandboxError):
    """The handler raised; ``error`` is the exception, re-created in this process.

    Attributes:
        error: The exception the handler raised (when it could be pickled).
        details: The worker's traceback, for logs.
    """

    def __init__(self, error: BaseException, details: str) -> None:
        self.error = error
        self.details = details
        super().__init__(str(error))


@dataclass
class _Worker:
    pid: int
    conn: Connection
    jobs: int = 0


@dataclass
class PoolStats:
    """Counters, for /health and the benchmarks."""

    jobs: int = 0
    killed: int = 0
    died: int = 0
    busy_refusals: int = 0
    spawned: int = 0
    recycled: int = 0
    waiting: int = 0
    extra: dict[str, int] = field(default_factory=dict)


class Pool:
    """A pool of worker processes forked from a zygote.

    Args:
        handler: Called in a worker with each job; its return value is the reply. It
            must be defined before the pool starts (it runs in a fork of this process).
        workers: How many worker processes run jobs at the same time.
        max_waiting: How many jobs may wait for a worker before new ones are refused.
        queue_timeout: How long, in seconds, a job waits for a worker at most.
        memory_limit: Bytes of private memory a worker may hold after a job; past it, the
            worker is replaced by a fresh fork of the zygote (0: no limit). A forked worker
            shares its parent's memory until it writes to it, and reading much of an
            in-memory store writes to it (reference counts): without a limit, every worker
            that once ran a large query keeps its own copy of much of the data.
    """

    def __init__(
        self,
        handler: Handler,
        workers: int = 2,
        max_waiting: int = 16,
        queue_timeout: float = 5.0,
        memory_limit: int = 0,
    ) -> None:
        if workers < 1:
            raise ValueError("a pool needs at least one worker")
        self._handler = handler
        self._size = workers
        self._max_waiting = max_waiting
        self._queue_timeout = queue_timeout
        self._memory_limit = memory_limit
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._available = threading.Condition(self._lock)
        self._control: socket.socket | None = None
        self._control_lock = threading.Lock()
        self._zygote_pid: int | None = None
        self.stats = PoolStats()

    # ------------------------------------------------------------------ life cycle

    def start(self) -> Pool:
        """Fork the zygote and the workers. Call it while this process has one thread."""
        parent_end, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:  # the zygote
            parent_end.close()
            _run_zygote(zygote_end, self._handler)
        zygote_end.close()
        self._control = parent_end
        self._zygote_pid = pid
        for _ in range(self._size):
            self._idle.append(self._spawn())
        return self

    def close(self) -> None:
        """Stop the workers and the zygote."""
        with self._lock:
            workers, self._idle = self._idle, []
        for worker in workers:
            _kill(worker.pid)
            worker.conn.close()
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._zygote_pid is not None:
            _kill(self._zygote_pid)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._zygote_pid, 0)
            self._zygote_pid = None

    def __enter__(self) -> Pool:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def size(self) -> int:
        """The number of worker processes."""
        return self._size

    def worker_pids(self) -> list[int]:
        """The process ids of the idle workers (for tests and diagnostics)."""
        with self._lock:
            return [w.pid for w in self._idle]

    # ------------------------------------------------------------------ running jobs

    def run(self, job: Any, deadline: float) -> Any:
        """Run ``job`` in a worker and return the handler's reply.

        Args:
            job: A picklable job for the handler.
            deadline: Seconds the job may run.

        Raises:
            PoolBusy: when no worker is free and too many jobs wait already.
            DeadlineExceeded: when the job ran too long (its worker was killed).
            WorkerDied: when the worker died during the job.
            JobFailed: when the handler raised.
        """
        worker = self._acquire()
        try:
            reply = self._exchange(worker, job, deadline)
        except BaseException:
            self._replace(worker)
            raise
        if self._memory_limit and private_memory(worker.pid) > self._memory_limit:
            self.stats.recycled += 1
            self._replace(worker)
        else:
            self._release(worker)
        status, value = reply
        if status == "ok":
            return value
        error, details = value
        raise JobFailed(error, details)

    def _acquire(self) -> _Worker:
        with self._available:
            if not self._idle:
                if self.stats.waiting >= self._max_waiting:
                    self.stats.busy_refusals += 1
                    raise PoolBusy(f"all {self._size} query workers are busy")
                self.stats.waiting += 1
                try:
                    ready = self._available.wait_for(lambda: self._idle, self._queue_timeout)
                finally:
                    self.stats.waiting -= 1
                if not ready:
                    self.stats.busy_refusals += 1
                    raise PoolBusy(f"all {self._size} query workers stayed busy")
            self.stats.jobs += 1
            return self._idle.pop()

    def _release(self, worker: _Worker) -> None:
        with self._available:
            self._idle.append(worker)
            self._available.notify()

    def _exchange(self, worker: _Worker, job: Any, deadline: float) -> tuple[str, Any]:
        try:
            worker.conn.send_bytes(pickle.dumps(job, pickle.HIGHEST_PROTOCOL))
            if not worker.conn.poll(max(deadline, 0.0)):
                self.stats.killed += 1
                raise DeadlineExceeded(f"the job ran past its deadline of {deadline:g} s")
            reply = pickle.loads(worker.conn.recv_bytes())
        except (EOFError, OSError, pickle.UnpicklingError) as err:
            self.stats.died += 1
            raise WorkerDied(f"a query worker died ({type(err).__name__})") from None
        worker.jobs += 1
        return reply

    def _replace(self, worker: _Worker) -> None:
        """Kill ``worker`` (its job is abandoned) and put a fresh one in the pool."""
        _kill(worker.pid)
        worker.conn.close()
        self._release(self._spawn())

    def _spawn(self) -> _Worker:
        if self._control is None:
            raise SandboxError("the pool is not running")
        with self._control_lock:
            self._control.sendall(_SPAWN)
            message, fds, _, _ = socket.recv_fds(self._control, 64, 1)
        if not fds:
            raise SandboxError("the zygote did not hand over a worker")
        self.stats.spawned += 1
        return _Worker(int(message.decode("ascii")), Connection(fds[0]))


#: A job that ran this long (seconds) may have left much freed memory in the C heap.
TRIM_AFTER = 0.1


def release_free_memory() -> None:
    """Give the C heap's free pages back to the system (glibc's ``malloc_trim``).

    Loading and counting leave hundreds of MB freed but kept by the allocator at 1M
    triples; a process forked afterwards would carry them too. Elsewhere than glibc, does
    nothing.
    """
    with contextlib.suppress(OSError, AttributeError):
        _libc().malloc_trim(0)


@cache
def _libc() -> ctypes.CDLL:
    """The C library this process runs on."""
    return ctypes.CDLL(None, use_errno=True)


def private_memory(pid: int) -> int:
    """Bytes of memory that process ``pid`` holds alone (copied on write, or its own), from
    /proc/PID/smaps_rollup; 0 when it cannot be read."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            text = rollup.read()
    except OSError:
        return 0
    total = 0
    for line in text.splitlines():
        if line.startswith(("Private_Clean:", "Private_Dirty:")):
            total += int(line.split()[1]) * 1024
    return total


# ---------------------------------------------------------------------- child processes


def _run_zygote(control: socket.socket, handler: Handler) -> None:
    """The zygote's loop: fork a worker for every spawn request; never returns."""
    code = 0
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # workers are reaped by the kernel
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        while True:
            command = control.recv(1)
            if command != _SPAWN:
                break
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            pid = os.fork()
            if pid == 0:
                control.close()
                theirs.close()
                _run_worker(ours, handler)
            socket.send_fds(control, [str(pid).encode("ascii")], [theirs.fileno()])
            ours.close()
            theirs.close()
    except BaseException:  # noqa: BLE001 - the zygote must never return into the caller
        code = 1
    finally:
        os._exit(code)


def _run_worker(sock: socket.socket, handler: Handler) -> None:
    """A worker's loop: run jobs until the socket closes; never returns."""
    code = 0
    try:
        _die_with_parent()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        conn = Connection(sock.detach())
        while True:
            try:
                job = pickle.loads(conn.recv_bytes())
            except EOFError:
                break
            started = time.monotonic()
            conn.send_bytes(_reply(handler, job))
            if time.monotonic() - started >= TRIM_AFTER:
                release_free_memory()
    except BaseException:  # noqa: BLE001 - a worker must never return into the caller
        code = 1
    finally:
        os._exit(code)


def _reply(handler: Handler, job: Any) -> bytes:
    try:
        reply: tuple[str, Any] = ("ok", handler(job))
        return pickle.dumps(reply, pickle.HIGHEST_PROTOCOL)
    except Exception as err:  # noqa: BLE001 - every failure goes back to the caller
        details = traceback.format_exc()
        try:
            return pickle.dumps(("error", (err, details)), pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - the exception itself could not be pickled
            plain = RuntimeError(f"{type(err).__name__}: {err}")
            return pickle.dumps(("error", (plain, details)), pickle.HIGHEST_PROTOCOL)


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent (the zygote) dies."""
    with contextlib.suppress(OSError, AttributeError):
        _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() == 1:  # the zygote died before prctl took effect
            os._exit(0)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    """Return True once process ``pid`` no longer exists (or is a zombie), within ``timeout``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.01)
    return False
