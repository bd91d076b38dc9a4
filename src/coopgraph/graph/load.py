"""Load the ontology and data files into one rdflib Dataset, one named graph per file.

The graph names follow the layout rules in :mod:`coopgraph.graph.project`. The result keeps,
in :attr:`ProjectDataset.files`, which file each graph came from, so that later stages
(validation reports, resource pages) can name the file a node comes from.

Parse errors name the file, the line and the column (see :mod:`coopgraph.graph.turtle`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

from rdflib import Dataset, Graph, URIRef
from rdflib.namespace import OWL, RDF

from coopgraph.errors import LayoutError, MissingFileError
from coopgraph.graph.project import (
    DATA_DIR,
    ONTOLOGY_DIR,
    DataFile,
    GraphKind,
    classify_data_file,
    data_files,
    find_root,
    ontology_files,
    relative,
    shape_files,
)
from coopgraph.graph.turtle import parse_turtle

#: Called after each file is parsed: (files done, files in all, the file, seconds so far).
Progress = Callable[[int, int, Path, float], None]


class ProjectDataset(Dataset):
    """An rdflib Dataset whose default graph is the union of its named graphs.

    Attributes:
        root: The project root the files were loaded from (``None`` for loose files).
        files: Graph name -> the file it was parsed from.
        kinds: Graph name -> what the graph holds.
    """

    def __init__(self, root: Path | None = None) -> None:
        super().__init__(default_union=True)
        self.root = root
        self.files: dict[URIRef, Path] = {}
        self.kinds: dict[URIRef, GraphKind] = {}

    def graphs_of(self, *kinds: GraphKind) -> list[URIRef]:
        """Return the names of the graphs of the given kinds, in load order."""
        return [name for name, kind in self.kinds.items() if kind in kinds]

    def asserted_graphs(self) -> list[URIRef]:
        """Return the names of the ontology and data graphs (everything but inferences)."""
        return [name for name, kind in self.kinds.items() if kind is not GraphKind.INFERRED]

    def merged(self, *kinds: GraphKind, include_inferred: bool = False) -> Graph:
        """Return a new graph holding the union of some of the dataset's graphs.

        Args:
            kinds: The kinds of graph to take (default: every asserted graph).
            include_inferred: Also take the inferred graph.

        The copy can be changed without touching the dataset; it keeps the prefixes.
        """
        wanted = set(kinds or set(GraphKind) - {GraphKind.INFERRED})
        if include_inferred:
            wanted.add(GraphKind.INFERRED)
        merged = Graph()
        for name in self.graphs_of(*wanted):
            merged.addN((s, p, o, merged) for s, p, o in self.graph(name))
        for prefix, namespace in self.namespaces():
            merged.bind(prefix, namespace, override=False)
        return merged

    def file_of(self, graph: URIRef) -> str | None:
        """Return the file that ``graph`` was loaded from, relative to the root."""
        path = self.files.get(graph)
        return None if path is None else relative(path, self.root)

    def attach(self, graph: Graph, kind: GraphKind = GraphKind.INFERRED) -> None:
        """Add ``graph``'s triples as the named graph ``graph.identifier``.

        Raises:
            ValueError: when a graph of that name is already in the dataset.
        """
        name = URIRef(graph.identifier)
        if name in self.kinds:
            raise ValueError(f"the dataset already has a graph named {name}")
        context = self.graph(name)
        context.addN((s, p, o, context) for s, p, o in graph)
        self.kinds[name] = kind


def build_dataset(
    root: str | Path | None = None, progress: Progress | None = None
) -> ProjectDataset:
    """Parse every ontology and data file of a project into its named graph.

    Args:
        root: The project root; found with :func:`coopgraph.graph.project.find_root` when empty.
        progress: Called after each file (for a progress report on long loads).

    Returns:
        The dataset, with the graph -> file mapping.

    Raises:
        MissingFileError: when there is no project at ``root``.
        LayoutError: for a misplaced data file, or an ontology file that does not hold
            exactly one ``owl:Ontology``.
        ParseError: for a Turtle syntax error (file, line, column).
    """
    found = find_root(root)
    entries: list[Path | DataFile] = [*ontology_files(found), *data_files(found)]
    return _load(entries, found, progress)


def load_files(
    paths: Iterable[str | Path], root: str | Path | None = None, progress: Progress | None = None
) -> ProjectDataset:
    """Parse an explicit list of Turtle files, each into its named graph.

    A file under ``<root>/ontology/`` or ``<root>/data/`` gets the graph the layout gives
    it; any other file gets a graph named by its own ``file:`` URI.

    Args:
        paths: The files to load.
        root: The project root the layout rules apply to (optional).
        progress: Called after each file.

    Raises:
        MissingFileError: when a file does not exist.
        LayoutError: for a misplaced data file, or a bad ontology file.
        ParseError: for a Turtle syntax error.
    """
    base = Path(root).resolve() if root else None
    entries: list[Path | DataFile] = []
    for given in paths:
        path = Path(given).resolve()
        if not path.is_file():
            raise MissingFileError(f"{given}: no such file")
        entries.append(_entry(path, base))
    return _load(entries, base, progress)


def _entry(path: Path, root: Path | None) -> Path | DataFile:
    """Classify one explicitly given file (a bare Path means "an ontology file")."""
    if root is not None and path.is_relative_to(root / ONTOLOGY_DIR):
        return path
    if root is not None and path.is_relative_to(root / DATA_DIR):
        entry = classify_data_file(path, root / DATA_DIR)
        if entry is None:
            raise LayoutError(f"{relative(path, root)}: not a data file, nothing to load")
        return entry
    return DataFile(path, URIRef(path.as_uri()), GraphKind.OTHER)


def _load(
    entries: list[Path | DataFile], root: Path | None, progress: Progress | None
) -> ProjectDataset:
    ds = ProjectDataset(root)
    start = time.monotonic()
    for done, entry in enumerate(entries, start=1):
        if isinstance(entry, DataFile):
            _add_data_file(ds, entry)
        else:
            _add_ontology_file(ds, entry)
        if progress is not None:
            path = entry.path if isinstance(entry, DataFile) else entry
            progress(done, len(entries), path, time.monotonic() - start)
    return ds


def _register(ds: ProjectDataset, name: URIRef, path: Path, kind: GraphKind) -> None:
    if name in ds.files:
        raise LayoutError(
            f"{relative(path, ds.root)}: its graph {name} is already loaded from "
            f"{ds.file_of(name)}; every file needs a graph of its own"
        )
    ds.files[name] = path
    ds.kinds[name] = kind


def _add_data_file(ds: ProjectDataset, entry: DataFile) -> None:
    _register(ds, entry.graph, entry.path, entry.kind)
    parse_turtle(entry.path, ds.graph(entry.graph), shown=relative(entry.path, ds.root))


def _add_ontology_file(ds: ProjectDataset, path: Path) -> None:
    shown = relative(path, ds.root)
    parsed = parse_turtle(path, Graph(), shown=shown)
    name = ontology_iri(parsed, shown)
    _register(ds, name, path, GraphKind.ONTOLOGY)
    context = ds.graph(name)
    context.addN((s, p, o, context) for s, p, o in parsed)
    for prefix, namespace in parsed.namespace_manager.namespaces():
        ds.bind(prefix, namespace, override=False)


def ontology_iri(graph: Graph, shown: str) -> URIRef:
    """Return the IRI of the one ``owl:Ontology`` in ``graph`` (see :func:`the_ontology`)."""
    subjects = graph.subjects(RDF.type, OWL.Ontology)
    return URIRef(
        the_ontology([str(s) if isinstance(s, URIRef) else None for s in subjects], shown)
    )


def the_ontology(subjects: list[str | None], shown: str) -> str:
    """The rule that names an ontology file's graph: the file declares exactly one
    ``owl:Ontology``, with an IRI, and that IRI is the graph's name.

    Args:
        subjects: The subjects of the file's ``rdf:type owl:Ontology`` triples (None for
            a blank node).
        shown: The file, as messages show it.

    Raises:
        LayoutError: when the file declares no ontology, several, or a blank node one.
    """
    if len(subjects) != 1 or subjects[0] is None:
        raise LayoutError(
            f"{shown}: an ontology file must declare exactly one owl:Ontology with an IRI "
            f"(it names the file's graph); found {len(subjects)}"
            + (" (a blank node)" if len(subjects) == 1 else "")
        )
    return subjects[0]


def load_shapes(root: str | Path | None = None) -> Graph:
    """Parse ``shapes/*.ttl`` into one shapes graph.

    Raises:
        MissingFileError: when the project has no shapes.
        ParseError: for a Turtle syntax error.
    """
    found = find_root(root)
    shapes = Graph()
    for path in shape_files(found):
        parse_turtle(path, shapes, shown=relative(path, found))
    return shapes
