"""The table of RDF formats: each row names one format, and rdflib, pyoxigraph and the
endpoint agree on what that format is."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph, Literal, URIRef

from coopgraph import formats
from coopgraph.web import media

S, P, G = URIRef("http://example.org/s"), URIRef("http://example.org/p"), URIRef("http://g/1")


@pytest.mark.parametrize("fmt", formats.ALL, ids=lambda f: f.name)
def test_rdflib_writes_what_pyoxigraph_reads_under_the_same_row(fmt: formats.RdfFormat) -> None:
    if fmt.dataset:
        data = Dataset()
        data.graph(G).add((S, P, Literal("café")))
    else:
        data = Graph()
        data.add((S, P, Literal("café")))
    written = data.serialize(format=fmt.rdflib, encoding="utf-8")
    quads = list(ox.parse(written, format=fmt.oxigraph))
    assert [(q.subject.value, q.predicate.value, q.object.value) for q in quads] == [
        (str(S), str(P), "café")
    ]
    if fmt.dataset:
        assert quads[0].graph_name.value == str(G)
    assert fmt.oxigraph.media_type == fmt.media_type
    assert fmt.oxigraph.supports_datasets or not fmt.dataset


def test_every_name_suffix_and_media_type_finds_its_row() -> None:
    for fmt in formats.ALL:
        assert formats.by_media_type(fmt.media_type + "; charset=utf-8") is fmt
        assert all(formats.by_suffix(suffix.upper()) is fmt for suffix in fmt.suffixes)
        assert all(formats.by_name(name) is fmt for name in (fmt.name, *fmt.aliases))
    with pytest.raises(formats.UnknownFormat, match="text/html"):
        formats.by_media_type("text/html")
    assert formats.by_suffix(".txt") is None and formats.by_name("csv") is None


def test_no_two_rows_share_a_name_or_suffix() -> None:
    names = [n for f in formats.ALL for n in (f.name, *f.aliases)]
    suffixes = [s for f in formats.ALL for s in f.suffixes]
    assert len(names) == len(set(names)) and len(suffixes) == len(set(suffixes))


def test_the_endpoint_offers_and_names_what_the_table_holds() -> None:
    assert formats.GRAPH_TYPES == tuple(f.media_type for f in formats.ALL if not f.dataset)
    assert formats.GRAPH_TYPES[0] == "text/turtle"  # the default for CONSTRUCT and pages
    assert set(media.SUFFIXES.values()) == set(formats.GRAPH_TYPES)
    for fmt in formats.ALL:
        assert media.EXTENSIONS[fmt.media_type] == fmt.suffix[1:]
        assert ("charset=utf-8" in media.content_type(fmt.media_type)) == fmt.charset
    # each dump's file name says its format, and both dataset formats are among them
    for name, media_type in formats.DUMPS.items():
        fmt = formats.by_suffix("." + name.rsplit(".", 1)[1])
        assert fmt is not None and fmt.media_type == media_type, name
    assert set(formats.DATASET_TYPES) <= set(formats.DUMPS.values())
