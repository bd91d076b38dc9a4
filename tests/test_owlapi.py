"""`coopgraph owlapi`: the ontology and the data load in the OWL API 5, as in Protégé.

These tests run the real OWL API (Debian's libowlapi-java) through the Java program that
ships with the package. The fixtures in tests/owlapi/ each break one thing that Protégé or
the OWL API's profile checkers would object to.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coopgraph.errors import MissingFileError
from coopgraph.quality import owlapi
from tests.support import invoke

pytestmark = pytest.mark.slow  # the OWL API, on Java

FIXTURES = Path(__file__).parent / "owlapi"


@pytest.fixture(scope="module")
def shipped() -> owlapi.OwlApiReport:
    return owlapi.run()


def test_shipped_files_load_without_an_error(shipped, root):
    """Both ontology modules and every data file load, with no load error, no unparsed
    triple, no import left out, and no OWL 2 DL or RL violation."""
    assert [f for f in shipped.findings if f.severity == "ERROR"] == []
    expected = {"ontology/coopgraph.ttl", "ontology/coopgraph-align.ttl"}
    expected |= {str(p.relative_to(root)) for p in (root / "data").rglob("*.ttl")}
    loaded = {f.file for f in shipped.findings if f.kind == "loaded"}
    assert loaded == expected == set(shipped.files)
    assert shipped.ok


def test_imports_resolve_through_the_catalog(shipped):
    """The alignment module's import of the ontology is loaded from the local file the
    catalog names, and every data file is read with both modules in scope."""
    (align,) = [f for f in shipped.findings if f.file == "ontology/coopgraph-align.ttl"]
    assert "imports https://w3id.org/coopgraph/ontology," in align.message
    assert "2 ontologies in the imports closure" in align.message
    data = [f for f in shipped.findings if f.kind == "loaded" and f.file.startswith("data/")]
    assert data and all("3 ontologies in the imports closure" in f.message for f in data)


def test_the_shipped_files_have_no_finding_at_all(shipped):
    """Not even a warning: the data's days and years (xsd:date, xsd:gYear, outside the OWL 2
    datatype map) are values of annotation properties, which OWL 2 DL leaves alone."""
    assert [f for f in shipped.findings if f.kind != "loaded"] == []
    assert shipped.summary().endswith(": 0 ERROR.")


@pytest.mark.parametrize(
    ("fixture", "kind", "needle"),
    [
        ("syntax-error.ttl", "load-error", "line 7"),
        ("crash.ttl", "load-error", "operands cannot be null"),
        ("missing-import.ttl", "missing-import", "not-in-the-catalog is not in the catalog"),
        ("unparsed.ttl", "unparsed", "owl#AllDisjointClasses"),
        ("dl-violation.ttl", "OWL2_DL", "UseOfNonSimplePropertyInCardinalityRestriction"),
        ("rl-violation.ttl", "OWL2_RL", "UseOfNonSuperClassExpression"),
        ("data-undeclared.ttl", "OWL2_DL", "UseOfUndeclaredAnnotationProperty"),
        ("date-on-a-data-property.ttl", "OWL2_DL", "UseOfDefinedDatatypeInLiteral"),
    ],
)
def test_each_fixture_is_reported_and_fails(fixture, kind, needle):
    path = FIXTURES / fixture
    result = invoke("owlapi", str(path))
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.strip().startswith("ERROR")]
    assert any(f"ERROR {kind}:" in line and needle in line for line in errors), result.output
    assert "1 file in" in result.output


def test_an_rl_violation_is_not_a_dl_violation():
    """A union as a superclass is fine in OWL 2 DL and reported only against OWL 2 RL."""
    report = owlapi.run(files=[FIXTURES / "rl-violation.ttl"])
    kinds = {f.kind for f in report.findings if f.severity == "ERROR"}
    assert kinds == {"OWL2_RL"}


def test_a_data_file_is_checked_against_the_ontology():
    """A file without an ontology header is data: read with the ontology's declarations,
    checked against OWL 2 DL only; its days and years are annotation values, no finding."""
    report = owlapi.run(files=[FIXTURES / "data-dates.ttl"])
    assert report.ok
    (loaded,) = [f for f in report.findings if f.kind == "loaded"]
    assert "an anonymous ontology" in loaded.message
    assert "imports https://w3id.org/coopgraph/ontology " in loaded.message
    assert [f for f in report.findings if f.kind != "loaded"] == []


def test_an_import_the_catalog_lacks_is_an_error(project):
    """Without the catalog's entries for the ontology, the alignment module's import is not
    found (nothing is fetched from the web), and that is an ERROR."""
    catalog = project / "ontology" / "catalog-v001.xml"
    lines = catalog.read_text().splitlines(keepends=True)
    catalog.write_text("".join(x for x in lines if 'uri="coopgraph.ttl"' not in x))
    report = owlapi.run(project)
    missing = [f for f in report.findings if f.kind == "missing-import"]
    assert missing and all(f.severity == "ERROR" for f in missing)
    assert any(
        f.file == "ontology/coopgraph-align.ttl"
        and "https://w3id.org/coopgraph/ontology is not in the catalog" in f.message
        for f in missing
    )
    assert not report.ok


def test_the_catalog_decides_which_file_an_import_is(project):
    """Imports follow the catalog, not the file names: the ontology moved to another file
    and the catalog updated, everything still loads."""
    folder = project / "ontology"
    (folder / "coopgraph.ttl").rename(folder / "core.ttl")
    catalog = folder / "catalog-v001.xml"
    catalog.write_text(catalog.read_text().replace('uri="coopgraph.ttl"', 'uri="core.ttl"'))
    report = owlapi.run(project)
    assert report.ok, [str(f) for f in report.findings if f.severity == "ERROR"]
    (align,) = [f for f in report.findings if f.file == "ontology/coopgraph-align.ttl"]
    assert "2 ontologies in the imports closure" in align.message


def test_formats():
    result = invoke("owlapi", "--format", "json", str(FIXTURES / "rl-violation.ttl"))
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["files"] == ["tests/owlapi/rl-violation.ttl"]
    assert [f["kind"] for f in document["findings"]] == ["loaded", "OWL2_RL"]
    tsv = invoke("owlapi", "--format", "tsv", str(FIXTURES / "rl-violation.ttl")).stdout
    assert tsv.splitlines()[0] == "severity\tkind\tfile\tmessage"
    assert len(tsv.splitlines()) == 3
    bad = invoke("owlapi", "--format", "xml")
    assert bad.exit_code == 2 and "xml" in bad.output


def test_a_missing_owl_api_says_how_to_install_it(tmp_path):
    with pytest.raises(MissingFileError, match="install-system-packages owlapi"):
        owlapi.run(library=tmp_path)


def test_a_missing_file_is_a_clear_error(tmp_path):
    result = invoke("owlapi", str(tmp_path / "nowhere.ttl"))
    assert result.exit_code == 2
    assert "nowhere.ttl: no such file" in result.output
