"""What the web app holds: the engine, the query workers, the result cache, the settings.

The app is handed a ready :class:`~coopgraph.store.Engine`; it never parses data files.
Outside queries run in the sandbox pool (:mod:`coopgraph.sandbox`), whose workers are forks
of this process taken when the pool starts, so they hold the same data.

An update (the one way the data changes while serving) runs in this process under the
write side of :attr:`ServerState.lock`; the pool is then restarted so that its workers see
the new data, and the cache is emptied. The server's own in-process reads take the read
side, so that no thread touches the store while the zygote is forked.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cachetools import LRUCache

from coopgraph.errors import QueryError
from coopgraph.sandbox import Pool
from coopgraph.store import Engine, QueryJob, QueryReply


@dataclass(frozen=True)
class Failure:
    """A query the engine refused (the worker's reply when evaluation raised QueryError)."""

    message: str


def evaluate_in_worker(engine: Engine) -> Callable[[QueryJob], QueryReply | Failure]:
    """Return the sandbox handler: evaluate a job, turning a QueryError into a Failure."""

    def handle(job: QueryJob) -> QueryReply | Failure:
        try:
            return engine.evaluate(job)
        except QueryError as err:
            return Failure(str(err))

    return handle


class ReadWriteLock:
    """Many readers or one writer."""

    def __init__(self) -> None:
        self._readers = 0
        self._cond = threading.Condition()
        self._writing = False

    @contextmanager
    def read(self) -> Iterator[None]:
        """Hold the lock for reading."""
        with self._cond:
            self._cond.wait_for(lambda: not self._writing)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        """Hold the lock alone."""
        with self._cond:
            self._cond.wait_for(lambda: not self._writing)
            self._writing = True
            self._cond.wait_for(lambda: self._readers == 0)
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


@dataclass
class ServerState:
    """Everything the request handlers share.

    Attributes:
        engine: The dataset.
        settings: The resolved settings (see :mod:`coopgraph.settings`).
        sources_dir: Where the source texts are (for the source documents' pages).
        examples: Example queries for the query editor: (title, query text).
        yasgui_dir: Where yasgui.min.js and yasgui.min.css are, if installed.
        modified: When the data was built (seconds since the epoch), for Last-Modified.
    """

    engine: Engine
    settings: dict[str, Any]
    sources_dir: Path | None = None
    examples: list[tuple[str, str]] = field(default_factory=list)
    yasgui_dir: Path | None = None
    modified: float = field(default_factory=time.time)
    pool: Pool | None = None
    generation: int = 0
    lock: ReadWriteLock = field(default_factory=ReadWriteLock)
    cache: LRUCache[Any, QueryReply] = field(init=False)
    cache_lock: threading.Lock = field(default_factory=threading.Lock)
    memo: dict[str, Any] = field(default_factory=dict)
    replay: Any = None  # the app's Replay middleware (coopgraph.web.replay), if any

    def __post_init__(self) -> None:
        self.cache = LRUCache(maxsize=max(1, int(self.settings["cache_entries"])))

    # ------------------------------------------------------------------ pool

    def start_pool(self) -> None:
        """Fork the query workers (call it while the process has one thread)."""
        if self.pool is not None:
            return
        self.pool = Pool(
            evaluate_in_worker(self.engine),
            workers=max(1, int(self.settings["query_workers"])),
            max_waiting=int(self.settings["max_waiting"]),
            queue_timeout=float(self.settings["queue_timeout"]),
            recycle_memory=int(float(self.settings["worker_memory_mb"]) * 2**20),
        ).start()

    def stop_pool(self) -> None:
        """Stop the query workers."""
        if self.pool is not None:
            self.pool.close()
            self.pool = None

    # ------------------------------------------------------------------ data version

    @property
    def version(self) -> str:
        """Changes whenever the data changes: the build digest and the update count."""
        return f"{self.engine.build}-{self.generation}"

    def etag(self, *parts: str) -> str:
        """A strong ETag for one representation of the current data."""
        digest = hashlib.sha256("\x00".join((self.version, *parts)).encode()).hexdigest()
        return digest[:24]

    def data_changed(self) -> None:
        """Forget everything derived from the data (after an update)."""
        self.generation += 1
        self.modified = time.time()
        with self.cache_lock:
            self.cache.clear()
        if self.replay is not None:
            self.replay.clear()
        self.memo.clear()

    # ------------------------------------------------------------------ cache

    def cached(self, key: Any) -> QueryReply | None:
        """The cached reply for ``key``, if any."""
        if not int(self.settings["cache_entries"]):
            return None
        with self.cache_lock:
            return self.cache.get((self.version, key))

    def remember(self, key: Any, reply: QueryReply) -> None:
        """Cache ``reply`` for ``key`` (until the data changes)."""
        if int(self.settings["cache_entries"]):
            with self.cache_lock:
                self.cache[(self.version, key)] = reply

    def memoize(self, name: str, compute: Callable[[], Any]) -> Any:
        """Compute a value derived from the data once per data version (VoID, dumps, ...)."""
        key = f"{self.version}:{name}"
        if key not in self.memo:
            with self.lock.read():
                self.memo[key] = compute()
        return self.memo[key]
