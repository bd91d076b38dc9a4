"""The files the dataset is built from (:class:`Source`: a file, its format and the named
graph it loads into), the prefixes they declare, and loading them into a dataset (rdflib)
or a store (Oxigraph) with errors that name the file."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox
from rdflib import Dataset, URIRef
from rdflib.namespace import OWL, RDF

from coopgraph import formats
from coopgraph.errors import CoopgraphError, MissingFileError, ParseError
from coopgraph.graph.load import ProjectDataset, the_ontology
from coopgraph.graph.project import data_files, find_root, ontology_files
from coopgraph.graph.turtle import parse_turtle
from coopgraph.namespace import GRAPH


@dataclass(frozen=True)
class Source:
    """A file to load, and the named graph its triples go into (``None``: its own quads)."""

    path: Path
    graph: str | None
    media_type: str


def project_sources(root: str | Path | None = None) -> list[Source]:
    """Return the project's ontology and data files with the graph each loads into.

    Raises:
        MissingFileError, LayoutError, ParseError: as :func:`coopgraph.graph.load.build_dataset`.
    """
    found = find_root(root)
    sources = [
        Source(p, _ontology_iri(p, found), formats.TURTLE.media_type) for p in ontology_files(found)
    ]
    sources += [Source(f.path, str(f.graph), formats.TURTLE.media_type) for f in data_files(found)]
    return sources


def file_sources(paths: Iterable[str | Path]) -> list[Source]:
    """Return loose RDF files to serve, each triple file in a graph named after the file.

    Raises:
        MissingFileError: for a file that does not exist.
        CoopgraphError: for an extension that is not an RDF format, or two files that
            would share a graph name.
    """
    sources: list[Source] = []
    names: dict[str, Path] = {}
    for given in paths:
        path = Path(given)
        if not path.is_file():
            raise MissingFileError(f"{given}: no such file")
        fmt = formats.by_suffix(path.suffix)
        if fmt is None:
            known = ", ".join(sorted(s for f in formats.ALL for s in f.suffixes))
            raise CoopgraphError(f"{given}: not an RDF file extension (known: {known})")
        graph = None
        if not fmt.dataset:
            graph = str(GRAPH["file/" + quote(path.name)])
            if graph in names:
                raise CoopgraphError(
                    f"{given}: {names[graph]} has the same file name; each file's triples go "
                    f"into a graph named after the file, so names must differ"
                )
            names[graph] = path
        sources.append(Source(path, graph, fmt.media_type))
    return sources


def store_with_sources(sources: Sequence[Source], root: Path | None = None) -> ox.Store:
    """A new in-memory Oxigraph store holding ``sources``, each in its graph (to find which
    files state a triple; the default graph is not filled with their union).

    Raises:
        ParseError: for a file that does not parse (Oxigraph's message).
    """
    store = ox.Store()
    for source in sources:
        ox_load(store, source, shown_path(source.path, root))
    return store


def rdflib_dataset(sources: Sequence[Source], root: Path | None) -> Dataset:
    ds = ProjectDataset(root)
    for source in sources:
        shown = shown_path(source.path, root)
        target = ds if source.graph is None else ds.graph(URIRef(source.graph))
        if source.media_type == formats.TURTLE.media_type:
            parse_turtle(source.path, target, shown=shown)
            continue
        try:
            target.parse(
                source.path,
                format=formats.rdflib_name(source.media_type),
                publicID=source.path.resolve().as_uri(),
            )
        except Exception as err:  # noqa: BLE001 - rdflib parsers raise many types
            raise ParseError(shown, None, None, " ".join(str(err).split())) from None
    return ds


def ox_load(store: ox.Store, source: Source, shown: str) -> None:
    kwargs: dict[str, Any] = {
        "path": str(source.path),
        "format": formats.by_media_type(source.media_type).oxigraph,
        "base_iri": source.path.resolve().as_uri(),  # a relative IRI is relative to the file
    }
    if source.graph is not None:
        kwargs["to_graph"] = ox.NamedNode(source.graph)
    try:
        store.bulk_load(**kwargs)
    except SyntaxError as err:
        line, column = getattr(err, "lineno", None), getattr(err, "offset", None)
        message = str(err.msg if hasattr(err, "msg") else err)
        message = re.sub(r"^Parser error at line \d+ between columns \d+ and \d+: ", "", message)
        raise ParseError(shown, line, column, message) from None
    except (OSError, ValueError) as err:
        raise ParseError(shown, None, None, str(err)) from None


def _ontology_iri(path: Path, root: Path) -> str:
    """The name of an ontology file's graph (:func:`coopgraph.graph.load.the_ontology`),
    read with Oxigraph's parser."""
    try:
        quads = ox.parse(
            path=str(path), format=ox.RdfFormat.TURTLE, base_iri=path.resolve().as_uri()
        )
        subjects = [
            q.subject.value if isinstance(q.subject, ox.NamedNode) else None
            for q in quads
            if q.predicate.value == str(RDF.type)
            and isinstance(q.object, ox.NamedNode)
            and q.object.value == str(OWL.Ontology)
        ]
    except SyntaxError as err:
        raise ParseError(
            shown_path(path, root),
            getattr(err, "lineno", None),
            getattr(err, "offset", None),
            str(err),
        ) from None
    return the_ontology(list(dict.fromkeys(subjects)), shown_path(path, root))


_PREFIX_LINE = re.compile(
    r"^\s*@?prefix\s+([A-Za-z][\w.\-]*)?:\s*<([^>]*)>", re.IGNORECASE | re.MULTILINE
)


def turtle_prefixes(path: Path) -> dict[str, str]:
    """The prefixes a Turtle or TriG file declares (read from its text, first 64 KiB)."""
    with path.open(encoding="utf-8", errors="replace") as fh:
        head = fh.read(65536)
    return {m.group(1) or "": m.group(2) for m in _PREFIX_LINE.finditer(head) if m.group(1)}


def source_prefixes(
    sources: Sequence[Source], given: dict[str, str] | None = None
) -> dict[str, str]:
    """The ``given`` prefixes, then those the Turtle and TriG sources declare."""
    found = dict(given or {})
    for source in sources:
        if formats.by_media_type(source.media_type).prefixes:
            found.update({k: v for k, v in turtle_prefixes(source.path).items() if k not in found})
    return found


def shown_path(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return path.name
