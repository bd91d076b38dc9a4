"""Run untrusted work (SPARQL queries and updates) in confined worker processes that are
killed at a deadline and cannot take more memory than they are allowed.

Neither rdflib nor pyoxigraph can stop a query once it runs: a Python thread cannot be
killed, and pyoxigraph holds its thread in native code. The one mechanism that always
works is a separate process, killed when its deadline passes (see the measurements in
``shared/reference/measurements.md``). This module keeps a pool of such processes:

- At start, while the calling process is still single-threaded, it forks a *zygote*: a
  small process that holds a copy-on-write image of everything loaded so far (the store)
  and does nothing but fork workers on request. Forking from the zygote, never from the
  multi-threaded web process, keeps the workers free of locks held by other threads.
- Each worker confines itself (:mod:`coopgraph.store.jail`: no network, no files, a memory
  limit) before it reads its first job, then serves one job at a time over a socket pair:
  it receives a pickled job, runs the handler given at start, and sends back a pickled
  reply. While it runs, a job may ask the pool for a *service* the worker itself cannot
  reach (:func:`call`; the remote engine's HTTP requests go this way, to the one store
  the server is configured with).
- :meth:`Pool.run` hands a job to an idle worker and waits for the reply until the
  deadline. When the deadline passes, the worker is killed (SIGKILL: its CPU is freed at
  once), a fresh one is forked from the zygote, and :class:`DeadlineExceeded` is raised.
  A worker that ran out of memory ends its job with :class:`MemoryExceeded` and is
  replaced.
- When every worker is busy, a job waits for one at most ``queue_timeout`` seconds, and at
  most ``max_waiting`` jobs wait; beyond that :class:`PoolBusy` is raised at once.
- :meth:`Pool.adopt` runs a job (an update) in a fresh worker and, when it succeeds, makes
  that worker the zygote of the next *generation*: the workers forked from then on hold the
  data as the job left it. Jobs already running finish on the old generation; a job that
  fails or runs past its deadline leaves the pool as it was. Nothing is forked from the web
  process after the start.

Workers die with their zygote (Linux ``PR_SET_PDEATHSIG``); a zygote exits when its control
socket closes. A zygote reaps its workers only when asked, so that the pool can read how a
worker that died ended (``/proc/PID/stat`` of the zombie) before it is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
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
from coopgraph.store import jail

Handler = Callable[[Any], Any]
#: A service the pool offers to jobs: called in the pool's process with the job's payload
#: and the seconds left before the job's deadline.
Service = Callable[[Any, float], Any]

_SPAWN = b"S"
_REAP = b"R"
_PR_SET_PDEATHSIG = 1


class SandboxError(CoopgraphError):
    """Base class of the errors of the worker pool."""


class DeadlineExceeded(SandboxError):
    """The job ran past its deadline; its worker was killed."""


class MemoryExceeded(SandboxError):
    """The job needed more memory than a worker may take; its worker was replaced."""


class PoolBusy(SandboxError):
    """Every worker is busy and too many jobs are already waiting."""


class WorkerDied(SandboxError):
    """The worker died while running the job (it was replaced)."""


class ReplyTooLarge(SandboxError):
    """The worker's reply was larger than the pool accepts."""


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
class _Zygote:
    pid: int
    control: socket.socket
    generation: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    busy: int = 0
    retired: bool = False


@dataclass
class _Worker:
    pid: int
    conn: Connection
    zygote: _Zygote
    jobs: int = 0


@dataclass
class PoolStats:
    """Counters, for /health and the benchmarks."""

    jobs: int = 0
    killed: int = 0
    died: int = 0
    memory_exceeded: int = 0
    busy_refusals: int = 0
    spawned: int = 0
    recycled: int = 0
    waiting: int = 0
    generation: int = 0


