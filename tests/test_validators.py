"""pyshacl-turbo gives the same SHACL report as pySHACL, the reference.

`coopgraph validate` runs pyshacl-turbo when it is installed (it is a dependency) because it
is several times faster; these tests are what allows that. Both engines validate the same
graphs: the bundled graph, every fixture of every shape (tests/shapes/), and generated
graphs, conforming and broken, and the reports must agree result for result.
"""

from __future__ import annotations

import logging
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Graph
from rdflib.namespace import RDF

from coopgraph.cli.main import cli
from coopgraph.graph.load import ProjectDataset, build_dataset, load_files
from coopgraph.graph.project import ontology_files, shape_files
from coopgraph.quality.report import ValidationReport
from coopgraph.quality.validate import default_validator, validate, validate_project
from coopgraph.terms import short
from tests.support import ROOT

FIXTURES = ROOT / "tests" / "shapes"
GENERATOR = ROOT / "bench" / "generate.py"


def _shapes():
    graph = Graph()
    for path in shape_files(ROOT):
        graph.parse(path, format="turtle")
    return graph


SHAPES = _shapes()


def _key(report: ValidationReport) -> tuple[bool, list[tuple[str, ...]]]:
    nsm = report.namespaces
    rows = [
        (
            r.severity_name,
            r.shape_name,
            short(r.focus, nsm) if r.focus is not None else "",
            r.path,
            "" if r.value is None else short(r.value, nsm),
            r.message,
            str(r.component),
            " ".join(r.files),
        )
        for r in report.results
    ]
    return report.conforms, sorted(rows)


def _same(ds: ProjectDataset) -> tuple[bool, list[tuple[str, ...]]]:
    reference = _key(validate(ds, SHAPES, validator="pyshacl"))
    turbo = _key(validate(ds, SHAPES, validator="pyshacl-turbo"))
    assert turbo == reference
    return reference


@pytest.fixture(autouse=True)
def _quiet_ill_typed_literals(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="rdflib.term")


def test_turbo_is_the_default_when_installed():
    assert default_validator() == "pyshacl-turbo"


def test_the_bundled_graph(bundled):
    conforms, results = _same(bundled)
    assert conforms and results == []


# Both validators on each of the shapes' fixtures; tests/test_shapes.py is the quick loop's.
@pytest.mark.slow
@pytest.mark.parametrize(
    "fixture",
    sorted(FIXTURES.glob("*/*.ttl")),
    ids=lambda p: f"{p.parent.name}/{p.stem}",
)
def test_every_shape_fixture(fixture: Path):
    context = load_files([*ontology_files(ROOT), FIXTURES / "base.ttl"], root=ROOT)
    ds = load_files([fixture], root=ROOT)
    for name, kind in context.kinds.items():
        ds.attach(context.graph(name), kind)
    conforms, results = _same(ds)
    assert conforms == fixture.stem.startswith("valid"), results


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("generated")
    subprocess.run(
        [sys.executable, str(GENERATOR), "--triples", "10k", "-o", str(folder), "--quiet"],
        check=True,
    )
    return folder


@pytest.mark.slow
def test_a_generated_graph(generated):
    conforms, results = _same(build_dataset(generated))
    assert conforms and results == []


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_generated_graph_with_triples_removed(generated, seed):
    """One triple in fifty dropped at random (types, labels, parties, evidence, dates...):
    many results of many shapes, the same from both engines."""
    ds = build_dataset(generated)
    chance = random.Random(seed)
    for name in ds.asserted_graphs():
        graph = ds.graph(name)
        doomed = [t for t in sorted(graph) if chance.random() < 0.02]
        for triple in doomed:
            graph.remove(triple)
    conforms, results = _same(ds)
    assert not conforms
    assert len({row[1] for row in results}) >= 5, results[:5]


@pytest.mark.slow
def test_a_generated_graph_with_wrong_types(generated):
    """Nodes given a type whose shapes they cannot meet."""
    ds = build_dataset(generated)
    from coopgraph.namespace import COOP

    graph = ds.graph(next(n for n in ds.asserted_graphs() if "gen-" in str(ds.files.get(n, ""))))
    for subject in sorted(set(graph.subjects(RDF.type, None)))[:40:4]:
        graph.add((subject, RDF.type, COOP.Agreement))
    conforms, results = _same(ds)
    assert not conforms and results


def test_the_validator_can_be_chosen(project):
    for name in ("pyshacl", "pyshacl-turbo", "auto"):
        result = CliRunner().invoke(cli, ["--root", str(project), "validate", "--validator", name])
        assert result.exit_code == 0, result.output
    bad = CliRunner().invoke(cli, ["--root", str(project), "validate", "--validator", "jena"])
    assert bad.exit_code == 2
    assert "jena" in bad.output and "pyshacl-turbo" in bad.output


# --------------------------------------------------------------------------- the fast path


def _broken_copy(source: Path, target: Path, seed: int) -> Path:
    """A copy of the project in ``source`` with one triple in fifty dropped from each data
    file, written back as Turtle."""
    shutil.copytree(source, target)
    chance = random.Random(seed)
    for path in sorted((target / "data").rglob("*.ttl")):
        graph = Graph().parse(path, format="turtle")
        for triple in [t for t in sorted(graph) if chance.random() < 0.02]:
            graph.remove(triple)
        path.write_text(graph.serialize(format="turtle"), encoding="utf-8")
    return target


def _fast_equals_reference(
    folder: Path, threads: int | None = None
) -> tuple[bool, list[tuple[str, ...]]]:
    fast = _key(validate_project(folder, threads=threads))
    reference = _key(validate(build_dataset(folder), SHAPES, validator="pyshacl"))
    assert fast == reference
    return reference


