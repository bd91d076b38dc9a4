"""Conformance tests for the SHACL shapes, driven by fixture files under ``tests/shapes/``.

Layout:

- ``tests/shapes/base.ttl``: a small context graph (a source, a quote, organizations, a
  person, a post, an agreement with its signing, the concept schemes, a goal framework...)
  that conforms on its own and that fixtures refer to;
- ``tests/shapes/<local name of the shape>/valid-NN.ttl`` and ``invalid-NN.ttl``: one
  folder per shape IRI of ``shapes/*.ttl``; the first line of every fixture is a ``#``
  comment saying what it shows.

Every fixture is validated together with the ontology files and ``base.ttl``, through
:func:`coopgraph.quality.validate.validate`, as the ``coopgraph validate`` command does. A valid
fixture must give no result at all. An invalid fixture must give at least one result, and
the ``sh:sourceShape`` of every result must be the shape named by its folder: no other
shape may fire.

Which shapes can fire: pyshacl reports a result under the shape that holds the failing
constraint parameter (``sh:minCount``, ``sh:class``, ``sh:or``, ...). The named property
shapes and the node shapes with constraints of their own (``shp:signing-has-date``,
``shp:figure-number-needs-qualifier``) are such *firing* shapes: their folders need at
least one valid and one invalid fixture. A *grouping* node shape, such as
``shp:AgreementShape``, only targets a class and lists named property shapes with
``sh:property`` (a test checks that it holds nothing else); a broken rule is reported under
the property shape's own IRI, so a grouping node shape is never a ``sh:sourceShape`` and an
invalid fixture for it cannot exist. Its folder holds valid fixtures only, and what is
tested for it is its targeting (below).

No valid fixture is vacuous: each must introduce (give an ``rdf:type`` to) a node that the
shape applies to. This is asked of pyshacl itself, by validating again with a *probe*
added to the shapes graph, an extra property shape that fails on exactly the nodes
wanted: for a node shape, a ``sh:minCount 1`` on an unused property, attached to the node
shape, so it fails on every node the shape targets (for a grouping node shape this is the
targeting test: its fixture's node gets a result once the shape is "broken" by the probe);
for a property shape, a ``sh:maxCount 0`` on the same path, attached to every node shape
that uses the property shape, so it fails on every focus node that has a value to check
(a ``sh:maxCount 0`` shape, whose valid nodes have no value, gets the node-shape probe).
Further tests check that every shape has its folder, every folder names a shape, and every
named property shape is used by some node shape (one that is not would never fire).

Some invalid fixtures hold ill-typed literals on purpose ("2016-13-01"^^xsd:date); the
traceback that rdflib logs for them is silenced here.
"""

from __future__ import annotations

import logging
import re
from functools import cache
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SH
from rdflib.term import Node

from coopgraph import namespace
from coopgraph.graph.load import ProjectDataset, load_files, load_shapes
from coopgraph.graph.project import ontology_files
from coopgraph.quality.report import ValidationReport
from coopgraph.quality.validate import validate
from tests.support import ROOT

FIXTURES = ROOT / "tests" / "shapes"
BASE = FIXTURES / "base.ttl"
SHP = str(namespace.SHP)
PROBE = URIRef("urn:coopgraph-test:probe")
PROBE_PATH = URIRef("urn:coopgraph-test:probe-path")

#: SHACL Core constraint parameters: a shape holding one of them reports results itself.
CONSTRAINT_PARAMETERS = frozenset(
    SH[name]
    for name in (
        "class datatype nodeKind minCount maxCount minExclusive minInclusive maxExclusive "
        "maxInclusive minLength maxLength pattern languageIn uniqueLang equals disjoint "
        "lessThan lessThanOrEquals not and or xone node qualifiedValueShape closed hasValue "
        "in sparql"
    ).split()
)

SHAPES = load_shapes(ROOT)


def _shape_iris(shapes: Graph) -> set[URIRef]:
    typed = {
        s for kind in (SH.NodeShape, SH.PropertyShape) for s in shapes.subjects(RDF.type, kind)
    }
    used = set(shapes.objects(None, SH.property))
    return {s for s in typed | used if isinstance(s, URIRef) and str(s).startswith(SHP)}


def _fires(shape: URIRef) -> bool:
    """True when ``shape`` holds a constraint parameter, so it can be a sh:sourceShape."""
    return any(p in CONSTRAINT_PARAMETERS for p in SHAPES.predicates(shape, None))


SHAPE_IRIS = _shape_iris(SHAPES)
FIRING = {s for s in SHAPE_IRIS if _fires(s)}


def _fixtures(kind: str) -> list[Path]:
    return sorted(FIXTURES.glob(f"*/{kind}-*.ttl"))


def _shape_of(fixture: Path) -> URIRef:
    return URIRef(SHP + fixture.parent.name)


def _id(fixture: Path) -> str:
    return f"{fixture.parent.name}/{fixture.stem}"


VALID = _fixtures("valid")
INVALID = _fixtures("invalid")


@pytest.fixture(autouse=True)
def _quiet_ill_typed_literals(caplog: pytest.LogCaptureFixture) -> None:
    """rdflib logs a traceback for an ill-typed literal ("2016-13-01"^^xsd:date); the
    fixtures hold such literals on purpose."""
    caplog.set_level(logging.ERROR, logger="rdflib.term")


