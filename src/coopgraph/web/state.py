"""What the web app holds: the engine, the query workers, the caches, the settings.

The app is handed a ready :class:`~coopgraph.store.engine.Engine`; it never parses data files, and
once its query workers run it never reads the engine itself: every read a request causes is
a job for the pool (:meth:`ServerState.read`, :meth:`ServerState.query`), which runs it in a
confined worker under the deadline and the memory limit (:mod:`coopgraph.web.worker`).

An update (the one way the data changes while serving) runs in a worker of its own; when it
succeeds, that worker's copy of the data becomes what every later job reads
(:meth:`coopgraph.store.sandbox.Pool.adopt`), and the caches are emptied. Queries that arrive
meanwhile are answered from the data as it was.
"""

from __future__ import annotations

import atexit
import gzip
import hashlib
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from coopgraph.store import jail
from coopgraph.store.engine import Engine, QueryReply
from coopgraph.store.errors import (
    DeadlineExceeded,
    JobFailed,
    MemoryExceeded,
    PoolBusy,
    ReplyTooLarge,
    SandboxError,
    WorkerDied,
)
from coopgraph.store.sandbox import Pool
from coopgraph.web.cache import ByteCache, digest
from coopgraph.web.errors import ApiError
from coopgraph.web.worker import READERS, DumpJob, Failure, ReadJob, handler, prepare

MB = 2**20


#: Where an app keeps its :class:`ServerState` (``app.extensions[EXTENSION]``).
EXTENSION = "coopgraph"


def get_state(app: Flask | None = None) -> ServerState:
    """The shared state of ``app``, or of the app handling the current request."""
    return (app or current_app).extensions[EXTENSION]


