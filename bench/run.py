"""Benchmark coopgraph on synthetic graphs, and print the figures as Markdown tables.

    python bench/run.py --sizes 10k,100k,1m [--engines oxigraph,rdflib] [--quick]

For each size: generate the graph (``bench/generate.py``), then measure

- in process, per store engine (each in a fresh process): load time, memory growth, and a
  fixed query mix (lookup by IRI, two-hop join, aggregate, REGEX and CONTAINS text search,
  DESCRIBE, CONSTRUCT), median of several runs;
- SHACL validation (pySHACL, and pyshacl-turbo as ``coopgraph validate`` runs it) and OWL
  RL reasoning (owlrl, as ``coopgraph reason``), each skipped above a size;
- over HTTP, with 16 concurrent connections: ``coopgraph serve --production`` (granian and
  coopgraph's front) on each engine, cached and uncached; the same app under gunicorn's
  threaded worker (``bench/gunicorn_coopgraph.py``), the production server it replaced;
  rdflib-endpoint and Oxigraph's own server on the same data; and a bare Flask "hello world"
  under each of the two servers (gunicorn, and granian with the front:
  ``bench/granian_hello.py``), the ceiling of a Flask app under that server; then the ratios
  between them, next to the goals.

The tables go to stdout and are appended to ``bench/results/<date>.md``; progress goes to
stderr. Every server binds 127.0.0.1 on a free port and is stopped when the run ends, on
Ctrl-C and on errors too.

The harness's parts: ``run_options.py`` (the command line), ``run_inproc.py`` and
``run_http.py`` (the measurements, in process and over HTTP, the latter of the servers in
``run_targets.py``), ``run_report.py`` (what they find, and the goals), ``run_render.py``
and ``run_render_http.py`` (the tables, with the cells of ``run_format.py``),
``run_common.py`` (what they share); this module runs them size by size.
"""

from __future__ import annotations

import datetime as dt
import faulthandler
import json
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import generate
from run_common import ROOT, human, say
from run_http import bench_http
from run_inproc import bench_inproc
from run_options import Options, parse_args
from run_render import header, render_size
from run_report import SizeReport
from servers import BenchError, Children, check_interrupt


def project_for(size: int, opts: Options, work: Path) -> tuple[Path, dict[str, Any], float | None]:
    """Generate the graph, or reuse one generated before with the same parameters."""
    out = work / f"graph-{human(size)}-seed{opts.seed}"
    marker = out / "generated.json"
    if marker.is_file():
        summary = json.loads(marker.read_text(encoding="utf-8"))
        if (
            summary.get("generator_version") == generate.GENERATOR_VERSION
            and summary.get("target_triples") == size
            and summary.get("seed") == opts.seed
            and summary.get("nquads")
            and (out / "dataset.nq").is_file()
            and same_files(ROOT, out, "ontology")
            and same_files(ROOT, out, "shapes")
        ):
            say(f"[{human(size)}] reusing the graph in {out}")
            return out, summary, None
    say(f"[{human(size)}] generating {size:,} triples in {out}")
    started = time.monotonic()
    generate.generate(out, size, opts.seed, nquads=True, progress=True)
    seconds = time.monotonic() - started
    return out, json.loads(marker.read_text(encoding="utf-8")), seconds


def same_files(a: Path, b: Path, folder: str) -> bool:
    """True when ``a/folder`` and ``b/folder`` hold the same Turtle files."""
    ours = sorted((a / folder).glob("*.ttl"))
    theirs = sorted((b / folder).glob("*.ttl"))
    return [p.name for p in ours] == [p.name for p in theirs] and all(
        x.read_bytes() == y.read_bytes() for x, y in zip(ours, theirs, strict=True)
    )


def bench_size(label: str, size: int, opts: Options, children: Children, work: Path) -> str:
    """Generate (or reuse) the graph of ``size`` triples, measure it, render its section."""
    root, summary, seconds = project_for(size, opts, work)
    report = SizeReport(label, size, summary=summary, generate_s=seconds)
    bench_inproc(report, root, opts, children, work)
    if opts.targets:
        bench_http(report, root, opts, children, work)
    return render_size(report, opts)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # `kill -USR1 <pid>` prints where every thread of a run that seems stuck is.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        opts = parse_args(argv, __doc__.split("\n\n")[0])
    except (BenchError, generate.GeneratorError) as err:
        print(f"bench: {err}", file=sys.stderr)
        return 2
    started = dt.datetime.now()
    sections = [header(opts, started)]
    print(sections[0], flush=True)
    temp = None
    try:
        with Children() as children:
            if opts.workdir is None:
                temp = tempfile.mkdtemp(prefix="coopgraph-bench-")
                work = Path(temp)
            else:
                work = opts.workdir.resolve()
                work.mkdir(parents=True, exist_ok=True)
            for label, size in opts.sizes:
                text = bench_size(label, size, opts, children, work)
                check_interrupt()
                print(text, flush=True)
                sections.append(text)
    except KeyboardInterrupt:
        say("interrupted; every server it started is stopped")
        return 130
    except (BenchError, generate.GeneratorError, OSError) as err:
        say(str(err))
        return 2
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
        if opts.results is not None and len(sections) > 1:
            write_results(opts.results, started, sections)
    return 0


def write_results(folder: Path, started: dt.datetime, sections: list[str]) -> None:
    """Append the run's Markdown to ``folder/<date>.md``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{started:%Y-%m-%d}.md"
    text = "\n".join(sections)
    if path.is_file():
        text = path.read_text(encoding="utf-8").rstrip("\n") + "\n\n---\n\n" + text
    path.write_text(text, encoding="utf-8")
    say(f"tables written to {path}")


if __name__ == "__main__":
    sys.exit(main())
