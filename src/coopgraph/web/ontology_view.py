"""The ontology's documentation, as the site serves it to browsers.

The pages are those of ``coopgraph docs`` (:mod:`coopgraph.publish.docs`: pyLODE's OntPub page of
the ontology modules, a VocPub page per concept scheme, the class diagram), built from the
store's own graphs the first time they are asked for and kept until the data changes.

- ``/ontology`` (and the alignment module's ``/ontology/align``) with ``Accept: text/html``:
  the ontology page, in which every term's anchor is its IRI's fragment, so that a term IRI
  such as ``/ontology#Agreement`` lands on its description;
- ``/-/docs/classes.svg``: the class diagram, shown on the ontology page;
- ``/-/docs/schemes/<name>.html``: a concept scheme's page. The schemes' and concepts' own
  IRIs keep their resource pages (statements, evidence, links), which link to it.

Links between these pages are relative, so they hold behind a proxy at a sub-path.
"""

from __future__ import annotations

import threading

from rdflib import Graph, URIRef
from rdflib.namespace import SKOS

from coopgraph.publish.docs import build_docs
from coopgraph.publish.site import Documentation, Layout, concept_anchor, scheme_name
from coopgraph.store.engine import Engine
from coopgraph.web.resources import Description
from coopgraph.web.state import ServerState
from coopgraph.web.worker import reader

#: Where the pages are on the site (paths below the site's root).
LAYOUT = Layout(
    index="ontology",
    diagram="-/docs/classes.svg",
    schemes="-/docs/schemes/{name}.html",
    formats=(
        ("Turtle", "ontology.ttl"),
        ("RDF/XML", "ontology.rdf"),
        ("JSON-LD", "ontology.jsonld"),
        ("N-Triples", "ontology.nt"),
    ),
)
#: The prefix of the documentation's own files.
FILES_PREFIX = "-/docs/"

_VOCABULARIES = f"""CONSTRUCT {{ ?s ?p ?o }} WHERE {{
  {{ ?s a <{SKOS.ConceptScheme}> }}
  UNION {{ ?s <{SKOS.inScheme}>|<{SKOS.topConceptOf}> ?scheme }}
  UNION {{ ?scheme <{SKOS.hasTopConcept}> ?s }}
  ?s ?p ?o
}}"""


_BUILDING = threading.Lock()


def documentation(st: ServerState, modules: list[str]) -> Documentation:
    """The documentation of the served data, built once per version of the data (a request
    that comes while it is being built waits for that build).

    Args:
        st: The server's state.
        modules: The IRIs of the ontology modules (graphs) to document together.
    """
    with _BUILDING:
        return st.memoize("documentation", lambda: _build(st, modules))


def _build(st: ServerState, modules: list[str]) -> Documentation:
    """Build the documentation here, from graphs a query worker reads (pyLODE and Graphviz
    run in the web process: they work on the project's own ontology, not on a request)."""
    graphs: dict[str, Graph] = {iri: st.read("graph_content", iri) for iri in modules}
    return build_docs(graphs, st.read("vocabularies"), LAYOUT, diagram_required=False)


@reader
def vocabularies(engine: Engine) -> Graph:
    """The concept schemes and their concepts, for their documentation pages."""
    return engine.construct(_VOCABULARIES)


def docs_file(docs: Documentation, name: str) -> tuple[bytes, str] | None:
    """A file of the documentation under ``/-/docs/``: its content and media type."""
    path = FILES_PREFIX + name
    if path == LAYOUT.diagram and docs.diagram is not None:
        return docs.diagram, "image/svg+xml"
    return None


def scheme_page_name(path: str) -> str | None:
    """The scheme whose page is at ``/-/docs/<path>``, if it is a scheme page's path."""
    prefix, _, suffix = LAYOUT.schemes.partition("{name}")
    full = FILES_PREFIX + path
    if full.startswith(prefix) and full.endswith(suffix) and len(full) > len(prefix + suffix):
        return full[len(prefix) : -len(suffix)]
    return None


def vocabulary_link(found: Description) -> str | None:
    """Where a concept scheme's or a concept's resource page links to on its scheme's page
    (a path below the site's root), or ``None`` for other resources."""
    if SKOS.ConceptScheme in found.types:
        return LAYOUT.scheme(scheme_name(str(found.iri)))
    for statement in found.properties:
        if statement.predicate in (SKOS.inScheme, SKOS.topConceptOf) and isinstance(
            statement.value, URIRef
        ):
            page = LAYOUT.scheme(scheme_name(str(statement.value)))
            return f"{page}#{concept_anchor(str(found.iri))}"
    return None
