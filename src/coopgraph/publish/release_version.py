"""The versions a release states: each ontology module's ``owl:versionInfo`` and
``owl:versionIRI``, written into its graph, its Turtle text and the Protégé catalog."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import OWL

from coopgraph.atomic import write_atomically
from coopgraph.errors import CoopgraphError
from coopgraph.graph.load import ProjectDataset
from coopgraph.graph.project import ONTOLOGY_DIR, GraphKind, relative
from coopgraph.namespace import ONTOLOGY_GRAPH

VERSION = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")
CATALOG = "catalog-v001.xml"


@dataclass
class Module:
    """An ontology module, as released.

    Attributes:
        path: Its source file.
        iri: Its ontology IRI (the name of its graph).
        old_version: The version its source states.
        old_version_iri: Its source's ``owl:versionIRI``.
        version_iri: Its ``owl:versionIRI`` in the release.
        text: Its Turtle, version lines changed.
    """

    path: Path
    iri: URIRef
    old_version: str
    old_version_iri: str
    version_iri: str
    text: str = ""


def parse_version(text: str) -> tuple[int, int, int]:
    """``"1.2.3"`` -> ``(1, 2, 3)``.

    Raises:
        CoopgraphError: for anything but three dot-separated numbers.
    """
    match = VERSION.fullmatch(text)
    if match is None:
        raise CoopgraphError(f"version {text!r} is not of the form X.Y.Z (e.g. 0.2.0)")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def modules_of(ds: ProjectDataset) -> list[Module]:
    """The ontology modules, the core one first, with the version IRIs they will have."""
    found = []
    for name in sorted(ds.graphs_of(GraphKind.ONTOLOGY), key=lambda n: (n != ONTOLOGY_GRAPH, n)):
        graph, path = ds.graph(name), ds.files[name]
        shown = relative(path, ds.root)
        info = graph.value(name, OWL.versionInfo)
        version_iri = graph.value(name, OWL.versionIRI)
        if info is None or version_iri is None:
            raise CoopgraphError(
                f"{shown}: the ontology header needs an owl:versionInfo and an owl:versionIRI "
                "to be released"
            )
        if not str(version_iri).endswith("/" + str(info)):
            raise CoopgraphError(
                f"{shown}: its owl:versionIRI <{version_iri}> does not end with its "
                f'owl:versionInfo "{info}", so the release cannot tell how to name the new one'
            )
        found.append(Module(path, name, str(info), str(version_iri), ""))
    if not found or found[0].iri != ONTOLOGY_GRAPH:
        raise CoopgraphError(f"no ontology module <{ONTOLOGY_GRAPH}> in {ONTOLOGY_DIR}/")
    return found


def bump(ds: ProjectDataset, modules: list[Module], version: str) -> None:
    """Write ``version`` into the modules' graphs and Turtle texts, and check they agree."""
    renamed: dict[str, str] = {}
    for module in modules:
        module.version_iri = module.old_version_iri[: -len(module.old_version)] + version
        renamed[module.old_version_iri] = module.version_iri
    for module in modules:
        graph = ds.graph(module.iri)
        for old, new in renamed.items():
            for s, p, o in list(graph.triples((None, None, URIRef(old)))):
                graph.remove((s, p, o))
                graph.add((s, p, URIRef(new)))
        for info in list(graph.objects(module.iri, OWL.versionInfo)):
            graph.remove((module.iri, OWL.versionInfo, info))
            graph.add((module.iri, OWL.versionInfo, Literal(version, info.language, info.datatype)))
        module.text = bump_text(
            module.path.read_text(encoding="utf-8"), renamed, module.old_version, version
        )
        parsed = Graph().parse(data=module.text, format="turtle")
        if not isomorphic(parsed, graph):
            raise CoopgraphError(
                f"{relative(module.path, ds.root)}: could not write version {version} into it "
                "(its owl:versionIRI and owl:versionInfo are not written as "
                f'<{module.old_version_iri}> and owl:versionInfo "{module.old_version}")'
            )


def bump_text(text: str, renamed: Mapping[str, str], old_version: str, version: str) -> str:
    """A module's Turtle with its version lines changed (the rest untouched).

    Args:
        text: The Turtle.
        renamed: Old version IRI -> new version IRI (every module's: imports follow).
        old_version: The module's ``owl:versionInfo``.
        version: The new one.
    """
    for old, new in renamed.items():
        text = text.replace(f"<{old}>", f"<{new}>")
    info = re.compile(
        r'((?:owl:versionInfo|<http://www\.w3\.org/2002/07/owl#versionInfo>)\s+")'
        + re.escape(old_version)
        + '"'
    )
    return info.sub(lambda m: m.group(1) + version + '"', text)


def catalog_text(root: Path, modules: list[Module]) -> str | None:
    """The Protégé catalog with the modules' new version IRIs (None: the project has none)."""
    path = root / ONTOLOGY_DIR / CATALOG
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    for module in modules:
        text = text.replace(f'"{module.old_version_iri}"', f'"{module.version_iri}"')
    return text


def bump_sources(root: Path, modules: list[Module]) -> list[str]:
    """Make the project's ontology files and catalog state the released version."""
    changed: list[tuple[Path, str]] = []
    for module in modules:
        if module.path.read_text(encoding="utf-8") != module.text:
            changed.append((module.path, module.text))
    catalog = catalog_text(root, modules)
    path = root / ONTOLOGY_DIR / CATALOG
    if catalog is not None and path.read_text(encoding="utf-8") != catalog:
        changed.append((path, catalog))
    for path, text in changed:
        write_atomically(path, text)
    return [relative(path, root) for path, _ in changed]
