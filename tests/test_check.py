"""`coopgraph check`: each quality check trips on its fixture, and the shipped ontology has
no ERROR."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from coopgraph.check import SEVERITIES, load_checks, run_checks

FIXTURES = Path(__file__).parent / "checks"
CHECKS = {c.id: c for c in load_checks()}


def test_every_check_has_a_fixture_and_a_header() -> None:
    assert len(CHECKS) >= 16
    assert sorted(p.stem for p in FIXTURES.glob("*.ttl")) == sorted(CHECKS)
    pitfalls = {p for c in CHECKS.values() for p in c.pitfalls}
    wanted = {"P04", "P08", "P11", "P19", "P22", "P32", "P34", "P35", "P36", "P38", "P39", "P41"}
    assert wanted <= pitfalls
    assert all(c.severity in SEVERITIES and c.title and c.description for c in CHECKS.values())


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_the_check_trips_on_its_fixture(check_id: str) -> None:
    fixture = FIXTURES / f"{check_id}.ttl"
    first = fixture.read_text(encoding="utf-8").splitlines()[0]
    expected = set(first.removeprefix("# expect: ").split())
    report = run_checks(files=[fixture])
    fired = {f.iri for f in report.findings if f.check == check_id}
    assert fired == expected, report.render()
    finding = next(f for f in report.findings if f.check == check_id)
    assert finding.severity == CHECKS[check_id].severity
    assert finding.file == str(fixture)


def test_the_shipped_ontology_and_data_have_no_error(root: Path) -> None:
    report = run_checks(root)
    assert report.errors == [], report.render()
    assert report.count("WARN") == 0, report.render()


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "coopgraph", *args], cwd=cwd, capture_output=True, text=True
    )


def test_the_command_exits_1_on_an_error_and_prints_the_report(root: Path) -> None:
    done = run("check", str(FIXTURES / "missing-label.ttl"), cwd=root)
    assert done.returncode == 1
    assert "missing-label" in done.stdout and "ERROR" in done.stdout
    warn_only = run("check", str(FIXTURES / "missing-definition.ttl"), cwd=root)
    assert warn_only.returncode == 0
    strict = run("check", "--fail-on", "warn", str(FIXTURES / "missing-definition.ttl"), cwd=root)
    assert strict.returncode == 1
    shipped = run("check", "--format", "json", cwd=root)
    assert shipped.returncode == 0
    assert all(f["severity"] != "ERROR" for f in json.loads(shipped.stdout))
    tsv = run("check", "--format", "tsv", str(FIXTURES / "missing-label.ttl"), cwd=root)
    assert tsv.stdout.splitlines()[0].split("\t")[:3] == ["severity", "check", "subject"]


def test_a_broken_file_is_reported_with_its_place(tmp_path: Path, root: Path) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix fx: <http://example.org/fx#> .\nfx:a fx:b .\n", encoding="utf-8")
    done = run("check", str(bad), cwd=root)
    assert done.returncode == 2
    assert f"{bad}:2:" in done.stderr
