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
  reach (:func:`~coopgraph.store.processes.call`; the remote engine's HTTP requests go
  this way, to the one store the server is configured with).
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

What runs in the zygote and the workers is :mod:`coopgraph.store.processes`; the workers'
life cycle (forking, replacing, switching generations) :mod:`coopgraph.store.lifecycle`;
the errors :mod:`coopgraph.store.errors`.
"""

from __future__ import annotations

import os
import pickle
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from coopgraph.store import jail
from coopgraph.store.errors import (
    DeadlineExceeded,
    JobFailed,
    MemoryExceeded,
    PoolBusy,
    ReplyTooLarge,
    SandboxError,
    WorkerDied,
)
from coopgraph.store.lifecycle import PoolStats, WorkerLifecycle, _Worker, _Zygote
from coopgraph.store.processes import (
    Handler,
    Service,
    as_socket,
    exit_status,
    kill,
    private_memory,
    run_zygote,
)


class Pool(WorkerLifecycle):
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
            run_zygote(zygote_end, self._handler, self._confinement, self._prepare, self._setup)
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
            kill(worker.pid)
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
                with as_socket(conn) as sock:
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
