"""`coopgraph release` on copies of the project: what a release holds, and when it is refused.

A first release of a copy, then a curator's change to its data and a second release: every
file is there and parses, the checksums verify with ``sha256sum -c``, every file and the
project's own ontology files state the new version, and the change log names what was
added, removed and changed, by label. A copy that breaks a shape, or on which the checks
report an error, is refused in one line and nothing is written; a released version is never
rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from rdflib import BNode, Dataset, Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import OWL, RDF, VOID

from coopgraph.atomic import build_folder
from coopgraph.errors import CoopgraphError
from coopgraph.namespace import ALIGN_GRAPH, INFERRED_GRAPH, ONTOLOGY_GRAPH
from tests.support import ROOT, coopgraph

# rdflib's JSON-LD parser uses its own deprecated ConjunctiveGraph.
pytestmark = pytest.mark.filterwarnings(
    "ignore:ConjunctiveGraph is deprecated:DeprecationWarning:rdflib"
)

FILES = {
    "ontology/coopgraph.ttl": "turtle",
    "ontology/coopgraph.rdf": "xml",
    "ontology/coopgraph.jsonld": "json-ld",
    "ontology/coopgraph-align.ttl": "turtle",
    "ontology/coopgraph-align.rdf": "xml",
    "ontology/coopgraph-align.jsonld": "json-ld",
    "ontology/catalog-v001.xml": None,
    "coopgraph.trig": "trig",
    "coopgraph.nq": "nquads",
    "coopgraph.ttl": "turtle",
    "coopgraph.nt": "nt",
    "coopgraph.jsonld": "json-ld",
    "coopgraph-inferred.ttl": "turtle",
    "void.ttl": "turtle",
    "CHANGES.md": None,
    "SHA256SUMS": None,
}


def copy_project(folder: Path) -> Path:
    for name in ("ontology", "data", "shapes"):
        shutil.copytree(ROOT / name, folder / name)
    return folder


def stated_version(root: Path) -> str:
    graph = Graph().parse(root / "ontology" / "coopgraph.ttl")
    return str(graph.value(ONTOLOGY_GRAPH, OWL.versionInfo))


def next_minor(version: str) -> str:
    major, minor, _ = (int(x) for x in version.split("."))
    return f"{major}.{minor + 1}.0"


def tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def curate(root: Path) -> None:
    """A curator's change: INTERPOL gains a name and a membership, the UN is renamed and
    loses its acronym."""
    path = root / "data" / "reference" / "organizations.ttl"
    text = path.read_text(encoding="utf-8")
    before = text
    text = text.replace(
        '    skos:altLabel "INTERPOL"@en ;\n.\n',
        '    skos:altLabel "INTERPOL"@en , "ICPO"@en ;\n    coop:memberOf o:united-nations ;\n.\n',
        1,
    )
    text = text.replace(
        '    rdfs:label "United Nations"@en ;\n    skos:altLabel "UN"@en ;\n.\n',
        '    rdfs:label "United Nations Organization"@en ;\n.\n',
        1,
    )
    assert text.count("ICPO") == 1 and "United Nations Organization" in text and text != before
    path.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """A copy of the project released, changed by a curator, and released again."""
    root = copy_project(tmp_path_factory.mktemp("release") / "project")
    first_version = stated_version(root)
    sources_before = tree(root / "ontology")
    first = coopgraph("--root", str(root), "release")
    assert first.returncode == 0, first.stderr
    curate(root)
    second_version = next_minor(first_version)
    second = coopgraph("--root", str(root), "release", "--version", second_version)
    assert second.returncode == 0, second.stderr
    return SimpleNamespace(
        root=root,
        first=first,
        second=second,
        first_version=first_version,
        second_version=second_version,
        first_folder=root / "dist" / first_version,
        second_folder=root / "dist" / second_version,
        sources_before=sources_before,
    )


# --------------------------------------------------------------------------- what it holds


@pytest.mark.slow
def test_a_release_holds_every_file_and_each_parses(releases: SimpleNamespace) -> None:
    folder = releases.first_folder
    assert releases.first.stdout.strip() == str(folder)
    assert set(tree(folder)) == set(FILES)
    parsed: dict[str, Graph | Dataset] = {}
    for name, fmt in FILES.items():
        if fmt in ("trig", "nquads"):
            parsed[name] = Dataset().parse(folder / name, format=fmt)
        elif fmt is not None:
            parsed[name] = Graph().parse(folder / name, format=fmt)
            assert len(parsed[name]), name
    # The ontology modules: the same triples in the three syntaxes.
    for stem in ("ontology/coopgraph", "ontology/coopgraph-align"):
        turtle = parsed[f"{stem}.ttl"]
        assert isomorphic(turtle, parsed[f"{stem}.rdf"]), stem
        assert isomorphic(turtle, parsed[f"{stem}.jsonld"]), stem
    # The dataset: one named graph per file of the project, as the endpoint's dumps.
    dataset = parsed["coopgraph.nq"]
    names = {str(g.identifier) for g in dataset.graphs() if len(g)}
    assert {str(ONTOLOGY_GRAPH), str(ALIGN_GRAPH)} <= names
    assert len(names) == len(list((releases.root / "data").rglob("*.ttl"))) + 2
    assert str(INFERRED_GRAPH) not in names
    union = {(s, p, o) for s, p, o, _ in dataset.quads((None, None, None, None))}
    assert len(union) == len(parsed["coopgraph.ttl"]) == len(parsed["coopgraph.jsonld"])
    assert len(parsed["coopgraph.nt"]) == len(union)
    trig = {(s, p, o) for s, p, o, _ in parsed["coopgraph.trig"].quads((None, None, None, None))}
    assert len(trig) == len(union)
    # The inferences: new triples only (owlrl's closure), e.g. the inverse of a stated link.
    inferred = parsed["coopgraph-inferred.ttl"]
    assert len(inferred) > 500
    ground = {t for t in inferred if not any(isinstance(n, BNode) for n in t)}
    assert ground and not (ground & union)
    # VoID: the dataset's size, and the release's own files as its dumps.
    void = parsed["void.ttl"]
    dataset_node = next(void.subjects(RDF.type, VOID.Dataset))
    dumps = {
        Path(str(d).removeprefix("file://")) for d in void.objects(dataset_node, VOID.dataDump)
    }
    assert {d.name for d in dumps} == {
        "coopgraph.trig",
        "coopgraph.nq",
        "coopgraph.ttl",
        "coopgraph.nt",
        "coopgraph.jsonld",
    }
    assert all(d.is_file() for d in dumps)
    assert int(void.value(dataset_node, VOID.triples)) == len(union)
    # A first release has nothing to compare with, and says so.
    assert "First release" in (folder / "CHANGES.md").read_text(encoding="utf-8")


def test_the_checksums_verify_with_sha256sum(releases: SimpleNamespace, tmp_path: Path) -> None:
    folder = releases.second_folder
    sums = (folder / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    listed = {}
    for line in sums:
        digest, name = line.split("  ", 1)
        listed[name] = digest
    assert set(listed) == set(FILES) - {"SHA256SUMS"}
    for name, digest in listed.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    check = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=folder, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(": OK") == len(listed)
    # A changed file no longer verifies.
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    with (copy / "coopgraph.ttl").open("a", encoding="utf-8") as fh:
        fh.write("\n# changed\n")
    check = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=copy, capture_output=True, text=True, check=False
    )
    assert check.returncode != 0 and "coopgraph.ttl: FAILED" in check.stdout


def test_every_file_and_the_project_state_the_new_version(releases: SimpleNamespace) -> None:
    new, old = releases.second_version, releases.first_version
    folder = releases.second_folder
    expected_iris = {
        URIRef(f"{ONTOLOGY_GRAPH}/{new}"),
        URIRef(f"{ALIGN_GRAPH}/{new}"),
    }
    for name, fmt in FILES.items():
        if fmt is None:
            continue
        if fmt in ("trig", "nquads"):
            graph = Graph()
            for s, p, o, _ in (
                Dataset().parse(folder / name, format=fmt).quads((None, None, None, None))
            ):
                graph.add((s, p, o))
        else:
            graph = Graph().parse(folder / name, format=fmt)
        infos = {str(v) for v in graph.objects(None, OWL.versionInfo)}
        iris = set(graph.objects(None, OWL.versionIRI))
        if name.startswith("ontology/") or name.startswith("coopgraph.") or name == "void.ttl":
            assert infos == {new}, name
        if name.startswith("coopgraph."):
            assert iris == expected_iris, name
    old_iris = (f"{ONTOLOGY_GRAPH}/{old}", f"{ALIGN_GRAPH}/{old}")
    for name, content in tree(folder).items():
        if name != "CHANGES.md":
            assert not any(iri.encode() in content for iri in old_iris), name
    catalog = (folder / "ontology" / "catalog-v001.xml").read_text(encoding="utf-8")
    assert f'name="{ONTOLOGY_GRAPH}/{new}"' in catalog
    assert f'name="{ALIGN_GRAPH}/{new}"' in catalog
    # The project's own files state the release's version, changed in those lines only.
    assert "ontology/coopgraph.ttl" in releases.second.stderr  # said so
    assert stated_version(releases.root) == new
    for name, before in releases.sources_before.items():
        after = (releases.root / "ontology" / name).read_bytes()
        changed = [
            (a, b)
            for a, b in zip(before.decode().splitlines(), after.decode().splitlines(), strict=True)
            if a != b
        ]
        assert changed, name
        for was, now in changed:
            assert was.replace(old, new) == now, (name, was, now)
        assert (folder / "ontology" / name).read_bytes() == after
    # The first release still states the first version.
    first = Graph().parse(releases.first_folder / "ontology" / "coopgraph.ttl")
    assert str(first.value(ONTOLOGY_GRAPH, OWL.versionInfo)) == old


def test_the_change_log_names_the_changes_by_label(releases: SimpleNamespace) -> None:
    text = (releases.second_folder / "CHANGES.md").read_text(encoding="utf-8")
    assert text.startswith(f"# coopgraph {releases.second_version}\n")
    assert f"Compared with release {releases.first_version}" in text
    sections = dict(
        (block.split("\n", 1)[0], block.split("\n", 1)[1]) for block in text.split("\n## ")[1:]
    )
    interpol = sections["International Criminal Police Organization (o:interpol)"]
    assert '- Added: alternative label: "ICPO"' in interpol
    assert "- Added: member of: United Nations Organization (o:united-nations)" in interpol
    un = sections["United Nations Organization (o:united-nations)"]
    assert '- Changed: label from "United Nations" to "United Nations Organization"' in un
    assert '- Removed: alternative label: "UN"' in un
    core = sections["coopgraph ontology (<https://w3id.org/coopgraph/ontology>)"]
    assert (
        f'- Changed: version from "{releases.first_version}" to "{releases.second_version}"' in core
    )
    # Nothing but these changed: no raw triples, no other resource.
    assert len(sections) == 4
    assert "<https://w3id.org/coopgraph/id/" not in text
    summary = re.search(r"(\d+) triples added and (\d+) removed", text)
    assert summary is not None and summary.groups() == ("7", "6")
    assert f"{releases.second_version}: 7 triples added and 6 removed" in releases.second.stderr


# --------------------------------------------------------------------------- refusals


def test_a_shape_failure_refuses_the_release_and_writes_nothing(project: Path) -> None:
    path = project / "data" / "reference" / "organizations.ttl"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace('rdfs:label "International Criminal Police Organization"@en ;', "", 1),
        encoding="utf-8",
    )
    before = tree(project)
    run = coopgraph("--root", str(project), "release")
    assert run.returncode == 1, run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert re.fullmatch(
        r"coopgraph: release \S+ refused: the data does not conform to the shapes "
        r"\(1 violation; first: shp:label-present on o:interpol rdfs:label in data/\S+, "
        r"data/\S+, \d+ more: Every entity needs an English rdfs:label\.\); "
        r"run coopgraph validate for the report",
        last,
    ), last
    assert run.stdout == ""
    assert tree(project) == before
    assert sorted(os.listdir(project)) == ["data", "ontology", "shapes"]


def test_a_check_error_refuses_the_release_and_writes_nothing(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coopgraph.cli.main import cli
    from coopgraph.quality import check

    def run_checks(root: Path) -> SimpleNamespace:
        assert Path(root) == project
        return SimpleNamespace(errors=["ERROR ontology/coopgraph.ttl: a class has two labels"])

    monkeypatch.setattr(check, "run_checks", run_checks)
    before = tree(project)
    result = CliRunner().invoke(cli, ["--root", str(project), "release"])
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines()[-1] == (
        f"coopgraph: release {stated_version(project)} refused: coopgraph check reports 1 error "
        "(first: ERROR ontology/coopgraph.ttl: a class has two labels); run coopgraph check"
    )
    assert tree(project) == before
    assert sorted(os.listdir(project)) == ["data", "ontology", "shapes"]


@pytest.mark.slow
def test_a_released_version_is_never_rebuilt(releases: SimpleNamespace) -> None:
    before = tree(releases.root)
    for args in ([], ["--version", releases.second_version]):  # (the version now stated)
        run = coopgraph("--root", str(releases.root), "release", *args)
        assert run.returncode == 2
        assert run.stderr.strip().splitlines()[-1] == (
            f"coopgraph: {releases.second_folder} already exists: a released version is never "
            "rebuilt; release a new version with --version (or remove that folder to build it "
            "again)"
        )
    assert tree(releases.root) == before


@pytest.mark.slow
def test_a_bad_or_lower_version_is_refused(releases: SimpleNamespace) -> None:
    for version, message in (
        ("1.2", "version '1.2' is not of the form X.Y.Z (e.g. 0.2.0)"),
        ("v1.0.0", "version 'v1.0.0' is not of the form X.Y.Z (e.g. 0.2.0)"),
        ("0.0.1", "version 0.0.1 is lower than"),
    ):
        run = coopgraph("--root", str(releases.root), "release", "--version", version)
        assert run.returncode == 2, version
        assert run.stderr.strip().splitlines()[-1].startswith(f"coopgraph: {message}"), version


def test_a_folder_is_built_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "dist" / "1.0.0"

    def half(folder: Path) -> None:
        (folder / "written.txt").write_text("half of a release")
        raise CoopgraphError("failed midway")

    with pytest.raises(CoopgraphError, match="failed midway"):
        build_folder(target, half)
    assert os.listdir(tmp_path) == []  # no dist/, no temporary folder

    build_folder(target, lambda folder: (folder / "written.txt").write_text("whole"))
    assert os.listdir(tmp_path) == ["dist"]
    assert (target / "written.txt").read_text() == "whole"
    with pytest.raises(CoopgraphError, match="already exists"):
        build_folder(target, lambda folder: None)
