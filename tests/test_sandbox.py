"""The query workers' pool: a worker that kept too much memory is replaced, and freed memory
is given back to the system."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from coopgraph.store import processes
from coopgraph.store.processes import private_memory
from coopgraph.store.sandbox import Pool
from tests.support import ROOT

MB = 2**20
_KEPT: list[bytearray] = []


def keep(megabytes: int) -> int:
    """Keep ``megabytes`` of written memory in the worker; answer the worker's pid."""
    block = bytearray(megabytes * MB)
    block[::4096] = b"\x01" * len(range(0, len(block), 4096))  # touch every page
    _KEPT.append(block)
    return os.getpid()


def test_a_worker_holding_more_than_the_limit_is_replaced() -> None:
    with Pool(keep, workers=1, recycle_memory=60 * MB) as pool:
        first = pool.run(1, 10)
        assert pool.run(1, 10) == first, "a worker below the limit is kept"
        assert pool.run(100, 10) == first, "the job runs; its worker goes afterwards"
        assert pool.stats.recycled == 1
        fresh = pool.run(1, 10)
        assert fresh != first
        assert private_memory(fresh) < 60 * MB


def test_without_a_limit_a_worker_keeps_what_it_holds() -> None:
    with Pool(keep, workers=1) as pool:
        first = pool.run(100, 10)
        assert pool.run(1, 10) == first
        assert private_memory(first) > 100 * MB
        assert pool.stats.recycled == 0


def build_and_drop(size: int) -> None:
    """Build an Oxigraph store of ``size`` triples, count over it, and drop it: its memory
    is freed, but stays in the C heap until trimmed."""
    store = ox.Store()
    data = "".join(f'<http://e/s{i}> <http://e/p{i % 7}> "v{i}" .\n' for i in range(size))
    store.bulk_load(data.encode(), format=ox.RdfFormat.N_TRIPLES)
    list(store.query("SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p"))
    del store, data
    gc.collect()


def churn(size: int) -> tuple[int, int]:
    """A long job: answer the worker's pid and its private memory just after (bytes)."""
    build_and_drop(size)
    time.sleep(processes.TRIM_AFTER)
    return os.getpid(), private_memory(os.getpid())


TRIM = """
import time
from coopgraph.store.processes import private_memory
from coopgraph.store.sandbox import Pool
from tests.test_sandbox import churn
with Pool(churn, workers=1) as pool:
    pid, before = pool.run(0, 60)  # the worker's own size, after a job of nothing
    same, during = pool.run(300_000, 60)
    assert same == pid
    # The trim follows the reply: wait for it (a loaded machine may be slow to run it).
    deadline = time.monotonic() + 10
    after = private_memory(pid)
    while after - before > (during - before) / 3 and time.monotonic() < deadline:
        time.sleep(0.1)
        after = private_memory(pid)
print(before, during, after)
"""


@pytest.mark.slow
def test_after_a_long_job_a_worker_gives_its_freed_memory_back() -> None:
    """A worker trims the C heap after a job that ran long, so that it does not keep the
    peak of its largest query. (In a fresh interpreter, so that the worker does not start
    from whatever the test process holds after the tests before this one.)"""
    done = subprocess.run(
        [sys.executable, "-c", TRIM], cwd=ROOT, capture_output=True, text=True, check=True
    )
    before, during, after = map(int, done.stdout.split())
    sizes = f"before {before // MB} MB, during {during // MB} MB, after {after // MB} MB"
    assert during - before > 80 * MB, f"the job held its store's memory while it ran: {sizes}"
    assert after - before < (during - before) / 3, sizes


BUILD = """
import os, sys
from coopgraph.store.processes import private_memory
from coopgraph.graph.sources import file_sources
from coopgraph.store.opening import open_engine
from coopgraph.web import create_app
from tests.test_sandbox import build_and_drop
build_and_drop(300_000)
before = private_memory(os.getpid())
create_app(open_engine("oxigraph", file_sources([sys.argv[1]])), start_pool=False)
print(before, private_memory(os.getpid()))
"""


@pytest.mark.slow
def test_free_memory_is_given_back_before_the_server_forks(tmp_path: Path) -> None:
    """Building the app trims the C heap, so that the processes forked from it (the server's
    processes, the query workers) do not each carry what loading and counting freed."""
    small = tmp_path / "small.ttl"
    small.write_text("<http://e/s> <http://e/p> 1 .\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", BUILD, str(small)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    before, after = map(int, done.stdout.split())
    assert before - after > 50 * MB, (before // MB, after // MB)
