"""HTML documentation of the ontology and the concept schemes, and a diagram of the classes.

- The ontology page is pyLODE's OntPub profile run on the ontology modules merged (the core
  module's header, the terms and axioms of every module): every class and property with its
  label, definition, super- and sub-terms, domains and ranges.
- One page per concept scheme (crime areas, activity areas, goals, measures, ...), made with
  pyLODE's VocPub profile. pyLODE 3.3's VocPub lists no concepts (it renders OWL classes and
  properties only; the concept lists came back in 3.5, which needs Python 3.12), so the
  concepts are added to its page here, in pyLODE's own markup.
- A diagram of the core module's classes as SVG, drawn by Graphviz's ``dot``: classes as
  boxes, ``rdfs:subClassOf`` as hollow arrows, object properties as labelled arrows from
  their domain to their range (``owl:Thing`` stands in for a missing domain or range).

pyLODE derives fragment ids from labels (``#cooperationagreement``); here every term's id
is the fragment of its IRI (``#CooperationAgreement``), so that a term IRI
``https://w3id.org/coopgraph/ontology#CooperationAgreement`` lands on its description
(W3C "Best Practice Recipes for Publishing RDF Vocabularies", recipe 3). A concept's id is
the last segment of its IRI.

Where the files go is a :class:`Layout`: :data:`FILES` for ``coopgraph docs`` (a folder
with ``index.html``, ``classes.svg`` and ``schemes/<name>.html``), another for the web
site, which serves the same pages at the ontology's IRI. Links between the files are
relative, so the pages work wherever the folder (or the site) is put.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, SKOS, VANN
from rdflib.term import Node

from coopgraph.errors import CoopgraphError
from coopgraph.graph.load import ProjectDataset
from coopgraph.graph.project import GraphKind
from coopgraph.namespace import COOP, ONTOLOGY_GRAPH
from coopgraph.publish.diagram import DiagramError, diagram_source, render_svg
from coopgraph.publish.site import (
    FILES,
    LABELS,
    NOTES,
    Concept,
    Documentation,
    Layout,
    Link,
    Page,
    Scheme,
    concept_anchor,
    label_of,
    scheme_name,
    term_anchors,
    text_of,
)

#: Called with a line of progress for a person.
Progress = Callable[[str], None]


# --------------------------------------------------------------------------- names


# --------------------------------------------------------------------------- the graphs


def order_modules(modules: Mapping[str, Graph]) -> list[tuple[str, Graph]]:
    """The ontology modules, the core module (the ontology's own IRI) first."""
    return sorted(modules.items(), key=lambda item: (item[0] != str(ONTOLOGY_GRAPH), item[0]))


def documented_graph(modules: Sequence[tuple[str, Graph]]) -> Graph:
    """The modules merged into one graph for pyLODE, with the first module's header only.

    pyLODE shows one ontology: the other modules' headers would mix their titles and
    versions into it, so they are left out here (the page lists the modules apart).
    """
    merged = Graph(bind_namespaces="core")
    headers = {URIRef(iri) for iri, _ in modules[1:]}
    for _, graph in modules:
        for prefix, namespace in graph.namespaces():
            merged.bind(prefix, namespace, override=False)
        for s, p, o in graph:
            if s not in headers:
                merged.add((s, p, o))
    return merged


def namespace_of(graph: Graph, ontology: URIRef) -> str:
    """The namespace of the ontology's terms (``vann:preferredNamespaceUri``)."""
    declared = graph.value(ontology, VANN.preferredNamespaceUri)
    return str(declared) if declared is not None else str(COOP)


def find_schemes(vocabularies: Graph, ontology: Graph, layout: Layout) -> list[Scheme]:
    """The concept schemes of ``vocabularies``, with their concepts, sorted by title.

    A concept is anything ``skos:inScheme`` or ``skos:topConceptOf`` a scheme, or named by
    its ``skos:hasTopConcept``. ``ontology`` gives the labels of the concepts' classes.
    """
    found: list[Scheme] = []
    names: set[str] = set()
    labels = _label_graph(vocabularies, ontology)
    for iri in sorted(set(vocabularies.subjects(RDF.type, SKOS.ConceptScheme)), key=str):
        if not isinstance(iri, URIRef):
            continue
        name = scheme_name(str(iri))
        if name in names:
            raise CoopgraphError(f"two concept schemes would both be documented as {name}")
        names.add(name)
        members = (
            set(vocabularies.subjects(SKOS.inScheme, iri))
            | set(vocabularies.subjects(SKOS.topConceptOf, iri))
            | set(vocabularies.objects(iri, SKOS.hasTopConcept))
        )
        page = layout.scheme(name)
        concepts = [
            _concept(vocabularies, labels, c, iri, page, layout)
            for c in members
            if isinstance(c, URIRef)
        ]
        concepts.sort(key=lambda c: (c.label.casefold(), str(c.iri)))
        graph = Graph(bind_namespaces="core")
        for prefix, namespace in vocabularies.namespaces():
            graph.bind(prefix, namespace, override=False)
        for node in (iri, *(c.iri for c in concepts)):
            graph += vocabularies.triples((node, None, None))
        if not text_of(graph, iri):
            graph.add((iri, DCTERMS.title, Literal(name)))
        found.append(
            Scheme(
                iri=iri,
                name=name,
                title=label_of(graph, iri),
                concepts=concepts,
                graph=graph,
                alt_labels=_texts(vocabularies, iri, SKOS.altLabel),
                notes=_notes(vocabularies, iri),
                types=_class_links(labels, iri, page, layout),
            )
        )
    found.sort(key=lambda s: s.title.casefold())
    return found


def _label_graph(vocabularies: Graph, ontology: Graph) -> Graph:
    labels = Graph()
    for graph in (vocabularies, ontology):
        for prefix, namespace in graph.namespaces():
            labels.bind(prefix, namespace, override=False)
        for prop in (*LABELS, RDF.type):
            labels += graph.triples((None, prop, None))
    return labels


def _texts(graph: Graph, node: Node, prop: URIRef) -> list[str]:
    return sorted(str(v) for v in graph.objects(node, prop) if isinstance(v, Literal))


def _notes(graph: Graph, node: Node) -> list[tuple[str, str]]:
    return [(name, text) for name, prop in NOTES for text in _texts(graph, node, prop)]


def _class_links(labels: Graph, node: URIRef, page: str, layout: Layout) -> list[Link]:
    """Links to the ontology page for the node's classes (other than the SKOS ones)."""
    found = []
    for cls in sorted(set(labels.objects(node, RDF.type)), key=str):
        if not isinstance(cls, URIRef) or cls in (SKOS.Concept, SKOS.ConceptScheme):
            continue
        if str(cls).startswith(str(COOP)):
            href = layout.link(page, layout.index) + "#" + str(cls)[len(str(COOP)) :]
        else:
            href = str(cls)
        found.append(Link(label_of(labels, cls), href, str(cls)))
    return found


def _concept(
    graph: Graph, labels: Graph, node: URIRef, scheme: URIRef, page: str, layout: Layout
) -> Concept:
    def links(prop: URIRef, inverse: URIRef | None = None) -> list[Link]:
        targets = set(graph.objects(node, prop))
        if inverse is not None:
            targets |= set(graph.subjects(inverse, node))
        return [
            Link(label_of(labels, t), _concept_href(graph, t, scheme, page, layout), str(t))
            for t in sorted(targets, key=str)
            if isinstance(t, URIRef)
        ]

    return Concept(
        iri=node,
        anchor=concept_anchor(str(node)),
        label=label_of(labels, node),
        alt_labels=_texts(graph, node, SKOS.altLabel),
        definition=text_of(graph, node, (SKOS.definition, RDFS.comment, DCTERMS.description)),
        types=_class_links(labels, node, page, layout),
        broader=links(SKOS.broader, SKOS.narrower),
        narrower=links(SKOS.narrower, SKOS.broader),
        related=links(SKOS.related, SKOS.related),
        notation=_texts(graph, node, SKOS.notation),
        notes=_notes(graph, node),
    )


def _concept_href(graph: Graph, node: URIRef, scheme: URIRef, page: str, layout: Layout) -> str:
    """A concept's place: this page's anchor, another scheme's page, or its IRI."""
    schemes = set(graph.objects(node, SKOS.inScheme)) | set(graph.objects(node, SKOS.topConceptOf))
    anchor = "#" + concept_anchor(str(node))
    if scheme in schemes:
        return anchor
    for other in sorted(schemes, key=str):
        if (other, RDF.type, SKOS.ConceptScheme) in graph:
            return layout.link(page, layout.scheme(scheme_name(str(other)))) + anchor
    return str(node)


# --------------------------------------------------------------------------- building


def build_docs(
    modules: Mapping[str, Graph],
    vocabularies: Graph,
    layout: Layout = FILES,
    progress: Progress | None = None,
    diagram_required: bool = True,
) -> Documentation:
    """Build the ontology page, the scheme pages and the class diagram.

    Args:
        modules: The ontology modules, by ontology IRI (the core module is the one whose
            IRI is the ontology's; the others are merged into its page).
        vocabularies: The graph holding the concept schemes and their concepts.
        layout: Where the files go (the links between them follow it).
        progress: Called with a line for each step.
        diagram_required: Raise when the diagram cannot be drawn; else document without it.

    Raises:
        CoopgraphError: when there is no ontology module, or it has no title.
        DiagramError: when ``diagram_required`` and Graphviz is missing or fails.
    """
    say = progress or (lambda _line: None)
    ordered = order_modules(modules)
    if not ordered:
        raise CoopgraphError("no ontology module to document")
    core_iri, core = ordered[0]
    graph = documented_graph(ordered)
    if not text_of(graph, URIRef(core_iri), (DCTERMS.title, RDFS.label)):
        raise CoopgraphError(
            f"the ontology <{core_iri}> needs a title (dcterms:title or rdfs:label) to be "
            "documented"
        )
    namespace = namespace_of(core, URIRef(core_iri))
    anchors = term_anchors(graph, namespace)
    schemes = find_schemes(vocabularies, graph, layout)

    say(f"drawing the class diagram ({layout.diagram})")
    diagram = _draw_diagram(core, anchors, layout, diagram_required)

    say(f"documenting {len(anchors)} classes and properties with pyLODE OntPub ({layout.index})")
    with pylode_running():
        from coopgraph.publish import pylode_pages

        index = pylode_pages.ontology_page(
            graph, ordered, anchors, schemes, layout, diagram is not None
        )
        pages = _scheme_pages(schemes, layout, say)
    return Documentation(
        layout=layout,
        index=index,
        schemes=pages,
        scheme_titles={s.name: s.title for s in schemes},
        diagram=diagram,
        anchors=anchors,
    )


def _scheme_pages(schemes: list[Scheme], layout: Layout, say: Progress) -> dict[str, Page]:
    """Each concept scheme's page with pyLODE's VocPub (within :func:`pylode_running`)."""
    from coopgraph.publish import pylode_pages

    pages: dict[str, Page] = {}
    for scheme in schemes:
        say(
            f"documenting {scheme.title} ({len(scheme.concepts)} concepts) with pyLODE "
            f"VocPub ({layout.scheme(scheme.name)})"
        )
        pages[scheme.name] = pylode_pages.scheme_page(scheme, layout)
    return pages


def _draw_diagram(
    core: Graph, anchors: Mapping[str, str], layout: Layout, required: bool
) -> bytes | None:
    """The class diagram as SVG; None when Graphviz fails and the diagram is not required."""
    try:
        return render_svg(diagram_source(core, anchors, layout.link(layout.diagram, layout.index)))
    except DiagramError:
        if required:
            raise
        return None


def docs_from_dataset(
    ds: ProjectDataset, layout: Layout = FILES, progress: Progress | None = None
) -> Documentation:
    """Document a loaded project: its ontology modules, and the schemes in its data."""
    modules = {str(name): ds.graph(name) for name in ds.graphs_of(GraphKind.ONTOLOGY)}
    vocabularies = ds.merged(GraphKind.REFERENCE, GraphKind.SOURCE, GraphKind.OTHER)
    return build_docs(modules, vocabularies, layout, progress)


def write_docs(docs: Documentation, folder: Path) -> list[str]:
    """Write the documentation into ``folder``, replacing it whole (never half-written).

    Returns:
        The files written, relative to ``folder``.
    """
    from coopgraph.atomic import build_folder

    files = docs.files()

    def fill(tmp: Path) -> None:
        for name, content in files.items():
            path = tmp / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)

    build_folder(folder, fill, replace=True)
    return sorted(files)


# --------------------------------------------------------------------------- pyLODE, guarded

_PYLODE_LOCK = threading.Lock()


@contextmanager
def pylode_running() -> Iterator[None]:
    """Run pyLODE alone, and without it touching the process's logging.

    pyLODE 3.3 calls ``logging.basicConfig(level=DEBUG)`` when imported, and logs through
    the root logger (which configures it when it has no handler); with a handler in place
    for the while, both are no-ops. One build at a time: pyLODE caches its background
    ontologies in a file of its own.
    """
    with _PYLODE_LOCK:
        root = logging.getLogger()
        guard = None
        if not root.handlers:
            guard = logging.NullHandler()
            root.addHandler(guard)
        try:
            yield
        finally:
            if guard is not None:
                root.removeHandler(guard)
