"""Check the graph with HermiT, a complete OWL 2 DL reasoner, and explain what it finds wrong.

OWL 2 RL (:mod:`coopgraph.reason`) is sound but incomplete: it misses clashes that need
reasoning by cases. HermiT decides consistency and class satisfiability for all of OWL 2 DL.
It is run through owlready2, which bundles it; it needs a Java runtime (``java`` on PATH).

The run, :func:`check`:

- every ontology module and every data graph (plus extra files, :func:`add_files`) is
  written as N-Triples into a temporary folder and loaded into a fresh owlready2
  ``World`` (never owlready2's global default world), one owlready2 ontology per graph;
- ``owl:imports`` are resolved locally: each must name a module of ``ontology/`` (by its
  ontology IRI or version IRI, as ``catalog-v001.xml`` does), and since every module is
  loaded anyway the import triples are not handed to owlready2, which would otherwise try
  to download them;
- the data's days and years (``xsd:date``, ``xsd:gYear``, outside the OWL 2 datatype map)
  are values of annotation properties, which HermiT ignores; a literal of such a datatype
  on a data property (in an extra file, say) is read as an opaque value and counted in
  :attr:`DLReport.opaque_literals`;
- owlready2's and Java's chatter is captured, never printed.

HermiT says *whether* the graph is inconsistent, not why. :func:`explain_inconsistency`
computes a justification, a minimal set of axioms that is inconsistent on its own, by the
black-box method (HermiT is only asked "consistent?"), kept small and fast in three ways:

1. **relevance**: a set of facts is always checked with the ⊤⊥* syntactic locality module
   of the TBox for the facts' signature (no reasoning; the facts with it are consistent
   exactly when they are with the whole TBox, and it holds every justification, Sattler et
   al. 2009), not with the whole TBox;
2. **expand**: start from the suspects (the facts of the extra files; a witness instance of
   an unsatisfiable class; with neither, the smallest data graph of a minimal clashing set
   of graphs) and ask HermiT; while consistent, add the facts about the individuals met so
   far, nearest first (their types, their other facts, the facts that point at them), and
   ask again;
3. **contract**: drop facts while the rest still clashes, then TBox axioms, starting from
   the axioms reached upwards from the facts when HermiT confirms they are enough; one by
   one for a few candidates, by QuickXplain (Junker 2004) for many.

The axioms and their locality modules are :mod:`coopgraph.quality.dl_axioms`, the
explanations :mod:`coopgraph.quality.dl_explain`, the HermiT run :mod:`coopgraph.quality.hermit`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import owlready2
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, NamespaceManager
from rdflib.term import Node

from coopgraph.errors import LayoutError, MissingFileError
from coopgraph.graph.load import ProjectDataset, load_files
from coopgraph.graph.project import GraphKind
from coopgraph.quality.dl_axioms import (
    _ANNOTATIONS,
    OWL2_DATATYPES,
    Axiom,
    collect,
)
from coopgraph.quality.dl_explain import MAX_CHECKS, Explanation, explain_inconsistency
from coopgraph.quality.hermit import QUICK_UP_TO, run_hermit

#: The most unsatisfiable classes explained in one run (each costs a few HermiT runs).
MAX_EXPLAINED = 3


# --------------------------------------------------------------------------- axioms


# --------------------------------------------------------------------------- locality


# --------------------------------------------------------------------------- HermiT


# --------------------------------------------------------------------------- the check


@dataclass
class DLReport:
    """The outcome of a HermiT run on the graph.

    Attributes:
        consistent: Whether HermiT found the graph consistent.
        unsatisfiable: The named classes that can have no instance (empty when inconsistent:
            HermiT classifies only a consistent graph).
        seconds: How long HermiT took (loading, reasoning).
        modules: The ontology modules checked.
        data_graphs: The data graphs checked (extra files included).
        triples: The triples checked.
        opaque_literals: Datatype -> how many literals of a datatype outside the OWL 2
            datatype map HermiT read as opaque values.
        explanations: Why the graph is inconsistent, or why classes are unsatisfiable.
        unexplained: What was not explained, and why (given up, or not asked for).
    """

    consistent: bool
    unsatisfiable: list[URIRef]
    seconds: float
    modules: int
    data_graphs: int
    triples: int
    opaque_literals: dict[URIRef, int]
    explanations: list[Explanation] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Consistent and without unsatisfiable classes."""
        return self.consistent and not self.unsatisfiable


