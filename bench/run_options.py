"""The harness's command line: :func:`parse_args` reads it into :class:`Options`, checking
the sizes, the store engines and the HTTP targets it names."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import generate
import loadgen
from run_common import BENCH, DISK, human
from servers import BenchError

#: The HTTP targets: coopgraph under its production server (granian + the front), the same
#: app under gunicorn, the two peers, the hello world under gunicorn and under granian, and
#: the floor of the production server (a query straight to the query-worker pool).
TARGETS = (
    "coopgraph",
    "coopgraph-gunicorn",
    "rdflib-endpoint",
    "oxigraph-server",
    "hello",
    "hello-granian",
    "pool-floor",
)


@dataclass
class Options:
    sizes: list[tuple[str, int]]
    engines: list[str]
    targets: list[str]
    seed: int
    quick: bool
    repeat: int
    duration: float
    connections: int
    workers: int
    client: str
    validate: bool
    validate_max: int
    reason: bool
    reason_max: int
    rdflib_max: int
    timeout: float
    workdir: Path | None
    results: Path | None
    argv: list[str] = field(default_factory=list)


def available_engines() -> list[str]:
    """The store's engines (``coopgraph.store.engine.ENGINES``), and the on-disk Oxigraph
    variant."""
    from coopgraph.store.engine import ENGINES

    engines = list(ENGINES)
    if "oxigraph" in engines and not any("disk" in e for e in engines):
        engines.append(DISK)
    return engines


def parse_args(argv: list[str], description: str) -> Options:
    """The options ``argv`` gives; ``description`` heads the help.

    Raises:
        BenchError: for an unknown engine or target, ``--client wrk`` without wrk, or a size
            below 1k.
        GeneratorError: for a size that is not one.
    """
    args = parser(description).parse_args(argv)
    engines = engines_of(args.engines)
    targets = targets_of(args.targets)
    if args.client == "wrk" and loadgen.wrk_binary() is None:
        raise BenchError("--client wrk: wrk is not installed (apt-get install wrk)")
    return Options(
        sizes=sizes_of(args.sizes),
        engines=engines,
        targets=targets,
        seed=args.seed,
        quick=args.quick,
        repeat=args.repeat or (3 if args.quick else 5),
        duration=args.duration or (1.0 if args.quick else 10.0),
        connections=args.connections,
        workers=args.workers,
        client=args.client,
        validate=args.validate,
        validate_max=generate.parse_size(args.validate_max),
        reason=args.reason,
        reason_max=generate.parse_size(args.reason_max),
        rdflib_max=generate.parse_size(args.rdflib_max),
        timeout=args.timeout,
        workdir=args.workdir,
        results=args.results,
        argv=argv,
    )


def parser(description: str) -> argparse.ArgumentParser:
    """The harness's options, with their help."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="10k", help="data triples per run: 10k,100k,1m")
    parser.add_argument(
        "--engines", help="store engines (default: all of coopgraph.store.engine.ENGINES, + disk)"
    )
    parser.add_argument(
        "--targets", default=",".join(TARGETS), help=f"HTTP targets (default: {','.join(TARGETS)})"
    )
    parser.add_argument("--no-http", dest="targets", action="store_const", const="")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--quick", action="store_true", help="3 query runs, 1 s per HTTP row, no warm-up"
    )
    parser.add_argument("--repeat", type=int, help="runs per in-process query (default 5)")
    parser.add_argument("--duration", type=float, help="seconds per HTTP row (default 10)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--workers", type=int, default=2, help="processes per server, granian or gunicorn (2)"
    )
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--no-validate", dest="validate", action="store_false")
    parser.add_argument("--validate-max", default="1m", help="largest size to validate")
    parser.add_argument("--no-reason", dest="reason", action="store_false")
    parser.add_argument(
        "--reason-max",
        default="10k",
        help="largest size to reason on with owlrl (~3 ms/triple); rules run at every size",
    )
    parser.add_argument(
        "--rdflib-max", default="1m", help="largest size for the rdflib engine and rdflib-endpoint"
    )
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds for one in-process step"
    )
    parser.add_argument(
        "--workdir", type=Path, help="keep generated data here and reuse it (default: a temp dir)"
    )
    parser.add_argument(
        "--results", type=Path, default=BENCH / "results", help="folder for <date>.md"
    )
    parser.add_argument("--no-results", dest="results", action="store_const", const=None)
    return parser


def engines_of(text: str | None) -> list[str]:
    """The engines of ``--engines`` (all when it is not given)."""
    known = available_engines()
    engines = text.split(",") if text else known
    unknown = [e for e in engines if e not in known]
    if unknown:
        raise BenchError(f"unknown engine {unknown[0]!r}; known: {', '.join(known)}")
    return engines


def targets_of(text: str) -> list[str]:
    """The HTTP targets of ``--targets`` (none for ``--no-http``)."""
    targets = [t for t in text.split(",") if t]
    bad = [t for t in targets if t not in TARGETS]
    if bad:
        raise BenchError(f"unknown target {bad[0]!r}; known: {', '.join(TARGETS)}")
    return targets


def sizes_of(text: str) -> list[tuple[str, int]]:
    """The sizes of ``--sizes``, each as (its label, its number of triples)."""
    sizes = []
    for size in text.split(","):
        n = generate.parse_size(size)
        if n < 1000:
            raise BenchError(f"size {size!r} is below the smallest, 1k")
        sizes.append((human(n), n))
    return sizes
