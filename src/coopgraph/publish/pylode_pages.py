"""pyLODE's OntPub and VocPub profiles, with what coopgraph's documentation adds to them.

Import it only through :mod:`coopgraph.publish.docs` (inside
:func:`coopgraph.publish.docs.pylode_running`): importing pyLODE 3.3 configures the root
logger.

Added to pyLODE's pages, in pyLODE's own markup:

- fragment ids taken from the terms' IRIs (given to pyLODE before it makes its own);
- the IRI under the title (``<p class="iri">``), as on the site's other pages;
- metadata rows: the modules merged into the page, the RDF formats, the scheme's notes;
- on the ontology page, a section with the class diagram and one listing the concept
  schemes, both in the table of contents;
- on a scheme's page, its concepts (pyLODE 3.3's VocPub lists none);
- unique ids (pyLODE repeats a functional property's in its "Functional Properties").
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from dominate.tags import (
    a,
    code,
    dd,
    div,
    dl,
    dt,
    h1,
    h2,
    h3,
    h4,
    li,
    object_,
    p,
    strong,
    table,
    td,
    th,
    tr,
    ul,
)
from dominate.tags import html_tag as Tag
from pylode import OntPub, VocPub
from pylode.profiles import ontpub, vocpub
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, OWL

from coopgraph.publish.site import Concept, Layout, Link, Page, Scheme, label_of, text_of

# pyLODE reads its background ontologies (the labels of RDF, OWL, SKOS, PROV... terms) from
# its pickles for every page it makes: more than half of the time of a build. They are
# fixed files of its package, only ever read: read them once per process.
for _profile in (ontpub, vocpub):
    _profile.load_background_onts = functools.cache(_profile.load_background_onts)
    _profile.load_background_onts_titles = functools.cache(_profile.load_background_onts_titles)
    _profile.back_onts_label_props = functools.cache(_profile.back_onts_label_props)


class _Extended:
    """What both profiles get: given anchors, an IRI line, rows, sections, ToC entries."""

    doc: Any
    content: Any
    fids: dict[str, str]
    subtitle: list[Tag]
    rows: list[tuple[str, Tag | str]]
    sections: list[tuple[str, str, Tag, list[tuple[str, str]]]]

    def extend(
        self,
        anchors: dict[str, str],
        subtitle: list[Tag],
        rows: list[tuple[str, Tag | str]],
        sections: list[tuple[str, str, Tag, list[tuple[str, str]]]],
    ) -> None:
        """Set what the page adds: sections are (id, title, element, ToC entries)."""
        self.fids.update(anchors)
        self.subtitle = subtitle
        self.rows = rows
        self.sections = sections

    def _make_metadata(self) -> None:
        super()._make_metadata()  # type: ignore[misc]
        metadata = self.content.children[-1]
        heading = next(i for i, c in enumerate(metadata.children) if isinstance(c, h1))
        for offset, element in enumerate(self.subtitle, start=1):
            _insert(metadata, heading + offset, element)
        rows = next(c for c in metadata.children if isinstance(c, dl))
        for name, value in self.rows:
            rows.add(div(dt(strong(name)), dd(value)))

    def _make_main_sections(self) -> None:
        for _, _, element, _ in self.sections:
            self.content.add(element)
        super()._make_main_sections()  # type: ignore[misc]

    def _make_toc(self) -> None:
        super()._make_toc()  # type: ignore[misc]
        toc = _find(self.doc.body, "toc")
        first = next(c for c in toc.children if "first" in c.attributes.get("class", ""))
        for offset, (anchor, title, _, entries) in enumerate(self.sections, start=1):
            item = li(h4(a(title, href="#" + anchor)))
            if entries:
                item.add(ul([li(a(text, href=href)) for href, text in entries], _class="second"))
            _insert(first, offset, item)
        _unique_ids(self.doc.body, set())


class OntologyPage(_Extended, OntPub):
    """pyLODE's OntPub page, extended."""


class SchemePage(_Extended, VocPub):
    """pyLODE's VocPub page, extended with the scheme's concepts."""


def _find(root: Any, anchor: str) -> Any:
    """The element below ``root`` whose id is ``anchor``."""
    for child in getattr(root, "children", []):
        if getattr(child, "attributes", {}).get("id") == anchor:
            return child
        found = _find(child, anchor)
        if found is not None:
            return found
    return None


def _unique_ids(root: Any, seen: set[str]) -> None:
    """Make every id below ``root`` unique: pyLODE describes a property twice when it is
    also functional, with the same id; the first keeps it (the ToC and links go there)."""
    for child in getattr(root, "children", []):
        attributes = getattr(child, "attributes", {})
        anchor = attributes.get("id")
        if anchor is not None:
            unique, n = anchor, 1
            while unique in seen:
                n += 1
                unique = f"{anchor}-{n}"
            attributes["id"] = unique
            seen.add(unique)
        _unique_ids(child, seen)


def _insert(parent: Tag, index: int, child: Tag) -> None:
    parent.children.insert(index, child)
    child.parent = parent


def _page(made: _Extended, title: str) -> Page:
    html = made.make_html()  # type: ignore[attr-defined]
    head = "".join(
        c.render()
        for c in made.doc.head.children
        if getattr(c, "tagname", "") not in ("title", "meta")
    )
    body = "".join(c.render() if hasattr(c, "render") else str(c) for c in made.doc.body.children)
    return Page(title=title, html=html, head=head, body=body)


def _link(link: Link) -> Tag:
    return (
        a(link.text, href=link.href, title=link.title)
        if link.title
        else a(link.text, href=link.href)
    )