def add_files(ds: ProjectDataset, paths: Iterable[str | Path]) -> list[URIRef]:
    """Load extra Turtle files into ``ds``, each into its graph, and return the graphs' names.

    Raises:
        MissingFileError: when a file does not exist.
        LayoutError: when a file is already part of the project's graph.
        ParseError: for a Turtle syntax error.
    """
    extra = load_files(paths, ds.root)
    names = []
    for name in extra.asserted_graphs():
        if name in ds.kinds:
            raise LayoutError(
                f"{extra.file_of(name)}: already part of the project's graph; give only "
                "files that are not under ontology/ or data/"
            )
        ds.attach(extra.graph(name), extra.kinds[name])
        ds.files[name] = extra.files[name]
        names.append(name)
    for prefix, namespace in extra.namespaces():
        ds.bind(prefix, namespace, override=False)
    return names


def reasoner_input(ds: ProjectDataset) -> list[tuple[str | None, Graph]]:
    """The graphs handed to owlready2: each module under its IRI, then each data graph.

    Raises:
        MissingFileError: when a module imports an ontology that is not in ``ontology/``.
    """
    modules = ds.graphs_of(GraphKind.ONTOLOGY)
    known = set(modules)
    for name in modules:
        known.update(ds.graph(name).objects(name, OWL.versionIRI))
    graphs: list[tuple[str | None, Graph]] = []
    for name in modules:
        graph = Graph()
        for s, p, o in ds.graph(name):
            if p == OWL.imports:
                if o not in known:
                    raise MissingFileError(
                        f"{ds.file_of(name)}: imports <{o}>, which is not one of the "
                        "project's ontology files; the DL check reads imports from ontology/ "
                        "only, never from the network"
                    )
                continue
            graph.add((s, p, o))
        graphs.append((str(name), graph))
    for name in ds.asserted_graphs():
        if name not in known:
            graph = Graph()
            graph.addN((s, p, o, graph) for s, p, o in ds.graph(name))
            graphs.append((None, graph))
    return graphs


def opaque_literals(graph: Graph) -> dict[URIRef, int]:
    """Count the literals whose datatype is outside the OWL 2 datatype map, on properties
    that are not annotation properties (HermiT reads those as opaque values)."""
    annotations = set(graph.subjects(RDF.type, OWL.AnnotationProperty)) | _ANNOTATIONS
    counts = Counter(
        o.datatype
        for _, p, o in graph
        if isinstance(o, Literal)
        and o.datatype is not None
        and o.datatype not in OWL2_DATATYPES
        and p not in annotations
    )
    return dict(sorted(counts.items()))


def check(ds: ProjectDataset, explain: bool = True, max_checks: int = MAX_CHECKS) -> DLReport:
    """Run HermiT on the dataset's asserted graphs and explain what it finds wrong.

    Args:
        ds: The loaded dataset (ontology, data, and any extra files added with
            :func:`add_files`); never changed.
        explain: Explain an inconsistency, or up to :data:`MAX_EXPLAINED` unsatisfiable
            classes.
        max_checks: The most HermiT runs one explanation may take.

    Raises:
        ReasonerError: when Java is missing or HermiT fails.
        MissingFileError: when a module imports an ontology that is not in ``ontology/``.
    """
    graphs = reasoner_input(ds)
    union = ds.merged()
    start = time.monotonic()
    consistent, unsatisfiable = run_hermit(graphs, quick=len(union) <= QUICK_UP_TO)
    report = DLReport(
        consistent=consistent,
        unsatisfiable=unsatisfiable,
        seconds=time.monotonic() - start,
        modules=len(ds.graphs_of(GraphKind.ONTOLOGY)),
        data_graphs=len(graphs) - len(ds.graphs_of(GraphKind.ONTOLOGY)),
        triples=len(union),
        opaque_literals=opaque_literals(union),
    )
    if report.ok:
        return report
    if not explain:
        report.unexplained.append("not explained (--no-explain)")
        return report
    axioms = collect(ds)
    targets: list[URIRef | None] = [None] if not consistent else list(unsatisfiable)
    for target in targets[:MAX_EXPLAINED]:
        found = explain_inconsistency(axioms, target, max_checks)
        if isinstance(found, Explanation):
            report.explanations.append(found)
        else:
            report.unexplained.append(found if target is None else f"<{target}>: {found}")
    if len(targets) > MAX_EXPLAINED:
        report.unexplained.append(
            f"{len(targets) - MAX_EXPLAINED} more unsatisfiable classes not explained"
        )
    return report


