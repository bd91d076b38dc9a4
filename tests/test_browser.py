"""The site in a real browser: Debian's chromium, headless, driven by Playwright.

The query editor (YASGUI, set up by static/editor.js) appears with the dataset's prefixes and
the competency questions as examples; a question picked from the list, or a query set through
the editor, runs and its table shows the expected rows; a person can go from a resource page
to the pages it links to, and from the home page to a class and its instances. No request
ever leaves the server under test, and no page logs an error.

Each test saves a screenshot in tests/screenshots/ (ignored by git) and prints its path.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from coopgraph.graph.load import ProjectDataset
from tests.support import CHROMIUM, QUERIES, ROOT, Server, chromium_context

pytestmark = pytest.mark.slow  # headless Chromium and a real server

if not CHROMIUM.is_file():
    pytest.skip(
        f"{CHROMIUM} is missing: install Debian's chromium (make test does) to run the "
        "browser tests",
        allow_module_level=True,
    )

from playwright.sync_api import (  # noqa: E402 - only once chromium is known to be there
    BrowserContext,
    ConsoleMessage,
    Page,
    Request,
)

SCREENSHOTS = ROOT / "tests" / "screenshots"


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """A chromium with a fresh profile."""
    with chromium_context(tmp_path_factory.mktemp("chromium-profile")) as browser:
        yield browser


@dataclass
class Visit:
    """A tab, and everything it asked for or complained about."""

    page: Page
    base: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def shot(self, name: str, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        print(f"screenshot: {path}")
        return path

    def check(self) -> None:
        """Nothing left 127.0.0.1 (the server under test), and no page logged an error."""
        outside = [url for url in self.requests if not url.startswith(self.base)]
        assert not outside, f"requests that left the server under test: {outside}"
        assert not self.errors, f"the pages logged errors: {self.errors}"


@pytest.fixture
def visit(context: BrowserContext, server: Server) -> Iterator[Visit]:
    page = context.new_page()
    seen = Visit(page, server.url)

    def on_request(request: Request) -> None:
        seen.requests.append(request.url)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.errors.append(f"{message.text} at {message.location.get('url')}")

    context.on("request", on_request)
    page.on("console", on_console)
    page.on("pageerror", lambda error: seen.errors.append(f"uncaught: {error}"))
    try:
        yield seen
        seen.check()
    finally:
        context.remove_listener("request", on_request)
        page.close()


def expected_csv(path: Path) -> list[list[str]]:
    with path.with_suffix(".csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def declared_prefixes() -> dict[str, set[str]]:
    """The prefixes the project's Turtle files declare: name -> namespaces."""
    found: dict[str, set[str]] = {}
    files = [*(ROOT / "ontology").glob("*.ttl"), *(ROOT / "data").rglob("*.ttl")]
    for path in files:
        for name, namespace in re.findall(
            r"^@prefix\s+([\w-]*):\s*<([^>]*)>", path.read_text(encoding="utf-8"), re.M
        ):
            found.setdefault(name, set()).add(namespace)
    return found


_ROWS = """() => Array.from(document.querySelectorAll(".yasr table.dataTable tbody tr")).map(
  (tr) => Array.from(tr.querySelectorAll("td")).slice(1).map((td) => {
    const literal = td.querySelector(".nonIri");
    if (literal) return literal.textContent.trim();
    const link = td.querySelector("a");
    if (link) return link.getAttribute("href");
    return td.textContent.trim();
  }))"""


def result_rows(page: Page) -> list[list[str]]:
    """The result table as shown: each cell's lexical form (``"x"@en`` shows x), or IRI."""
    rows = page.evaluate(_ROWS)
    return [[_lexical(cell) for cell in row] for row in rows]


def _lexical(cell: str) -> str:
    match = re.fullmatch(r'"(.*)"(@[\w-]+|\^\^\S+)?', cell, re.S)
    return match.group(1) if match else cell


def run_and_wait(page: Page, action) -> None:
    """Do what sends a query from the editor and wait for its answer to be shown."""
    with page.expect_response(lambda r: r.url.endswith("/sparql") and r.request.method == "POST"):
        action()
    page.wait_for_selector(".yasr table.dataTable tbody tr")


# --------------------------------------------------------------------------- the editor


def test_the_query_editor_appears_with_the_prefixes_and_the_questions(visit: Visit) -> None:
    page = visit.page
    page.goto(visit.base + "sparql")
    assert page.locator("h1").inner_text() == "Query editor"
    page.wait_for_selector("#yasgui .yasqe .CodeMirror")
    # The examples are the competency questions, by their question.
    titles = page.locator("a.example").all_inner_texts()
    assert titles == [
        p.read_text(encoding="utf-8").splitlines()[0].lstrip("# ").strip() for p in QUERIES
    ]
    # The first tab holds the first question, and its prefixes are shown in the editor.
    first = QUERIES[0].read_text(encoding="utf-8")
    assert page.evaluate("window.coopgraphYasgui.getTab().getQuery()") == first
    shown = page.locator("#yasgui .CodeMirror-code").inner_text()
    assert "PREFIX coop: <https://w3id.org/coopgraph/ontology#>" in shown
    # A new tab starts with every prefix of the dataset.
    page.click("button.addTab")
    page.wait_for_function("window.coopgraphYasgui.getTab().getQuery().includes('SELECT')")
    query = page.evaluate("window.coopgraphYasgui.getTab().getQuery()")
    declared = dict(re.findall(r"^PREFIX\s+([\w-]*):\s*<([^>]*)>", query, re.M))
    expected = declared_prefixes()
    assert set(declared) == set(expected)
    for name, namespace in declared.items():
        assert namespace in expected[name], name
    assert page.locator(".tabsList .tab").count() == 2
    visit.shot("editor")


