"""What changed between two versions of the graph, in words a curator reads.

The two graphs are compared as sets of triples (the union of their named graphs). Each
change is put under the resource it is about, named by its label and prefixed name, e.g.::

    ## INTERPOL (o:interpol)
    - Added: member of: United Nations (o:un)
    - Changed: label from "ICPO" to "INTERPOL"
    - Removed: alternative label "ICPO"

A property that lost one value and gained another is one "Changed" line. Blank nodes
(OWL axioms such as ``owl:AllDisjointClasses`` or restrictions) have no name to compare by:
each is written out in words (``[all disjoint classes: members (agreement, resolution)]``)
and compared as that text, under the resource that refers to it (or under "Axioms without
a name" when nothing does).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS, XSD, NamespaceManager
from rdflib.term import Node

from coopgraph.terms import short

#: Names of common properties of other vocabularies, where the graph gives none.
PROPERTY_NAMES = {
    RDF.type: "type",
    RDFS.label: "label",
    RDFS.comment: "comment",
    RDFS.subClassOf: "subclass of",
    RDFS.subPropertyOf: "subproperty of",
    RDFS.domain: "domain",
    RDFS.range: "range",
    RDFS.isDefinedBy: "defined by",
    RDFS.seeAlso: "see also",
    SKOS.prefLabel: "preferred label",
    SKOS.altLabel: "alternative label",
    SKOS.definition: "definition",
    SKOS.inScheme: "in scheme",
    SKOS.broader: "broader concept",
    SKOS.narrower: "narrower concept",
    SKOS.editorialNote: "editorial note",
    SKOS.scopeNote: "scope note",
    SKOS.note: "note",
    OWL.versionIRI: "version IRI",
    OWL.versionInfo: "version",
    OWL.imports: "imports",
    OWL.inverseOf: "inverse of",
    OWL.disjointWith: "disjoint with",
    OWL.equivalentClass: "equivalent class",
    OWL.members: "members",
    OWL.onProperty: "on property",
    OWL.someValuesFrom: "some values from",
    OWL.allValuesFrom: "all values from",
    OWL.unionOf: "union of",
    OWL.AllDisjointClasses: "all disjoint classes",
    OWL.Restriction: "restriction",
    DCTERMS.title: "title",
    DCTERMS.description: "description",
    DCTERMS.modified: "modified",
    DCTERMS.created: "created",
    DCTERMS.issued: "issued",
    DCTERMS.license: "license",
}
_LABELS = (RDFS.label, SKOS.prefLabel, DCTERMS.title)
ANONYMOUS = "Axioms without a name"


@dataclass(frozen=True)
class Written:
    """A blank-node structure written out in words (it is compared as this text)."""

    text: str


Value = Node | Written


@dataclass
class PropertyChange:
    """The values a property gained and lost on one resource."""

    predicate: URIRef
    added: list[Value] = field(default_factory=list)
    removed: list[Value] = field(default_factory=list)


@dataclass
class ResourceChanges:
    """The changes about one resource.

    Attributes:
        subject: The resource (``None`` for axioms without a name).
        heading: How it is named: its label and prefixed name.
        status: ``new`` (it had no statements before), ``removed`` (it has none now) or
            ``changed``.
        lines: One line per change, e.g. ``Added: member of: United Nations (o:un)``.
    """

    subject: Node | None
    heading: str
    status: str
    lines: list[str]


@dataclass
class ChangeLog:
    """The difference between a release and the one before.

    Attributes:
        version: The new release.
        previous: The release compared with (``None``: the first release).
        added: Triples in the new graph only.
        removed: Triples in the old graph only.
        resources: The changes, grouped by resource.
    """

    version: str
    previous: str | None
    added: int
    removed: int
    resources: list[ResourceChanges]
    triples: int = 0

    def summary(self) -> str:
        """One line: what changed, in numbers."""
        if self.previous is None:
            return f"first release: {self.triples} triples, nothing to compare with"
        if not self.resources:
            return f"no change since {self.previous}"
        return (
            f"{self.added} triples added and {self.removed} removed since {self.previous}, "
            f"about {len(self.resources)} resources"
        )

    def markdown(self, compared_with: str = "") -> str:
        """The change log as Markdown."""
        out = [f"# coopgraph {self.version}", ""]
        if self.previous is None:
            out += [
                f"First release ({self.triples} triples): there is no earlier release to "
                "compare it with.",
                "",
            ]
            return "\n".join(out)
        where = f" ({compared_with})" if compared_with else ""
        out += [
            f"Compared with release {self.previous}{where}: {self.added} triples added and "
            f"{self.removed} removed, about {len(self.resources)} resources.",
            "",
        ]
        if not self.resources:
            out += ["Nothing was added or removed.", ""]
        for resource in self.resources:
            prefix = {"new": "New: ", "removed": "Removed: "}.get(resource.status, "")
            out += [f"## {prefix}{resource.heading}", ""]
            out += [f"- {line}" for line in resource.lines]
            out.append("")
        return "\n".join(out)


def compare(
    old: Graph, new: Graph, version: str, previous: str | None, nsm: NamespaceManager
) -> ChangeLog:
    """Compare two graphs (the previous release's and the new one's).

    Args:
        old: The previous release's triples (``previous`` names it; ignored when ``None``).
        new: The new release's triples.
        version: The new release.
        previous: The previous release, or ``None`` for a first release.
        nsm: Prefixes to write IRIs with.
    """
    if previous is None:
        return ChangeLog(version, None, len(new), 0, [], triples=len(new))
    names = _Names(new, old, nsm)
    before, after = _statements(old, names), _statements(new, names)
    gained, lost = after - before, before - after
    subjects_before = {s for s, _, _ in before}
    subjects_after = {s for s, _, _ in after}
    grouped: dict[Node | None, dict[URIRef, PropertyChange]] = defaultdict(dict)
    for triples, side in ((gained, "added"), (lost, "removed")):
        for s, p, o in triples:
            change = grouped[s].setdefault(p, PropertyChange(p))
            getattr(change, side).append(o)
    resources = []
    for subject, changes in grouped.items():
        if subject is None:
            status, heading = "changed", ANONYMOUS
        else:
            heading = names.heading(subject)
            status = (
                "new"
                if subject not in subjects_before
                else "removed"
                if subject not in subjects_after
                else "changed"
            )
        lines = []
        for change in sorted(changes.values(), key=lambda c: names.prop(c.predicate)):
            lines += _lines(change, names)
        resources.append(ResourceChanges(subject, heading, status, lines))
    resources.sort(key=lambda r: (r.subject is None, r.heading.casefold()))
    return ChangeLog(version, previous, len(gained), len(lost), resources, triples=len(new))


def _lines(change: PropertyChange, names: _Names) -> list[str]:
    prop = names.prop(change.predicate)
    added = sorted(names.value(v) for v in change.added)
    removed = sorted(names.value(v) for v in change.removed)
    if len(added) == 1 and len(removed) == 1:
        return [f"Changed: {prop} from {removed[0]} to {added[0]}"]
    return [f"Added: {prop}: {v}" for v in added] + [f"Removed: {prop}: {v}" for v in removed]


def _statements(graph: Graph, names: _Names) -> set[tuple[Node | None, URIRef, Value]]:
    """The graph's triples, blank nodes written out: (subject, predicate, value)."""
    found: set[tuple[Node | None, URIRef, Value]] = set()
    for s, p, o in graph:
        if isinstance(s, BNode):
            continue
        value: Value = Written(_write(graph, o, names, set())) if isinstance(o, BNode) else o
        found.add((s, URIRef(p), value))
    for node in set(graph.subjects()):
        if isinstance(node, BNode) and (None, None, node) not in graph:
            found.add((None, RDF.type, Written(_write(graph, node, names, set()))))
    return found


