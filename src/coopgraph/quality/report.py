"""The SHACL validation report: what it holds (:class:`ValidationReport`, one
:class:`ValidationResult` per result, with the files that state what it is about), read from
pyshacl's results graph, and written as text, Turtle or JSON."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from itertools import groupby
from typing import Any

from rdflib import BNode, Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import RDF, SH, NamespaceManager
from rdflib.term import Node

from coopgraph.errors import FormatError
from coopgraph.graph.load import ProjectDataset
from coopgraph.terms import short, term_json

SEVERITY_ORDER = (SH.Violation, SH.Warning, SH.Info)


FileFinder = Callable[[Node | None, Node | None, Node | None], tuple[str, ...]]


@dataclass(frozen=True)
class ValidationResult:
    """One SHACL result (``sh:ValidationResult``) of the report.

    Attributes:
        severity: ``sh:Violation``, ``sh:Warning`` or ``sh:Info``.
        shape: The shape that produced the result (``sh:sourceShape``).
        shape_name: The shape as a person reads it; for a blank-node property shape, the
            node shape holding it and the property path.
        focus: The node that failed (``sh:focusNode``).
        path: ``sh:resultPath`` as written in SPARQL property-path syntax, or ``""``.
        value: ``sh:value``, the value that failed, if any.
        message: The ``sh:resultMessage`` text(s).
        component: ``sh:sourceConstraintComponent``.
        files: The data files in which the focus node is a subject.
    """

    severity: URIRef
    shape: Node | None
    shape_name: str
    focus: Node | None
    path: str
    value: Node | None
    message: str
    component: URIRef | None
    files: tuple[str, ...]

    @property
    def severity_name(self) -> str:
        """The severity's local name: ``Violation``, ``Warning`` or ``Info``."""
        return str(self.severity).rsplit("#", 1)[-1]


@dataclass
class ValidationReport:
    """The outcome of a validation run.

    Attributes:
        conforms: True when no result is a violation.
        results: One entry per result, sorted by severity, shape and focus node.
        graph: pyshacl's report graph (``sh:ValidationReport``).
        namespaces: Prefixes to write nodes with.
    """

    conforms: bool
    results: list[ValidationResult]
    graph: Graph
    namespaces: NamespaceManager = field(repr=False)

    def counts(self) -> Counter[str]:
        """Return the number of results per severity name."""
        return Counter(r.severity_name for r in self.results)

    def files(self) -> list[str]:
        """Return the data files that hold a failing focus node, sorted."""
        return sorted({f for r in self.results for f in r.files})


def store_file_finder(store, shown: dict) -> FileFinder:
    """As :func:`file_finder`, over the named graphs of an Oxigraph store."""
    from coopgraph.terms import rdflib_to_ox

    def term(node: Node | None):
        # Blank nodes are not shared between rdflib and the store: they match anything.
        return None if node is None or isinstance(node, BNode) else rdflib_to_ox(node)

    def holding(s: Node, p: Node | None, o: Node | None) -> tuple[str, ...]:
        if term(s) is None:
            return ()
        graphs = {q.graph_name for q in store.quads_for_pattern(term(s), term(p), term(o))}
        return tuple(sorted({shown[g] for g in graphs if g in shown}))

    return _finder(holding)


def namespaces(*bindings: Iterable[tuple[str, Any]]) -> NamespaceManager:
    """The prefixes of the data and of the shapes, for writing nodes (the first binding of
    a prefix wins)."""
    nsm = NamespaceManager(Graph(), bind_namespaces="none")
    for pairs in bindings:
        for prefix, namespace in pairs:
            nsm.bind(prefix, namespace, override=False)
    return nsm


def results_of(
    report: Graph, shapes: Graph, nsm: NamespaceManager, files_of: FileFinder
) -> list[ValidationResult]:
    # A property shape shared by two node shapes that target the same node (a signing is
    # also an event) reports the same result twice; one is enough.
    found = list(
        dict.fromkeys(
            _result(report, node, shapes, nsm, files_of)
            for top in report.subjects(RDF.type, SH.ValidationReport)
            for node in report.objects(top, SH.result)
        )
    )
    rank = {sev: i for i, sev in enumerate(SEVERITY_ORDER)}
    found.sort(key=lambda r: (rank.get(r.severity, 9), r.shape_name, short(r.focus, nsm)))
    return found


def _result(
    report: Graph, node: Node, shapes: Graph, nsm: NamespaceManager, files_of: FileFinder
) -> ValidationResult:
    value = report.value
    shape = value(node, SH.sourceShape)
    focus = value(node, SH.focusNode)
    messages = sorted(str(m) for m in report.objects(node, SH.resultMessage))
    path = value(node, SH.resultPath)
    return ValidationResult(
        severity=URIRef(value(node, SH.resultSeverity) or SH.Violation),
        shape=shape,
        shape_name=shape_name(shape, shapes, nsm),
        focus=focus,
        path=path_text(report, path, nsm) if path is not None else "",
        value=value(node, SH.value),
        message="; ".join(messages),
        component=value(node, SH.sourceConstraintComponent),
        files=files_of(focus, path, value(node, SH.value)),
    )


def file_finder(ds: ProjectDataset) -> FileFinder:
    """The files of the dataset ``ds`` that a result is about (see :func:`_finder`)."""
    asserted = [n for n in ds.asserted_graphs() if n in ds.files]

    def holding(s: Node, p: Node | None, o: Node | None) -> tuple[str, ...]:
        found = {ds.file_of(n) for n in asserted if (s, p, o) in ds.graph(n)}
        return tuple(sorted(f for f in found if f))

    return _finder(holding)


