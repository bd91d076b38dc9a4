"""Build a release of the project: ``dist/<version>/``, whole or not at all.

A release holds, for integrators:

- ``ontology/``: each ontology module in Turtle (the source file, version lines changed),
  RDF/XML and JSON-LD, and the Protégé catalog;
- ``coopgraph.trig``, ``coopgraph.nq``: the dataset, one named graph per file (ontology
  modules included); ``coopgraph.ttl``, ``coopgraph.nt``, ``coopgraph.jsonld``: the union of
  the graphs (the endpoint's dumps, :data:`coopgraph.formats.DUMPS`);
- ``coopgraph-inferred.ttl``: the OWL 2 RL closure (:mod:`coopgraph.reason`), the
  inferred triples only;
- ``void.ttl``: the VoID description (the endpoint's, :func:`coopgraph.publish.void.void_graph`,
  with the release's own files as its dumps and its version);
- ``CHANGES.md``: what changed since the previous release, grouped by resource
  (:mod:`coopgraph.publish.changes`);
- ``SHA256SUMS``: the checksums of all the above (``sha256sum -c SHA256SUMS``).

The version: ``--version X.Y.Z``, by default the one the ontology states. It is written into
every released file: ``owl:versionIRI`` (``.../ontology/X.Y.Z``, ``.../ontology/align/X.Y.Z``)
and ``owl:versionInfo`` of every module, and any import of a versioned module IRI. Once the
release is in place, the same lines are changed in the project's ``ontology/*.ttl`` and
``ontology/catalog-v001.xml``, so that the repository says the version it released: commit
them with the release (and tag it ``vX.Y.Z``).

The previous release is the highest earlier version found in the same output folder
(``dist/<version>/``, kept from one release to the next): its ``coopgraph.nq`` is compared
with the new data. A released version is never rebuilt: asking for one that exists is
refused (its checksums may already be published).

Nothing is released when the data does not conform to the shapes, with or without the
inferences, when the reasoner finds it inconsistent, or when ``coopgraph check`` reports an
error: :class:`ReleaseRefused`, and nothing is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from rdflib import Dataset, Graph, Literal
from rdflib.namespace import OWL, RDF, VOID

from coopgraph import formats
from coopgraph.atomic import build_folder
from coopgraph.errors import CoopgraphError
from coopgraph.graph.load import ProjectDataset, build_dataset, load_shapes
from coopgraph.graph.project import ONTOLOGY_DIR, find_root, relative
from coopgraph.namespace import BASE, INFERRED_GRAPH
from coopgraph.publish import void
from coopgraph.publish.changes import ChangeLog, compare
from coopgraph.publish.release_version import (
    CATALOG,
    VERSION,
    Module,
    bump,
    bump_sources,
    catalog_text,
    modules_of,
    parse_version,
)
from coopgraph.quality.report import ValidationReport
from coopgraph.quality.validate import validate
from coopgraph.reason import reason
from coopgraph.store.rdflib import RdflibEngine
from coopgraph.terms import short

#: Called with a line of progress for a person.
Progress = Callable[[str], None]

INFERRED_FILE = "coopgraph-inferred.ttl"
VOID_FILE = "void.ttl"
CHANGES_FILE = "CHANGES.md"
SUMS_FILE = "SHA256SUMS"
#: The dataset file of a release that the next release compares itself with.
COMPARED_FILE = "coopgraph.nq"
#: The formats each ontology module is written in besides its Turtle source.
_MODULE_FORMATS = (formats.RDFXML, formats.JSONLD)


class ReleaseRefused(CoopgraphError):
    """The project is not fit to release (shapes, checks or consistency); nothing was written."""


@dataclass
class Release:
    """What :func:`build_release` made.

    Attributes:
        version: The version released.
        folder: The release's folder.
        files: Its files, relative to ``folder``, sorted.
        changes: The change log against the previous release.
        previous: The previous release's folder, if there is one.
        sources: The project files changed to state the new version.
    """

    version: str
    folder: Path
    files: list[str]
    changes: ChangeLog
    previous: Path | None
    sources: list[str]


def build_release(
    root: str | Path | None = None,
    version: str | None = None,
    out: str | Path | None = None,
    progress: Progress | None = None,
) -> Release:
    """Check the project, then build ``<out>/<version>/`` and bump the sources' version.

    Args:
        root: The project root (found from the current directory when empty).
        version: The version to release; default: the one the ontology states.
        out: The folder of releases; default: ``dist/`` in the project.
        progress: Called with a line for each step.

    Raises:
        ReleaseRefused: when the shapes, the reasoner or the checks find an error.
        CoopgraphError: for a bad or existing version, or a project that cannot be loaded.
    """
    say = progress or (lambda _line: None)
    found = find_root(root)
    releases = Path(out).resolve() if out else found / "dist"
    ds, modules, version = _load(found, releases, version, say)
    inferred = _check(ds, found, modules, version, say)
    previous = find_previous(releases, version)
    changes = _changes(ds, releases, previous, version, say)
    files = _contents(ds, modules, found, inferred, changes, previous, version, say)
    target = releases / version
    say(f"writing {target} ({len(files)} files)")
    build_folder(target, lambda folder: _write(folder, files))
    sources = bump_sources(found, modules)
    return Release(version, target, sorted(files), changes, previous, sources)


def _load(
    root: Path, releases: Path, version: str | None, say: Progress
) -> tuple[ProjectDataset, list[Module], str]:
    """The project, its ontology modules, and the version to release (checked)."""
    if version is not None:
        parse_version(version)
        _refuse_existing(releases / version)
    say(f"loading the project {root}")
    ds = build_dataset(root)
    modules = modules_of(ds)
    current = modules[0].old_version
    version = version or current
    if parse_version(version) < parse_version(current):
        raise CoopgraphError(
            f"version {version} is lower than {current}, which {relative(modules[0].path, root)} "
            "already states"
        )
    _refuse_existing(releases / version)
    return ds, modules, version


def _check(
    ds: ProjectDataset, root: Path, modules: list[Module], version: str, say: Progress
) -> Graph:
    """Refuse a project that breaks a shape or a check or is inconsistent; else write the
    version into its modules and return the inferences (kept out of ``ds``)."""
    shapes = load_shapes(root)
    say("checking the data against the SHACL shapes")
    _refuse_invalid(validate(ds, shapes), version, "")
    say("running the checks (coopgraph check)")
    _refuse_check_errors(root, version)
    say(f"writing version {version} into the ontology modules")
    bump(ds, modules, version)
    say("reasoning (OWL 2 RL)")
    reasoning = reason(ds)
    if not reasoning.consistent:
        problems = [" ".join(m.split()) for m in reasoning.inconsistencies]
        problems += [
            f"{short(n, ds.namespace_manager)} is a member of owl:Nothing"
            for n in reasoning.nothing
        ]
        raise ReleaseRefused(
            f"release {version} refused: the reasoner finds the graph inconsistent "
            f"({_count(len(problems), 'problem')}; first: {problems[0]}); run coopgraph reason"
        )
    say("checking the data and the inferences against the SHACL shapes")
    _refuse_invalid(validate(ds, shapes, include_inferred=True), version, " with the inferences")
    ds.remove_graph(ds.graph(INFERRED_GRAPH))
    del ds.kinds[INFERRED_GRAPH]
    return reasoning.inferred


def _changes(
    ds: ProjectDataset, releases: Path, previous: Path | None, version: str, say: Progress
) -> ChangeLog:
    if previous is None:
        say(f"no earlier release in {releases}: nothing to compare with")
        return compare(Graph(), ds.merged(), version, None, ds.namespace_manager)
    say(f"comparing with {previous.name} ({previous / COMPARED_FILE})")
    old = _union(previous / COMPARED_FILE)
    return compare(old, ds.merged(), version, previous.name, ds.namespace_manager)


def _write(folder: Path, files: Mapping[str, bytes]) -> None:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


# --------------------------------------------------------------------------- checks


def _refuse_existing(target: Path) -> None:
    if target.exists():
        raise CoopgraphError(
            f"{target} already exists: a released version is never rebuilt; release a new "
            "version with --version (or remove that folder to build it again)"
        )


def _refuse_invalid(report: ValidationReport, version: str, what: str) -> None:
    if report.conforms:
        return
    violations = [r for r in report.results if r.severity_name == "Violation"]
    first = violations[0] if violations else report.results[0]
    files = list(first.files[:2]) + ([f"{len(first.files) - 2} more"] if first.files[2:] else [])
    where = f" in {', '.join(files)}" if files else ""
    path = f" {first.path}" if first.path else ""
    focus = short(first.focus, report.namespaces)
    raise ReleaseRefused(
        f"release {version} refused: the data{what} does not conform to the shapes "
        f"({_count(len(violations), 'violation')}; first: {first.shape_name} on {focus}{path}"
        f"{where}: {first.message}); run coopgraph validate"
        + (" --inferred" if what else "")
        + " for the report"
    )


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' * (n != 1)}"


def _refuse_check_errors(root: Path, version: str) -> None:
    from coopgraph.quality.check import run_checks

    report = run_checks(root)
    if report.errors:
        first = " ".join(str(report.errors[0]).split())
        raise ReleaseRefused(
            f"release {version} refused: coopgraph check reports "
            f"{_count(len(report.errors), 'error')} (first: {first}); run coopgraph check"
        )


# --------------------------------------------------------------------------- releases


def find_previous(releases: Path, version: str) -> Path | None:
    """The highest release below ``version`` in ``releases`` (one with a dataset file)."""
    wanted = parse_version(version)
    found: list[tuple[tuple[int, int, int], Path]] = []
    if releases.is_dir():
        for folder in releases.iterdir():
            if VERSION.fullmatch(folder.name) and (folder / COMPARED_FILE).is_file():
                number = parse_version(folder.name)
                if number < wanted:
                    found.append((number, folder))
    return max(found)[1] if found else None


def _union(path: Path) -> Graph:
    dataset = Dataset()
    try:
        dataset.parse(path, format="nquads")
    except Exception as err:  # noqa: BLE001 - the parser raises many types
        raise CoopgraphError(f"{path}: cannot read the previous release: {err}") from None
    union = Graph()
    union.addN((s, p, o, union) for s, p, o, _ in dataset.quads((None, None, None, None)))
    return union


def _contents(
    ds: ProjectDataset,
    modules: list[Module],
    root: Path,
    inferred: Graph,
    changes: ChangeLog,
    previous: Path | None,
    version: str,
    say: Progress,
) -> dict[str, bytes]:
    """Every file of the release, by path."""
    files: dict[str, bytes] = {}
    for module in modules:
        stem = f"{ONTOLOGY_DIR}/{module.path.stem}"
        files[f"{stem}.ttl"] = module.text.encode("utf-8")
        graph = ds.graph(module.iri)
        for fmt in _MODULE_FORMATS:
            say(f"serializing {stem}{fmt.suffix}")
            files[stem + fmt.suffix] = _serialize(graph, fmt.rdflib, ds)
    catalog = catalog_text(root, modules)
    if catalog is not None:
        files[f"{ONTOLOGY_DIR}/{CATALOG}"] = catalog.encode("utf-8")
    engine = RdflibEngine(
        ds,
        prefixes={p: str(n) for p, n in ds.namespaces() if p},
        files={str(g): ds.file_of(g) or "" for g in ds.files},
        build=f"release-{version}",
    )
    for name, media_type in formats.DUMPS.items():
        say(f"serializing {name}")
        files[name] = engine.dump(media_type)
    say(f"serializing {INFERRED_FILE} ({len(inferred)} inferred triples)")
    files[INFERRED_FILE] = _serialize(inferred, "turtle", ds)
    say(f"describing the dataset in {VOID_FILE}")
    files[VOID_FILE] = _void(engine, version, list(formats.DUMPS))
    compared = f"{previous.name}/{COMPARED_FILE}" if previous is not None else ""
    files[CHANGES_FILE] = changes.markdown(compared).encode("utf-8")
    files[SUMS_FILE] = "".join(
        f"{hashlib.sha256(content).hexdigest()}  {name}\n"
        for name, content in sorted(files.items())
    ).encode("utf-8")
    return files


def _serialize(graph: Graph, fmt: str, ds: ProjectDataset) -> bytes:
    out = Graph()
    for prefix, namespace in ds.namespaces():
        out.bind(prefix, namespace, override=False)
    out += graph
    return out.serialize(format=fmt, encoding="utf-8")


def _void(engine: RdflibEngine, version: str, dumps: list[str]) -> bytes:
    """The endpoint's VoID description of the released data, with the release's files as
    its dumps (relative IRIs: the files beside ``void.ttl``) and its version."""
    graph = void.void_graph(void.DatasetFigures.of(engine), BASE, dumps)
    dataset = next(graph.subjects(RDF.type, VOID.Dataset))
    graph.add((dataset, OWL.versionInfo, Literal(version)))
    graph.bind("owl", OWL)
    return graph.serialize(format="turtle", encoding="utf-8")
