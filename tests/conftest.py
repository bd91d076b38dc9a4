"""Shared fixtures: the project root, the loaded bundled graph, and throwaway copies of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from coopgraph.load import ProjectDataset, build_dataset

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def root() -> Path:
    """The checkout's project root (ontology/, data/, shapes/)."""
    return ROOT


@pytest.fixture(scope="session")
def bundled() -> ProjectDataset:
    """The bundled graph, loaded once. Tests must not change it."""
    return build_dataset(ROOT)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project that a test may break."""
    copy = tmp_path / "project"
    for folder in ("ontology", "data", "shapes"):
        shutil.copytree(ROOT / folder, copy / folder)
    return copy
