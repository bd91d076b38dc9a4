"""The ontology's documentation: `coopgraph docs`, and the same pages served by the endpoint.

The folder that `coopgraph docs` writes is read as a person would: every class and property
of the ontology modules has its description at the anchor named after its IRI's fragment,
with its label, its definition, its super- and sub-terms and its domains and ranges, linked
by label; every concept scheme has a page listing its concepts; the class diagram is an SVG
with every class of the core module and the links between them. The endpoint serves those
pages to a browser at the ontology's IRI (and the diagram and scheme pages beside it), keeps
serving RDF to everyone else, and a browser sent to a term IRI lands on the term.
"""

from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urljoin

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from coopgraph.namespace import COOP
from tests.support import BROWSER, ROOT, Element, Server, coopgraph, fetch, page, parse_html

NS = str(COOP)
TERM_TYPES = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def ontology() -> Graph:
    """The core module and the alignment module, as in the project."""
    graph = Graph()
    graph.parse(ROOT / "ontology" / "coopgraph.ttl")
    graph.parse(ROOT / "ontology" / "coopgraph-align.ttl")
    return graph


@pytest.fixture(scope="module")
def core() -> Graph:
    return Graph().parse(ROOT / "ontology" / "coopgraph.ttl")


@pytest.fixture(scope="module")
def vocabularies() -> Graph:
    graph = Graph()
    for path in sorted((ROOT / "data" / "reference").glob("*.ttl")):
        graph.parse(path)
    return graph


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """`coopgraph docs -o DIR` on the project; the folder and the run."""
    folder = tmp_path_factory.mktemp("docs") / "site"
    run = coopgraph("--root", str(ROOT), "docs", "-o", str(folder))
    assert run.returncode == 0, run.stderr
    return folder, run


@pytest.fixture(scope="module")
def index(built: tuple[Path, subprocess.CompletedProcess]) -> Element:
    return parse_html((built[0] / "index.html").read_text(encoding="utf-8"))


def label(graph: Graph, node: URIRef) -> str:
    values = [v for v in graph.objects(node, RDFS.label) if isinstance(v, Literal)]
    return str(values[0]) if values else ""


def terms(graph: Graph) -> list[URIRef]:
    """The coopgraph classes and properties declared in ``graph``."""
    found = {t for kind in TERM_TYPES for t in graph.subjects(RDF.type, kind)}
    return sorted(t for t in found if str(t).startswith(NS))


def rows(entity: Element) -> dict[str, list[tuple[str, str]]]:
    """A term's description: row heading -> the links in the row."""
    return {
        row.find("th").text(): row.find("td").links()
        for row in entity.iter("tr")
        if any(True for _ in row.iter("td"))
    }


def anchor(term: URIRef) -> str:
    return "#" + str(term)[len(NS) :]


# --------------------------------------------------------------------------- coopgraph docs


@pytest.mark.slow
def test_docs_writes_the_pages_and_reports_progress(
    built: tuple[Path, subprocess.CompletedProcess], vocabularies: Graph
) -> None:
    folder, run = built
    assert run.stdout.strip() == str(folder / "index.html")
    schemes = {
        str(s).rsplit("/", 1)[1] for s in vocabularies.subjects(RDF.type, SKOS.ConceptScheme)
    }
    assert schemes >= {"crime-areas", "activity-areas", "global-policing-goals", "measures"}
    written = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}
    assert written == {"index.html", "classes.svg", *(f"schemes/{s}.html" for s in schemes)}
    assert "pyLODE OntPub" in run.stderr and "pyLODE VocPub" in run.stderr
    assert "drawing the class diagram" in run.stderr
    assert f"wrote {len(written)} files to {folder}" in run.stderr


