"""Text for the tables: times, sizes and rates as cells, a goal and whether it is met, and a
Markdown table of rows."""

from __future__ import annotations


def ftime(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 0.001:
        return f"{seconds * 1000:.3f} ms"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 100:
        return f"{seconds:.2f} s"
    return f"{seconds:.0f} s"


def fms(ms: float) -> str:
    return ftime(ms / 1000)


def fmb(n: int | None) -> str:
    return "–" if n is None else f"{n / 1024 / 1024:,.0f} MB"


def fnum(n: float) -> str:
    return f"{n:,.0f}" if n >= 10 else f"{n:,.1f}"


def table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    """Whether a goal is met, in bold."""
    return f"**{'met' if ok else 'missed'}**"


def goal_cell(text: str, ok: bool | None) -> str:
    """A goal, and whether it is met (None: not judged at this size)."""
    if ok is None:
        return text
    return f"{text}: {verdict(ok)}"