@dataclass
class ServerState:
    """Everything the request handlers share.

    Attributes:
        engine: The dataset (read by the query workers, not by the web process).
        settings: The resolved settings (see :mod:`coopgraph.settings`).
        sources_dir: Where the source texts are (for the source documents' pages).
        examples: Example queries for the query editor: (title, query text).
        yasgui_dir: Where yasgui.min.js and yasgui.min.css are, if installed.
        modified: When the data was built or last updated (seconds since the epoch).
    """

    engine: Engine
    settings: dict[str, Any]
    sources_dir: Path | None = None
    examples: list[tuple[str, str]] = field(default_factory=list)
    yasgui_dir: Path | None = None
    modified: float = field(default_factory=time.time)
    pool: Pool | None = None
    generation: int = 0
    cache: ByteCache = field(init=False)
    memo: dict[str, Any] = field(default_factory=dict)
    memo_lock: threading.Lock = field(default_factory=threading.Lock)
    update_lock: threading.Lock = field(default_factory=threading.Lock)
    spool: Path | None = None
    _dump_lock: threading.Lock = field(default_factory=threading.Lock)
    replay: Any = None  # the app's Replay middleware (coopgraph.web.replay), if any

    def __post_init__(self) -> None:
        self.cache = ByteCache(
            int(float(self.settings["cache_mb"]) * MB),
            int(float(self.settings["cache_entry_kb"]) * 1024),
        )

    # ------------------------------------------------------------------ pool

    def confinement(self) -> jail.Confinement | None:
        """How the query workers are confined (None: switched off by the settings)."""
        if not self.settings["confine_workers"]:
            return None
        return jail.Confinement(
            memory_bytes=int(float(self.settings["query_memory_mb"]) * MB),
            read_paths=self.engine.read_paths(),
        )

    def start_pool(self) -> None:
        """Fork the query workers (call it while the process has one thread)."""
        if self.pool is not None:
            return
        confinement = self.confinement()
        if confinement is not None:
            jail.require(confinement)
        self.pool = Pool(
            handler(self.engine),
            workers=max(1, int(self.settings["query_workers"])),
            max_waiting=int(self.settings["max_waiting"]),
            queue_timeout=float(self.settings["queue_timeout"]),
            recycle_memory=int(float(self.settings["worker_memory_mb"]) * MB),
            confinement=confinement,
            prepare=prepare(self.engine),
            setup=self.engine.open_in_worker,
            services=self.engine.services(),
            max_reply=self.max_answer_bytes() + 4 * MB,
        ).start()

    def stop_pool(self) -> None:
        """Stop the query workers."""
        if self.pool is not None:
            self.pool.close()
            self.pool = None

    def max_answer_bytes(self) -> int:
        """The largest answer a query may have (the byte cap)."""
        return int(float(self.settings["max_answer_mb"]) * MB)

    # ------------------------------------------------------------------ running jobs

    def run(self, job: Any, deadline: float | None = None) -> Any:
        """Run ``job`` in a query worker (in this process when no pool runs: a release
        build, a test); a refusal by the engine comes back as a :class:`Failure`.

        Raises:
            ApiError: 503 past the deadline, out of memory, or when the workers are busy.
        """
        if self.pool is None:
            return handler(self.engine)(job)
        timeout = float(self.settings["query_timeout"]) if deadline is None else deadline
        try:
            return self.pool.run(job, timeout)
        except SandboxError as err:
            raise self.unavailable(err, timeout) from None

    def read(self, name: str, *args: Any) -> Any:
        """The server's own read ``name`` (see :func:`coopgraph.web.worker.reader`).

        Raises:
            ApiError: as :meth:`run`; 400 when the engine refused the read.
        """
        if name not in READERS:
            raise KeyError(f"no reader called {name!r}")
        value = self.run(ReadJob(name, args))
        if isinstance(value, Failure):
            raise ApiError(400, value.message)
        return value

    def dump_file(self, name: str, media_type: str) -> Path:
        """The file holding the dump ``name`` of the current data (written by a query
        worker the first time it is asked for, kept on disk, not in memory), and its
        gzipped copy beside it (``name.gz``).

        Raises:
            ApiError: as :meth:`run`, with the ``dump_timeout`` deadline.
        """
        folder = self._spool()
        path = folder / f"{self.version}-{name}"
        with self._dump_lock:
            if path.is_file():
                return path
            partial = path.with_name(path.name + ".partial")
            with partial.open("wb") as output:
                job = DumpJob(media_type, output.fileno())
                timeout = float(self.settings["dump_timeout"])
                if self.pool is None:
                    handler(self.engine)(job)
                else:
                    try:
                        self.pool.run(job, timeout, fds=(output.fileno(),))
                    except SandboxError as err:
                        raise self.unavailable(err, timeout, "dump") from None
            packed = partial.with_name(path.name + ".gz.partial")
            with partial.open("rb") as raw, gzip.GzipFile(packed, "wb", 6, mtime=0) as out:
                shutil.copyfileobj(raw, out, 1 << 20)
            packed.replace(path.with_name(path.name + ".gz"))
            partial.replace(path)
            return path

    def _spool(self) -> Path:
        """This process's folder for dumps (removed when it exits)."""
        if self.spool is None or not self.spool.is_dir():
            self.spool = Path(tempfile.mkdtemp(prefix="coopgraph-dumps-"))
            atexit.register(shutil.rmtree, self.spool, True)
        return self.spool

    def update(self, job: Any) -> Any:
        """Run an update in a worker of its own and, when it succeeds, serve its data.

        Raises:
            ApiError: as :meth:`run` (the data is then unchanged).
        """
        timeout = float(self.settings["update_timeout"])
        with self.update_lock:
            if self.pool is None:
                raise ApiError(503, "the query workers are not running", retry_after=5)
            try:
                if self.engine.in_workers:
                    value = self.pool.adopt(job, timeout)
                else:  # the data is elsewhere (a remote store): nothing to adopt
                    value = self.pool.run(job, timeout)
            except SandboxError as err:
                raise self.unavailable(err, timeout, "update") from None
            if not isinstance(value, Failure):
                self.data_changed()
            return value

    def unavailable(self, err: SandboxError, timeout: float, what: str = "query") -> ApiError:
        """The answer for a job the pool could not finish."""
        if isinstance(err, DeadlineExceeded):
            return ApiError(
                503,
                f"the {what} was stopped after {timeout:g} s, the time limit of this endpoint; "
                "simplify it, add a LIMIT, or run it on your own copy of the data (see /dumps)",
            )
        if isinstance(err, MemoryExceeded):
            limit = float(self.settings["query_memory_mb"])
            return ApiError(
                503,
                f"the {what} needed more than {limit:g} MB of memory, the limit of this "
                "endpoint; simplify it, or run it on your own copy of the data (see /dumps)",
            )
        if isinstance(err, ReplyTooLarge):
            return ApiError(503, f"the {what}'s answer was too large to send ({err})")
        if isinstance(err, PoolBusy):
            return ApiError(503, "the endpoint is busy; try again shortly", retry_after=2)
        if isinstance(err, WorkerDied):
            return ApiError(503, f"the {what} stopped its worker; try again", retry_after=1)
        if isinstance(err, JobFailed):
            return ApiError(400, f"the {what} could not be evaluated: {err}")
        return ApiError(503, "the query workers are restarting; try again", retry_after=1)

    # ------------------------------------------------------------------ data version

    @property
    def version(self) -> str:
        """Changes whenever the data changes: the build digest and the update count."""
        return f"{self.engine.build}-{self.generation}"

    def etag(self, *parts: str) -> str:
        """A strong ETag for one representation of the current data."""
        found = hashlib.sha256("\x00".join((self.version, *parts)).encode()).hexdigest()
        return found[:24]

    def data_changed(self) -> None:
        """Forget everything derived from the data (after an update)."""
        self.generation += 1
        self.modified = time.time()
        self.cache.clear()
        if self.replay is not None:
            self.replay.clear()
        with self.memo_lock:
            self.memo.clear()
        if self.spool is not None:  # the dumps of older data
            for old in self.spool.glob("*"):
                if not old.name.startswith(self.version + "-"):
                    old.unlink(missing_ok=True)

    # ------------------------------------------------------------------ caches

    def cached(self, key: bytes) -> QueryReply | None:
        """The cached reply for ``key`` (a digest), if any."""
        return self.cache.get(digest(self.version, key))

    def remember(self, key: bytes, reply: QueryReply) -> None:
        """Cache ``reply`` for ``key`` (until the data changes; not when it is large)."""
        self.cache.put(digest(self.version, key), reply)

    def memoize(self, name: str, compute: Callable[[], Any]) -> Any:
        """Compute a value derived from the data once per data version (VoID, figures, ...).

        ``name`` must come from a bounded set (never from a request's text).
        """
        key = f"{self.version}:{name}"
        with self.memo_lock:
            if key in self.memo:
                return self.memo[key]
        value = compute()
        with self.memo_lock:
            self.memo[key] = value
        return value
