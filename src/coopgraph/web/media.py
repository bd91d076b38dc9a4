"""Media types the server offers, and content negotiation (``Accept`` or a ``format`` parameter).

Negotiation follows RFC 9110, section 12.5.1, through Werkzeug's ``MIMEAccept``: q-values
rank the types, ``*/*`` and ``type/*`` match, and a type given ``q=0`` is never chosen. A
``format`` parameter (``json``, ``ttl``, or a media type) overrides the header. When nothing
on offer is acceptable, :class:`NotAcceptable` lists what is.
"""

from __future__ import annotations

from collections.abc import Sequence

from werkzeug.datastructures import MIMEAccept

from coopgraph import formats
from coopgraph.errors import CoopgraphError
from coopgraph.sparql import results

HTML = "text/html"

#: SELECT and ASK results, the first being the default.
RESULT_TYPES = (results.JSON, results.XML, results.CSV, results.TSV)
#: Short names for the ``format`` parameter (and file suffixes), by kind of result.
RESULT_NAMES = results.NAMES
GRAPH_NAMES = formats.short_names()
#: File suffixes of RDF documents (``/id/org/interpol.ttl``).
SUFFIXES = {f.suffix: f.media_type for f in formats.GRAPHS}

#: Other names clients send for the types above; each stands for any of its targets.
ALIASES = {
    "application/json": (results.JSON, formats.JSONLD.media_type),
    "application/xml": (results.XML, formats.RDFXML.media_type),
    "text/xml": (results.XML, formats.RDFXML.media_type),
    "application/x-turtle": (formats.TURTLE.media_type,),
    "text/plain": (formats.NTRIPLES.media_type,),
}

#: File extensions of downloads, by media type.
EXTENSIONS = {
    results.JSON: "srj",
    results.XML: "srx",
    results.CSV: "csv",
    results.TSV: "tsv",
    **{f.media_type: f.suffix.removeprefix(".") for f in formats.ALL},
}

_TEXT_TYPES = {results.CSV, results.TSV, HTML, *(f.media_type for f in formats.ALL if f.charset)}


class NotAcceptable(CoopgraphError):
    """No offered media type is acceptable to the client.

    Attributes:
        offers: The media types that could have been served.
    """

    def __init__(self, asked: str, offers: Sequence[str]) -> None:
        self.offers = tuple(offers)
        super().__init__(f"cannot answer with {asked}; available: {', '.join(self.offers)}")


def content_type(media_type: str) -> str:
    """The Content-Type header for ``media_type`` (text types say they are UTF-8)."""
    return f"{media_type}; charset=utf-8" if media_type in _TEXT_TYPES else media_type


def negotiate(
    accept: MIMEAccept,
    offers: Sequence[str],
    fmt: str | Sequence[str] | None = None,
    names: dict[str, str] | None = None,
) -> str:
    """Choose the media type to answer with.

    Args:
        accept: The request's parsed ``Accept`` header.
        offers: The types on offer, the preferred first (it is chosen for ``*/*``, for
            no ``Accept`` header, and between types of equal quality).
        fmt: ``format`` parameters: each a short name from ``names`` or a media type. The
            first that names something on offer wins (SPARQLWrapper, for one, sends both
            ``format=tsv`` and ``format=text/tab-separated-values``).
        names: Short names allowed in ``fmt``. ``n3`` stands for Turtle, its subset.

    Raises:
        NotAcceptable: when ``fmt`` names nothing on offer, or ``Accept`` excludes every
            offer.
    """
    given = [fmt] if isinstance(fmt, str) else list(fmt or ())
    given = [f for f in given if f.strip()]
    if given:
        for one in given:
            key = one.strip().lower()
            for wanted in ((names or {}).get(key), *ALIASES.get(key, ()), key):
                if wanted in offers:
                    return wanted
        asked = " or ".join(repr(f) for f in given)
        raise NotAcceptable(f"format {asked}", offers)
    if not accept:
        return offers[0]
    expanded = _with_aliases(accept)
    best = expanded.best_match(offers)
    if best is None:
        raise NotAcceptable(f"Accept: {accept.to_header()}", offers)
    return best


def _with_aliases(accept: MIMEAccept) -> MIMEAccept:
    """Add the canonical type for every alias the client listed, at the alias's quality."""
    extra = [
        (target, quality)
        for value, quality in accept
        for target in ALIASES.get(value, ())
        if target not in accept.values()
    ]
    if not extra:
        return accept
    return MIMEAccept([*accept, *extra])