# --------------------------------------------------------------------------- explanations


# --------------------------------------------------------------------------- rendering


def render_axiom(axiom: Axiom, nm: NamespaceManager) -> str:
    """Write ``axiom`` as one readable line, with CURIEs."""

    def n(term: Node) -> str:
        return term.n3(nm)

    kind, t = axiom.kind, axiom.terms
    simple = {
        "type": "{0} a {1}",
        "sub": "{0} ⊑ {1}",
        "equiv": "{0} ≡ {1}",
        "disjoint": "{0} disjointWith {1}",
        "domain": "{0} domain {1}",
        "range": "{0} range {1}",
        "drange": "{0} range {1}",
        "subprop": "{0} ⊑ {1}",
        "inverse": "{0} inverseOf {1}",
        "equivprop": "{0} ≡ {1}",
        "disjointprop": "{0} propertyDisjointWith {1}",
        "char": "{0} a {1}",
        "same": "{0} sameAs {1}",
        "different": "{0} differentFrom {1}",
        "fact": "{0} {1} {2}",
        "data": "{0} {1} {2}",
    }
    if kind in simple:
        return simple[kind].format(*(n(x) for x in t))
    if kind == "alldisjoint":
        return f"AllDisjointClasses({', '.join(n(x) for x in t)})"
    return " . ".join(f"{n(s)} {n(p)} {n(o)}" for s, p, o in sorted(axiom.triples))


def render(report: DLReport, ds: ProjectDataset) -> str:
    """The report as text for a person: verdict, unsatisfiable classes, time, explanations."""
    nm = ds.namespace_manager
    lines = [
        f"HermiT (OWL 2 DL, through owlready2 {owlready2.VERSION}): {report.modules} ontology "
        f"modules, {report.data_graphs} data graphs, {report.triples} triples",
        "consistent: " + ("yes" if report.consistent else "NO, the graph is inconsistent"),
    ]
    if not report.consistent:
        lines.append("unsatisfiable classes: unknown (HermiT classifies only a consistent graph)")
    elif report.unsatisfiable:
        names = ", ".join(c.n3(nm) for c in report.unsatisfiable)
        lines.append(f"unsatisfiable classes ({len(report.unsatisfiable)}): {names}")
    else:
        lines.append("unsatisfiable classes: none")
    lines.append(f"time: {report.seconds:.1f} s")
    if report.opaque_literals:
        counts = ", ".join(f"{d.n3(nm)} {c}" for d, c in report.opaque_literals.items())
        total = sum(report.opaque_literals.values())
        lines.append(
            f"note: HermiT read {total} literal{'s' * (total != 1)} of datatypes outside the "
            f"OWL 2 datatype map as opaque values ({counts})"
        )
    for explanation in report.explanations:
        lines.append("")
        lines.extend(render_explanation(explanation, ds))
    lines.extend(f"explanation: {reason}" for reason in report.unexplained)
    return "\n".join(lines) + "\n"


def render_explanation(explanation: Explanation, ds: ProjectDataset) -> list[str]:
    """The explanation's lines: a heading, then one axiom a line with the files stating it."""
    nm = ds.namespace_manager
    if explanation.unsatisfiable is None:
        what, clash = "the graph is inconsistent", "clash"
    else:
        what = f"{explanation.unsatisfiable.n3(nm)} is unsatisfiable"
        clash = "leave it no possible instance"
    lines = [
        f"why {what}: these {len(explanation.axioms)} axioms {clash}, and none can be left "
        f"out (found with {explanation.checks} HermiT runs in {explanation.seconds:.1f} s):"
    ]
    texts = [render_axiom(axiom, nm) for axiom in explanation.axioms]
    width = min(max((len(text) for text in texts), default=0), 60)
    for axiom, text in zip(explanation.axioms, texts, strict=True):
        files = ", ".join(ds.file_of(g) or str(g) for g in explanation.origins.get(axiom, []))
        lines.append(f"  {text:<{width}}  [{files}]" if files else f"  {text}")
    return lines
