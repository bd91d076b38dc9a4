"""Write SELECT and ASK results in the four SPARQL 1.1 results formats.

The writers take rows of *plain terms*, small tuples that every engine can produce cheaply:

- ``("uri", iri)``
- ``("bnode", id)``
- ``("literal", lexical form, language or None, datatype IRI or None)``

so that one set of writers serves rdflib and pyoxigraph alike, and so that a result cut by
the row cap can still be written (pyoxigraph's own writers only take a whole result).

Formats: `JSON <https://www.w3.org/TR/sparql11-results-json/>`_,
`XML <https://www.w3.org/TR/rdf-sparql-XMLres/>`_,
`CSV and TSV <https://www.w3.org/TR/sparql11-results-csv-tsv/>`_.
When the result was cut, JSON and XML say so in the head (a ``link`` to the reason, as
both formats allow); CSV and TSV have no place for it, so the HTTP headers carry it for all.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar
from xml.sax.saxutils import escape, quoteattr

from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

T = TypeVar("T")
PlainTerm = tuple[str, ...] | tuple[str, str, str | None, str | None]
Row = Sequence[PlainTerm | None]

JSON = "application/sparql-results+json"
XML = "application/sparql-results+xml"
CSV = "text/csv"
TSV = "text/tab-separated-values"
MEDIA_TYPES = (JSON, XML, CSV, TSV)
#: Short names of the formats (the ``format`` parameter, ``coopgraph query --format``).
NAMES = {"json": JSON, "xml": XML, "csv": CSV, "tsv": TSV}

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
_XSD = "http://www.w3.org/2001/XMLSchema#"


def write_select(
    media_type: str, variables: Sequence[str], rows: Sequence[Row], truncated_link: str | None
) -> bytes:
    """Write a SELECT result.

    Args:
        media_type: One of :data:`MEDIA_TYPES`.
        variables: The projected variables, without ``?``.
        rows: One sequence of terms per solution, in the order of ``variables``; ``None``
            for an unbound variable.
        truncated_link: When the result was cut by the row cap, an IRI explaining it.
    """
    if media_type == JSON:
        return _json_select(variables, rows, truncated_link)
    if media_type == XML:
        return _xml_select(variables, rows, truncated_link)
    if media_type == CSV:
        return _csv_select(variables, rows)
    if media_type == TSV:
        return _tsv_select(variables, rows)
    raise ValueError(f"not a SPARQL results media type: {media_type}")


def plain_of(term: Node | None) -> PlainTerm | None:
    """The plain term of an rdflib term (``None`` for an unbound variable)."""
    if term is None:
        return None
    if isinstance(term, URIRef):
        return ("uri", str(term))
    if isinstance(term, BNode):
        return ("bnode", str(term))
    if isinstance(term, Literal):
        datatype = str(term.datatype) if term.datatype else None
        return ("literal", str(term), term.language, datatype)
    return ("literal", str(term), None, None)


def write_ask(media_type: str, value: bool) -> bytes:
    """Write an ASK result."""
    if media_type == JSON:
        return json.dumps({"head": {}, "boolean": value}).encode("utf-8")
    if media_type == XML:
        return (
            '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'
            f"<head/><boolean>{'true' if value else 'false'}</boolean></sparql>\n"
        ).encode()
    if media_type in (CSV, TSV):
        header = "_askResult" if media_type == CSV else "?_askResult"
        return f"{header}\r\n{'true' if value else 'false'}\r\n".encode()
    raise ValueError(f"not a SPARQL results media type: {media_type}")


# ---------------------------------------------------------------------- JSON


def _json_term(term: PlainTerm) -> dict[str, str]:
    kind = term[0]
    if kind == "literal":
        out = {"type": "literal", "value": term[1]}
        if term[2]:
            out["xml:lang"] = term[2]
        elif term[3] and term[3] != XSD_STRING:
            out["datatype"] = term[3]
        return out
    return {"type": kind, "value": term[1]}


def _json_select(variables: Sequence[str], rows: Sequence[Row], link: str | None) -> bytes:
    head: dict[str, object] = {"vars": list(variables)}
    if link:
        head["link"] = [link]
    bindings = [
        {v: _json_term(t) for v, t in zip(variables, row, strict=True) if t is not None}
        for row in rows
    ]
    return json_document({"head": head, "results": {"bindings": bindings}})


def json_document(doc: object) -> bytes:
    """A JSON results document, written compactly in UTF-8."""
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


#: JSON string quoting as ``json.dumps(..., ensure_ascii=False)`` does it (the C encoder).
json_string = json.encoder.encode_basestring


def json_literal(value: str, language: str | None, datatype: str | None) -> str:
    """A literal as a JSON results term, written as text, as :func:`_json_term` writes it."""
    if language:
        return (
            f'{{"type":"literal","value":{json_string(value)},"xml:lang":{json_string(language)}}}'
        )
    if datatype and datatype != XSD_STRING:
        return (
            f'{{"type":"literal","value":{json_string(value)},"datatype":{json_string(datatype)}}}'
        )
    return f'{{"type":"literal","value":{json_string(value)}}}'


def json_select_text(
    variables: Sequence[str], rows: Iterable[Sequence[str | None]], link: str | None
) -> bytes:
    """Write a JSON SELECT result from terms already written as JSON text (``None``: unbound).

    The bytes are those of :func:`write_select` for the same terms; an engine that can write
    its terms directly skips the plain terms and the dictionaries in between.
    """
    names = [json_string(v) + ":" for v in variables]
    bindings = ",".join(
        "{" + ",".join(n + t for n, t in zip(names, row, strict=True) if t is not None) + "}"
        for row in rows
    )
    head = '{"vars":[' + ",".join(json_string(v) for v in variables) + "]"
    if link:
        head += ',"link":[' + json_string(link) + "]"
    return ('{"head":' + head + '},"results":{"bindings":[' + bindings + "]}}").encode("utf-8")


# ---------------------------------------------------------------------- XML


def _xml_term(term: PlainTerm) -> str:
    kind = term[0]
    if kind == "uri":
        return f"<uri>{escape(term[1])}</uri>"
    if kind == "bnode":
        return f"<bnode>{escape(term[1])}</bnode>"
    attrs = ""
    if term[2]:
        attrs = f" xml:lang={quoteattr(term[2])}"
    elif term[3] and term[3] != XSD_STRING:
        attrs = f" datatype={quoteattr(term[3])}"
    return f"<literal{attrs}>{escape(_xml_text(term[1]))}</literal>"


def _xml_text(text: str) -> str:
    """Drop the characters XML 1.0 cannot carry at all (control characters but tab/LF/CR)."""
    if all(c >= " " or c in "\t\n\r" for c in text):
        return text
    return "".join(c for c in text if c >= " " or c in "\t\n\r")


def _xml_select(variables: Sequence[str], rows: Sequence[Row], link: str | None) -> bytes:
    parts = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>']
    parts += [f"<variable name={quoteattr(v)}/>" for v in variables]
    if link:
        parts.append(f"<link href={quoteattr(link)}/>")
    parts.append("</head><results>")
    for row in rows:
        parts.append("<result>")
        for v, t in zip(variables, row, strict=True):
            if t is not None:
                parts.append(f"<binding name={quoteattr(v)}>{_xml_term(t)}</binding>")
        parts.append("</result>")
    parts.append("</results></sparql>\n")
    return "".join(parts).encode("utf-8")


# ---------------------------------------------------------------------- CSV and TSV


def _csv_field(term: PlainTerm | None) -> str:
    if term is None:
        return ""
    text = term[1] if term[0] != "bnode" else "_:" + term[1]
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_select(variables: Sequence[str], rows: Sequence[Row]) -> bytes:
    lines = [",".join(variables)]
    lines += [",".join(_csv_field(t) for t in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _turtle_string(text: str) -> str:
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{escaped}"'


def tsv_term(term: PlainTerm | None) -> str:
    """Write a term as in SPARQL TSV results: Turtle syntax, with tabs and newlines escaped."""
    if term is None:
        return ""
    kind = term[0]
    if kind == "uri":
        return f"<{term[1]}>"
    if kind == "bnode":
        return f"_:{term[1]}"
    if term[2]:
        return f"{_turtle_string(term[1])}@{term[2]}"
    datatype = term[3]
    if not datatype or datatype == XSD_STRING:
        return _turtle_string(term[1])
    return f"{_turtle_string(term[1])}^^<{datatype}>"


def _tsv_select(variables: Sequence[str], rows: Sequence[Row]) -> bytes:
    lines = ["\t".join("?" + v for v in variables)]
    lines += ["\t".join(tsv_term(t) for t in row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


# ---------------------------------------------------------------------- the byte cap


def take(
    items: Iterable[T], most: int, max_bytes: int, size: Callable[[T], int]
) -> tuple[list[T], bool, bool]:
    """Read at most ``most`` items, and stop early once they hold more than ``max_bytes``.

    ``size`` estimates what an item adds to the written answer (its terms' text). Reading
    one more item than ``most`` tells whether the row cap cut the answer; reading past the
    byte budget would only fill memory with what cannot be sent.

    Returns:
        The items read, whether the row cap cut them, and whether the byte cap did.
    """
    taken: list[T] = []
    held = 0
    for item in items:
        if len(taken) == most:
            return taken, True, False
        held += size(item)
        if max_bytes and held > max_bytes:
            return taken, False, True
        taken.append(item)
    return taken, False, False


def fit(write: Callable[[int, bool], bytes], count: int, max_bytes: int) -> tuple[bytes, int]:
    """The answer of the most of ``count`` items whose written form holds ``max_bytes``.

    ``write(n, cut)`` writes the first ``n`` items (``cut``: fewer than were found, so that
    JSON and XML say so in their head). Most answers fit at once; one that does not is
    written again with fewer items, halving the range each time.

    Returns:
        The body, and how many items it holds.
    """
    body = write(count, False)
    if not max_bytes or len(body) <= max_bytes:
        return body, count
    low, high = 0, count - 1  # the answer for ``low`` items fits or is the empty one
    best = write(0, True)
    while low < high:
        middle = (low + high + 1) // 2
        candidate = write(middle, True)
        if len(candidate) <= max_bytes:
            low, best = middle, candidate
        else:
            high = middle - 1
    return best, low


def term_size(term: PlainTerm | None) -> int:
    """About what a plain term adds to a written answer."""
    if term is None:
        return 1
    return 16 + sum(len(part) for part in term if part)
