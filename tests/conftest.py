"""Fixtures shared by the test modules; the helpers they use are in ``tests/support.py``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from coopgraph.graph.load import ProjectDataset, build_dataset
from coopgraph.reason import reason
from tests.support import ENGINES, ROOT, Server, start_engine_server, start_server

#: Fixtures that start a real server: a test that uses one is slow, wherever it is.
SERVER_FIXTURES = frozenset({"server", "engine_server"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a server fixture as slow (``make check`` leaves it out)."""
    for item in items:
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def root() -> Path:
    """The checkout's project root (ontology/, data/, shapes/)."""
    return ROOT


@pytest.fixture(scope="session")
def bundled() -> ProjectDataset:
    """The bundled graph, loaded once. Tests must not change it."""
    return build_dataset(ROOT)


@pytest.fixture(scope="session")
def served(bundled: ProjectDataset) -> ProjectDataset:
    """The bundled graph as the server serves it by default: the asserted graphs and the
    inferred one (a copy; ``bundled`` stays as it is)."""
    copy = ProjectDataset(bundled.root)
    for name in bundled.asserted_graphs():
        copy.attach(bundled.graph(name), bundled.kinds[name])
    for prefix, namespace in bundled.namespaces():
        copy.bind(prefix, namespace, override=False)
    reason(copy)
    return copy


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project that a test may break."""
    copy = tmp_path / "project"
    for folder in ("ontology", "data", "shapes"):
        shutil.copytree(ROOT / folder, copy / folder)
    return copy


@pytest.fixture(scope="session", params=ENGINES)
def engine_server(request, tmp_path_factory) -> Iterator[Server]:
    """The bundled graph served on each engine in turn, shared by tests that do not change it."""
    folder = tmp_path_factory.mktemp("store") / "oxigraph"
    running = start_engine_server(request.param, folder=folder)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    """The bundled graph served by `coopgraph serve` (Oxigraph engine), shared by tests
    that do not change it."""
    running = start_server()
    yield running
    running.stop()