def _links(links: Sequence[Link]) -> Tag:
    if len(links) == 1:
        return _link(links[0])
    return ul([li(_link(x)) for x in links])


# --------------------------------------------------------------------------- the ontology


def ontology_page(
    graph: Graph,
    modules: Sequence[tuple[str, Graph]],
    anchors: dict[str, str],
    schemes: Sequence[Scheme],
    layout: Layout,
    has_diagram: bool,
) -> Page:
    """The ontology's page: pyLODE's OntPub on ``graph`` (the modules merged)."""
    core_iri = modules[0][0]
    subtitle = [p(core_iri, _class="iri")]
    rows: list[tuple[str, Tag | str]] = []
    if len(modules) > 1:
        listed = div()
        for iri, module in modules:
            header = URIRef(iri)
            version = module.value(header, OWL.versionInfo)
            listed.add(p(iri, _class="iri"))
            listed.add(
                p(
                    strong(label_of(module, header)),
                    f" (version {version})" if version else "",
                    ": " + text_of(module, header, (DCTERMS.description,))
                    if text_of(module, header, (DCTERMS.description,))
                    else "",
                )
            )
        rows.append(("Modules (documented together here)", listed))
    if layout.formats:
        formats = div()
        for i, (name, path) in enumerate(layout.formats):
            formats.add(a(name, href=layout.link(layout.index, path)))
            if i < len(layout.formats) - 1:
                formats.add(" · ")
        rows.append(("Formats", div(formats, _class="formats")))
    sections = [_diagram_section(layout, has_diagram)]
    if schemes:
        sections.append(_schemes_section(schemes, layout))
    made = OntologyPage(graph, sort_subjects=True)
    made.extend(anchors, subtitle, rows, sections)
    return _page(made, label_of(graph, URIRef(core_iri)))


def _diagram_section(layout: Layout, has_diagram: bool) -> tuple[str, str, Tag, list]:
    section = div(id="diagram", _class="section")
    section.add(h2("Diagram"))
    if has_diagram:
        href = layout.link(layout.index, layout.diagram)
        section.add(
            p(
                "The classes (boxes; dashed: classes of other vocabularies), their subclass "
                "links (hollow arrows) and the object properties (labelled arrows, from "
                "domain to range) of the core module. Select a class or a property to go to "
                "its description, or ",
                a("open the diagram alone", href=href),
                ".",
            )
        )
        section.add(
            div(
                object_(a("The class diagram (SVG)", href=href), data=href, type="image/svg+xml"),
                _class="diagram",
                style="overflow: auto",
            )
        )
    else:
        section.add(p("No diagram: Graphviz's dot command is not installed here."))
    return ("diagram", "Diagram", section, [])


def _schemes_section(schemes: Sequence[Scheme], layout: Layout) -> tuple[str, str, Tag, list]:
    section = div(id="schemes", _class="section")
    section.add(h2("Concept schemes"))
    section.add(
        p(
            "The controlled vocabularies of the data (SKOS concept schemes), one page each "
            "with every concept:"
        )
    )
    items = ul()
    entries = []
    for scheme in schemes:
        href = layout.link(layout.index, layout.scheme(scheme.name))
        count = len(scheme.concepts)
        items.add(li(a(scheme.title, href=href), f" ({count} concept{'s' * (count != 1)})"))
        entries.append((href, scheme.title))
    section.add(items)
    return ("schemes", "Concept schemes", section, entries)


# --------------------------------------------------------------------------- a scheme


def scheme_page(scheme: Scheme, layout: Layout) -> Page:
    """A scheme's page: pyLODE's VocPub on the scheme, with its concepts added."""
    page = layout.scheme(scheme.name)
    subtitle = [p(str(scheme.iri), _class="iri")]
    rows: list[tuple[str, Tag | str]] = []
    if scheme.types:
        rows.append(("Type", _links(scheme.types)))
    if scheme.alt_labels:
        rows.append(("Alternative labels", ", ".join(scheme.alt_labels)))
    for name, text in scheme.notes:
        rows.append((name, text))
    rows.append(
        (
            "Ontology",
            a("the coopgraph ontology", href=layout.link(page, layout.index)),
        )
    )
    section = div(id="concepts", _class="section")
    section.add(h2("Concepts"))
    if not scheme.concepts:
        section.add(p("This scheme holds no concepts."))
    for concept in scheme.concepts:
        section.add(_concept(concept))
    entries = [("#" + c.anchor, c.label) for c in scheme.concepts]
    made = SchemePage(scheme.graph, sort_subjects=True)
    anchors = {str(c.iri): c.anchor for c in scheme.concepts}
    made.extend(anchors, subtitle, rows, [("concepts", "Concepts", section, entries)])
    return _page(made, scheme.title)


def _concept(concept: Concept) -> Tag:
    rows = table(tr(th("IRI"), td(code(str(concept.iri)))))
    if concept.types:
        rows.add(tr(th("Type"), td(_links(concept.types))))
    if concept.alt_labels:
        rows.add(tr(th("Alternative labels"), td(", ".join(concept.alt_labels))))
    if concept.notation:
        rows.add(tr(th("Notation"), td(", ".join(concept.notation))))
    if concept.definition:
        rows.add(tr(th("Definition"), td(p(concept.definition))))
    for name, links in (
        ("Broader", concept.broader),
        ("Narrower", concept.narrower),
        ("Related", concept.related),
    ):
        if links:
            rows.add(tr(th(name), td(_links(links))))
    for name, text in concept.notes:
        rows.add(tr(th(name), td(text)))
    return div(h3(concept.label), rows, id=concept.anchor, _class="concept entity")
