"""The competency questions in queries/competency/ give their expected answers.

Each `NAME.rq` has its expected answer in `NAME.csv` beside it: a header row with the
variable names, then one row per solution, unbound values as empty cells. A query with
ORDER BY is compared row by row; any other as a multiset of rows.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from coopgraph.graph.load import build_dataset
from tests.support import QUERIES, ROOT


@pytest.fixture(scope="module")
def dataset():
    return build_dataset(ROOT)


def _expected(query: Path) -> tuple[list[str], list[list[str]]]:
    with query.with_suffix(".csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def test_there_are_at_least_25_questions_each_with_an_answer() -> None:
    assert len(QUERIES) >= 25
    for query in QUERIES:
        assert query.with_suffix(".csv").is_file(), f"{query.name} has no expected answer"
        assert query.read_text(encoding="utf-8").startswith("# "), (
            f"{query.name} must start with the question, as a comment"
        )


@pytest.mark.parametrize("query", QUERIES, ids=lambda p: p.stem)
def test_competency_question(query: Path, dataset) -> None:
    header, expected = _expected(query)
    assert expected, f"{query.name}: an expected answer with no rows proves nothing"
    result = dataset.query(query.read_text(encoding="utf-8"))
    assert [str(v) for v in result.vars] == header
    actual = [["" if term is None else str(term) for term in row] for row in result]
    if "ORDER BY" in query.read_text(encoding="utf-8").upper():
        assert actual == expected
    else:
        assert sorted(actual) == sorted(expected)