def _write(graph: Graph, node: Node, names: _Names, seen: set[Node]) -> str:
    """A blank node and everything below it, in words, the same whatever its id."""
    if not isinstance(node, BNode):
        return names.value(node)
    if node in seen:
        return "[...]"
    seen = seen | {node}
    if (node, RDF.first, None) in graph:
        items = [_write(graph, item, names, seen) for item in Collection(graph, node)]
        return "(" + ", ".join(items) + ")"
    types = sorted(names.value(t) for t in graph.objects(node, RDF.type))
    parts = [
        f"{names.prop(p)} {_write(graph, o, names, seen)}"
        for p, o in graph.predicate_objects(node)
        if p != RDF.type
    ]
    head = ", ".join(types)
    return "[" + head + (": " if head and parts else "") + "; ".join(sorted(parts)) + "]"


class _Names:
    """Labels and prefixed names of the nodes, from the new graph, else the old one."""

    def __init__(self, new: Graph, old: Graph, nsm: NamespaceManager) -> None:
        self.graphs = (new, old)
        self.nsm = nsm

    def label(self, node: Node) -> str:
        for graph in self.graphs:
            for prop in _LABELS:
                values = [v for v in graph.objects(node, prop) if isinstance(v, Literal)]
                english = [v for v in values if v.language in ("en", None)]
                if english or values:
                    return str(sorted(english or values)[0])
        return ""

    def heading(self, node: Node) -> str:
        label = self.label(node)
        name = short(node, self.nsm)
        return f"{label} ({name})" if label else name

    def prop(self, predicate: URIRef) -> str:
        return self.label(predicate) or PROPERTY_NAMES.get(predicate) or short(predicate, self.nsm)

    def value(self, node: Value) -> str:
        if isinstance(node, Written):
            return node.text
        if isinstance(node, Literal):
            return _literal(node, self.nsm)
        if isinstance(node, URIRef) and node in PROPERTY_NAMES and not self.label(node):
            return f"{PROPERTY_NAMES[node]} ({short(node, self.nsm)})"
        return self.heading(node)


def _literal(node: Literal, nsm: NamespaceManager) -> str:
    text = '"' + " ".join(str(node).split()) + '"'
    if node.language and node.language != "en":
        return f"{text}@{node.language}"
    if node.datatype is not None and node.datatype != XSD.string:
        return f"{text} ({short(node.datatype, nsm)})"
    return text