def test_every_term_has_its_anchor_label_and_definition(index: Element, ontology: Graph) -> None:
    ids = [e.attrs["id"] for e in index.iter() if "id" in e.attrs]
    assert len(ids) == len(set(ids)), "the same id twice on the page"
    assert index.find("h1").text() == "coopgraph ontology"
    documented = terms(ontology)
    assert len(documented) > 100
    for term in documented:
        entity = index.find(id=anchor(term)[1:])
        assert "entity" in entity.attrs.get("class", "").split(), term
        assert entity.find("h3").text().startswith(label(ontology, term)), term
        definition = ontology.value(term, SKOS.definition)
        assert definition is not None and str(definition) in entity.text(), term
        assert f"<{term}>" not in entity.text()
        assert str(term) in entity.find("code").text()


def test_super_and_sub_terms_domains_and_ranges_link_by_label(
    index: Element, ontology: Graph
) -> None:
    checked = 0
    for term in terms(ontology):
        shown = rows(index.find(id=anchor(term)[1:]))
        for heading, prop, inverse in (
            ("Sub Class Of", RDFS.subClassOf, False),
            ("Super Class Of", RDFS.subClassOf, True),
            ("Sub Property Of", RDFS.subPropertyOf, False),
            ("Domain", RDFS.domain, False),
            ("Range", RDFS.range, False),
            ("In Domain Of", RDFS.domain, True),
            ("In Range Of", RDFS.range, True),
        ):
            related = ontology.subjects(prop, term) if inverse else ontology.objects(term, prop)
            for other in related:
                if not (isinstance(other, URIRef) and str(other).startswith(NS)):
                    continue
                assert (anchor(other), label(ontology, other)) in shown.get(heading, []), (
                    term,
                    heading,
                    other,
                )
                checked += 1
    assert checked > 200  # subclasses, domains and ranges of the whole ontology


def test_the_alignment_axioms_show_on_the_same_page(index: Element) -> None:
    organization = rows(index.find(id="Organization"))
    assert ("http://www.w3.org/ns/org#Organization", "org:Organization") in organization[
        "Sub Class Of"
    ]
    modules = {p.text() for p in index.iter("p", class_="iri")}
    assert modules == {
        "https://w3id.org/coopgraph/ontology",
        "https://w3id.org/coopgraph/ontology/align",
    }


def test_each_scheme_page_lists_its_concepts(
    built: tuple[Path, subprocess.CompletedProcess], index: Element, vocabularies: Graph
) -> None:
    folder, _ = built
    listed = dict((href, text) for href, text in index.find(id="schemes").links())
    concepts_seen = 0
    for scheme in vocabularies.subjects(RDF.type, SKOS.ConceptScheme):
        name = str(scheme).rsplit("/", 1)[1]
        assert listed[f"schemes/{name}.html"] == label(vocabularies, scheme)
        doc = parse_html((folder / "schemes" / f"{name}.html").read_text(encoding="utf-8"))
        assert doc.find("h1").text() == label(vocabularies, scheme)
        assert str(scheme) in [p.text() for p in doc.iter("p", class_="iri")]
        members = set(vocabularies.subjects(SKOS.inScheme, scheme))
        shown = {e.attrs["id"] for e in doc.iter(class_="concept")}
        assert shown == {str(c).rsplit("/", 1)[1] for c in members}, name
        for concept in members:
            entity = doc.find(id=str(concept).rsplit("/", 1)[1])
            assert entity.find("h3").text() == label(vocabularies, concept)
            for alt in vocabularies.objects(concept, SKOS.altLabel):
                assert str(alt) in entity.text()
            types = [href for href, _ in entity.links()]
            for cls in vocabularies.objects(concept, RDF.type):
                assert f"../index.html{anchor(cls)}" in types
            concepts_seen += 1
        if not members:
            assert "This scheme holds no concepts." in doc.text()
    assert concepts_seen >= 60