@cache
def _context() -> ProjectDataset:
    """The ontology files and base.ttl, parsed once."""
    return load_files([*ontology_files(ROOT), BASE], root=ROOT)


def _validate(fixture: Path | None = None, shapes: Graph = SHAPES) -> ValidationReport:
    """Validate the ontology, base.ttl and ``fixture`` (each in its graph) against ``shapes``."""
    ds = load_files([fixture] if fixture else [], root=ROOT)
    for name, kind in _context().kinds.items():
        ds.attach(_context().graph(name), kind)
    return validate(ds, shapes)


def _describe(report: ValidationReport) -> str:
    return "\n".join(f"{r.shape_name} on {r.focus}: {r.message}" for r in report.results)


def test_base_conforms_on_its_own() -> None:
    report = _validate()
    assert report.conforms and not report.results, _describe(report)


@pytest.mark.parametrize("fixture", VALID, ids=_id)
def test_valid_fixture_conforms(fixture: Path) -> None:
    report = _validate(fixture)
    assert report.conforms and not report.results, _describe(report)


@pytest.mark.parametrize("fixture", INVALID, ids=_id)
def test_invalid_fixture_fires_exactly_its_shape(fixture: Path) -> None:
    report = _validate(fixture)
    assert report.results, f"{_id(fixture)}: no result, it should break {_shape_of(fixture)}"
    assert not report.conforms
    fired = {r.shape for r in report.results}
    assert fired == {_shape_of(fixture)}, _describe(report)


def _is_property_shape(shape: URIRef) -> bool:
    return (shape, SH.path, None) in SHAPES


def _probe(shape: URIRef) -> Graph:
    """Return the shapes graph plus a probe that fails where ``shape`` has work to do."""
    probed = Graph()
    probed += SHAPES
    holders = list(SHAPES.subjects(SH.property, shape)) if _is_property_shape(shape) else [shape]
    for holder in holders:
        probed.add((holder, SH.property, PROBE))
    if _is_property_shape(shape) and (shape, SH.maxCount, Literal(0)) not in SHAPES:
        probed.add((PROBE, SH.path, SHAPES.value(shape, SH.path)))
        probed.add((PROBE, SH.maxCount, Literal(0)))
    else:
        probed.add((PROBE, SH.path, PROBE_PATH))
        probed.add((PROBE, SH.minCount, Literal(1)))
    return probed


def _introduced(fixture: Path) -> set[Node]:
    """The nodes that ``fixture`` gives a type to."""
    return set(Graph().parse(fixture, format="turtle").subjects(RDF.type, None))


@pytest.mark.parametrize("fixture", VALID, ids=_id)
def test_valid_fixture_is_not_vacuous(fixture: Path) -> None:
    shape = _shape_of(fixture)
    report = _validate(fixture, _probe(shape))
    probed = {r.focus for r in report.results if r.shape == PROBE}
    assert probed & _introduced(fixture), f"{_id(fixture)} holds no node that {shape} checks"


def test_every_shape_has_its_fixtures() -> None:
    missing = []
    for shape in sorted(SHAPE_IRIS):
        name = shape.removeprefix(SHP)
        valid = list((FIXTURES / name).glob("valid-*.ttl"))
        invalid = list((FIXTURES / name).glob("invalid-*.ttl"))
        if not valid or bool(invalid) != (shape in FIRING):
            missing.append(f"{name}: {len(valid)} valid, {len(invalid)} invalid")
    # A firing shape needs both kinds; a grouping node shape can only have valid fixtures.
    assert not missing, "shapes whose fixtures do not fit them:\n" + "\n".join(missing)


def test_every_folder_names_a_shape() -> None:
    folders = {p.name for p in FIXTURES.iterdir() if p.is_dir()}
    unknown = folders - {s.removeprefix(SHP) for s in SHAPE_IRIS}
    assert not unknown, f"folders named after no shape: {sorted(unknown)}"


def test_every_fixture_is_named_and_starts_with_a_comment() -> None:
    for path in FIXTURES.rglob("*.ttl"):
        assert path == BASE or re.fullmatch(r"(valid|invalid)-\d{2}", path.stem), path
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# ") and len(first) > 10, f"{path}: no comment on line 1"


def test_every_property_shape_is_used_by_a_node_shape() -> None:
    unused = [
        s
        for s in SHAPE_IRIS
        if (s, SH.path, None) in SHAPES and (None, SH.property, s) not in SHAPES
    ]
    assert not unused, f"property shapes that no node shape uses: {sorted(unused)}"


def test_the_grouping_node_shapes_only_group() -> None:
    """A node shape counted as unable to fire holds targets and sh:property links only, so
    no constraint parameter it holds is missing from CONSTRAINT_PARAMETERS."""
    allowed = {SH.property, SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.targetNode}
    allowed |= {SH.message, SH.severity, SH.name, SH.description}
    for shape in SHAPE_IRIS - FIRING:
        used = {p for p in SHAPES.predicates(shape, None) if str(p).startswith(str(SH))}
        assert used <= allowed, f"{shape} holds {used - allowed}"
