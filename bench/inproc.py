"""In-process measurements, each run in a fresh child process that prints one JSON object.

    python bench/inproc.py engine ENGINE ROOT --repeat 5 --word WORD [--store-dir DIR]
    python bench/inproc.py validate ROOT
    python bench/inproc.py reason ROOT [--reasoner rules|owlrl]

``engine`` loads the generated project into a coopgraph store engine the way ``coopgraph
serve`` does (:func:`coopgraph.store.opening.open_engine`), reports the load time and the growth of
the process's resident memory, then runs the query mix through :meth:`Engine.evaluate` (the
call a query worker makes: evaluate and write SPARQL JSON or Turtle), median of ``repeat``
runs. ``validate`` and ``reason`` run what ``coopgraph validate`` and ``coopgraph reason``
run.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

#: A query slower than this is run once only.
SLOW_SECONDS = 10.0
#: The name of the on-disk Oxigraph variant, when the store has no engine of its own for it.
DISK = "oxigraph-disk"


def rss() -> int:
    """This process's resident memory, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def peak_rss() -> int:
    """This process's peak resident memory, in bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def open_for_bench(name: str, root: Path, store_dir: Path | None) -> Any:
    """Open engine ``name`` on the project at ``root``, as ``coopgraph serve`` would (the
    remote engine reads its store's URLs from the ``COOPGRAPH_REMOTE_*`` variables)."""
    from coopgraph.graph.sources import project_sources
    from coopgraph.settings import resolve
    from coopgraph.store.engine import ENGINES
    from coopgraph.store.opening import open_engine

    sources = project_sources(root)
    options = resolve()  # the remote engine's settings, from COOPGRAPH_* variables
    if name == DISK and DISK not in ENGINES:
        if store_dir is None:
            raise SystemExit("inproc: the on-disk engine needs --store-dir")
        return open_engine("oxigraph", sources, root, path=store_dir, options=options)
    return open_engine(name, sources, root, options=options)


def run_query(engine: Any, text: str) -> tuple[float, int]:
    """Evaluate ``text`` as a query worker does; (seconds, rows or triples)."""
    from coopgraph import formats
    from coopgraph.sparql import results
    from coopgraph.sparql.querytext import scan
    from coopgraph.store.engine import QueryJob

    form = scan(text).form or "SELECT"
    media_type = formats.TURTLE.media_type if form in ("CONSTRUCT", "DESCRIBE") else results.JSON
    job = QueryJob(query=text, form=form, media_type=media_type, row_cap=10_000)
    started = time.perf_counter()
    reply = engine.evaluate(job)
    return time.perf_counter() - started, reply.count


def measure_engine(name: str, root: Path, repeat: int, word: str, store_dir: Path | None) -> dict:
    # Imported before the clock starts and before the memory baseline.
    from workload import mix

    import coopgraph.settings
    import coopgraph.sparql.querytext
    import coopgraph.sparql.results
    import coopgraph.store  # noqa: F401

    gc.collect()
    before = rss()
    started = time.perf_counter()
    engine = open_for_bench(name, root, store_dir)
    load = time.perf_counter() - started
    quads = len(engine)
    gc.collect()
    out: dict[str, Any] = {
        "engine": name,
        "load_s": load,
        "rss_delta": rss() - before,
        "quads": quads,
        "queries": {},
    }
    for query in mix(word):
        times: list[float] = []
        rows = 0
        try:
            for _ in range(repeat):
                seconds, rows = run_query(engine, query.text)
                times.append(seconds)
                if seconds > SLOW_SECONDS:
                    break
        except Exception as err:  # noqa: BLE001 - reported in the table, not raised
            out["queries"][query.name] = {"error": " ".join(str(err).split())[:200]}
            continue
        out["queries"][query.name] = {
            "median_s": statistics.median(times),
            "runs": len(times),
            "rows": rows,
        }
    out["peak_rss"] = peak_rss()
    return out


def measure_validate(root: Path, validator: str) -> dict:
    """``coopgraph validate`` with ``validator``: pySHACL over rdflib's load of the
    project, or pyshacl-turbo over a native graph (its fast path, whose time includes parsing
    the files)."""
    from coopgraph.graph.load import build_dataset, load_shapes
    from coopgraph.quality.validate import validate, validate_project

    shapes = load_shapes(root)
    if validator == "pyshacl-turbo":
        started = time.perf_counter()
        report = validate_project(root, shapes)
        loaded = None
    else:
        started = time.perf_counter()
        ds = build_dataset(root)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        report = validate(ds, shapes, validator=validator)
    return {
        "validator": validator,
        "load_s": loaded,
        "validate_s": time.perf_counter() - started,
        "conforms": report.conforms,
        "results": len(report.results),
        "peak_rss": peak_rss(),
    }


def measure_reason(root: Path, reasoner: str) -> dict:
    import hashlib

    from coopgraph.graph.load import build_dataset
    from coopgraph.reason import reason

    started = time.perf_counter()
    ds = build_dataset(root)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    result = reason(ds, reasoner=reasoner)
    seconds = time.perf_counter() - started
    # The inferences' fingerprint, to compare the reasoners: their N-Triples lines, sorted
    # (blank nodes aside, which no rule of the ontology creates).
    lines = sorted(" ".join(term.n3() for term in triple) for triple in result.inferred)
    return {
        "reasoner": result.reasoner,
        "load_s": loaded,
        "reason_s": seconds,
        "inferred": len(result.inferred),
        "digest": hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest(),
        "consistent": result.consistent,
        "peak_rss": peak_rss(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="task", required=True)
    engine = sub.add_parser("engine")
    engine.add_argument("engine")
    engine.add_argument("root", type=Path)
    engine.add_argument("--repeat", type=int, default=5)
    engine.add_argument("--word", required=True)
    engine.add_argument("--store-dir", type=Path)
    for task in ("validate", "reason"):
        sub.add_parser(task).add_argument("root", type=Path)
    sub.choices["validate"].add_argument("--validator", default="pyshacl")
    sub.choices["reason"].add_argument("--reasoner", default="rules")
    args = parser.parse_args(argv)
    logging.getLogger("rdflib.term").setLevel(logging.ERROR)
    if args.task == "engine":
        result = measure_engine(args.engine, args.root, args.repeat, args.word, args.store_dir)
    elif args.task == "validate":
        result = measure_validate(args.root, args.validator)
    else:
        result = measure_reason(args.root, args.reasoner)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
