"""The parts of the ontology's documentation: where its pages go (:class:`Layout`), the
pages themselves, the links, concepts and concept schemes they show, and how a term is
named (its anchor) and labelled on them.

:mod:`coopgraph.publish.docs` builds the documentation from these;
:mod:`coopgraph.publish.pylode_pages` writes its pages with pyLODE.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS
from rdflib.term import Node

from coopgraph.namespace import ID
from coopgraph.terms import short

#: The classes and properties pyLODE documents, by the type it files them under.
TERM_TYPES = (
    OWL.Class,
    OWL.ObjectProperty,
    OWL.DatatypeProperty,
    OWL.AnnotationProperty,
    OWL.FunctionalProperty,
    RDF.Property,
)


SCHEMES_SPACE = str(ID["scheme/"])


LABELS = (SKOS.prefLabel, RDFS.label, DCTERMS.title)


NOTES = (
    ("Scope note", SKOS.scopeNote),
    ("Note", SKOS.note),
    ("Editorial note", SKOS.editorialNote),
    ("Example", SKOS.example),
)


@dataclass(frozen=True)
class Layout:
    """Where each file of the documentation lives, as a path with ``/``.

    Attributes:
        index: The ontology page.
        diagram: The class diagram (SVG).
        schemes: A concept scheme's page, with ``{name}`` for the scheme's name.
        formats: The ontology in RDF formats, as (label, path), shown on the index.
    """

    index: str
    diagram: str
    schemes: str
    formats: tuple[tuple[str, str], ...] = ()

    def scheme(self, name: str) -> str:
        """The path of the page of scheme ``name``."""
        return self.schemes.format(name=name)

    @staticmethod
    def link(source: str, target: str) -> str:
        """The relative link from the file at ``source`` to the one at ``target``."""
        return posixpath.relpath(target, posixpath.dirname(source) or ".")


#: The folder that `coopgraph docs` writes.
FILES = Layout(index="index.html", diagram="classes.svg", schemes="schemes/{name}.html")


@dataclass
class Page:
    """One HTML page: the whole document, and its parts for embedding in a site.

    Attributes:
        title: The page's title.
        html: The standalone document.
        head: The content of ``<head>`` but its title and meta tags (pyLODE's style sheet
            and its schema.org JSON-LD).
        body: The content of ``<body>``.
    """

    title: str
    html: str
    head: str
    body: str


@dataclass(frozen=True)
class Link:
    """A link: its text, its target, and a tooltip."""

    text: str
    href: str
    title: str = ""


@dataclass
class Concept:
    """A concept of a scheme, as its page shows it."""

    iri: URIRef
    anchor: str
    label: str
    alt_labels: list[str] = field(default_factory=list)
    definition: str = ""
    types: list[Link] = field(default_factory=list)
    broader: list[Link] = field(default_factory=list)
    narrower: list[Link] = field(default_factory=list)
    related: list[Link] = field(default_factory=list)
    notation: list[str] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Scheme:
    """A concept scheme and its concepts, sorted by label."""

    iri: URIRef
    name: str
    title: str
    concepts: list[Concept]
    graph: Graph = field(repr=False)
    alt_labels: list[str] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)
    types: list[Link] = field(default_factory=list)


@dataclass
class Documentation:
    """The documentation, built.

    Attributes:
        layout: Where its files go.
        index: The ontology page.
        schemes: The scheme pages, by scheme name.
        scheme_titles: The schemes' titles, by name.
        diagram: The class diagram (SVG), or ``None`` when Graphviz is not installed and the
            diagram was not required.
        anchors: The fragment id of each documented term, by IRI.
    """

    layout: Layout
    index: Page
    schemes: dict[str, Page]
    scheme_titles: dict[str, str]
    diagram: bytes | None
    anchors: dict[str, str]

    def files(self) -> dict[str, bytes]:
        """Every file, by its path in the layout."""
        found = {self.layout.index: self.index.html.encode("utf-8")}
        if self.diagram is not None:
            found[self.layout.diagram] = self.diagram
        for name, page in self.schemes.items():
            found[self.layout.scheme(name)] = page.html.encode("utf-8")
        return found


def scheme_name(iri: str) -> str:
    """The file name (without suffix) of a scheme's page.

    A scheme ``https://w3id.org/coopgraph/id/scheme/crime-areas`` is ``crime-areas``;
    the name of any other scheme is made of its IRI's last segment.
    """
    if iri.startswith(SCHEMES_SPACE):
        rest = iri[len(SCHEMES_SPACE) :]
    else:
        rest = re.split(r"[/#]", iri.rstrip("/#"))[-1]
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", rest.strip("/")).strip("-.")
    return name or "scheme"


def concept_anchor(iri: str) -> str:
    """The fragment id of a concept on its scheme's page: its IRI's last segment."""
    last = re.split(r"[/#]", iri.rstrip("/#"))[-1]
    return re.sub(r"[^A-Za-z0-9._-]+", "-", last) or "concept"


def term_anchors(graph: Graph, namespace: str) -> dict[str, str]:
    """The fragment id of every class and property of ``graph``.

    A term of ``namespace`` gets its local name (``Agreement``); a term of another
    vocabulary gets its prefix and local name (``prov_Agent``), so that ids never clash.
    """
    terms = sorted(
        {t for kind in TERM_TYPES for t in graph.subjects(RDF.type, kind) if _is_iri(t)},
        key=lambda t: (not str(t).startswith(namespace), str(t)),
    )
    anchors: dict[str, str] = {}
    used: set[str] = set()
    for term in terms:
        iri = str(term)
        if iri.startswith(namespace) and re.fullmatch(r"[A-Za-z_][\w.-]*", iri[len(namespace) :]):
            wanted = iri[len(namespace) :]
        else:
            wanted = re.sub(r"[^\w.-]+", "_", short(term, graph.namespace_manager)).strip("_")
        anchor, n = wanted, 1
        while anchor in used:
            n += 1
            anchor = f"{wanted}-{n}"
        used.add(anchor)
        anchors[iri] = anchor
    return anchors


def _is_iri(node: Node) -> bool:
    return isinstance(node, URIRef)


def text_of(graph: Graph, node: Node, props: Sequence[URIRef] = LABELS) -> str:
    """The first English (or untagged, or any) value of the first of ``props`` it has."""
    for prop in props:
        values = [v for v in graph.objects(node, prop) if isinstance(v, Literal)]
        if values:
            english = [v for v in values if v.language in ("en", None)]
            return str(sorted(english or values)[0])
    return ""


def label_of(graph: Graph, node: Node) -> str:
    """A node's label; its prefixed name (or local name) when it has none."""
    found = text_of(graph, node)
    if found:
        return found
    shown = short(node, graph.namespace_manager)
    return shown if not shown.startswith("<") else concept_anchor(str(node))
