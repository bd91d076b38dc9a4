"""What every part of the benchmark harness (``run.py``) shares: its folders, the name of
the on-disk Oxigraph engine, the progress line on stderr, sizes and package versions as
text, and the SHACL engines it measures."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
#: The on-disk variant of the Oxigraph engine, which the harness adds to the store's engines.
DISK = "oxigraph-disk"
JSON_RESULTS = "application/sparql-results+json"


def validators() -> tuple[tuple[str, ...], str]:
    """The SHACL engines to measure, and the one `coopgraph validate` runs (judged)."""
    from coopgraph.quality.validate import VALIDATORS, default_validator

    return VALIDATORS, default_validator()


def say(message: str) -> None:
    """A line of progress on stderr."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


def human(n: int) -> str:
    """10000 -> 10k, 1000000 -> 1M."""
    if n >= 1_000_000 and n % 100_000 == 0:
        return f"{n / 1_000_000:g}M"
    if n >= 1000 and n % 100 == 0:
        return f"{n / 1000:g}k"
    return str(n)


def version(package: str) -> str:
    """The installed version of ``package``, or ``not installed``."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"