def test_the_fast_path_on_the_bundled_graph(root):
    conforms, results = _fast_equals_reference(root)
    assert conforms and not results


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_the_fast_path_on_a_broken_generated_graph(generated, tmp_path, seed):
    conforms, results = _fast_equals_reference(_broken_copy(generated, tmp_path / "p", seed))
    assert not conforms and len(results) > 20
    assert all(row[-1] for row in results), "every result names its file"


@pytest.mark.slow
@pytest.mark.parametrize("threads", [1, 2, 5])
def test_the_shapes_validated_in_groups_on_threads_give_the_reference_report(
    generated, tmp_path, threads
):
    """One thread validates all shapes at once; more split them into groups whose reports
    are merged. Either way the results are the reference's, result for result."""
    conforms, results = _fast_equals_reference(
        _broken_copy(generated, tmp_path / "p", 3), threads=threads
    )
    assert not conforms and len(results) > 20


@pytest.mark.slow
def test_the_merged_report_is_the_report_of_one_run(generated, tmp_path):
    """The report graph is one report whether the shapes ran in one group or in several:
    one sh:ValidationReport, with sh:conforms false and every result (a result path shared
    by shapes of two groups is written once per group, as the same list)."""
    from rdflib import Literal
    from rdflib.namespace import SH

    folder = _broken_copy(generated, tmp_path / "p", 4)
    whole = validate_project(folder, threads=1).graph
    split = validate_project(folder, threads=3).graph
    [top] = split.subjects(RDF.type, SH.ValidationReport)
    assert list(split.objects(top, SH.conforms)) == [Literal(False)]
    results = set(split.objects(top, SH.result))
    assert len(results) == len(set(whole.objects(None, SH.result))) > 20
    assert results == set(split.subjects(RDF.type, SH.ValidationResult))


def test_the_shape_groups_hold_every_shape_that_has_focus_nodes():
    from rdflib import BNode, URIRef
    from rdflib.namespace import OWL, SH

    from coopgraph.quality.validate import _shape_groups

    targeted = {
        s
        for p in (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
        for s in SHAPES.subjects(p, None)
    }
    assert len(targeted) > 10
    groups = _shape_groups(SHAPES, 2)
    assert len(groups) == 8
    dealt = [shape for group in groups for shape in group]
    assert sorted(dealt) == sorted(targeted), "each shape with a target, in exactly one group"
    assert _shape_groups(SHAPES, 1) == [sorted(targeted)]

    shapes = Graph()
    shapes += SHAPES
    implicit = URIRef("https://example.org/shapes#ImplicitClassShape")
    shapes.add((implicit, RDF.type, SH.NodeShape))
    shapes.add((implicit, RDF.type, OWL.Class))
    assert implicit in {s for g in _shape_groups(shapes, 2) for s in g}
    shapes.add((BNode(), SH.targetNode, URIRef("https://example.org/x")))
    assert len(_shape_groups(shapes, 2)) == 1, "a blank-node shape cannot be named: one group"


def test_the_fast_path_on_a_broken_bundled_graph(project):
    path = project / "data" / "002_04716fd2df2bc222.ttl"
    text = path.read_text(encoding="utf-8")
    broken = text.replace('"2016-05-23"^^xsd:date', '"2016-13-23"^^xsd:date')
    broken = broken.replace("        o:interpol ,\n        o:unodc ;\n", "        o:unodc ;\n")
    assert broken.count("2016-13-23") == 2 and broken != text
    path.write_text(broken, encoding="utf-8")
    conforms, results = _fast_equals_reference(project)
    assert not conforms
    assert {row[1] for row in results} >= {"shp:date-datatype", "shp:agreement-two-parties"}


def test_the_fast_path_validates_an_rdflib_turbo_dataset_in_place():
    """The installed rdflib-turbo and pyshacl-turbo are built from the same engine sources,
    so `coopgraph validate` hands pyshacl-turbo a native dataset it reads without a copy."""
    import rdflib_turbo

    from coopgraph.quality import validate as module

    assert module._rdflib_turbo_pairs()
    assert isinstance(module._native_graph(), rdflib_turbo.Dataset)


def test_without_rdflib_turbo_the_fast_path_reads_an_oxigraph_store(project, monkeypatch):
    """With an rdflib-turbo that does not pair with pyshacl-turbo (or none), the files go
    into an Oxigraph store instead, and the report is the same."""
    import pyoxigraph as ox

    from coopgraph.quality import validate as module

    monkeypatch.setattr(module, "_rdflib_turbo_pairs", lambda: False)
    assert isinstance(module._native_graph(), ox.Store)
    path = project / "data" / "002_04716fd2df2bc222.ttl"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            '"2016-05-23"^^xsd:date', '"2016-13-23"^^xsd:date'
        ),
        encoding="utf-8",
    )
    conforms, results = _fast_equals_reference(project)
    assert not conforms and "shp:date-datatype" in {row[1] for row in results}


@pytest.mark.parametrize("pairs", [True, False], ids=["rdflib-turbo", "oxigraph"])
def test_a_file_the_native_parser_rejects_is_reported_with_its_place(project, monkeypatch, pairs):
    from coopgraph.errors import ParseError
    from coopgraph.quality import validate as module

    monkeypatch.setattr(module, "_rdflib_turbo_pairs", lambda: pairs)
    path = project / "data" / "002_04716fd2df2bc222.ttl"
    path.write_text(path.read_text(encoding="utf-8") + "\nthis is not turtle .\n", encoding="utf-8")
    with pytest.raises(ParseError) as caught:
        validate_project(project)
    assert str(caught.value).startswith("data/002_04716fd2df2bc222.ttl:")
