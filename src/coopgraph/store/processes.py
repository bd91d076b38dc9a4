"""The query workers' side of the pool (:mod:`coopgraph.store.sandbox`): the zygote's loop,
which forks workers on request and reaps them when asked; the workers' loop, which
confines the worker, then runs one job at a time; what a running job may ask of the pool
(:func:`call`, :func:`received_fds`); and the process helpers both sides use (memory
read from /proc, the C heap given back, kills)."""

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
from functools import cache
from multiprocessing.connection import Connection
from typing import Any

from coopgraph.store import jail

Handler = Callable[[Any], Any]


#: A service the pool offers to jobs: called in the pool's process with the job's payload
#: and the seconds left before the job's deadline.
Service = Callable[[Any, float], Any]


SPAWN = b"S"


REAP = b"R"


_PR_SET_PDEATHSIG = 1


def as_socket(conn: Connection) -> socket.socket:
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
        raise RuntimeError(f"the service {name!r} is only reachable from a job")  # a bug
    _job_conn.send_bytes(pickle.dumps(("call", name, payload), pickle.HIGHEST_PROTOCOL))
    kind, value = pickle.loads(_job_conn.recv_bytes())
    if kind == "raise":
        raise value
    return value


def received_fds() -> list[int]:
    """The file descriptors handed over with the current job (the job owns them)."""
    return list(_job_fds)


def run_zygote(
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
        if command == REAP:
            pid = int.from_bytes(_recv_exactly(control, 4), "little")
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            continue
        if command != SPAWN:
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
                with as_socket(conn) as raw:
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


def kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def kill_later(pid: int) -> None:
    """A zygote whose control socket closed exits by itself; make sure it does."""

    def finish() -> None:
        if not wait_gone(pid, 2.0):
            kill(pid)
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
