"""Errors raised by coopgraph.

Every error the package raises on purpose is a :class:`CoopgraphError`. The message says what
was wrong and where, in words meant for the person who has to fix it. Errors become exit codes
(CLI) or HTTP statuses (web) only at the edges.
"""

from __future__ import annotations

from pathlib import Path


class CoopgraphError(Exception):
    """Base class of every error coopgraph raises on purpose."""


class MissingFileError(CoopgraphError):
    """A file or folder that is needed does not exist; the message names it."""


class ParseError(CoopgraphError):
    """An RDF file could not be parsed.

    Args:
        path: The file that failed to parse.
        line: The 1-based line of the error, if known.
        column: The 1-based column of the error, if known.
        message: What the parser found wrong.
    """

    def __init__(
        self, path: Path | str, line: int | None, column: int | None, message: str
    ) -> None:
        self.path = Path(path)
        self.line = line
        self.column = column
        self.message = message
        where = str(path)
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {message}")


class LayoutError(CoopgraphError):
    """A file sits where the project layout does not allow it; the message names the file
    and the rule it breaks."""


class QueryError(CoopgraphError):
    """A SPARQL query could not be parsed or is not allowed here.

    Args:
        message: What is wrong with the query.
        line: The 1-based line in the query where the parser stopped, if known.
        column: The 1-based column in the query where the parser stopped, if known.
    """

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        self.message = message
        self.line = line
        self.column = column
        where = ""
        if line is not None:
            where = f"line {line}" + (f", column {column}" if column is not None else "") + ": "
        super().__init__(f"query: {where}{message}")


class FormatError(CoopgraphError):
    """An output or input format is not one coopgraph knows.

    Args:
        name: The format asked for.
        known: The formats that would have worked.
        what: What the format was for, e.g. "the validation report".
        kind: What is unknown, when it is not a format (e.g. "reasoner").
    """

    def __init__(
        self,
        name: str,
        known: tuple[str, ...] | list[str],
        what: str | None = None,
        kind: str = "format",
    ) -> None:
        self.name = name
        self.known = tuple(known)
        self.what = what
        target = f" for {what}" if what else ""
        super().__init__(f"unknown {kind} {name!r}{target}; use one of: {', '.join(self.known)}")


class SettingError(CoopgraphError):
    """A setting has an unknown name or a value of the wrong type."""


class ReasonerError(CoopgraphError):
    """An external reasoner could not be run (no Java runtime, a Java error); the message
    says what to install or what the reasoner reported."""
