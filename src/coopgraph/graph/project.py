"""The project layout: where the project root is, and which graph each file loads into.

A project root is a folder holding ``ontology/`` and ``data/`` (and ``shapes/`` for
validation). The rules, checked here and nowhere else:

- ``ontology/*.ttl``: one ``owl:Ontology`` per file; its IRI names the file's graph
  (found when the file is parsed, see :mod:`coopgraph.graph.load`);
- ``data/<stem>.ttl``, when ``data/sources/<stem>.txt`` exists: the facts of that source,
  in graph :func:`coopgraph.namespace.source_graph` ``(stem)``;
- ``data/reference/<name>.ttl``: reference data, in graph
  :func:`coopgraph.namespace.reference_graph` ``(name)``;
- ``data/sources/``: the source texts, never loaded; hidden files and ``*.md`` are ignored;
- any other file under ``data/`` is an error;
- ``shapes/*.ttl``: SHACL shapes, loaded as the shapes graph, not as part of the dataset.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rdflib import URIRef

from coopgraph.errors import LayoutError, MissingFileError
from coopgraph.namespace import reference_graph, source_graph

ONTOLOGY_DIR = "ontology"
DATA_DIR = "data"
SHAPES_DIR = "shapes"
SOURCES_DIR = "sources"
REFERENCE_DIR = "reference"

DATA_RULE = (
    "a data file is data/<stem>.ttl with its source text data/sources/<stem>.txt, "
    "or data/reference/<name>.ttl"
)


class GraphKind(enum.Enum):
    """What a named graph holds."""

    ONTOLOGY = "ontology"
    SOURCE = "source"
    REFERENCE = "reference"
    INFERRED = "inferred"
    OTHER = "other"


@dataclass(frozen=True)
class DataFile:
    """A data file and the named graph it loads into."""

    path: Path
    graph: URIRef
    kind: GraphKind


def is_root(folder: Path) -> bool:
    """Return True when ``folder`` holds ``ontology/`` and ``data/``."""
    return (folder / ONTOLOGY_DIR).is_dir() and (folder / DATA_DIR).is_dir()


def find_root(explicit: str | Path | None = None, start: Path | None = None) -> Path:
    """Return the project root.

    Args:
        explicit: A root given by the user (``--root``, ``COOPGRAPH_ROOT``); used as is.
        start: Where to start looking upwards when ``explicit`` is empty (default: the
            current directory); the installed package's location is tried after it.

    Raises:
        MissingFileError: when the explicit root is not a project, or none is found.
    """
    if explicit:
        root = Path(explicit).expanduser().resolve()
        if not is_root(root):
            raise MissingFileError(
                f"{root} is not a coopgraph project: it needs an {ONTOLOGY_DIR}/ and a "
                f"{DATA_DIR}/ folder"
            )
        return root
    for base in (start or Path.cwd(), Path(__file__).resolve().parent):
        for folder in (base.resolve(), *base.resolve().parents):
            if is_root(folder):
                return folder
    raise MissingFileError(
        "no coopgraph project found (a folder with ontology/ and data/) above the current "
        "directory; give one with --root or COOPGRAPH_ROOT"
    )


def ontology_files(root: Path) -> list[Path]:
    """Return the ontology files, ``ontology/*.ttl``, sorted."""
    return sorted((root / ONTOLOGY_DIR).glob("*.ttl"))


def shape_files(root: Path) -> list[Path]:
    """Return the shapes files, ``shapes/*.ttl``, sorted.

    Raises:
        MissingFileError: when there is no ``shapes/`` folder or it holds no Turtle file.
    """
    files = sorted((root / SHAPES_DIR).glob("*.ttl"))
    if not files:
        raise MissingFileError(f"no SHACL shapes found: {root / SHAPES_DIR}/*.ttl is empty")
    return files


def data_files(root: Path) -> list[DataFile]:
    """Return every data file under ``data/`` with its graph, sorted by path.

    Raises:
        LayoutError: for a file under ``data/`` that the layout does not allow.
    """
    data = root / DATA_DIR
    found = [classify_data_file(path, data) for path in _walk(data)]
    return sorted((f for f in found if f is not None), key=lambda f: f.path)


def _walk(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.is_file():
            yield path


def classify_data_file(path: Path, data: Path) -> DataFile | None:
    """Return the graph that ``path`` (a file under the ``data`` folder) loads into.

    Returns:
        The file and its graph; ``None`` for a file that is not loaded (a source text,
        a Markdown note).

    Raises:
        LayoutError: when the file breaks the layout rule.
    """
    rel = path.relative_to(data)
    if rel.parts[0] == SOURCES_DIR or path.suffix == ".md":
        return None
    if path.suffix == ".ttl" and len(rel.parts) == 1:
        if not (data / SOURCES_DIR / f"{path.stem}.txt").is_file():
            raise LayoutError(
                f"{_shown(path, data)}: no source text {DATA_DIR}/{SOURCES_DIR}/{path.stem}.txt "
                f"for this file; {DATA_RULE}"
            )
        return DataFile(path, source_graph(path.stem), GraphKind.SOURCE)
    if path.suffix == ".ttl" and len(rel.parts) == 2 and rel.parts[0] == REFERENCE_DIR:
        return DataFile(path, reference_graph(path.stem), GraphKind.REFERENCE)
    raise LayoutError(f"{_shown(path, data)}: not a place for a data file; {DATA_RULE}")


def _shown(path: Path, data: Path) -> str:
    return str(Path(DATA_DIR) / path.relative_to(data))


def relative(path: Path, root: Path | None) -> str:
    """Return ``path`` relative to ``root`` when it is inside it, else as given."""
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)