class Pool:
    """A pool of confined worker processes forked from a zygote.

    Args:
        handler: Called in a worker with each job; its return value is the reply. It
            must be defined before the pool starts (it runs in a fork of this process).
        workers: How many worker processes run jobs at the same time.
        max_waiting: How many jobs may wait for a worker before new ones are refused.
        queue_timeout: How long, in seconds, a job waits for a worker at most.
        recycle_memory: Bytes of private memory a worker may hold after a job; past it, the
            worker is replaced by a fresh fork of the zygote (0: no limit). A forked worker
            shares its parent's memory until it writes to it, and reading much of an
            in-memory store writes to it (reference counts): without a limit, every worker
            that once ran a large query keeps its own copy of much of the data.
        confinement: How workers confine themselves (None: they do not; for tests of the
            pool itself and for machines where confinement is switched off).
        prepare: Called once in each zygote before it forks workers, to load what the
            handler will need (a confined worker cannot import modules from disk).
        setup: Called in each worker before it is confined (to open an on-disk store,
            which reads files a confined worker may not read).
        services: Services jobs may :func:`call`, by name.
        max_reply: The largest reply accepted from a worker, in bytes (0: any).
    """

    def __init__(
        self,
        handler: Handler,
        workers: int = 2,
        max_waiting: int = 16,
        queue_timeout: float = 5.0,
        recycle_memory: int = 0,
        confinement: jail.Confinement | None = None,
        prepare: Callable[[], None] | None = None,
        setup: Callable[[], None] | None = None,
        services: dict[str, Service] | None = None,
        max_reply: int = 0,
    ) -> None:
        if workers < 1:
            raise ValueError("a pool needs at least one worker")
        self._handler = handler
        self._size = workers
        self._max_waiting = max_waiting
        self._queue_timeout = queue_timeout
        self._recycle_memory = recycle_memory
        self._confinement = confinement
        self._prepare = prepare
        self._setup = setup
        self._services = dict(services or {})
        self._max_reply = max_reply
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._available = threading.Condition(self._lock)
        self._adopting = threading.Lock()
        self._zygote: _Zygote | None = None
        self.stats = PoolStats()

    # ------------------------------------------------------------------ life cycle

    def start(self) -> Pool:
        """Fork the zygote and the workers. Call it while this process has one thread."""
        parent_end, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:  # the zygote
            parent_end.close()
            _run_zygote(zygote_end, self._handler, self._confinement, self._prepare, self._setup)
        zygote_end.close()
        self._zygote = _Zygote(pid, parent_end, 0)
        for _ in range(self._size):
            self._idle.append(self._spawn(self._zygote))
        return self

    def close(self) -> None:
        """Stop the workers and the zygote."""
        with self._lock:
            workers, self._idle = self._idle, []
            zygote, self._zygote = self._zygote, None
        for worker in workers:
            _kill(worker.pid)
            worker.conn.close()
        if zygote is not None:
            self._close_zygote(zygote)

    def __enter__(self) -> Pool:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def size(self) -> int:
        """The number of worker processes."""
        return self._size

    @property
    def generation(self) -> int:
        """How many times a job was adopted (the data's generation in the workers)."""
        return self.stats.generation

    def worker_pids(self) -> list[int]:
        """The process ids of the idle workers (for tests and diagnostics)."""
        with self._lock:
            return [w.pid for w in self._idle]

    def zygote_pid(self) -> int | None:
        """The process id of the current zygote."""
        zygote = self._zygote
        return zygote.pid if zygote is not None else None

    # ------------------------------------------------------------------ running jobs

    def run(self, job: Any, deadline: float, fds: tuple[int, ...] = ()) -> Any:
        """Run ``job`` in a worker and return the handler's reply.

        Args:
            job: A picklable job for the handler.
            deadline: Seconds the job may run.
            fds: File descriptors to hand to the worker with the job (the handler finds
                them with :func:`received_fds`).

        Raises:
            PoolBusy: when no worker is free and too many jobs wait already.
            DeadlineExceeded: when the job ran too long (its worker was killed).
            MemoryExceeded: when the job needed more memory than a worker may take.
            WorkerDied: when the worker died during the job.
            ReplyTooLarge: when the reply was larger than ``max_reply``.
            JobFailed: when the handler raised.
        """
        worker = self._acquire()
        try:
            reply = self._exchange(worker, ("job", job), deadline, fds)
        except BaseException:
            self._replace(worker)
            raise
        if reply[0] == "memory":  # its heap may be left in pieces: a fresh one is better
            self._replace(worker)
        elif self._recycle_memory and private_memory(worker.pid) > self._recycle_memory:
            self.stats.recycled += 1
            self._replace(worker)
        else:
            self._release(worker)
        return self._value(reply)

    def adopt(self, job: Any, deadline: float) -> Any:
        """Run ``job`` in a fresh worker; when it succeeds, that worker becomes the zygote
        of the next generation, and the handler's reply is returned.

        Jobs running meanwhile are answered by the current generation; idle workers of the
        old generation are replaced at once, busy ones when their job ends. When the job
        fails, runs past the deadline or runs out of memory, its worker is killed and the
        pool is unchanged. One job is adopted at a time.

        Raises:
            As :meth:`run` (PoolBusy excepted: the fresh worker is extra).
        """
        with self._adopting:
            zygote = self._current()
            worker = self._spawn(zygote)
            with self._lock:
                zygote.busy += 1
            try:
                reply = self._exchange(worker, ("adopt", job), deadline, ())
                value = self._value(reply)
            except BaseException:
                self._discard(worker)
                raise
            self._switch(worker)
            return value

    def _value(self, reply: tuple[str, Any]) -> Any:
        status, value = reply
        if status == "ok":
            return value
        if status == "memory":
            self.stats.memory_exceeded += 1
            raise MemoryExceeded(value)
        error, details = value
        raise JobFailed(error, details)

    def _current(self) -> _Zygote:
        zygote = self._zygote
        if zygote is None:
            raise SandboxError("the pool is not running")
        return zygote

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
            worker = self._idle.pop()
            worker.zygote.busy += 1
            return worker

    def _release(self, worker: _Worker) -> None:
        with self._available:
            worker.zygote.busy -= 1
            if worker.zygote is self._zygote:
                self._idle.append(worker)
                self._available.notify()
                return
        self._retire(worker)  # of an older generation: a fresh one takes its place
        self._add_fresh()

    def _exchange(
        self, worker: _Worker, envelope: tuple[str, Any], deadline: float, fds: tuple[int, ...]
    ) -> tuple[str, Any]:
        ends = time.monotonic() + max(deadline, 0.0)
        conn = worker.conn
        try:
            conn.send_bytes(pickle.dumps((*envelope, len(fds)), pickle.HIGHEST_PROTOCOL))
            if fds:
                with _as_socket(conn) as sock:
                    socket.send_fds(sock, [b"F"], list(fds))
            while True:
                if not conn.poll(max(ends - time.monotonic(), 0.0)):
                    self.stats.killed += 1
                    raise DeadlineExceeded(f"the job ran past its deadline of {deadline:g} s")
                message = pickle.loads(conn.recv_bytes(self._max_reply or None))
                if message[0] != "call":
                    break
                answer = self._serve(message[1], message[2], ends)
                if time.monotonic() >= ends:  # the service used up the job's time
                    self.stats.killed += 1
                    raise DeadlineExceeded(f"the job ran past its deadline of {deadline:g} s")
                conn.send_bytes(answer)
        except OSError as err:
            if "bad message length" in str(err):
                raise ReplyTooLarge(f"the answer was larger than {self._max_reply} bytes") from None
            raise self._died(worker, err) from None
        except (EOFError, pickle.UnpicklingError) as err:
            raise self._died(worker, err) from None
        worker.jobs += 1
        return message

    def _serve(self, name: str, payload: Any, ends: float) -> bytes:
        """Answer a job's :func:`call` (in this process)."""
        try:
            service = self._services[name]
            answer: tuple[str, Any] = ("return", service(payload, ends - time.monotonic()))
        except Exception as err:  # noqa: BLE001 - the job gets the error, as its own
            answer = ("raise", err)
        try:
            return pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - an error that cannot be pickled
            plain = RuntimeError(f"{type(answer[1]).__name__}: {answer[1]}")
            return pickle.dumps(("raise", plain), pickle.HIGHEST_PROTOCOL)

    def _died(self, worker: _Worker, err: BaseException) -> SandboxError:
        """The error for a worker that ended during its job, by how it ended."""
        status = exit_status(worker.pid)
        if status is not None and os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            # Rust aborts when an allocation fails; the kernel's OOM killer sends SIGKILL.
            if sig in (signal.SIGABRT, signal.SIGKILL):
                self.stats.memory_exceeded += 1
                return MemoryExceeded("the worker ran out of memory")
        self.stats.died += 1
        how = f"signal {os.WTERMSIG(status)}" if status and os.WIFSIGNALED(status) else "exit"
        return WorkerDied(f"a query worker died ({type(err).__name__}, {how})")

    # ------------------------------------------------------------------ workers

    def _replace(self, worker: _Worker) -> None:
        """Kill ``worker`` (its job is abandoned) and put a fresh one in the pool."""
        with self._lock:
            worker.zygote.busy -= 1
        self._retire(worker)
        self._add_fresh()

    def _discard(self, worker: _Worker) -> None:
        """Kill the fresh worker of a failed :meth:`adopt`."""
        with self._lock:
            worker.zygote.busy -= 1
        self._retire(worker)

    def _retire(self, worker: _Worker) -> None:
        _kill(worker.pid)
        worker.conn.close()
        zygote = worker.zygote
        with contextlib.suppress(OSError):
            with zygote.lock:
                zygote.control.sendall(_REAP + worker.pid.to_bytes(4, "little"))
        if zygote.retired and zygote.busy == 0:
            self._close_zygote(zygote)

    def _add_fresh(self) -> None:
        """Fork a worker of the current generation into the idle list (when running)."""
        zygote = self._zygote
        if zygote is None:
            return
        try:
            fresh = self._spawn(zygote)
        except SandboxError:
            if self._zygote is zygote:
                raise
            return  # the generation changed meanwhile; the new one is full
        with self._available:
            if self._zygote is zygote and len(self._idle) < self._size:
                self._idle.append(fresh)
                self._available.notify()
                return
        self._retire(fresh)

    def _spawn(self, zygote: _Zygote) -> _Worker:
        try:
            with zygote.lock:
                zygote.control.sendall(_SPAWN)
                message, fds, _, _ = socket.recv_fds(zygote.control, 64, 1)
        except OSError as err:
            raise SandboxError(f"the zygote could not fork a worker: {err}") from None
        if not fds:
            raise SandboxError("the zygote did not hand over a worker")
        self.stats.spawned += 1
        worker = _Worker(int(message.decode("ascii")), Connection(fds[0]), zygote)
        if self._confinement is not None and self._confinement.memory_bytes:
            try:
                jail.limit_memory(worker.pid, self._confinement.memory_bytes)
            except jail.JailError:
                _kill(worker.pid)
                worker.conn.close()
                raise
        return worker

    def _switch(self, worker: _Worker) -> None:
        """Make ``worker`` (which has just become a zygote) the current generation."""
        control = socket.socket(fileno=os.dup(worker.conn.fileno()))
        worker.conn.close()
        with self._lock:
            old = worker.zygote
            old.busy -= 1
            self.stats.generation += 1
            self._zygote = _Zygote(worker.pid, control, self.stats.generation)
            stale, self._idle = self._idle, []
            old.retired = True
            old.busy += len(stale)  # released one by one below
        for _ in stale:
            self._add_fresh()
        for previous in stale:
            with self._lock:
                previous.zygote.busy -= 1
            self._retire(previous)
        if old.busy == 0:
            self._close_zygote(old)

    def _close_zygote(self, zygote: _Zygote) -> None:
        with zygote.lock:
            if zygote.control.fileno() < 0:
                return
            zygote.control.close()
        _kill_later(zygote.pid)


