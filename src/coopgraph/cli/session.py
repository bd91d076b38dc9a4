"""What every ``coopgraph`` command shares: the session the group options set, the exit
codes, and how an error becomes one line on stderr."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from coopgraph.errors import CoopgraphError, MissingFileError
from coopgraph.graph.load import ProjectDataset, build_dataset
from coopgraph.settings import resolve

EXIT_INVALID = 1
EXIT_BAD_INPUT = 2


class Session:
    """What the group options set, handed to every command."""

    def __init__(self, root: str | None, overrides: dict[str, str]) -> None:
        self.flags: dict[str, Any] = {"root": root}
        self.overrides = overrides

    def settings(self, **flags: Any) -> dict[str, Any]:
        """Resolve every setting, with this command's flags taking precedence."""
        return resolve({**self.flags, **flags}, self.overrides)

    def load(self, settings: dict[str, Any]) -> ProjectDataset:
        """Load the project, reporting progress on stderr when loading is slow."""
        return build_dataset(settings["root"] or None, progress=load_progress(settings))


def load_progress(settings: dict[str, Any]) -> Callable[[int, int, Path, float], None]:
    after = float(settings["progress_after"])

    def report(done: int, total: int, path: Path, seconds: float) -> None:
        if after >= 0 and seconds >= after:
            click.echo(f"loaded {done}/{total} files ({seconds:.1f} s): {path.name}", err=True)

    return report


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print ``coopgraph: message`` on stderr and exit with ``code``."""
    click.echo(f"coopgraph: {message}", err=True)
    sys.exit(code)


class Group(click.Group):
    """A click group that turns coopgraph's errors into one line on stderr."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CoopgraphError as err:
            fail(str(err))
        except KeyboardInterrupt:
            fail("interrupted", 130)


def say(line: str) -> None:
    """Progress, on stderr."""
    click.echo(line, err=True)


def read_query(name: str) -> str:
    """Return the query text in file ``name``, or on stdin when ``name`` is ``-``.

    Raises:
        MissingFileError: when the file does not exist.
        CoopgraphError: when it is not UTF-8 text or is empty.
    """
    if name == "-":
        data = sys.stdin.buffer.read()
        shown = "stdin"
    else:
        path = Path(name)
        if not path.is_file():
            raise MissingFileError(f"{name}: query file not found")
        data = path.read_bytes()
        shown = name
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise CoopgraphError(f"{shown}: not UTF-8 text (byte {err.start})") from None
    if not text.strip():
        raise CoopgraphError(f"{shown}: the query is empty")
    return text