def test_the_diagram_has_every_class_and_the_links_between_them(
    built: tuple[Path, subprocess.CompletedProcess], index: Element, core: Graph
) -> None:
    folder, _ = built
    svg = ET.parse(folder / "classes.svg").getroot()
    assert svg.tag == SVG + "svg"
    nodes = {
        g.findtext(SVG + "title"): " ".join(t.text or "" for t in g.iter(SVG + "text"))
        for g in svg.iter(SVG + "g")
        if g.get("class") == "node"
    }
    edges = [
        (g.findtext(SVG + "title"), " ".join(t.text or "" for t in g.iter(SVG + "text")))
        for g in svg.iter(SVG + "g")
        if g.get("class") == "edge"
    ]
    classes = [c for c in core.subjects(RDF.type, OWL.Class) if str(c).startswith(NS)]
    assert len(classes) > 40
    for cls in classes:
        name = "coop:" + str(cls)[len(NS) :]
        assert nodes.get(name) == label(core, cls), name
    for sub, sup in core.subject_objects(RDFS.subClassOf):
        if str(sub).startswith(NS) and str(sup).startswith(NS):
            assert (f"coop:{str(sub)[len(NS) :]}->coop:{str(sup)[len(NS) :]}", "") in edges
    for prop in core.subjects(RDF.type, OWL.ObjectProperty):
        domain, range_ = core.value(prop, RDFS.domain), core.value(prop, RDFS.range)
        if str(domain).startswith(NS) and str(range_).startswith(NS):
            key = f"coop:{str(domain)[len(NS) :]}->coop:{str(range_)[len(NS) :]}"
            assert (key, label(core, prop)) in edges, prop
    # Each class links to its description on the index; the index shows the diagram.
    links = {a.get("{http://www.w3.org/1999/xlink}href") for a in svg.iter(SVG + "a")}
    assert "index.html#Agreement" in links
    diagram = index.find(id="diagram")
    assert diagram.find("object").attrs["data"] == "classes.svg"
    assert ("classes.svg", "open the diagram alone") in diagram.links()


@pytest.mark.slow
def test_docs_replace_the_folder_whole_and_leave_it_alone_on_failure(tmp_path: Path) -> None:
    folder = tmp_path / "out" / "docs"
    folder.mkdir(parents=True)
    (folder / "stale.html").write_text("from an earlier build")
    # Without Graphviz: refused in one line, the old folder untouched, nothing left over.
    run = coopgraph("--root", str(ROOT), "docs", "-o", str(folder), env={"PATH": "/nonexistent"})
    assert run.returncode == 2
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("coopgraph: the class diagram needs Graphviz's dot command"), last
    assert os.listdir(tmp_path / "out") == ["docs"]
    assert os.listdir(folder) == ["stale.html"]
    # With it: the folder is replaced whole.
    run = coopgraph("--root", str(ROOT), "docs", "-o", str(folder))
    assert run.returncode == 0, run.stderr
    assert os.listdir(tmp_path / "out") == ["docs"]
    assert not (folder / "stale.html").exists()
    assert (folder / "index.html").is_file()


@pytest.mark.slow
def test_docs_default_to_build_docs_in_the_project(project: Path) -> None:
    run = coopgraph("--root", str(project), "docs")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(project / "build" / "docs" / "index.html")
    assert (project / "build" / "docs" / "classes.svg").is_file()


# --------------------------------------------------------------------------- the endpoint


