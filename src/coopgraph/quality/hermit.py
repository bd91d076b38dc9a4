"""Run HermiT, through owlready2 (which bundles it) in a Java runtime, on graphs written as
N-Triples; owlready2's and Java's chatter captured, never printed."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import owlready2
from rdflib import Graph, URIRef
from rdflib.namespace import OWL

from coopgraph.errors import ReasonerError

#: JVM options for short HermiT runs: start fast (no optimising compiler, serial GC), which
#: halves the time of a run on a small graph; a long run needs the optimising compiler.
QUICK_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


#: Graphs up to this many triples get a JVM tuned for start-up (:data:`QUICK_JVM`).
QUICK_UP_TO = 50_000


@contextlib.contextmanager
def _java_options(options: str | None) -> Iterator[None]:
    """Pass JVM options to the ``java`` that owlready2 starts (through JDK_JAVA_OPTIONS)."""
    if not options:
        yield
        return
    before = os.environ.get("JDK_JAVA_OPTIONS")
    os.environ["JDK_JAVA_OPTIONS"] = f"{before} {options}" if before else options
    try:
        yield
    finally:
        if before is None:
            del os.environ["JDK_JAVA_OPTIONS"]
        else:
            os.environ["JDK_JAVA_OPTIONS"] = before


def _java_message(err: Exception) -> str:
    lines = [
        line.strip()
        for line in str(err).splitlines()
        if line.strip() and not line.startswith(("NOTE: Picked up", "Java error message is"))
    ]
    return lines[0] if lines else "no message"


def run_hermit(
    graphs: Sequence[tuple[str | None, Graph]], quick: bool = False
) -> tuple[bool, list[URIRef]]:
    """Run HermiT through owlready2 on ``graphs``, each loaded as an owlready2 ontology.

    Args:
        graphs: (ontology IRI, graph) pairs; a graph without an IRI gets its file's IRI.
        quick: Start the JVM for a short run (:data:`QUICK_JVM`).

    Returns:
        Whether the graphs are consistent, and the unsatisfiable named classes (none are
        computed for an inconsistent graph).

    Not thread-safe: owlready2 prints, so ``sys.stdout`` and ``sys.stderr`` are redirected
    for the run, and JVM options go through the environment.

    Raises:
        ReasonerError: when Java is missing or HermiT fails.
    """
    chatter = io.StringIO()
    with (
        tempfile.TemporaryDirectory(prefix="coopgraph-dl-") as folder,
        contextlib.redirect_stdout(chatter),
        contextlib.redirect_stderr(chatter),
    ):
        world = owlready2.World()
        try:
            for number, (iri, graph) in enumerate(graphs):
                path = Path(folder) / f"{number:03d}.nt"
                path.write_text(graph.serialize(format="nt"), encoding="utf-8")
                with path.open("rb") as fh:
                    world.get_ontology(iri or path.as_uri()).load(fileobj=fh, format="ntriples")
            try:
                with _java_options(QUICK_JVM if quick else None):
                    owlready2.sync_reasoner_hermit(
                        world,
                        infer_property_values=False,
                        debug=0,
                        ignore_unsupported_datatypes=True,
                    )
            except owlready2.OwlReadyInconsistentOntologyError:
                return False, []
            unsatisfiable = sorted(
                URIRef(c.iri)
                for c in world.inconsistent_classes()
                if getattr(c, "iri", None) and c.iri != str(OWL.Nothing)
            )
            return True, unsatisfiable
        except FileNotFoundError as err:
            if "java" in str(err).lower() or err.filename == owlready2.JAVA_EXE:
                raise ReasonerError(
                    f"HermiT needs a Java runtime and there is no {owlready2.JAVA_EXE!r} to run; "
                    "install one (on Debian: apt-get install default-jre-headless)"
                ) from None
            raise
        except owlready2.OwlReadyJavaError as err:
            raise ReasonerError(f"HermiT failed: {_java_message(err)}") from None
        finally:
            world.close()