def _finder(holding: Callable[[Node, Node | None, Node | None], tuple[str, ...]]) -> FileFinder:
    """Return a memoised function: (focus, path, value) -> the files to look at.

    These are the files holding the failing triple ``focus path value`` when the path is
    a single property; otherwise (or when no file holds it, as for a missing value) the
    files in which the focus node is a subject. ``holding`` names the files that hold a
    triple pattern.
    """

    @cache
    def files_of(focus: Node | None, path: Node | None, value: Node | None) -> tuple[str, ...]:
        if focus is None:
            return ()
        if isinstance(path, URIRef):
            exact = holding(focus, path, value)
            if exact:
                return exact
        return holding(focus, None, None)

    return files_of


def shape_name(shape: Node | None, shapes: Graph, nsm: NamespaceManager) -> str:
    """Return a readable name for ``shape``.

    A named shape is its prefixed IRI. A blank-node property shape is named after the
    node shape that holds it and its path, e.g. ``shp:AgreementShape / coop:hasParty``.
    """
    if shape is None:
        return "(no shape)"
    if not isinstance(shape, BNode):
        return short(shape, nsm)
    parent = shapes.value(None, SH.property, shape)
    path = shapes.value(shape, SH.path)
    shown_path = path_text(shapes, path, nsm) if path is not None else "?"
    owner = short(parent, nsm) if parent is not None else "(anonymous shape)"
    return f"{owner} / {shown_path}"


def path_text(graph: Graph, path: Node, nsm: NamespaceManager) -> str:
    """Write a SHACL property path (SHACL 1.0, section 2.3.1) in SPARQL path syntax."""
    if isinstance(path, URIRef):
        return short(path, nsm)
    if (path, RDF.first, None) in graph:
        return "/".join(path_text(graph, p, nsm) for p in Collection(graph, path))
    unary = {SH.inversePath: "^{}", SH.zeroOrMorePath: "{}*", SH.oneOrMorePath: "{}+"}
    unary[SH.zeroOrOnePath] = "{}?"
    for prop, pattern in unary.items():
        inner = graph.value(path, prop)
        if inner is not None:
            return pattern.format(_grouped(graph, inner, nsm))
    alternatives = graph.value(path, SH.alternativePath)
    if alternatives is not None:
        return (
            "(" + "|".join(path_text(graph, p, nsm) for p in Collection(graph, alternatives)) + ")"
        )
    return short(path, nsm)


def _grouped(graph: Graph, path: Node, nsm: NamespaceManager) -> str:
    text = path_text(graph, path, nsm)
    return text if isinstance(path, URIRef) or text.startswith("(") else f"({text})"


FORMATS = ("text", "turtle", "json")


def render_report(report: ValidationReport, fmt: str = "text") -> str:
    """Return the report in format ``fmt``.

    Args:
        report: The validation report.
        fmt: ``text`` (grouped by shape, with a summary line), ``turtle`` (pyshacl's
            ``sh:ValidationReport`` graph) or ``json``.

    Raises:
        FormatError: for any other format.
    """
    if fmt == "text":
        return render_text(report)
    if fmt == "turtle":
        return report.graph.serialize(format="turtle")
    if fmt == "json":
        return render_json(report)
    raise FormatError(fmt, FORMATS, "the validation report")


def summary(report: ValidationReport) -> str:
    """Return the one-line verdict, e.g. ``Does not conform: 2 violations, 1 warning ...``."""
    counts = report.counts()
    parts = [
        _plural(counts[name], name.lower())
        for name in ("Violation", "Warning", "Info")
        if counts[name] or name == "Violation"
    ]
    files = report.files()
    where = f" in {_plural(len(files), 'file')}" if files else ""
    verdict = "Conforms" if report.conforms else "Does not conform"
    return f"{verdict}: {', '.join(parts)}{where}."


def _plural(n: int, word: str) -> str:
    if word == "info":
        return f"{n} info"
    return f"{n} {word}" + ("" if n == 1 else "s")


def render_text(report: ValidationReport) -> str:
    """Return the report for a person: one block per shape, then the summary line."""
    lines: list[str] = []
    key = _group_key
    for (severity, shape), group in groupby(report.results, key=key):
        results = list(group)
        messages = {r.message for r in results}
        lines.append(f"{severity} {shape} ({_plural(len(results), 'result')})")
        if len(messages) == 1:
            lines.append(f"  {messages.pop()}")
        for result in results:
            lines.append("  - " + _result_line(report, result, show_message=len(messages) > 1))
        lines.append("")
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


def _group_key(result: ValidationResult) -> tuple[str, str]:
    return result.severity_name, result.shape_name


def _result_line(report: ValidationReport, result: ValidationResult, show_message: bool) -> str:
    nsm = report.namespaces
    parts = [short(result.focus, nsm)]
    if result.path:
        parts.append(result.path)
    if result.value is not None:
        parts.append(f"value {short(result.value, nsm)}")
    parts.append("[" + (", ".join(result.files) or "not a subject in any data file") + "]")
    if show_message and result.message:
        parts.append(f"- {result.message}")
    return "  ".join(parts)


def render_json(report: ValidationReport) -> str:
    """Return the report as JSON: the verdict, counts per severity, and every result."""
    counts = report.counts()
    document = {
        "conforms": report.conforms,
        "summary": summary(report),
        "counts": {name: counts[name] for name in ("Violation", "Warning", "Info")},
        "results": [_result_json(r) for r in report.results],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _result_json(result: ValidationResult) -> dict[str, object]:
    return {
        "severity": result.severity_name,
        "shape": str(result.shape) if result.shape is not None else None,
        "shapeName": result.shape_name,
        "focusNode": term_json(result.focus) if result.focus is not None else None,
        "path": result.path or None,
        "value": term_json(result.value) if result.value is not None else None,
        "message": result.message,
        "constraintComponent": str(result.component) if result.component else None,
        "files": list(result.files),
    }