def _as_socket(conn: Connection) -> socket.socket:
    return socket.socket(fileno=os.dup(conn.fileno()))


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


#: glibc's ``mallopt`` parameter for the number of heaps (arenas) threads allocate from.
_M_ARENA_MAX = -8


def limit_heaps(count: int = 2) -> None:
    """Let this process's threads share ``count`` C heaps (glibc's arenas).

    glibc gives a thread that finds the heaps busy a new one, up to eight per core, and a
    heap keeps what its peak needed. A threaded server whose requests come and go in many
    threads then ends with a dozen heaps, each holding its largest request's memory: tens
    of MB that no later request gives back. Python allocates its small objects under the
    interpreter lock, so few heaps cost the threads little. Call it before the threads
    start; the environment variable carries it to processes started afresh. Elsewhere than
    glibc, does nothing.
    """
    os.environ.setdefault("MALLOC_ARENA_MAX", str(count))
    with contextlib.suppress(OSError, AttributeError):
        _libc().mallopt(_M_ARENA_MAX, count)


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


def exit_status(pid: int, wait: float = 1.0) -> int | None:
    """How process ``pid`` ended (a wait status), read from its zombie's /proc/PID/stat
    (the zygote reaps its workers only when told); None when it cannot be read."""
    end = time.monotonic() + wait
    while True:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        if fields[0] in ("Z", "X") and len(fields) >= 50:
            return int(fields[49])  # field 52 of stat, "exit_code"
        if time.monotonic() > end:
            return None
        time.sleep(0.005)


