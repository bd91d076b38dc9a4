"""Validate the graph with SHACL (pyshacl) and collect the results in a readable report.

The ontology and data graphs are merged into ONE data graph and validated against the
shapes graph, with no ``ont_graph`` and no inference: ``sh:targetClass`` and ``sh:class``
already follow ``rdfs:subClassOf`` triples that are in the data graph (SHACL 1.0, section
2.1.3.3 "Node targets"/"Class-based targets" and 4.1.1 ``sh:class``), and merging once is
about twice as fast as handing pyshacl an ontology graph to mix in.

Nothing is fetched from the network: the graphs are passed as rdflib objects (pyshacl
loads no URL), ``owl:imports`` are not followed, SHACL-JS is off, and SPARQL-based
constraints run under :func:`coopgraph.sparql.guard.install_network_guard`.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache, partial
from pathlib import Path
from typing import Any

import pyshacl
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH
from rdflib.term import Node

from coopgraph.errors import FormatError, ParseError
from coopgraph.graph.load import ProjectDataset, load_shapes
from coopgraph.graph.project import find_root, relative
from coopgraph.graph.sources import (
    Source,
    project_sources,
    source_prefixes,
    store_with_sources,
)
from coopgraph.graph.turtle import parse_turtle
from coopgraph.quality.report import (
    FileFinder,
    ValidationReport,
    file_finder,
    namespaces,
    results_of,
    store_file_finder,
)
from coopgraph.sparql.guard import install_network_guard

#: The SHACL engines: pySHACL (the reference) and pyshacl-turbo (pySHACL's API over a
#: SHACL engine written in Rust, several times faster; tests/test_validators.py shows it
#: gives the same report on the bundled graph, on generated graphs and on every shape's
#: fixtures).
VALIDATORS = ("pyshacl", "pyshacl-turbo")


#: What the progress callback is given when validation starts, after the files are loaded.
SHAPES_NAME = Path("(validating with pyshacl-turbo)")

#: How both engines are run: no ontology graph, no inference, nothing fetched, no SHACL-JS.
_OPTIONS = {
    "ont_graph": None,
    "inference": "none",
    "advanced": False,
    "abort_on_first": False,
    "allow_infos": True,
    "allow_warnings": True,
    "meta_shacl": False,
    "do_owl_imports": False,
    "js": False,
}


def default_validator() -> str:
    """pyshacl-turbo when it is installed, else pySHACL."""
    try:
        import pyshacl_turbo  # noqa: F401
    except ImportError:
        return "pyshacl"
    return "pyshacl-turbo"


def validate(
    ds: ProjectDataset,
    shapes: Graph,
    include_inferred: bool = False,
    validator: str | None = None,
) -> ValidationReport:
    """Validate the dataset's ontology and data graphs against ``shapes``.

    Args:
        ds: The loaded dataset.
        shapes: The SHACL shapes graph.
        include_inferred: Also validate the triples of the inferred graph, if attached.
        validator: ``pyshacl``, ``pyshacl-turbo``, or ``auto`` (the default:
            :func:`default_validator`).

    Returns:
        The report, one :class:`ValidationResult` per result.

    Raises:
        FormatError: for another validator.
    """
    if validator in (None, "", "auto"):
        validator = default_validator()
    if validator == "pyshacl":
        engine = pyshacl.validate
    elif validator == "pyshacl-turbo":
        import pyshacl_turbo

        engine = pyshacl_turbo.validate
    else:
        raise FormatError(validator, (*VALIDATORS, "auto"), "the SHACL validator")
    install_network_guard()
    data = ds.merged(include_inferred=include_inferred)
    conforms, report_graph, _ = engine(data, shacl_graph=shapes, inplace=True, **_OPTIONS)
    nsm = namespaces(ds.namespaces(), shapes.namespaces())
    results = results_of(report_graph, shapes, nsm, file_finder(ds))
    return ValidationReport(bool(conforms), results, report_graph, nsm)


def validate_project(
    root: str | Path | None = None,
    shapes: Graph | None = None,
    progress: Callable[[int, int, Path, float], None] | None = None,
    threads: int | None = None,
) -> ValidationReport:
    """Validate the project's ontology and data files with pyshacl-turbo, natively.

    The fast path of ``coopgraph validate``: every file is parsed natively into one graph
    (:func:`_native_graph`) that pyshacl-turbo reads without rdflib ever holding the
    data. Only when there are results is an Oxigraph store, one named graph per file,
    built to say which file each comes from. The report is the one :func:`validate` gives
    (tests/test_validators.py compares them). A file that the native parser rejects is
    parsed again with rdflib, so that its error reads as everywhere else in coopgraph
    (file, line, column).

    ``progress`` is called as files load, as by :func:`coopgraph.graph.load.build_dataset`, and
    once more (with :data:`SHAPES_NAME`) when validation starts.

    The shapes are validated in groups on ``threads`` threads (default: the cores this
    process may use), all reading the one dataset: pyshacl-turbo releases the GIL while it
    validates, and the groups' reports are merged into one (:func:`_merged_report`).

    Raises:
        MissingFileError, LayoutError, ParseError: as :func:`coopgraph.graph.load.build_dataset`.
    """
    import pyoxigraph as ox
    import pyshacl_turbo

    found = find_root(root or None)
    shapes = shapes if shapes is not None else load_shapes(found)
    sources = project_sources(found)
    data = _load_natively(sources, found, progress)
    install_network_guard()
    threads = threads if threads is not None else _cores()
    groups = _shape_groups(shapes, threads)
    if isinstance(data, ox.Store) or len(groups) < 2:
        conforms, report_graph, _ = pyshacl_turbo.validate(data, shacl_graph=shapes, **_OPTIONS)
    else:
        conforms, report_graph = _validate_in_groups(data, shapes, groups, threads)
    del data
    nsm = namespaces(source_prefixes(sources).items(), shapes.namespaces())
    files_of: FileFinder = lambda focus, path, value: ()  # noqa: E731
    if (None, SH.result, None) in report_graph:  # which file each result comes from
        graphs = store_with_sources(sources, found)
        names = {ox.NamedNode(s.graph): relative(s.path, found) for s in sources if s.graph}
        files_of = store_file_finder(graphs, names)
    results = results_of(report_graph, shapes, nsm, files_of)
    return ValidationReport(bool(conforms), results, report_graph, nsm)


def _load_natively(
    sources: list[Source], root: Path, progress: Callable[[int, int, Path, float], None] | None
) -> Any:
    """The project's files parsed into one native graph (:func:`_native_graph`), calling
    ``progress`` after each file and once more with :data:`SHAPES_NAME`."""
    import pyoxigraph as ox

    data = _native_graph()
    started = time.perf_counter()
    for done, source in enumerate(sources, 1):
        shown = relative(source.path, root)
        try:
            if isinstance(data, ox.Store):
                data.bulk_load(path=str(source.path), format=ox.RdfFormat.TURTLE)
            else:
                data.parse(str(source.path), format="turtle")
        except (SyntaxError, ValueError) as err:
            parse_turtle(source.path, Graph(), shown=shown)  # rdflib's error, as elsewhere
            line, column = getattr(err, "lineno", None), getattr(err, "offset", None)
            raise ParseError(shown, line, column, str(getattr(err, "msg", err))) from None
        if progress is not None:
            progress(done, len(sources), source.path, time.perf_counter() - started)
    if progress is not None:
        progress(len(sources), len(sources), SHAPES_NAME, time.perf_counter() - started)
    return data


#: How many groups of shapes each thread is given (more groups balance the threads
#: better; each group costs a few milliseconds to set up).
GROUPS_PER_THREAD = 4

#: The predicates that give a shape its focus nodes (SHACL 1.0, 2.1.3).
_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)


def _cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _shape_groups(shapes: Graph, threads: int) -> list[list[URIRef]]:
    """The shapes that have focus nodes of their own, dealt round-robin into groups.

    These are the shapes with a target, and the shapes that are also classes (implicit
    class targets, SHACL 1.0, 2.1.3.3); every other shape is reached only through them.
    One group (no split) when ``threads`` is 1 or when such a shape is a blank node, which
    pyshacl-turbo cannot be asked for by name.
    """
    targeted = {s for p in _TARGETS for s in shapes.subjects(p, None)}
    for kind in (SH.NodeShape, SH.PropertyShape):
        for shape in shapes.subjects(RDF.type, kind):
            if set(shapes.objects(shape, RDF.type)) & {RDFS.Class, OWL.Class}:
                targeted.add(shape)
    if threads < 2 or not targeted or any(not isinstance(s, URIRef) for s in targeted):
        return [sorted(targeted)] if targeted else []
    ordered = sorted(targeted)
    count = min(len(ordered), threads * GROUPS_PER_THREAD)
    return [ordered[i::count] for i in range(count)]


def _validate_in_groups(
    data: Any, shapes: Graph, groups: list[list[URIRef]], threads: int
) -> tuple[bool, Graph]:
    """Validate ``data`` against each group of shapes, on ``threads`` threads; the merged
    report (an exception in any group is raised here)."""
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="shacl") as pool:
        parts = list(pool.map(partial(_validate_group, data, shapes), groups))
    return _merged_report(parts)


def _validate_group(data: Any, shapes: Graph, group: list[URIRef]) -> tuple[bool, Graph]:
    """Validate ``data`` against the shapes of ``group`` only."""
    import pyshacl_turbo

    conforms, report, _ = pyshacl_turbo.validate(
        data, shacl_graph=shapes, use_shapes=[str(s) for s in group], **_OPTIONS
    )
    return bool(conforms), report


def _merged_report(parts: list[tuple[bool, Graph]]) -> tuple[bool, Graph]:
    """One SHACL validation report holding the results of every part's report.

    The first part's report node is kept; the other parts' results are attached to it
    (their blank nodes renamed apart), and ``sh:conforms`` is true when every part conforms.
    """
    merged = Graph()
    top: Node | None = None
    conforms = all(ok for ok, _ in parts)
    for _, report in parts:
        renamed: defaultdict[Node, BNode] = defaultdict(BNode)  # this part's blank nodes
        reports = set(report.subjects(RDF.type, SH.ValidationReport))
        if top is None and reports:
            top = renamed[next(iter(reports))]
        for s, p, o in report:
            o = renamed[o] if isinstance(o, BNode) else o
            if s in reports:
                if p == SH.result:
                    merged.add((top, p, o))
            else:
                merged.add((renamed[s] if isinstance(s, BNode) else s, p, o))
    if top is None:
        top = BNode()
    merged.add((top, RDF.type, SH.ValidationReport))
    merged.add((top, SH.conforms, Literal(conforms)))
    return conforms, merged


def _native_graph() -> Any:
    """An empty graph that pyshacl-turbo validates natively.

    An rdflib-turbo dataset, which pyshacl-turbo validates in place, when the installed
    rdflib-turbo pairs with the installed pyshacl-turbo (the two must be built from the
    same engine sources); else an Oxigraph store, which pyshacl-turbo first copies into a
    store of its own (about 6 s more at 1M triples, on one core).
    """
    import pyoxigraph as ox

    if _rdflib_turbo_pairs():
        import rdflib_turbo

        return rdflib_turbo.Dataset()
    return ox.Store()


@cache
def _rdflib_turbo_pairs() -> bool:
    """Whether pyshacl-turbo validates an rdflib-turbo dataset here (tried on an empty one)."""
    try:
        import pyshacl_turbo
        import rdflib_turbo

        pyshacl_turbo.validate(rdflib_turbo.Dataset(), shacl_graph=Graph(), **_OPTIONS)
    except Exception:  # noqa: BLE001 - missing, or built from other engine sources
        return False
    return True
