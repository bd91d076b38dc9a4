"""Write a :class:`~coopgraph.quality.validate.ValidationReport` as text, Turtle or JSON."""

from __future__ import annotations

import json
from itertools import groupby

from coopgraph.errors import FormatError
from coopgraph.quality.validate import ValidationReport, ValidationResult
from coopgraph.terms import short, term_json

FORMATS = ("text", "turtle", "json")


def render_report(report: ValidationReport, fmt: str = "text") -> str:
    """Return the report in format ``fmt``.

    Args:
        report: The validation report.
        fmt: ``text`` (grouped by shape, with a summary line), ``turtle`` (pyshacl's
            ``sh:ValidationReport`` graph) or ``json``.

    Raises:
        FormatError: for any other format.
    """
    if fmt == "text":
        return render_text(report)
    if fmt == "turtle":
        return report.graph.serialize(format="turtle")
    if fmt == "json":
        return render_json(report)
    raise FormatError(fmt, FORMATS, "the validation report")


def summary(report: ValidationReport) -> str:
    """Return the one-line verdict, e.g. ``Does not conform: 2 violations, 1 warning ...``."""
    counts = report.counts()
    parts = [
        _plural(counts[name], name.lower())
        for name in ("Violation", "Warning", "Info")
        if counts[name] or name == "Violation"
    ]
    files = report.files()
    where = f" in {_plural(len(files), 'file')}" if files else ""
    verdict = "Conforms" if report.conforms else "Does not conform"
    return f"{verdict}: {', '.join(parts)}{where}."


def _plural(n: int, word: str) -> str:
    if word == "info":
        return f"{n} info"
    return f"{n} {word}" + ("" if n == 1 else "s")


def render_text(report: ValidationReport) -> str:
    """Return the report for a person: one block per shape, then the summary line."""
    lines: list[str] = []
    key = _group_key
    for (severity, shape), group in groupby(report.results, key=key):
        results = list(group)
        messages = {r.message for r in results}
        lines.append(f"{severity} {shape} ({_plural(len(results), 'result')})")
        if len(messages) == 1:
            lines.append(f"  {messages.pop()}")
        for result in results:
            lines.append("  - " + _result_line(report, result, show_message=len(messages) > 1))
        lines.append("")
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


def _group_key(result: ValidationResult) -> tuple[str, str]:
    return result.severity_name, result.shape_name


def _result_line(report: ValidationReport, result: ValidationResult, show_message: bool) -> str:
    nsm = report.namespaces
    parts = [short(result.focus, nsm)]
    if result.path:
        parts.append(result.path)
    if result.value is not None:
        parts.append(f"value {short(result.value, nsm)}")
    parts.append("[" + (", ".join(result.files) or "not a subject in any data file") + "]")
    if show_message and result.message:
        parts.append(f"- {result.message}")
    return "  ".join(parts)


def render_json(report: ValidationReport) -> str:
    """Return the report as JSON: the verdict, counts per severity, and every result."""
    counts = report.counts()
    document = {
        "conforms": report.conforms,
        "summary": summary(report),
        "counts": {name: counts[name] for name in ("Violation", "Warning", "Info")},
        "results": [_result_json(r) for r in report.results],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _result_json(result: ValidationResult) -> dict[str, object]:
    return {
        "severity": result.severity_name,
        "shape": str(result.shape) if result.shape is not None else None,
        "shapeName": result.shape_name,
        "focusNode": term_json(result.focus) if result.focus is not None else None,
        "path": result.path or None,
        "value": term_json(result.value) if result.value is not None else None,
        "message": result.message,
        "constraintComponent": str(result.component) if result.component else None,
        "files": list(result.files),
    }
