"""Parse Turtle files, turning any syntax error into a :class:`ParseError` with a position.

rdflib's Turtle parser (``rdflib.plugins.parsers.notation3``) raises ``BadSyntax`` with
the offending offset in the text; the line and column are worked out from that offset.
A few errors come without an offset (an unterminated long string raises a bare
``AssertionError``); their position is recovered from the text, as well as it can be.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path

from rdflib import Graph
from rdflib.plugins.parsers.notation3 import BadSyntax

from coopgraph.errors import MissingFileError, ParseError

_BOM = codecs.BOM_UTF8.decode("utf-8")
_SNIPPET = re.compile(r"\^ in (?P<before>.*)\^(?P<after>.*)\Z", re.DOTALL)


def parse_turtle(path: Path, graph: Graph, shown: str | None = None) -> Graph:
    """Parse the Turtle file ``path`` into ``graph``.

    Args:
        path: The file to parse.
        graph: The graph that receives the triples.
        shown: How to name the file in error messages (default: the path as given).

    Returns:
        ``graph``.

    Raises:
        MissingFileError: when the file does not exist.
        ParseError: for a syntax error, with the line and column where it was found.
    """
    name = shown or str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise MissingFileError(f"{name}: no such file") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        before = data[: err.start].decode("utf-8", "replace")
        line, column = position(before, len(before))
        raise ParseError(name, line, column, "not valid UTF-8 (Turtle files are UTF-8)") from None
    try:
        graph.parse(data=text, format="turtle", publicID=path.resolve().as_uri())
    except BadSyntax as err:
        raise _from_bad_syntax(name, text, err) from None
    except Exception as err:  # noqa: BLE001 - any parser failure becomes a ParseError
        raise _from_other(name, text, err) from None
    return graph


def position(text: str, offset: int) -> tuple[int, int]:
    """Return the 1-based (line, column) of character ``offset`` in ``text``."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _parsed_text(text: str) -> str:
    """The text as the parser saw it (it drops a leading byte-order mark)."""
    return text[1:] if text.startswith(_BOM) else text


def _from_bad_syntax(name: str, text: str, err: BadSyntax) -> ParseError:
    seen = _parsed_text(text)
    offset = getattr(err, "_i", None)
    why = str(getattr(err, "_why", "")) or str(err).splitlines()[0]
    if not isinstance(offset, int):
        return ParseError(name, err.lines + 1, None, why)
    if why.startswith("expected '.'"):
        offset = _end_of_previous_token(seen, offset)
        why += " (is a '.' missing at the end of the statement?)"
    elif why == "newline found in string literal":
        opening = seen.rfind('"', seen.rfind("\n", 0, offset) + 1, offset)
        if opening >= 0:
            offset = opening
        why = "string not closed on the line where it opens"
    line, column = position(seen, offset)
    return ParseError(name, line, column, why)


def _end_of_previous_token(text: str, offset: int) -> int:
    """Step back over whitespace and comments to just after the previous token."""
    while True:
        stripped = text[:offset].rstrip()
        line_start = stripped.rfind("\n") + 1
        hash_at = _comment_start(stripped[line_start:])
        if hash_at is None:
            return len(stripped)
        offset = line_start + hash_at


def _comment_start(line: str) -> int | None:
    """Return where a ``#`` comment starts in ``line`` (outside IRIs and strings)."""
    quote: str | None = None
    in_iri = False
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif in_iri:
            in_iri = char != ">"
        elif char in "\"'":
            quote = char
        elif char == "<":
            in_iri = True
        elif char == "#":
            return i
    return None


def _from_other(name: str, text: str, err: Exception) -> ParseError:
    message = " ".join(str(err).split()) or type(err).__name__
    seen = _parsed_text(text)
    match = _SNIPPET.search(str(err))
    if match is None:
        return ParseError(name, None, None, message)
    offset = seen.find(match["before"] + match["after"])
    if offset < 0:
        return ParseError(name, None, None, message)
    offset += len(match["before"])
    if message.startswith("Quote expected in string"):
        opening = max(seen.rfind('"""', 0, offset), seen.rfind("'''", 0, offset))
        if opening >= 0:
            offset = opening
        message = "string not closed: no closing quote before the end of the file"
    line, column = position(seen, offset)
    return ParseError(name, line, column, message)
