"""Every quote in the bundled graph occurs, word for word, in the source it cites."""

from __future__ import annotations

import re

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import PROV, RDF

from tests.support import ROOT

DATA = ROOT / "data"
COOP = "https://w3id.org/coopgraph/ontology#"
SOURCE_BASE = "https://w3id.org/coopgraph/id/source/"


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _data_graph() -> Graph:
    graph = Graph()
    for path in sorted(DATA.rglob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


GRAPH = _data_graph()
QUOTES = sorted(GRAPH.subjects(RDF.type, URIRef(COOP + "Quote")))


def test_the_graph_has_quotes_from_every_source() -> None:
    cited = {GRAPH.value(q, PROV.wasQuotedFrom) for q in QUOTES}
    stems = {p.stem for p in (DATA / "sources").glob("*.txt")}
    assert stems, "no source texts in data/sources"
    assert cited == {URIRef(SOURCE_BASE + stem) for stem in stems}


@pytest.mark.parametrize("quote", QUOTES, ids=lambda q: str(q).rsplit("/", 1)[-1])
def test_quote_occurs_in_its_source(quote: URIRef) -> None:
    source = GRAPH.value(quote, PROV.wasQuotedFrom)
    assert source is not None, f"{quote} cites no source"
    stem = str(source).removeprefix(SOURCE_BASE)
    text_file = DATA / "sources" / f"{stem}.txt"
    assert text_file.is_file(), f"{quote} cites {source}, whose text {text_file} is missing"
    texts = list(GRAPH.objects(quote, PROV.value))
    assert len(texts) == 1, f"{quote} must hold exactly one prov:value"
    assert _normalise(str(texts[0])) in _normalise(text_file.read_text(encoding="utf-8"))


@pytest.mark.parametrize("quote", QUOTES, ids=lambda q: str(q).rsplit("/", 1)[-1])
def test_quote_sits_in_the_file_of_its_source(quote: URIRef) -> None:
    """A source's quotes are written in that source's file, so they load into its graph."""
    stem = str(GRAPH.value(quote, PROV.wasQuotedFrom)).removeprefix(SOURCE_BASE)
    own = Graph().parse(DATA / f"{stem}.ttl", format="turtle")
    assert (quote, RDF.type, URIRef(COOP + "Quote")) in own


def test_source_file_annotation_points_at_the_text() -> None:
    for source in GRAPH.subjects(RDF.type, URIRef(COOP + "SourceDocument")):
        rel = GRAPH.value(source, URIRef(COOP + "sourceFile"))
        assert rel is not None, f"{source} has no coop:sourceFile"
        assert (DATA / str(rel)).is_file(), f"{source}: {rel} does not exist"


def test_copied_texts_are_identical_to_the_shared_sources() -> None:
    shared = ROOT.parent / "shared" / "sources"
    if not shared.is_dir():
        pytest.skip("../shared/sources is not beside this checkout")
    for original in sorted(shared.glob("*.txt")):
        copy = DATA / "sources" / original.name
        assert copy.is_file(), f"{original.name} was not copied into data/sources"
        assert copy.read_bytes() == original.read_bytes(), f"{copy} differs from {original}"
