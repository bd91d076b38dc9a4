"""Generate a synthetic cooperation graph of a chosen size, as a coopgraph project.

    python bench/generate.py --triples 100000 --seed 1 -o DIR [--nquads]

DIR becomes a project that every coopgraph command accepts (``coopgraph --root DIR
validate``, ``coopgraph --root DIR serve``):

- ``data/<stem>.ttl`` and ``data/sources/<stem>.txt``: one synthetic source document each,
  its facts in the graph named after it: agreements of several kinds with two to four
  parties, their signings (an ``xsd:date`` and a city) and one signature per party (a
  person acting for the party in a post of it), partnerships, resolutions, assembly
  sessions that approve agreements, launches of goal frameworks; every fact-bearing node
  has ``coop:evidence`` quotes whose sentences are the lines of the source text;
- ``data/reference/*.ttl``: places (regions, countries, cities), organizations of several
  kinds in sub-organization hierarchies, posts and the persons holding them, crime and
  activity areas (SKOS concepts in their schemes), goal frameworks and their goals;
- ``ontology/`` and ``shapes/``: copies of the project's, so that the graph is checked
  against the real shapes;
- ``dataset.nq`` (with ``--nquads``): the same quads, plus the ontology's graphs, in one
  N-Quads file, for servers that load a single file;
- ``generated.json``: the parameters and the counts.

The size is the number of data triples (the ontology's ~700 come on top). Every triple is
stated in exactly one graph. The output depends only on the seed and the size (the same
bytes on every run), and it is written as it is generated: memory grows with the number
of named entities (about 5 per 100 triples), never with the triples.

Terms are checked against the ontology before anything is written: a term the ontology
does not declare stops the generator.

The generator's parts: ``gen_plan.py`` (sizes, the summary), ``gen_words.py`` (word lists),
``gen_turtle.py`` (writing a graph), ``gen_ontology.py`` (the terms and the ontology's
quads), ``gen_reference.py`` (the reference graphs), ``gen_sources.py`` (the source
documents); this module puts them together and is the command.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path

from gen_ontology import TERMS, check_terms, ontology_quads
from gen_plan import GENERATOR_VERSION, GeneratorError, Plan, Summary
from gen_sources import Generator

__all__ = [
    "GENERATOR_VERSION",
    "TERMS",
    "GeneratorError",
    "Plan",
    "Summary",
    "generate",
    "main",
    "parse_size",
    "prepare",
]

ROOT = Path(__file__).resolve().parents[1]


def prepare(out: Path) -> None:
    """Make ``out`` an empty folder; a folder written by this generator is emptied first."""
    if out.exists():
        if not out.is_dir():
            raise GeneratorError(f"{out}: exists and is not a folder")
        if any(out.iterdir()) and not (out / "generated.json").is_file():
            raise GeneratorError(
                f"{out}: not empty and not written by bench/generate.py; give a new folder"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True)


def generate(
    out: Path,
    triples: int,
    seed: int = 1,
    nquads: bool = False,
    root: Path = ROOT,
    progress: bool = True,
) -> Summary:
    """Write a synthetic project of about ``triples`` data triples to ``out``.

    Raises:
        GeneratorError: for a bad size or folder, or an ontology lacking a term.
    """
    if triples < 1000:
        raise GeneratorError(f"--triples must be at least 1000, not {triples}")
    check_terms(root, TERMS)  # this module's TERMS, which tests/test_generator.py replaces
    prepare(out)
    for folder in ("ontology", "shapes"):
        shutil.copytree(root / folder, out / folder)
    plan = Plan.for_size(triples)
    handle = (out / "dataset.nq").open("w", encoding="utf-8", newline="\n") if nquads else None
    try:
        gen = Generator(out, plan, seed, handle, progress)
        gen.reference()
        gen.sources()
        if handle is not None:
            for text in ontology_quads(root):
                handle.write(text)
    finally:
        if handle is not None:
            handle.close()
    summary = gen.summary
    summary.triples = gen.counter[0]
    summary.search_word = gen.org_labels[0].split()[0]
    summary.nquads = "dataset.nq" if nquads else None
    text = json.dumps(asdict(summary), indent=2, sort_keys=True) + "\n"
    (out / "generated.json").write_text(text, encoding="utf-8")
    gen.report(force=True)
    return summary


def parse_size(text: str) -> int:
    """``10k``, ``1m``, ``1.5M``, ``100000`` -> a number of triples."""
    cleaned = text.strip().lower().replace("_", "").replace(",", "")
    factor = 1
    if cleaned and cleaned[-1] in "km":
        factor = 1000 if cleaned[-1] == "k" else 1_000_000
        cleaned = cleaned[:-1]
    try:
        value = int(float(cleaned) * factor)
    except ValueError:
        raise GeneratorError(f"not a size: {text!r} (use e.g. 10000, 10k, 1m)") from None
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", required=True, help="data triples: 10000, 10k, 1m, ...")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("-o", "--output", required=True, type=Path, help="the project folder")
    parser.add_argument(
        "--nquads", action="store_true", help="also write DIR/dataset.nq (with the ontology)"
    )
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="project whose ontology/ and shapes/ to copy"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        summary = generate(
            args.output,
            parse_size(args.triples),
            args.seed,
            args.nquads,
            args.root.resolve(),
            not args.quiet,
        )
    except (GeneratorError, OSError) as err:
        print(f"generate: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("generate: interrupted", file=sys.stderr)
        return 130
    print(
        f"generate: wrote {summary.triples:,} triples (target {summary.target_triples:,}) in "
        f"{summary.graphs} graphs, {summary.agreements:,} agreements, to {args.output} "
        f"in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
