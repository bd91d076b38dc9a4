"""Read what a SPARQL request is before any engine sees it: its form and its risky keywords.

A full parse costs milliseconds with rdflib's parser, more than pyoxigraph takes to answer
a simple query, and pyoxigraph exposes no parser of its own. This module tokenizes the
text instead (strings, IRIs, comments, variables and prefixed names as the SPARQL 1.1
grammar defines them, section 19.8) and looks at the bare keywords:

- the *form*: the first of SELECT, CONSTRUCT, DESCRIBE, ASK, or of the update operations;
- ``SERVICE``, ``LOAD``: never allowed here, reported with their line and column;
- ``FROM``: the query names its own dataset; the caller then parses it fully to check that
  each graph is one of the dataset's (see :func:`coopgraph.sparql.querydataset.dataset_clause`);
- nesting: brackets (``(``, ``{``, ``[``) more than :data:`MAX_NESTING` deep, or a longer
  run of unary operators (``!``, ``-``, ``+``, ``^``). Both parsers recurse once per level,
  and a few thousand levels overflow the native stack of Oxigraph's (the process dies).

A keyword is only a keyword as a whole token: ``ex:SERVICE``, ``?service`` and
``"SERVICE"`` are not. A SERVICE clause cannot hide inside another token: an IRI cannot
contain spaces, ``<`` or ``{``, and a string or comment is skipped as the parser skips it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
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


def tokens(text: str) -> Iterator[re.Match[str]]:
    """The tokens of ``text``, each a match whose ``lastgroup`` says its kind (``iri``,
    ``string``, ``var``, ``word``, ``other``), white space and comments skipped."""
    return _TOKEN.finditer(text, _SKIP.match(text).end())  # type: ignore[union-attr]


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
        service_like: The first word that starts with the letters SERVICE, in any case
            (``service:x`` included), outside strings, IRIs and comments.
        load_like: The same for LOAD.
    """

    form: str | None
    service: Keyword | None
    load: Keyword | None
    from_clause: Keyword | None
    too_deep: Keyword | None = None
    is_lookup: bool = False
    unlimited_lookup: bool = False
    service_like: Keyword | None = None
    load_like: Keyword | None = None

    @property
    def is_update(self) -> bool:
        """True when the text is a SPARQL Update."""
        return self.form in UPDATE_FORMS

    @property
    def is_graph_query(self) -> bool:
        """True for CONSTRUCT and DESCRIBE, whose result is a graph."""
        return self.form in ("CONSTRUCT", "DESCRIBE")


def scan(text: str) -> Scan:
    """Tokenize ``text`` and report its form and risky keywords, as either engine reads
    them (see :func:`_scan`).

    rdflib decodes ``\\uXXXX`` and ``\\UXXXXXXXX`` escapes in the whole text before it
    parses it (so ``\\u0046ROM`` is FROM there), pyoxigraph does not outside strings: a
    text with escapes is scanned as it is and decoded, and a keyword found in either counts
    (at its place in the text as sent).

    An unterminated string or comment is left to the engine's parser to report.
    """
    found, form, shapes = _scan(text)
    if "\\u" in text or "\\U" in text:
        decoded, origin = _decode_escapes(text)
        also, decoded_form, _ = _scan(decoded)
        for name, at in also.items():
            found.setdefault(name, origin[at])
        form = form or decoded_form
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
        _keyword(text, "SERVICE-like", found),
        _keyword(text, "LOAD-like", found),
    )


_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def _decode_escapes(text: str) -> tuple[str, list[int]]:
    """``text`` with its codepoint escapes decoded, and for each offset of the result the
    offset in ``text`` it comes from."""
    out: list[str] = []
    origin: list[int] = []
    last = 0
    for match in _ESCAPE.finditer(text):
        out.append(text[last : match.start()])
        origin.extend(range(last, match.start()))
        code = int(match.group(1) or match.group(2), 16)
        out.append(chr(code) if code <= 0x10FFFF else "\ufffd")
        origin.append(match.start())
        last = match.end()
    out.append(text[last:])
    origin.extend(range(last, len(text) + 1))
    return "".join(out), origin


