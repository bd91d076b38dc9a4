"""Read what a SPARQL request is before any engine sees it: its form and its risky keywords.

A full parse costs milliseconds with rdflib's parser, more than pyoxigraph takes to answer
a simple query, and pyoxigraph exposes no parser of its own. This module tokenizes the
text instead (strings, IRIs, comments, variables and prefixed names as the SPARQL 1.1
grammar defines them, section 19.8) and looks at the bare keywords:

- the *form*: the first of SELECT, CONSTRUCT, DESCRIBE, ASK, or of the update operations;
- ``SERVICE``, ``LOAD``: never allowed here, reported with their line and column;
- ``FROM``: the query names its own dataset; the caller then parses it fully to check that
  each graph is one of the dataset's (see :func:`dataset_clause`);
- nesting: brackets (``(``, ``{``, ``[``) more than :data:`MAX_NESTING` deep, or a longer
  run of unary operators (``!``, ``-``, ``+``, ``^``). Both parsers recurse once per level,
  and a few thousand levels overflow the native stack of Oxigraph's (the process dies).

A keyword is only a keyword as a whole token: ``ex:SERVICE``, ``?service`` and
``"SERVICE"`` are not. A SERVICE clause cannot hide inside another token: an IRI cannot
contain spaces, ``<`` or ``{``, and a string or comment is skipped as the parser skips it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from coopgraph.errors import QueryError

QUERY_FORMS = ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK")
UPDATE_FORMS = (
    "INSERT",
    "DELETE",
    "LOAD",
    "CLEAR",
    "DROP",
    "CREATE",
    "ADD",
    "MOVE",
    "COPY",
    "WITH",
)

_TOKEN = re.compile(
    r"""
    (?:
      (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''
               |\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
               |'(?:[^'\\\n\r]|\\.)*'
               |"(?:[^"\\\n\r]|\\.)*")
    | (?P<var>[?$][\w\u00b7\u0300-\u036f\u203f-\u2040]+)
    | (?P<word>[\w.\-:%\\\u00b7\u0300-\u036f\u203f-\u2040]+)
    | (?P<other>.)
    )
    (?:\s+|\#[^\n\r]*)*  # the white space and comments after a token: skipped with it
    """,
    re.VERBOSE | re.DOTALL,
)
#: White space and comments before the first token.
_SKIP = re.compile(r"(?:\s+|#[^\n\r]*)*")


#: The deepest nesting accepted; hand-written and generated queries stay far below it.
MAX_NESTING = 128
_OPEN = frozenset("({[")
_CLOSE = frozenset(")}]")
_UNARY = frozenset("!-+^")

_PART = re.compile(r"\w+")
_WATCHED = ("SERVICE", "LOAD", "FROM")
_FORMS = frozenset(QUERY_FORMS + UPDATE_FORMS)


@dataclass(frozen=True)
class Keyword:
    """A keyword found in the text, with its 1-based line and column."""

    name: str
    line: int
    column: int

    def where(self) -> str:
        """``line L, column C``."""
        return f"line {self.line}, column {self.column}"


@dataclass(frozen=True)
class Scan:
    """What :func:`scan` found in a request.

    Attributes:
        form: ``SELECT``, ``CONSTRUCT``, ``DESCRIBE``, ``ASK``, an update operation such as
            ``INSERT``, or ``None`` when no form keyword was found.
        service: The first ``SERVICE`` keyword, if any.
        load: The first ``LOAD`` keyword, if any.
        from_clause: The first ``FROM`` keyword, if any.
        too_deep: Where the nesting first went past :data:`MAX_NESTING`, if it did.
        is_lookup: The text is a lookup of one node's statements (see :func:`is_lookup`).
        unlimited_lookup: The text is a SELECT lookup with neither LIMIT nor OFFSET, so
            :func:`with_limit` may add a LIMIT to it.
    """

    form: str | None
    service: Keyword | None
    load: Keyword | None
    from_clause: Keyword | None
    too_deep: Keyword | None = None
    is_lookup: bool = False
    unlimited_lookup: bool = False

    @property
    def is_update(self) -> bool:
        """True when the text is a SPARQL Update."""
        return self.form in UPDATE_FORMS

    @property
    def is_graph_query(self) -> bool:
        """True for CONSTRUCT and DESCRIBE, whose result is a graph."""
        return self.form in ("CONSTRUCT", "DESCRIBE")


def scan(text: str) -> Scan:
    """Tokenize ``text`` and report its form and risky keywords.

    An unterminated string or comment is left to the engine's parser to report.
    """
    found: dict[str, int] = {}  # keyword (or "nesting") -> where it first is
    form: str | None = None
    depth = unary = 0
    shapes: list[str] | None = []  # the tokens' shapes in _LOOKUP's terms; None: no lookup
    for match in _TOKEN.finditer(text, _SKIP.match(text).end()):  # type: ignore[union-attr]
        kind = match.lastgroup
        token = match.group(kind)  # type: ignore[arg-type]
        if shapes is not None:
            shape = _lookup_shape(kind, token, shapes[-1] if shapes else "")
            if shape is None:
                shapes = None
            elif shape:
                shapes.append(shape)
        if kind == "other":
            depth += token in _OPEN
            depth -= token in _CLOSE and depth > 0
            unary = unary + 1 if token in _UNARY else 0
        elif kind == "word":
            # "-" is a word character here (for prefixed names), so "- - -1" is words.
            unary += len(token) - len(token.lstrip("-"))
            if ":" not in token:
                # Without a colon the token is no prefixed name: SPARQL splits it at every
                # punctuation mark ("?o.SERVICE" is "?o", ".", "SERVICE").
                for part in _PART.finditer(token):
                    word = part.group().upper()
                    if word in _WATCHED and word not in found:
                        found[word] = match.start(kind) + part.start()
                    if form is None and word in _FORMS:
                        form = word
        if (depth > MAX_NESTING or unary > MAX_NESTING) and "nesting" not in found:
            found["nesting"] = match.start(kind)
        if kind == "word" and token.strip("-") or kind in ("iri", "string", "var"):
            unary = 0
    lookup = shapes is not None and _LOOKUP.fullmatch(" ".join(shapes) + " ") is not None
    unlimited = lookup and "SELECT" in shapes and not {"LIMIT", "OFFSET"} & set(shapes)  # type: ignore[arg-type]
    return Scan(
        form,
        _keyword(text, "SERVICE", found),
        _keyword(text, "LOAD", found),
        _keyword(text, "FROM", found),
        _keyword(text, "nesting", found),
        lookup,
        unlimited,
    )


def _keyword(text: str, name: str, found: dict[str, int]) -> Keyword | None:
    """The keyword ``name`` found at an offset of ``text``, with its line and column."""
    if name not in found:
        return None
    at = found[name]
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    return Keyword(text[at] if name == "nesting" else name, line, column)


def refuse_remote(found: Scan) -> None:
    """Raise when the request would reach outside the dataset (SERVICE or LOAD), or nests
    deeper than the parsers can follow.

    Raises:
        QueryError: naming the keyword (or the bracket) and where it is.
    """
    if found.too_deep is not None:
        raise QueryError(
            f"the query nests more than {MAX_NESTING} levels deep (brackets, or unary "
            f"operators such as '!' in a row) at '{found.too_deep.name}'; flatten it",
            found.too_deep.line,
            found.too_deep.column,
        )
    if found.service is not None:
        raise QueryError(
            "SERVICE is not allowed: this endpoint never sends queries to other "
            "endpoints; query the local dataset instead",
            found.service.line,
            found.service.column,
        )
    if found.load is not None:
        raise QueryError(
            "LOAD is not allowed: this endpoint never fetches documents from the web or "
            "the file system",
            found.load.line,
            found.load.column,
        )


def dataset_clause(text: str) -> tuple[list[str], list[str]]:
    """Return the IRIs of the query's FROM and FROM NAMED clauses, fully parsed.

    Raises:
        QueryError: when the query does not parse.
    """
    from coopgraph.query import parse_query  # rdflib's parser: slow, so only when needed

    parsed = parse_query(text)
    default: list[str] = []
    named: list[str] = []
    for clause in parsed.algebra.get("datasetClause") or []:
        # CompValue.get answers a missing key with a placeholder, not None: test membership.
        if "default" in clause:
            default.append(str(clause["default"]))
        elif "named" in clause:
            named.append(str(clause["named"]))
    return default, named


#: A bounded lookup, token by token (see :func:`is_lookup`): ``T`` a constant term (an IRI,
#: a prefixed name, a string or a number), ``V`` a variable, ``N`` a whole number; the
#: keywords are matched in any case.
_LOOKUP = re.compile(
    r"(PREFIX P I |BASE I )*"
    r"(SELECT (DISTINCT |REDUCED )?(V )+(WHERE )?\{ T (T|V) (T|V) (\. )?\} (LIMIT N )?(OFFSET N )?"
    r"|SELECT (DISTINCT |REDUCED )?\* (WHERE )?\{ T (T|V) (T|V) (\. )?\} (LIMIT N )?(OFFSET N )?"
    r"|DESCRIBE T )"
)


def is_lookup(text: str) -> bool:
    """Whether ``text`` is a lookup whose work is bounded by one node's own statements.

    That is one triple pattern with a constant subject (``SELECT ?p ?o WHERE { <s> ?p ?o }``,
    with optional DISTINCT, LIMIT and OFFSET, and prefixes), or ``DESCRIBE <s>``: an index
    lookup of the statements about ``s``, which cannot run away. Anything else (a second
    pattern, a FILTER, a path, a sub-query, ORDER BY, GROUP BY, FROM ...) is not a lookup.
    """
    return scan(text).is_lookup


def with_limit(text: str, rows: int) -> str:
    """The lookup ``text`` (one that :attr:`Scan.unlimited_lookup` holds for) with a LIMIT
    of ``rows``. It goes on a line of its own, after any comment on the last line."""
    return f"{text}\nLIMIT {rows}"


_LOOKUP_KEYWORDS = frozenset(
    ("PREFIX", "BASE", "SELECT", "DISTINCT", "REDUCED", "WHERE", "LIMIT", "OFFSET", "DESCRIBE")
)
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _lookup_shape(kind: str | None, token: str, previous: str) -> str | None:
    """What a token is in :data:`_LOOKUP`'s terms: "" to skip it, None when no lookup has it."""
    if kind == "iri":
        return "I" if previous in ("P", "BASE") else "T"
    if kind == "string":
        return "T"
    if kind == "var":
        return "V"
    if kind == "other":
        return token if token in "{}.*" else None
    if token.upper() in _LOOKUP_KEYWORDS:
        return token.upper()
    if previous == "PREFIX" and token.endswith(":"):
        return "P"
    if previous in ("LIMIT", "OFFSET"):
        return "N" if token.isdigit() else None
    if token == ".":  # "." is a word character here, for prefixed names
        return "."
    if token == "a" or ":" in token or _NUMBER.fullmatch(token):
        return "T"
    return None
