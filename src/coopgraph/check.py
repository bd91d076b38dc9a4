"""`coopgraph check`: a quality report on the ontology, in the manner of ROBOT's `report`.

Each check is a SPARQL SELECT kept as a file in ``coopgraph/checks/`` whose first comment
lines give its id, severity (ERROR, WARN or INFO), the OOPS! pitfalls it covers, a title
and a one-sentence description. A check selects ``?subject`` (the term at fault) and
``?value`` (what is wrong with it). The checks run over the ontology modules and the data
together, so that "unconnected" and "deprecated term used" see the data too.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

from rdflib import Graph, URIRef

from coopgraph.errors import CoopgraphError, FormatError
from coopgraph.load import build_dataset
from coopgraph.query import parse_query
from coopgraph.turtle import parse_turtle

SEVERITIES = ("ERROR", "WARN", "INFO")
FORMATS = ("text", "tsv", "json")
_PROLOGUE = """PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX vann: <http://purl.org/vocab/vann/>
"""


@dataclass(frozen=True)
class Check:
    """One check: its header and its query."""

    id: str
    severity: str
    pitfalls: tuple[str, ...]
    title: str
    description: str
    query: str


@dataclass(frozen=True)
class Finding:
    """One thing a check found."""

    check: str
    severity: str
    subject: str
    value: str
    message: str
    file: str = ""
    iri: str = ""


@dataclass
class CheckReport:
    """What the checks found, most severe first."""

    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "ERROR"]

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def render(self, fmt: str = "text") -> str:
        """The report as a readable table (text), TSV, or JSON."""
        if fmt == "json":
            return json.dumps([asdict(f) for f in self.findings], indent=2) + "\n"
        if fmt == "tsv":
            out = io.StringIO()
            writer = csv.writer(out, delimiter="\t", lineterminator="\n")
            writer.writerow(["severity", "check", "subject", "value", "file", "message"])
            for f in self.findings:
                writer.writerow([f.severity, f.check, f.subject, f.value, f.file, f.message])
            return out.getvalue()
        if fmt != "text":
            raise FormatError(fmt, FORMATS, "the check report")
        lines = ["coopgraph check: " + ", ".join(f"{self.count(s)} {s}" for s in SEVERITIES)]
        for severity in SEVERITIES:
            found = [f for f in self.findings if f.severity == severity]
            if found:
                lines.append(f"\n{severity} ({len(found)})")
            for f in found:
                where = f" [{f.file}]" if f.file else ""
                value = f" ({f.value})" if f.value else ""
                lines.append(f"  {f.check}: {f.subject}{value}{where}: {f.message}")
        return "\n".join(lines) + "\n"


def load_checks() -> list[Check]:
    """Read every check file shipped with the package, in file-name order."""
    found = []
    folder = resources.files("coopgraph") / "checks"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".rq"):
            found.append(_read_check(entry.name, entry.read_text(encoding="utf-8")))
    return found


def _read_check(name: str, text: str) -> Check:
    header: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        key, _, value = line.lstrip("# ").partition(":")
        header[key.strip()] = value.strip()
    missing = [k for k in ("id", "severity", "title", "description") if not header.get(k)]
    if missing or header.get("severity") not in SEVERITIES:
        raise CoopgraphError(f"checks/{name}: the header needs id, severity, title, description")
    return Check(
        header["id"],
        header["severity"],
        tuple(header.get("pitfalls", "").split()),
        header["title"],
        header["description"],
        _PROLOGUE + text,
    )


def run_checks(
    root: str | Path | None = None, files: Sequence[str | Path] | None = None
) -> CheckReport:
    """Run every check over the project's ontology and data, or over ``files`` alone.

    Raises:
        MissingFileError, ParseError: for a file that is missing or does not parse.
    """
    origin: dict[str, str] = {}
    graph = Graph()
    if files:
        for name in files:
            part = Graph()
            parse_turtle(Path(name), part, shown=str(name))
            graph += part
            for subject, predicate, _ in part:
                origin.setdefault(str(subject), str(name))
                origin.setdefault(str(predicate), str(name))
    else:
        ds = build_dataset(root)
        for name in ds.asserted_graphs():
            for s, p, o in ds.graph(name):
                graph.add((s, p, o))
            path = ds.files.get(name)
            shown = _relative(path, ds.root) if path else str(name)
            for subject in set(ds.graph(name).subjects(predicate=None)):
                origin.setdefault(str(subject), shown)
    report = CheckReport()
    for check in load_checks():
        for row in graph.query(parse_query(check.query)):
            subject = str(row.subject)
            report.findings.append(
                Finding(
                    check.id,
                    check.severity,
                    _short(graph, subject),
                    str(row.value or ""),
                    check.title + ". " + check.description,
                    origin.get(subject, ""),
                    subject,
                )
            )
    order = {s: i for i, s in enumerate(SEVERITIES)}
    report.findings.sort(key=lambda f: (order[f.severity], f.check, f.subject, f.value))
    return report


def _short(graph: Graph, iri: str) -> str:
    try:
        return graph.namespace_manager.curie(URIRef(iri), generate=False)
    except (KeyError, ValueError):
        return f"<{iri}>"


def _relative(path: Path, root: Path | None) -> str:
    try:
        return str(path.relative_to(root)) if root else str(path)
    except ValueError:
        return str(path)
