"""The query workers' pool: a worker that kept too much memory is replaced."""

from __future__ import annotations

import os

from coopgraph.sandbox import Pool, private_memory

MB = 2**20
_KEPT: list[bytearray] = []


def keep(megabytes: int) -> int:
    """Keep ``megabytes`` of written memory in the worker; answer the worker's pid."""
    block = bytearray(megabytes * MB)
    block[::4096] = b"\x01" * len(range(0, len(block), 4096))  # touch every page
    _KEPT.append(block)
    return os.getpid()


def test_a_worker_holding_more_than_the_limit_is_replaced() -> None:
    with Pool(keep, workers=1, memory_limit=60 * MB) as pool:
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