def test_an_example_question_runs_and_its_rows_are_shown(visit: Visit) -> None:
    page = visit.page
    page.goto(visit.base + "sparql")
    page.wait_for_selector("#yasgui .yasqe .CodeMirror")
    for path in (QUERIES[6], QUERIES[2]):  # cq07: unbound values; cq03: dates
        title = path.read_text(encoding="utf-8").splitlines()[0].lstrip("# ").strip()
        run_and_wait(page, lambda title=title: page.get_by_text(title, exact=True).click())
        assert page.evaluate("window.coopgraphYasgui.getTab().getQuery()") == path.read_text(
            encoding="utf-8"
        )
        expected = expected_csv(path)
        headers = page.locator(".yasr table.dataTable thead th").all_inner_texts()
        assert [h.strip() for h in headers[1:]] == expected[0]
        assert result_rows(page) == expected[1:], path.stem
        chip = page.locator(".yasr_response_chip").inner_text()
        assert chip.startswith(f"{len(expected) - 1} result"), chip
        visit.shot(f"editor-{path.stem[:4]}")


def test_a_query_set_through_the_editor_runs(visit: Visit, served: ProjectDataset) -> None:
    page = visit.page
    page.goto(visit.base + "sparql")
    page.wait_for_selector("#yasgui .yasqe .CodeMirror")
    query = (
        "PREFIX coop: <https://w3id.org/coopgraph/ontology#>\n"
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
        "SELECT DISTINCT ?agreement ?label WHERE {\n"
        "  ?agreement a coop:Agreement ; rdfs:label ?label }\n"
        "ORDER BY ?label"
    )
    page.evaluate("(q) => window.coopgraphYasgui.getTab().setQuery(q)", query)
    run_and_wait(page, lambda: page.evaluate("window.coopgraphYasgui.getTab().query()"))
    expected = [[str(a), str(label)] for a, label in served.query(query)]
    assert len(expected) >= 10, "with the inferences: every kind of agreement"
    assert result_rows(page) == expected
    visit.shot("editor-agreements")
    # An IRI of the result opens its page on this server, in a new tab.
    iri, label = min(expected, key=lambda row: len(row[0]))  # YASR elides long ones
    with page.context.expect_page() as opened:
        page.locator(f'.yasr table.dataTable a.iri[href="{iri}"]').first.click()
    resource = opened.value
    try:
        resource.wait_for_load_state()
        assert resource.url == visit.base + iri[len("https://w3id.org/coopgraph/") :]
        assert resource.locator("h1").inner_text() == label
    finally:
        resource.close()


# --------------------------------------------------------------------------- the pages


def test_following_links_from_a_resource_page(visit: Visit) -> None:
    page = visit.page
    page.goto(visit.base + "id/agreement/unodc-interpol-cooperation-arrangement")
    assert page.locator("h1").inner_text() == "UNODC-INTERPOL cooperation arrangement"
    visit.shot("agreement")
    page.locator(
        "table.statements a", has_text="United Nations Office on Drugs and Crime"
    ).first.click()
    page.wait_for_url(visit.base + "id/org/unodc")
    assert page.locator("h1").inner_text() == "United Nations Office on Drugs and Crime"
    assert page.title() == "United Nations Office on Drugs and Crime | coopgraph"
    visit.shot("unodc")
    # Back to the agreement by the incoming link, then to the source of its evidence.
    page.locator("#incoming + table").get_by_role(
        "link", name="UNODC-INTERPOL cooperation arrangement", exact=True
    ).click()
    page.wait_for_url(visit.base + "id/agreement/unodc-interpol-cooperation-arrangement")
    page.locator(".evidence .cite a").last.click()
    page.wait_for_url(visit.base + "id/source/002_04716fd2df2bc222")
    assert page.locator("h2#text").is_visible()
    assert (
        "UNODC and INTERPOL tackle human trafficking"
        in page.locator("pre.source-text").inner_text()
    )
    visit.shot("source")


def test_browsing_from_the_home_page(visit: Visit) -> None:
    page = visit.page
    page.goto(visit.base)
    assert page.locator("h1").inner_text() == "coopgraph"
    visit.shot("home")
    page.locator("#browse + table a", has_text=re.compile(r"^person$")).click()
    page.wait_for_url(re.compile(r"/-/instances\?class="))
    assert page.locator("h1").inner_text() == "person"
    page.locator("ul.instances a", has_text="Jürgen Stock").click()
    page.wait_for_url(visit.base + "id/person/jurgen-stock")
    assert page.locator("h1").inner_text() == "Jürgen Stock"
    page.get_by_role("link", name="Query editor").click()
    page.wait_for_selector("#yasgui .yasqe .CodeMirror")
    page.get_by_role("link", name="Ontology").click()
    page.wait_for_url(visit.base + "ontology")
    assert page.locator("#Agreement h3").inner_text().startswith("agreement")
    visit.shot("ontology", full_page=False)  # (the whole ontology is a long page)