def test_the_endpoint_serves_the_documentation_at_the_ontology_iri(
    server: Server, ontology: Graph
) -> None:
    reply = fetch(server.url + "ontology", BROWSER)
    assert reply.status == 200 and reply.content_type.startswith("text/html")
    assert "Accept" in reply.vary
    doc = parse_html(reply.text)
    assert doc.find("h1").text() == "coopgraph ontology"
    assert doc.find("nav").links()  # in the site's frame
    assert "made by" in doc.find(id="pylode").text()  # pyLODE's page
    ids = {e.attrs["id"] for e in doc.iter() if "id" in e.attrs}
    missing = [t for t in terms(ontology) if anchor(t)[1:] not in ids]
    assert not missing, f"term IRIs whose fragment has no anchor: {missing}"
    # The diagram is shown, and served.
    data = doc.find(id="diagram").find("object").attrs["data"]
    svg = fetch(urljoin(server.url + "ontology", data))
    assert svg.status == 200 and svg.content_type.startswith("image/svg+xml")
    titles = {t.text for t in ET.fromstring(svg.body).iter(SVG + "title")}
    assert "coop:Agreement" in titles
    links = {
        a.get("{http://www.w3.org/1999/xlink}href") for a in ET.fromstring(svg.body).iter(SVG + "a")
    }
    assert "../../ontology#Agreement" in links  # from /-/docs/classes.svg


@pytest.mark.slow
def test_rdf_clients_still_get_the_ontology(server: Server) -> None:
    source = Graph().parse(ROOT / "ontology" / "coopgraph.ttl")
    for accept, fmt in (
        ("text/turtle", "turtle"),
        ("application/rdf+xml", "xml"),
        ("application/n-triples", "nt"),
        (None, "turtle"),
    ):
        reply = fetch(server.url + "ontology", accept)
        assert reply.status == 200, accept
        assert "Accept" in reply.vary
        assert isomorphic(Graph().parse(data=reply.body, format=fmt), source), accept


def test_scheme_and_concept_pages_link_to_the_vocabulary_page(
    server: Server, vocabularies: Graph, served
) -> None:
    scheme = URIRef("https://w3id.org/coopgraph/id/scheme/crime-areas")
    doc = page(server.url + "id/scheme/crime-areas")
    assert doc.find("h1").text() == "Crime areas"  # the resource page stays
    ((href, _),) = doc.find("p", class_="vocabulary").links()
    assert href == "/-/docs/schemes/crime-areas.html"
    vocabulary = page(urljoin(server.url, href))
    shown = {e.attrs["id"]: e.find("h3").text() for e in vocabulary.iter(class_="concept")}
    expected = {
        str(c).rsplit("/", 1)[1]: label(vocabularies, c)
        for c in vocabularies.subjects(SKOS.inScheme, scheme)
    }
    assert shown == expected
    # Back to the ontology page, relative to where the page is: its classes, the inferred
    # ones (a crime area is a thematic area) too.
    types = dict(vocabulary.find(id="terrorism").links())
    terrorism = URIRef("https://w3id.org/coopgraph/id/scheme/crime-areas/terrorism")
    classes = {
        server.url + "ontology#" + str(c).rsplit("#", 1)[1]
        for c in served.objects(terrorism, RDF.type)
        if str(c).startswith("https://w3id.org/coopgraph/ontology#")
    }
    shown_types = {urljoin(urljoin(server.url, href), h): t for h, t in types.items()}
    assert set(shown_types) == classes
    assert shown_types[server.url + "ontology#CrimeArea"] == "crime area"
    concept = page(server.url + "id/scheme/crime-areas/terrorism")
    ((href, _),) = concept.find("p", class_="vocabulary").links()
    assert href == "/-/docs/schemes/crime-areas.html#terrorism"
    assert fetch(urljoin(server.url, "/-/docs/schemes/no-such-scheme.html")).status == 404
    assert fetch(urljoin(server.url, "/-/docs/nothing.svg")).status == 404


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.is_file(), reason="Debian's chromium is not installed")
def test_a_browser_sent_to_a_term_iri_lands_on_the_term(server: Server) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            for term in ("CooperationAgreement", "hasParty", "Quote"):
                tab.goto(f"{server.url}ontology#{term}")
                box = tab.locator(f"#{term}").bounding_box()
                assert box is not None and abs(box["y"]) < 5, (term, box)
                assert tab.evaluate("window.scrollY") > 500, term
                assert tab.locator(f"#{term} h3").inner_text().strip()
        finally:
            browser.close()