def _scan(text: str) -> tuple[dict[str, int], str | None, list[str] | None]:
    """Tokenize ``text``: where each watched keyword first is, the form, and the tokens'
    shapes for the lookup test (None when no lookup has them).

    A keyword counts where an engine reads it:

    - as a whole word (``?o.SERVICE`` is ``?o``, ``.``, ``SERVICE``);
    - glued to a prefixed name, as pyoxigraph's parser reads it (it matches keywords
      without a word boundary, and tries the keyword where a term does not fit):
      ``SERVICE:x {`` and ``SERVICESILENT:x {`` are a SERVICE (a name followed by a group
      cannot be a triple's subject), a word starting with FROM outside every group is a
      dataset clause, a word starting with LOAD where an update operation starts is a LOAD.
      ``service:x ?p ?o`` stays a triple pattern.

    Besides, ``SERVICE-like`` and ``LOAD-like`` note the first word that merely starts with
    those letters anywhere (for a store whose grammar is not known: see
    :func:`refuse_remote`).
    """
    found: dict[str, int] = {}  # keyword (or "nesting") -> where it first is
    form: str | None = None
    depth = unary = 0
    shapes: list[str] | None = []  # the tokens' shapes in _LOOKUP's terms; None: no lookup
    glued_service: int | None = None  # a word starting with SERVICE, waiting for its next token
    previous = ""  # the previous token ("" at the start)
    for match in tokens(text):
        kind = match.lastgroup
        token = match.group(kind)  # type: ignore[arg-type]
        at = match.start(kind)
        if glued_service is not None:
            if token == "{" and "SERVICE" not in found:
                found["SERVICE"] = glued_service
            glued_service = None
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
            word_form, glued_service = _watch_word(token, at, previous, depth, found)
            form = form or word_form
        if (depth > MAX_NESTING or unary > MAX_NESTING) and "nesting" not in found:
            found["nesting"] = at
        if kind == "word" and token.strip("-") or kind in ("iri", "string", "var"):
            unary = 0
        previous = ">" if kind == "iri" else token
    return found, form, shapes


def _watch_word(
    token: str, at: int, previous: str, depth: int, found: dict[str, int]
) -> tuple[str | None, int | None]:
    """Note in ``found`` the watched keywords that the word ``token`` (at offset ``at``, after
    the token ``previous``, ``depth`` groups deep) is read as. Return the query form it names,
    if any, and its offset when it is a word starting with SERVICE glued to a name (a SERVICE
    if the next token opens a group)."""
    upper = token.upper()
    after_prefix = previous.upper() == "PREFIX"
    for like in ("SERVICE", "LOAD"):
        if upper.startswith(like) and not after_prefix:
            found.setdefault(like + "-like", at)
    if ":" not in token:
        # Without a colon the token is no prefixed name: SPARQL splits it at every
        # punctuation mark ("?o.SERVICE" is "?o", ".", "SERVICE").
        form = None
        for part in _PART.finditer(token):
            word = part.group().upper()
            if word in _WATCHED and word not in found:
                found[word] = at + part.start()
            if form is None and word in _FORMS:
                form = word
        return form, None
    if upper.startswith("_:") or after_prefix:
        return None, None
    if upper.startswith("SERVICE"):
        return None, at
    if upper.startswith("FROM") and depth == 0:
        found.setdefault("FROM", at)
    elif upper.startswith("LOAD") and depth == 0 and previous in ("", ";", ">"):
        found.setdefault("LOAD", at)
    return None, None


def _keyword(text: str, name: str, found: dict[str, int]) -> Keyword | None:
    """The keyword ``name`` found at an offset of ``text``, with its line and column."""
    if name not in found:
        return None
    at = found[name]
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    shown = text[at] if name == "nesting" else name.removesuffix("-like")
    return Keyword(shown, line, column)


def refuse_remote(found: Scan, strict: bool = False) -> None:
    """Raise when the request would reach outside the dataset (SERVICE or LOAD), or nests
    deeper than the parsers can follow.

    ``strict``: for a store whose parser is not known (the remote engine, which evaluates
    the query itself), also refuse any word that starts with the letters SERVICE or LOAD,
    however it is glued to what follows.

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
    if strict:
        for like in (found.service_like, found.load_like):
            if like is not None:
                raise QueryError(
                    f"a word starting with {like.name} is not allowed here: the store behind "
                    f"this endpoint could read it as the keyword {like.name}, which would "
                    "reach outside the dataset; rename the prefix, or put a space after "
                    "the keyword if you meant a term",
                    like.line,
                    like.column,
                )


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
    if token.startswith("_:"):
        return None  # a blank node in a pattern is a variable: no constant subject
    if token == "a" or ":" in token or _NUMBER.fullmatch(token):
        return "T"
    return None


def position_of(text: str, at: int) -> tuple[int, int]:
    """The 1-based line and column of offset ``at`` in ``text``."""
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1
