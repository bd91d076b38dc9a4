"""The life of the pool's workers (:class:`WorkerLifecycle`, a part of
:class:`coopgraph.store.sandbox.Pool`): forking them from the current generation's zygote,
replacing a worker that failed or kept too much memory, and switching to the next
generation when an update's worker becomes its zygote."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

from coopgraph.store import jail
from coopgraph.store.errors import SandboxError
from coopgraph.store.processes import REAP, SPAWN, kill, kill_later


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


class WorkerLifecycle:
    """The workers' life cycle, as a part of :class:`~coopgraph.store.sandbox.Pool`: it
    works on the pool's state (``_zygote``, ``_idle``, ``_size``, ``_lock``, ``_available``,
    ``_confinement``, ``stats``), under the pool's lock where it changes it."""

    _zygote: _Zygote | None
    _idle: list[_Worker]
    _size: int
    _lock: threading.Lock
    _available: threading.Condition
    _confinement: jail.Confinement | None
    stats: PoolStats

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
        kill(worker.pid)
        worker.conn.close()
        zygote = worker.zygote
        with contextlib.suppress(OSError):
            with zygote.lock:
                zygote.control.sendall(REAP + worker.pid.to_bytes(4, "little"))
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
                zygote.control.sendall(SPAWN)
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
                kill(worker.pid)
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
        kill_later(zygote.pid)


# ---------------------------------------------------------------------- in a worker
