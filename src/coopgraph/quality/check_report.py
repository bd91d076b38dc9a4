"""What ``coopgraph check`` reports: the checks, their findings, and the report in text,
TSV or JSON (:mod:`coopgraph.quality.check` runs them)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from coopgraph.errors import CoopgraphError, FormatError

SEVERITIES = ("ERROR", "WARN", "INFO")
FORMATS = ("text", "tsv", "json")
SCOPES = ("ontology", "all", "files")
#: ``--fail-on`` levels and the severities that make the check fail at each.
FAIL_ON = {"error": ("ERROR",), "warn": ("ERROR", "WARN"), "none": ()}

_TSV_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@dataclass(frozen=True)
class Check:
    """One check: its header and its query."""

    id: str
    severity: str
    title: str
    description: str
    pitfalls: tuple[str, ...]
    robot: tuple[str, ...]
    scope: str
    rationale: str
    query: str = field(repr=False)

    @property
    def refs(self) -> str:
        """What the check stands for elsewhere, e.g. ``OOPS! P08; ROBOT missing_label``."""
        parts = []
        if self.pitfalls:
            parts.append("OOPS! " + " ".join(self.pitfalls))
        if self.robot:
            parts.append("ROBOT " + " ".join(self.robot))
        return "; ".join(parts)


@dataclass(frozen=True)
class Finding:
    """One thing a check found.

    Attributes:
        check: The check's id.
        severity: ERROR, WARN or INFO.
        subject: The term at fault as a person reads it (a CURIE, or a file's path).
        property: The property concerned (a CURIE), or "".
        value: The value at fault, or what is wrong, as text.
        message: The check's title.
        file: The file the subject comes from (relative to the project), or "".
        iri: The subject's full IRI.
    """

    check: str
    severity: str
    subject: str
    property: str
    value: str
    message: str
    file: str
    iri: str

    def __str__(self) -> str:
        parts = [self.severity, self.check, self.subject]
        parts += [p for p in (self.property, self.value) if p]
        where = f" [{self.file}]" if self.file else ""
        return f"{' '.join(parts)}{where}: {self.message}"


@dataclass
class CheckReport:
    """What the checks found (most severe first), which checks ran, and on which files."""

    findings: list[Finding] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        """The ERROR findings."""
        return [f for f in self.findings if f.severity == "ERROR"]

    def count(self, severity: str) -> int:
        """How many findings have ``severity``."""
        return sum(1 for f in self.findings if f.severity == severity)

    def fails(self, fail_on: str = "error") -> bool:
        """Whether a finding is at least as severe as ``fail_on`` (error, warn or none).

        Raises:
            CoopgraphError: for another level.
        """
        severities = failing(fail_on)
        return any(f.severity in severities for f in self.findings)

    def summary(self) -> str:
        """One line: how many checks ran on how many files, and the counts per severity."""
        counts = ", ".join(f"{self.count(s)} {s}" for s in SEVERITIES)
        files = f"{len(self.files)} file" + ("s" * (len(self.files) != 1))
        return f"coopgraph check: {len(self.checks)} checks on {files}: {counts}."

    def render(self, fmt: str = "text") -> str:
        """The report as a readable table grouped by severity (text), TSV, or JSON.

        Raises:
            FormatError: for another format.
        """
        if fmt == "text":
            return self._text()
        if fmt == "tsv":
            return self._tsv()
        if fmt == "json":
            return self._json()
        raise FormatError(fmt, FORMATS, "the check report")

    def _text(self) -> str:
        checks = {c.id: c for c in self.checks}
        lines: list[str] = []
        for severity in SEVERITIES:
            found = [f for f in self.findings if f.severity == severity]
            if not found:
                continue
            lines.append(f"{severity} ({len(found)})")
            rows = [(f.subject, f.property, f.value) for f in found]
            widths = [max(len(row[i]) for row in rows) for i in range(3)]
            previous = None
            for f in found:
                if f.check != previous:
                    check = checks.get(f.check)
                    refs = f" ({check.refs})" if check and check.refs else ""
                    total = sum(1 for g in found if g.check == f.check)
                    lines.append(f"  {f.check} ({total}): {f.message}{refs}")
                    previous = f.check
                cells = [f.subject, f.property, f.value]
                text = "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
                lines.append(f"    {text}  {f.file}".rstrip())
            lines.append("")
        lines.append(self.summary())
        return "\n".join(lines) + "\n"

    def _tsv(self) -> str:
        """One row a finding; tabs, line breaks and backslashes in a field are escaped."""
        columns = ("severity", "check", "subject", "property", "value", "file", "message")
        rows = ["\t".join(columns)]
        for f in self.findings:
            rows.append("\t".join(getattr(f, c).translate(_TSV_ESCAPES) for c in columns))
        return "\n".join(rows) + "\n"

    def _json(self) -> str:
        document = {
            "summary": self.summary(),
            "counts": {s: self.count(s) for s in SEVERITIES},
            "files": self.files,
            "checks": [
                {
                    "id": c.id,
                    "severity": c.severity,
                    "title": c.title,
                    "description": c.description,
                    "pitfalls": list(c.pitfalls),
                    "robot": list(c.robot),
                    "scope": c.scope,
                }
                for c in self.checks
            ],
            "findings": [asdict(f) for f in self.findings],
        }
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def failing(fail_on: str) -> tuple[str, ...]:
    """The severities that fail a check run at level ``fail_on`` (error, warn or none).

    Raises:
        CoopgraphError: for another level.
    """
    if fail_on not in FAIL_ON:
        raise CoopgraphError(f"unknown fail-on level {fail_on!r}; use one of: {', '.join(FAIL_ON)}")
    return FAIL_ON[fail_on]
