"""Confined workers: whatever a job asks its engine to do, the kernel keeps it off the
network and the file system and within its memory; the pool survives every way a job ends.

These tests bypass every text check of the endpoint: they hand jobs straight to a pool.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from coopgraph.store import jail, processes
from coopgraph.store.errors import DeadlineExceeded, JobFailed, MemoryExceeded, ReplyTooLarge
from coopgraph.store.jail import Confinement
from coopgraph.store.sandbox import Pool
from tests.support import Listener

MB = 2**20
CONFINED = Confinement(memory_bytes=256 * MB)

pytestmark = pytest.mark.skipif(
    not jail.support().seccomp, reason="this kernel has no seccomp to confine workers with"
)


STORE = ox.Store()
STORE.add(ox.Quad(ox.NamedNode("http://e/s"), ox.NamedNode("http://e/p"), ox.Literal("o")))


def oxigraph_query(text: str) -> list[str]:
    """Evaluate ``text`` on a small pyoxigraph store; the values of its rows."""
    return [term.value for row in STORE.query(text) for term in row if term is not None]


def oxigraph_update(text: str) -> int:
    STORE.update(text)
    return len(STORE)


def open_file(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def connect(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        return "connected"


@pytest.fixture
def listener():
    running = Listener()
    yield running
    running.close()


def service_queries(port: int) -> list[str]:
    base = f"http://127.0.0.1:{port}/"
    return [
        f"SELECT * WHERE {{ SERVICE <{base}sparql> {{ ?s ?p ?o }} }}",
        f"PREFIX : <{base}> SELECT * WHERE {{ SERVICE:sparql {{ ?s ?p ?o }} }}",
        f"PREFIX : <{base}> select * where {{ service:sparql {{ ?s ?p ?o }} }}",
        f"PREFIX : <{base}> SELECT * WHERE {{ ?s ?p ?o "
        f"FILTER EXISTS {{ SERVICE:x {{ ?a ?b ?c }} }} }}",
        f"PREFIX : <{base}> CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE:x {{ ?s ?p ?o }} }}",
        f"SELECT * WHERE {{ OPTIONAL {{ SERVICE SILENT <{base}x> {{ ?s ?p ?o }} }} }}",
    ]


def test_an_unconfined_engine_would_reach_the_listener(listener: Listener) -> None:
    """The control: without confinement the same job does connect (the break)."""
    with Pool(oxigraph_query, workers=1) as pool:
        with pytest.raises(JobFailed):
            pool.run(service_queries(listener.port)[1], 10)
    assert listener.connections >= 1


def test_service_queries_never_reach_the_network(listener: Listener) -> None:
    with Pool(oxigraph_query, workers=1, confinement=CONFINED) as pool:
        for query in service_queries(listener.port):
            try:
                pool.run(query, 10)
            except JobFailed as failed:
                assert jail.refused(failed.error), failed.error
    assert listener.connections == 0


def test_load_in_an_update_never_reaches_the_network(listener: Listener) -> None:
    base = f"http://127.0.0.1:{listener.port}/"
    with Pool(oxigraph_update, workers=1, confinement=CONFINED) as pool:
        for update in (f"LOAD <{base}doc>", f"LOAD SILENT <{base}doc>"):
            try:
                pool.run(update, 10)
            except JobFailed as failed:
                assert jail.refused(failed.error), failed.error
    assert listener.connections == 0


def test_no_socket_of_any_kind_can_be_opened(listener: Listener) -> None:
    with Pool(connect, workers=1, confinement=CONFINED) as pool:
        with pytest.raises(JobFailed) as failed:
            pool.run(listener.port, 10)
    assert isinstance(failed.value.error, PermissionError)
    assert listener.connections == 0


def test_files_outside_the_allowed_folders_cannot_be_read(tmp_path: Path) -> None:
    inside = tmp_path / "store"
    inside.mkdir()
    (inside / "data").write_text("mine", encoding="utf-8")
    outside = tmp_path / "secret"
    outside.write_text("not yours", encoding="utf-8")
    assert open_file(str(outside)) == "not yours"
    spec = Confinement(read_paths=(str(inside),))
    with Pool(open_file, workers=1, confinement=spec) as pool:
        assert pool.run(str(inside / "data"), 10) == "mine"
        for path in (str(outside), "/etc/passwd", f"/proc/{os.getppid()}/environ"):
            with pytest.raises(JobFailed) as failed:
                pool.run(path, 10)
            assert isinstance(failed.value.error, PermissionError), path
    with Pool(open_file, workers=1, confinement=CONFINED) as pool:
        with pytest.raises(JobFailed):
            pool.run(str(inside / "data"), 10)


DOUBLING = "\n".join(f"BIND(CONCAT(?a{i}, ?a{i}) AS ?a{i + 1})" for i in range(30))
BOMB = 'SELECT (STRLEN(?a30) AS ?n) WHERE { BIND("' + "x" * 64 + '" AS ?a0) ' + DOUBLING + " }"


def grow(megabytes: int) -> int:
    block = bytearray(megabytes * MB)
    return len(block)


def test_a_query_past_the_memory_limit_ends_with_memory_exceeded() -> None:
    """Rust aborts on a failed allocation: the pool says the job ran out of memory, and the
    next job is served by a fresh worker."""
    with Pool(oxigraph_query, workers=1, confinement=CONFINED) as pool:
        first = pool.worker_pids()
        with pytest.raises(MemoryExceeded):
            pool.run(BOMB, 30)
        assert pool.stats.memory_exceeded == 1
        assert pool.worker_pids() != first
        assert pool.run("SELECT ?o WHERE { <http://e/s> ?p ?o }", 10) == ["o"]


def test_python_past_the_memory_limit_ends_with_memory_exceeded() -> None:
    with Pool(grow, workers=1, confinement=CONFINED) as pool:
        assert pool.run(100, 10) == 100 * MB
        with pytest.raises(MemoryExceeded):
            pool.run(400, 10)
        assert pool.run(100, 10) == 100 * MB


def spin(seconds: float) -> float:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return seconds


def test_the_deadline_kills_and_replaces_a_worker() -> None:
    with Pool(spin, workers=1, confinement=CONFINED) as pool:
        before = pool.worker_pids()[0]
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded):
            pool.run(30, 0.5)
        assert time.monotonic() - started < 5
        assert processes.wait_gone(before, 5)
        assert pool.run(0.01, 5) == 0.01


def ask_service(payload: str) -> str:
    return processes.call("echo", payload)


def test_a_confined_job_reaches_only_the_services_the_pool_offers() -> None:
    def echo(payload: str, seconds_left: float) -> str:
        assert seconds_left > 0
        return payload.upper()

    with Pool(ask_service, workers=1, confinement=CONFINED, services={"echo": echo}) as pool:
        assert pool.run("hello", 10) == "HELLO"


def write_to_given_fd(text: str) -> int:
    (fd,) = processes.received_fds()
    return os.write(fd, text.encode())


def test_a_job_writes_to_a_file_it_was_handed(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with Pool(write_to_given_fd, workers=1, confinement=CONFINED) as pool:
        with target.open("wb") as fh:
            assert pool.run("dumped", 10, fds=(fh.fileno(),)) == 6
    assert target.read_text() == "dumped"


def test_a_reply_larger_than_allowed_is_refused() -> None:
    with Pool(bytes, workers=1, max_reply=1000) as pool:
        assert pool.run(10, 10) == bytes(10)
        with pytest.raises(ReplyTooLarge):
            pool.run(5000, 10)
        assert pool.run(10, 10) == bytes(10)


# ---------------------------------------------------------------------- generations

COUNTER = {"value": 0}


def counter_job(job: tuple[str, float]) -> int:
    """("add", seconds) adds one after sleeping; ("get", seconds) reads after sleeping."""
    kind, seconds = job
    time.sleep(seconds)
    if kind == "add":
        COUNTER["value"] += 1
    elif kind == "fail":
        COUNTER["value"] += 100
        raise ValueError("half done")
    return COUNTER["value"]


def test_an_adopted_job_becomes_the_data_of_every_later_job() -> None:
    with Pool(counter_job, workers=2, confinement=CONFINED) as pool:
        assert pool.run(("get", 0), 10) == 0
        assert pool.adopt(("add", 0), 10) == 1
        assert pool.generation == 1
        assert {pool.run(("get", 0), 10) for _ in range(6)} == {1}
        assert pool.adopt(("add", 0), 10) == 2
        assert {pool.run(("get", 0), 10) for _ in range(6)} == {2}


def test_a_failed_or_stopped_adoption_leaves_the_data_as_it_was() -> None:
    with Pool(counter_job, workers=2, confinement=CONFINED) as pool:
        with pytest.raises(JobFailed):
            pool.adopt(("fail", 0), 10)
        with pytest.raises(DeadlineExceeded):
            pool.adopt(("add", 30), 0.5)
        assert pool.generation == 0
        assert {pool.run(("get", 0), 10) for _ in range(4)} == {0}


def test_jobs_running_during_an_adoption_are_answered() -> None:
    """A job that started on the old data finishes on it; jobs after see the new data."""
    with Pool(counter_job, workers=2, confinement=CONFINED) as pool:
        results: list[int] = []
        slow = threading.Thread(target=lambda: results.append(pool.run(("get", 1.0), 10)))
        slow.start()
        time.sleep(0.2)
        assert pool.adopt(("add", 0), 10) == 1
        slow.join()
        assert results == [0]
        assert pool.run(("get", 0), 10) == 1
        assert len(pool.worker_pids()) == 2


def test_many_adoptions_keep_the_pool_whole() -> None:
    """Confinement layers do not pile up: twenty generations in a row still work."""
    with Pool(counter_job, workers=1, confinement=CONFINED) as pool:
        for expected in range(1, 21):
            assert pool.adopt(("add", 0), 10) == expected
        assert pool.run(("get", 0), 10) == 20


def test_threads_started_before_confinement_are_filtered_too(listener: Listener) -> None:
    """A store opened before confinement (RocksDB) may have started threads: seccomp is
    installed on every thread of the worker."""
    threads: list[threading.Thread] = []
    seen: list[str] = []

    def setup() -> None:
        def later() -> None:
            time.sleep(0.5)
            try:
                seen.append(connect(listener.port))
            except OSError as err:
                seen.append(type(err).__name__)

        thread = threading.Thread(target=later)
        thread.start()
        threads.append(thread)

    def result(_: object) -> list[str]:
        for thread in threads:
            thread.join()
        return seen

    with Pool(result, workers=1, confinement=CONFINED, setup=setup) as pool:
        assert pool.run(None, 10) == ["PermissionError"]
    assert listener.connections == 0
