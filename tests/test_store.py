"""The engines behind the endpoint agree with each other and with RDF's set semantics.

The default graph of a query is the union of the named graphs: a *set* of triples, even
when a triple is stated in several graphs (the bundled data states some in two or three).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import URIRef

from coopgraph.errors import CoopgraphError, LayoutError, ParseError, QueryError
from coopgraph.formats import NQUADS, NTRIPLES, TRIG
from coopgraph.graph.load import build_dataset
from coopgraph.graph.sources import file_sources, project_sources
from coopgraph.sparql import querytext, results
from coopgraph.store.engine import Engine, QueryJob
from coopgraph.store.opening import STORE_META, open_engine
from coopgraph.store.oxigraph_answers import _ox_plain  # noqa: PLC2701 (the reference mapping)

COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
SHARED = "<http://example.org/s> <http://example.org/p> <http://example.org/o>"
G1, G2, G3 = (f"http://example.org/g{i}" for i in (1, 2, 3))
#: The engines that hold the data in this process (the remote one is tested through servers).
LOCAL = ("oxigraph", "rdflib")


def count(engine: Engine, query: str = COUNT, **dataset) -> int:
    job = QueryJob(query, "SELECT", results.JSON, 1000, **dataset)
    answer = json.loads(engine.evaluate(job).body)
    return int(answer["results"]["bindings"][0]["n"]["value"])


@pytest.fixture(scope="module", params=LOCAL)
def bundled_engine(request, root: Path) -> Engine:
    return open_engine(request.param, project_sources(root), root)


@pytest.fixture(params=LOCAL)
def small(request, tmp_path: Path) -> Engine:
    """Three graphs: the shared triple in g1 and g2, one more triple in each of g1 and g3."""
    path = _nquads(
        tmp_path,
        f"{SHARED} <{G1}> .",
        f"{SHARED} <{G2}> .",
        f'<http://example.org/s> <http://example.org/p> "one" <{G1}> .',
        f'<http://example.org/s> <http://example.org/p> "three" <{G3}> .',
    )
    return open_engine(request.param, file_sources([path]))


def test_the_default_graph_counts_each_triple_once(bundled_engine: Engine, bundled) -> None:
    if bundled_engine.name == "oxigraph":
        # The bundled sources state some triples in two or three graphs, and the check run
        # beside the load of each graph sees it: the union is stored as a set.
        assert bundled_engine.union_stored is True
    distinct = len(bundled.merged())
    assert count(bundled_engine) == distinct
    assert len(bundled_engine.dump(NTRIPLES.media_type).decode().splitlines()) == distinct


def test_the_server_queries_see_the_union_as_a_set(bundled_engine: Engine, bundled) -> None:
    rows = bundled_engine.select(COUNT)
    assert int(rows[0]["n"]) == len(bundled.merged())


def test_a_merge_of_graphs_is_a_set(small: Engine) -> None:
    assert count(small) == 3
    assert count(small, default_graphs=(G1, G2), dataset_given=True) == 2
    assert count(small, default_graphs=(G1,), dataset_given=True) == 2
    assert count(small, default_graphs=(G2, G3), dataset_given=True) == 2
    text = f"SELECT (COUNT(*) AS ?n) FROM <{G1}> FROM <{G2}> WHERE {{ ?s ?p ?o }}"
    assert count(small, text, default_graphs=(G1, G2), dataset_given=True) == 2


def test_named_graphs_are_only_those_chosen(small: Engine) -> None:
    query = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    assert count(small, query) == 4
    assert count(small, query, named_graphs=(G3,), dataset_given=True) == 1
    both = {"default_graphs": (G1, G2), "named_graphs": (G1, G3), "dataset_given": True}
    assert count(small, query, **both) == 3
    # A default graph chosen without named graphs leaves GRAPH nothing to match.
    assert count(small, query, default_graphs=(G1, G2), dataset_given=True) == 0


def test_the_dataset_dump_holds_each_quad_once(small: Engine) -> None:
    for media_type, fmt in ((f.media_type, f.oxigraph) for f in (NQUADS, TRIG)):
        quads = list(ox.parse(small.dump(media_type), format=fmt))
        assert len(quads) == len(set(quads)) == 4
        assert {q.graph_name.value for q in quads} == {G1, G2, G3}
    assert len(small) == 4


def test_an_update_keeps_the_union_a_set(small: Engine) -> None:
    new = "<http://example.org/new> <http://example.org/p> 1"
    three = '<http://example.org/s> <http://example.org/p> "three"'
    small.update(f"INSERT DATA {{ {new} }}")
    assert count(small) == 4
    assert len(small) == 5
    small.update(f"DELETE DATA {{ GRAPH <{G3}> {{ {three} }} }}")
    assert count(small) == 3
    small.update(f"DELETE DATA {{ GRAPH <{G1}> {{ {SHARED} }} }}")
    assert count(small) == 3  # g2 still states it
    small.update(f"DELETE DATA {{ GRAPH <{G2}> {{ {SHARED} }} }}")
    assert count(small) == 2
    small.update(f"DELETE DATA {{ {new} }}")
    assert count(small) == 1
    assert len(small) == 1
    lines = [line for line in small.dump(NQUADS.media_type).decode().splitlines() if line]
    assert len(lines) == 1 and lines[0].endswith(f"<{G1}> .")


def test_a_failed_update_changes_nothing(small: Engine) -> None:
    before = small.dump(NQUADS.media_type)
    with pytest.raises(QueryError):
        small.update("INSERT DATA { <http://example.org/x> <http://example.org/p> }")
    assert small.dump(NQUADS.media_type) == before
    assert count(small) == 3


def test_an_update_matches_only_what_the_default_graph_itself_states(small: Engine) -> None:
    """Both engines agree: outside GRAPH, an update's WHERE sees the triples stated in the
    default graph, not the union copied from the named graphs."""
    small.update(
        "INSERT { ?s <http://example.org/copy> ?o } WHERE { ?s <http://example.org/p> ?o }"
    )
    assert count(small) == 3
    small.update('INSERT DATA { <http://example.org/x> <http://example.org/p> "x" }')
    small.update(
        "INSERT { ?s <http://example.org/copy> ?o } WHERE { ?s <http://example.org/p> ?o }"
    )
    assert count(small) == 5


# --------------------------------------------------------------------------- Oxigraph on disk


def nquads(tmp_path: Path, text: str) -> list:
    path = tmp_path / "data.nq"
    path.write_text(text, encoding="utf-8")
    return file_sources([path])


def test_a_store_on_disk_is_reopened_without_loading(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    sources = nquads(tmp_path, f"{SHARED} <{G1}> .\n{SHARED} <{G2}> .\n")
    first = open_engine("oxigraph", sources, path=folder)
    assert not first.reopened
    assert count(first) == 1 and len(first) == 2
    del first
    again = open_engine("oxigraph", sources, path=folder)
    assert again.reopened
    assert count(again) == 1 and len(again) == 2
    assert again.graph_names() == [G1, G2]


def test_a_store_on_disk_is_rebuilt_when_the_data_changes(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    open_engine("oxigraph", nquads(tmp_path, f"{SHARED} <{G1}> .\n"), path=folder)
    changed = nquads(
        tmp_path, f'{SHARED} <{G1}> .\n<http://example.org/s> <http://example.org/p> "2" <{G3}> .\n'
    )
    engine = open_engine("oxigraph", changed, path=folder)
    assert not engine.reopened
    assert count(engine) == 2


def test_a_failed_build_leaves_the_previous_store(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    good = nquads(tmp_path, f"{SHARED} <{G1}> .\n")
    open_engine("oxigraph", good, path=folder)
    broken = nquads(tmp_path, f"{SHARED} <{G1}> .\n<http://example.org/s> <oops .\n")
    with pytest.raises(ParseError):
        open_engine("oxigraph", broken, path=folder)
    assert sorted(p.name for p in folder.iterdir()) == [STORE_META, "store"]
    restored = nquads(tmp_path, f"{SHARED} <{G1}> .\n")
    assert open_engine("oxigraph", restored, path=folder).reopened


def test_a_folder_that_is_not_a_store_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "papers"
    folder.mkdir()
    (folder / "thesis.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(CoopgraphError, match="not a coopgraph store"):
        open_engine("oxigraph", nquads(tmp_path, f"{SHARED} <{G1}> .\n"), path=folder)
    assert (folder / "thesis.txt").read_text(encoding="utf-8") == "mine"


def test_a_store_on_disk_is_served_read_only(tmp_path: Path) -> None:
    engine = open_engine("oxigraph", nquads(tmp_path, f"{SHARED} <{G1}> .\n"), path=tmp_path / "s")
    with pytest.raises(QueryError, match="read-only"):
        engine.update(f"INSERT DATA {{ GRAPH <{G2}> {{ {SHARED} }} }}")
    assert len(engine) == 1


TRICKY = """
@prefix ex: <http://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:s ex:p "plain", "typed string"^^xsd:string, "chat"@fr, "2016-05-23"^^xsd:date,
    42, "quote \\" backslash \\\\ tab \\t newline \\n bell \\u0007", "ünïcødé ✓ 𝔸",
    ex:o, _:b1, "</script>"@en-GB .
