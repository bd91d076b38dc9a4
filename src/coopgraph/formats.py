"""The RDF formats coopgraph reads and writes: one table, read by content negotiation, the
dumps, releases, the CLI, the pages and both engines.

Each :class:`RdfFormat` names a format once: its media type, the short names a client or a
command line may use for it, its names in rdflib and pyoxigraph, its file suffixes, whether
it keeps named graphs (a dataset format) and its IRI under ``http://www.w3.org/ns/formats/``.
SPARQL results formats (JSON, XML, CSV, TSV) are :mod:`coopgraph.sparql.results`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from coopgraph.errors import CoopgraphError


@dataclass(frozen=True)
class RdfFormat:
    """One RDF serialisation format.

    Attributes:
        media_type: Its IANA media type.
        name: Its short name, as ``coopgraph`` commands take it (``--format``).
        aliases: Other short names the ``format`` parameter of the endpoint takes.
        rdflib: Its name as rdflib's parsers and serialisers know it.
        oxigraph: pyoxigraph's value for it.
        suffixes: File suffixes of documents in it, the one written first.
        dataset: Whether coopgraph writes a whole dataset in it, named graphs kept (TriG,
            N-Quads), or one graph (JSON-LD could hold named graphs too; coopgraph writes
            one graph in it, as its peers' dumps do).
        prefixes: Whether a document in it can declare prefixes (written with the data's).
        charset: Whether its Content-Type names the character set (``charset=utf-8``): the
            plain-text formats; JSON and XML documents carry their encoding themselves.
        w3c: Its local name under ``http://www.w3.org/ns/formats/`` (service descriptions).
    """

    media_type: str
    name: str
    aliases: tuple[str, ...]
    rdflib: str
    oxigraph: ox.RdfFormat
    suffixes: tuple[str, ...]
    dataset: bool
    prefixes: bool
    charset: bool
    w3c: str

    @property
    def suffix(self) -> str:
        """The suffix of files written in this format."""
        return self.suffixes[0]


TURTLE = RdfFormat(
    "text/turtle", "turtle", ("ttl", "n3"), "turtle", ox.RdfFormat.TURTLE, (".ttl",), False,
    True, True, "Turtle",
)  # fmt: skip
NTRIPLES = RdfFormat(
    "application/n-triples", "ntriples", ("nt", "n-triples"), "nt", ox.RdfFormat.N_TRIPLES,
    (".nt",), False, False, True, "N-Triples",
)  # fmt: skip
JSONLD = RdfFormat(
    "application/ld+json", "jsonld", ("json-ld", "json"), "json-ld", ox.RdfFormat.JSON_LD,
    (".jsonld", ".json"), False, False, False, "JSON-LD",
)  # fmt: skip
RDFXML = RdfFormat(
    "application/rdf+xml", "rdfxml", ("rdf", "xml"), "xml", ox.RdfFormat.RDF_XML,
    (".rdf", ".owl", ".xml"), False, False, False, "RDF_XML",
)  # fmt: skip
TRIG = RdfFormat(
    "application/trig", "trig", (), "trig", ox.RdfFormat.TRIG, (".trig",), True, True, True, "TriG"
)
NQUADS = RdfFormat(
    "application/n-quads", "nquads", ("nq",), "nquads", ox.RdfFormat.N_QUADS, (".nq",), True,
    False, True, "N-Quads",
)  # fmt: skip

#: Every format, graph formats first, each kind in the order it is offered.
ALL = (TURTLE, NTRIPLES, JSONLD, RDFXML, TRIG, NQUADS)
#: Formats of one graph (CONSTRUCT, DESCRIBE, a resource), the default first.
GRAPHS = tuple(f for f in ALL if not f.dataset)
#: Formats that keep named graphs (a whole dataset), the default first.
DATASETS = tuple(f for f in ALL if f.dataset)

#: Media types of the formats above.
GRAPH_TYPES = tuple(f.media_type for f in GRAPHS)
DATASET_TYPES = tuple(f.media_type for f in DATASETS)

#: The dumps of the dataset, served at ``/dumps/NAME`` and written into every release: the
#: dataset formats keep one named graph per file, the graph formats hold the union graph.
DUMPS = {f"coopgraph{f.suffix}": f.media_type for f in (TRIG, NQUADS, TURTLE, NTRIPLES, JSONLD)}

_BY_MEDIA_TYPE = {f.media_type: f for f in ALL}
_BY_SUFFIX = {suffix: f for f in ALL for suffix in f.suffixes}
_BY_NAME = {name: f for f in ALL for name in (f.name, *f.aliases)}


class UnknownFormat(CoopgraphError):
    """A media type, suffix or name that is no RDF format coopgraph knows."""


def by_media_type(media_type: str) -> RdfFormat:
    """The format of ``media_type`` (parameters such as ``charset`` are ignored)."""
    found = _BY_MEDIA_TYPE.get(media_type.split(";", 1)[0].strip().lower())
    if found is None:
        known = ", ".join(_BY_MEDIA_TYPE)
        raise UnknownFormat(f"{media_type!r} is not an RDF media type coopgraph knows ({known})")
    return found


def by_suffix(suffix: str) -> RdfFormat | None:
    """The format of files ending in ``suffix`` (``.ttl``), or None."""
    return _BY_SUFFIX.get(suffix.lower())


def by_name(name: str) -> RdfFormat | None:
    """The format a short name stands for (``ttl``, ``turtle``, ``nq``), or None."""
    return _BY_NAME.get(name.strip().lower())


def rdflib_name(media_type: str) -> str:
    """rdflib's name for the format of ``media_type``."""
    return by_media_type(media_type).rdflib


def short_names(formats: tuple[RdfFormat, ...] = ALL) -> dict[str, str]:
    """Every short name of ``formats`` (names and aliases), to its media type."""
    return {name: f.media_type for f in formats for name in (f.name, *f.aliases)}
