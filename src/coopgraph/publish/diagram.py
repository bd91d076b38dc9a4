"""A diagram of the ontology's classes, as SVG, drawn by Graphviz's ``dot``.

The diagram is written in DOT and handed to ``dot -Tsvg`` (Debian's ``graphviz``):

- each class of the module is a box labelled with its label (classes of other vocabularies
  that the module uses, such as ``skos:Concept``, are dashed), linked to its description;
- ``rdfs:subClassOf`` is a hollow arrow from the subclass to the superclass;
- each object property with a domain or a range is a dashed arrow, labelled with the
  property's label, from its domain to its range (``owl:Thing``, "anything", where one is
  missing); a property with neither is not drawn.

In the SVG, each class is a ``<g class="node">`` whose ``<title>`` is its prefixed name
(``coop:Agreement``), and each arrow a ``<g class="edge">`` titled ``coop:A->coop:B``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping

from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS, VANN
from rdflib.term import Node

from coopgraph.errors import CoopgraphError
from coopgraph.namespace import COOP
from coopgraph.terms import short


class DiagramError(CoopgraphError):
    """The class diagram could not be drawn (Graphviz missing or failing)."""


def diagram_source(module: Graph, anchors: Mapping[str, str], page: str) -> str:
    """The class diagram of ``module`` in Graphviz's DOT language.

    Args:
        module: The ontology module (its header gives the title and the namespace).
        anchors: The fragment id of each term's description, by IRI.
        page: The link, relative to the diagram, to the page that holds the descriptions.
    """
    ontology = next((s for s in module.subjects(RDF.type, OWL.Ontology) if _iri(s)), None)
    declared = module.value(ontology, VANN.preferredNamespaceUri) if ontology else None
    namespace = str(declared or COOP)
    nsm = module.namespace_manager
    classes, edges = _classes_and_edges(module)

    def name(node: Node) -> str:
        return _quoted(short(node, nsm))

    def href(node: Node) -> str:
        anchor = anchors.get(str(node))
        return _quoted(f"{page}#{anchor}" if anchor else str(node))

    lines = _header(module, ontology)
    ordered = sorted(classes, key=lambda c: short(c, nsm))
    for cls in ordered:
        dashed = (
            ""
            if str(cls).startswith(namespace)
            else ', fillcolor="#ffffff", style="rounded,dashed"'
        )
        label = "anything (owl:Thing)" if cls == OWL.Thing else _label(module, cls)
        lines.append(
            f"  {name(cls)} [label={_quoted(label)}, URL={href(cls)}, "
            f"tooltip={_quoted(short(cls, nsm))}{dashed}];"
        )
    for cls in ordered:
        for sup in sorted(module.objects(cls, RDFS.subClassOf), key=str):
            if sup in classes:
                lines.append(
                    f'  {name(cls)} -> {name(sup)} [arrowhead=empty, color="#1f3a5f", '
                    'tooltip="subclass of"];'
                )
    for domain, prop, range_ in edges:
        lines.append(
            f"  {name(domain)} -> {name(range_)} [label={_quoted(_label(module, prop))}, "
            f"URL={href(prop)}, tooltip={_quoted(short(prop, nsm))}, style=dashed];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _header(module: Graph, ontology: Node | None) -> list[str]:
    """The diagram's first lines: its caption (the ontology's title and version) and styles."""
    title = _label(module, ontology) if ontology is not None else "ontology"
    version = module.value(ontology, OWL.versionInfo) if ontology is not None else None
    caption = (
        f"{title}{' ' + str(version) if version else ''}: classes, subclass of (hollow arrow), "
        "object properties (labelled arrow, from domain to range)"
    )
    return [
        "digraph classes {",
        f"  graph [rankdir=BT, label={_quoted(caption)}, labelloc=t, fontname=Helvetica, "
        "fontsize=14, nodesep=0.25, ranksep=0.6, tooltip=classes];",
        '  node [shape=box, style="rounded,filled", fillcolor="#eef3fa", color="#1f3a5f", '
        "fontname=Helvetica, fontsize=11];",
        '  edge [fontname=Helvetica, fontsize=9, color="#6b7280", fontcolor="#1f3a5f"];',
    ]


def _classes_and_edges(module: Graph) -> tuple[set[Node], list[tuple[Node, URIRef, Node]]]:
    """The classes to draw (declared ones, their named superclasses, and the domains and
    ranges of object properties) and one edge per object property, domain and range."""
    classes: set[Node] = {c for c in module.subjects(RDF.type, OWL.Class) if _iri(c)}
    classes |= {o for c in list(classes) for o in module.objects(c, RDFS.subClassOf) if _iri(o)} - {
        OWL.Thing
    }
    edges: list[tuple[Node, URIRef, Node]] = []
    for prop in sorted(set(module.subjects(RDF.type, OWL.ObjectProperty)), key=str):
        domains = [d for d in module.objects(prop, RDFS.domain) if _iri(d)]
        ranges = [r for r in module.objects(prop, RDFS.range) if _iri(r)]
        if not _iri(prop) or not (domains or ranges):
            continue
        for domain in domains or [OWL.Thing]:
            for range_ in ranges or [OWL.Thing]:
                edges.append((domain, URIRef(prop), range_))
                classes.update((domain, range_))
    return classes, edges


def _iri(node: Node) -> bool:
    return isinstance(node, URIRef)


def _label(graph: Graph, node: Node) -> str:
    labels = sorted(
        (
            str(v)
            for v in graph.objects(node, RDFS.label)
            if getattr(v, "language", None) in ("en", None)
        ),
    )
    return labels[0] if labels else short(node, graph.namespace_manager)


def _quoted(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def render_svg(dot_source: str, timeout: float = 120.0) -> bytes:
    """Run Graphviz's ``dot -Tsvg`` on ``dot_source``.

    Raises:
        DiagramError: when ``dot`` is not installed or fails.
    """
    program = shutil.which("dot")
    if program is None:
        raise DiagramError(
            "the class diagram needs Graphviz's dot command, which is not installed: "
            "apt-get install graphviz (or ./scripts/install-system-packages dot)"
        )
    try:
        done = subprocess.run(
            [program, "-Tsvg"],
            input=dot_source.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DiagramError(f"Graphviz's dot took more than {timeout:.0f} s") from None
    if done.returncode != 0:
        message = " ".join(done.stderr.decode("utf-8", "replace").split())[:300]
        raise DiagramError(f"Graphviz's dot failed (exit {done.returncode}): {message}")
    return done.stdout