ex:t ex:p ex:o .
"""


@pytest.mark.parametrize(
    ("query", "cap"),
    [
        ("SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY ?s ?o", 1000),
        ("SELECT ?s ?o ?label WHERE { ?s ?p ?o OPTIONAL { ?o ?x ?label } }", 1000),
        ("SELECT * WHERE { ?s ?p ?o }", 3),
        ("SELECT ?nothing WHERE { ?s ?p ?o }", 1000),
        ("SELECT * WHERE { ?s <http://example.org/none> ?o }", 1000),
    ],
    ids=["all-terms", "unbound", "cut-by-the-cap", "unbound-only", "empty"],
)
@pytest.mark.parametrize("capped", [False, True], ids=["row-by-row", "capped-in-the-query"])
def test_oxigraph_writes_json_results_as_the_shared_writer_does(
    tmp_path: Path, query: str, cap: int, capped: bool
) -> None:
    """The Oxigraph engine writes JSON results directly from its terms, or, for a query
    capped by a LIMIT the protocol added (a lookup), with pyoxigraph's own writer; either
    way the bytes are those of the writer every engine shares (results.write_select), for
    every kind of term, cut at the cap or not."""
    path = tmp_path / "tricky.ttl"
    path.write_text(TRICKY, encoding="utf-8")
    engine = open_engine("oxigraph", file_sources([path]))
    link = "http://127.0.0.1/#limits"
    text = querytext.with_limit(query, cap + 1) if capped else query
    job = QueryJob(text, "SELECT", results.JSON, cap, truncated_link=link, capped=capped)
    fast = engine.evaluate(job)
    answer = engine._query(query)  # the same store: the same blank node ids
    variables = [v.value for v in answer.variables]
    rows = [[_ox_plain(t) for t in row] for row in answer]
    truncated = len(rows) > cap
    expected = results.write_select(
        results.JSON, variables, rows[:cap], link if truncated else None
    )
    assert fast.body == expected
    assert (fast.count, fast.truncated) == (min(len(rows), cap), truncated)
    assert json.loads(fast.body)["head"].get("link") == ([link] if truncated else None)
    if query.startswith("SELECT ?s ?p ?o"):
        values = {b["o"]["value"] for b in json.loads(fast.body)["results"]["bindings"]}
        assert (
            "ünïcødé ✓ 𝔸" in values and 'quote " backslash \\ tab \t newline \n bell \x07' in values
        )


@pytest.fixture(params=LOCAL)
def disjoint(request, tmp_path: Path) -> Engine:
    """Three graphs that share no triple (the usual case: each source states its own)."""
    path = _nquads(
        tmp_path,
        f"{SHARED} <{G1}> .",
        f'<http://example.org/s> <http://example.org/p> "one" <{G1}> .',
        f'<http://example.org/s> <http://example.org/p> "two" <{G2}> .',
        f'<http://example.org/s> <http://example.org/p> "three" <{G3}> .',
    )
    return open_engine(request.param, file_sources([path]))


def test_disjoint_graphs_give_the_same_answers_without_a_stored_union(disjoint: Engine) -> None:
    """When no triple is in two graphs, Oxigraph reads the union of the named graphs as the
    default graph instead of a copy of it: the answers are those of the rdflib engine."""
    if disjoint.name == "oxigraph":
        assert disjoint.union_stored is False
        assert list(disjoint.store.quads_for_pattern(None, None, None, ox.DefaultGraph())) == []
    assert count(disjoint) == 4 and len(disjoint) == 4
    assert count(disjoint, default_graphs=(G1, G2), dataset_given=True) == 3
    rows = disjoint.select("SELECT ?o WHERE { <http://example.org/s> ?p ?o } ORDER BY ?o")
    assert [str(r["o"]) for r in rows] == ["http://example.org/o", "one", "three", "two"]
    assert len(disjoint.construct("CONSTRUCT WHERE { ?s ?p ?o }")) == 4
    union = list(ox.parse(disjoint.dump(NTRIPLES.media_type), format=ox.RdfFormat.N_TRIPLES))
    assert len(union) == len(set(union)) == 4
    quads = list(ox.parse(disjoint.dump(NQUADS.media_type), format=ox.RdfFormat.N_QUADS))
    assert {q.graph_name.value for q in quads} == {G1, G2, G3} and len(quads) == 4


def test_an_update_on_disjoint_graphs_keeps_the_union_a_set(disjoint: Engine) -> None:
    """An update may state a triple a second time: the union is then stored as a set."""
    disjoint.update(f"INSERT DATA {{ GRAPH <{G2}> {{ {SHARED} }} }}")
    if disjoint.name == "oxigraph":
        assert disjoint.union_stored is True
    assert count(disjoint) == 4 and len(disjoint) == 5
    disjoint.update(f"INSERT DATA {{ {SHARED} . <http://example.org/x> <http://example.org/p> 1 }}")
    assert count(disjoint) == 5


def test_a_triple_in_two_graphs_or_in_the_default_graph_stores_the_union(tmp_path: Path) -> None:
    shared = open_engine(
        "oxigraph", file_sources([_nquads(tmp_path, f"{SHARED} <{G1}> .", f"{SHARED} <{G2}> .")])
    )
    assert shared.union_stored is True and count(shared) == 1
    default = open_engine(
        "oxigraph", file_sources([_nquads(tmp_path, f"{SHARED} .", f"{SHARED} <{G2}> .")])
    )
    assert default.union_stored is True and count(default) == 1


def test_a_store_on_disk_remembers_how_it_keeps_the_union(tmp_path: Path) -> None:
    other = '<http://example.org/s> <http://example.org/p> "x"'
    sources = file_sources([_nquads(tmp_path, f"{SHARED} <{G1}> .", f"{other} <{G2}> .")])
    built = open_engine("oxigraph", sources, path=tmp_path / "store")
    assert built.union_stored is False
    marker = json.loads((tmp_path / "store" / STORE_META).read_text(encoding="utf-8"))
    assert marker["union"] == "query"
    reopened = open_engine("oxigraph", sources, path=tmp_path / "store")
    assert reopened.reopened and reopened.union_stored is False and count(reopened) == 2


def _nquads(folder: Path, *lines: str) -> Path:
    path = folder / f"data-{len(list(folder.glob('data-*.nq')))}.nq"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("header", "found"),
    [
        ("", "found 0"),
        ("[] a owl:Ontology .", "found 1 (a blank node)"),
        ("<urn:a> a owl:Ontology . <urn:b> a owl:Ontology .", "found 2"),
    ],
)
def test_one_rule_names_an_ontology_files_graph(project: Path, header: str, found: str) -> None:
    """rdflib's loader (the CLI) and Oxigraph's (the server) apply the same rule to an
    ontology file, and say the same."""
    extra = project / "ontology" / "extra.ttl"
    extra.write_text(
        f"@prefix owl: <http://www.w3.org/2002/07/owl#> .\n{header}\n<urn:c> a owl:Class .\n",
        encoding="utf-8",
    )
    said = []
    for load in (lambda: build_dataset(project), lambda: project_sources(project)):
        with pytest.raises(LayoutError) as caught:
            load()
        said.append(str(caught.value))
    assert said[0] == said[1]
    assert said[0].startswith("ontology/extra.ttl: an ontology file must declare exactly one")
    assert said[0].endswith(found)
    extra.write_text(
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n<urn:x> a owl:Ontology .\n",
        encoding="utf-8",
    )
    assert str(build_dataset(project).graph(URIRef("urn:x")).identifier) == "urn:x"
    assert "urn:x" in [s.graph for s in project_sources(project)]