# ---------------------------------------------------------------------- in a worker

#: The worker's connection to the pool while it runs a job (None elsewhere).
_job_conn: Connection | None = None
_job_fds: list[int] = []


def in_worker() -> bool:
    """Whether this code runs in a pool's worker, inside a job."""
    return _job_conn is not None


def call(name: str, payload: Any) -> Any:
    """From inside a job: ask the pool's process for its service ``name``; return its answer
    or raise its error."""
    if _job_conn is None:
        raise SandboxError(f"the service {name!r} is only reachable from a job")
    _job_conn.send_bytes(pickle.dumps(("call", name, payload), pickle.HIGHEST_PROTOCOL))
    kind, value = pickle.loads(_job_conn.recv_bytes())
    if kind == "raise":
        raise value
    return value


def received_fds() -> list[int]:
    """The file descriptors handed over with the current job (the job owns them)."""
    return list(_job_fds)


def _run_zygote(
    control: socket.socket,
    handler: Handler,
    confinement: jail.Confinement | None,
    prepare: Callable[[], None] | None,
    setup: Callable[[], None] | None,
) -> None:
    """The zygote's loop: fork a worker for every spawn request; never returns."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # workers stay zombies until reaped
        if prepare is not None:
            prepare()
        _serve_zygote(control, handler, confinement, setup)
    except BaseException:  # noqa: BLE001 - the zygote must never return into the caller
        code = 1
        with contextlib.suppress(BaseException):
            traceback.print_exc()  # the server's log: its query workers cannot start
    finally:
        os._exit(code)


def _serve_zygote(
    control: socket.socket,
    handler: Handler,
    confinement: jail.Confinement | None,
    setup: Callable[[], None] | None,
) -> None:
    """Answer spawn and reap requests until the control socket closes."""
    while True:
        command = control.recv(1)
        if command == _REAP:
            pid = int.from_bytes(_recv_exactly(control, 4), "little")
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            continue
        if command != _SPAWN:
            break
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:
            control.close()
            theirs.close()
            _run_worker(ours, handler, confinement, setup)
        socket.send_fds(control, [str(pid).encode("ascii")], [theirs.fileno()])
        ours.close()
        theirs.close()
    _reap_dead()


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _reap_dead(within: float = 0.2) -> None:
    """Reap the children that have ended (a retired zygote's killed workers)."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.01)


def _run_worker(
    sock: socket.socket,
    handler: Handler,
    confinement: jail.Confinement | None,
    setup: Callable[[], None] | None,
) -> None:
    """A worker's loop: run jobs until the socket closes; never returns."""
    global _job_conn
    code = 0
    try:
        _die_with_parent(True)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        faulthandler.disable()  # a job that runs out of memory aborts: no stack dump for it
        if setup is not None:
            setup()
        if confinement is not None:
            try:
                jail.confine(confinement)
            except jail.JailError:
                traceback.print_exc()  # the server's log: this worker cannot be confined
                raise
        conn = Connection(sock.detach())
        while True:
            try:
                kind, job, nfds = pickle.loads(conn.recv_bytes())
            except EOFError:
                break
            if nfds:
                with _as_socket(conn) as raw:
                    _, fds, _, _ = socket.recv_fds(raw, 1, nfds)
                _job_fds[:] = fds
            started = time.monotonic()
            _job_conn = conn
            try:
                reply, ok = _reply(handler, job)
            finally:
                _job_conn = None
                for fd in _job_fds:
                    with contextlib.suppress(OSError):
                        os.close(fd)
                _job_fds.clear()
            conn.send_bytes(reply)
            if kind == "adopt" and ok:
                _become_zygote(conn, handler, confinement, setup)
            if time.monotonic() - started >= TRIM_AFTER:
                release_free_memory()
    except BaseException:  # noqa: BLE001 - a worker must never return into the caller
        code = 1
    finally:
        os._exit(code)


def _become_zygote(
    conn: Connection,
    handler: Handler,
    confinement: jail.Confinement | None,
    setup: Callable[[], None] | None,
) -> None:
    """Serve as the next generation's zygote, on the connection the job came by."""
    _die_with_parent(False)  # it outlives the zygote it was forked from
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    control = socket.socket(fileno=conn.fileno())
    _serve_zygote(control, handler, confinement, setup)
    os._exit(0)


def _reply(handler: Handler, job: Any) -> tuple[bytes, bool]:
    try:
        reply: tuple[str, Any] = ("ok", handler(job))
        return pickle.dumps(reply, pickle.HIGHEST_PROTOCOL), True
    except MemoryError:
        return pickle.dumps(("memory", "the job ran out of memory")), False
    except Exception as err:  # noqa: BLE001 - every failure goes back to the caller
        details = traceback.format_exc()
        try:
            return pickle.dumps(("error", (err, details)), pickle.HIGHEST_PROTOCOL), False
        except Exception:  # noqa: BLE001 - the exception itself could not be pickled
            plain = RuntimeError(f"{type(err).__name__}: {err}")
            return pickle.dumps(("error", (plain, details)), pickle.HIGHEST_PROTOCOL), False


def _die_with_parent(on: bool) -> None:
    """Ask Linux to SIGKILL this process when its parent (the zygote) dies, or not."""
    with contextlib.suppress(OSError, AttributeError):
        _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL if on else 0)
        if on and os.getppid() == 1:  # the zygote died before prctl took effect
            os._exit(0)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def _kill_later(pid: int) -> None:
    """A zygote whose control socket closed exits by itself; make sure it does."""

    def finish() -> None:
        if not wait_gone(pid, 2.0):
            _kill(pid)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)

    threading.Thread(target=finish, daemon=True).start()


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    """Return True once process ``pid`` no longer exists (or is a zombie), within ``timeout``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):  # gone as it was read
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.01)
    return False
