"""The synthetic graph generator (bench/generate.py): conforming, sized, deterministic."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pyoxigraph as ox
import pytest

from coopgraph.graph.load import build_dataset, load_shapes
from coopgraph.graph.sources import project_sources
from coopgraph.quality.validate import validate
from coopgraph.store.opening import open_engine
from tests.support import ROOT, load_bench

SCRIPT = ROOT / "bench" / "generate.py"
TARGET = 10_000


def _load_generator() -> ModuleType:
    return load_bench("generate")


generate = _load_generator()


def _run(out: Path, *args: str, hash_seed: str = "0") -> None:
    """Run the generator as a command, with a chosen PYTHONHASHSEED."""
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "-o", str(out), "--quiet", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("generated") / "project"
    _run(out, "--triples", str(TARGET), "--seed", "1", "--nquads", hash_seed="1")
    return out


def _data_quads(root: Path) -> list[ox.Quad]:
    """The data files' triples, each in the graph the project layout gives its file."""
    quads = []
    for source in project_sources(root):
        if "/data/" not in source.path.as_posix():
            continue
        graph = ox.NamedNode(source.graph)
        for t in ox.parse(path=str(source.path), format=ox.RdfFormat.TURTLE):
            quads.append(ox.Quad(t.subject, t.predicate, t.object, graph))
    return quads


def test_the_generated_graph_conforms_to_the_shapes(project: Path) -> None:
    ds = build_dataset(project)
    report = validate(ds, load_shapes(project))
    shown = [f"{r.shape_name} {r.focus} {r.path}: {r.message}" for r in report.results[:5]]
    assert report.conforms, "\n".join(shown)
    assert not report.results, "\n".join(shown)


def test_the_shapes_are_the_projects(project: Path) -> None:
    for folder in ("ontology", "shapes"):
        for path in sorted((ROOT / folder).glob("*.ttl")):
            assert (project / folder / path.name).read_bytes() == path.read_bytes()


def test_the_size_is_within_five_percent_of_the_target(project: Path) -> None:
    quads = _data_quads(project)
    assert abs(len(quads) - TARGET) <= 0.05 * TARGET, len(quads)
    summary = json.loads((project / "generated.json").read_text(encoding="utf-8"))
    assert summary["triples"] == len(quads)


def test_every_triple_is_stated_in_one_graph_only(project: Path) -> None:
    quads = _data_quads(project)
    assert len({(q.subject, q.predicate, q.object) for q in quads}) == len(quads)


def test_the_nquads_file_holds_the_same_quads_as_the_project(project: Path) -> None:
    files = ox.Store()
    for source in project_sources(project):
        files.bulk_load(
            path=str(source.path), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(source.graph)
        )
    dump = ox.Store()
    dump.bulk_load(path=str(project / "dataset.nq"), format=ox.RdfFormat.N_QUADS)

    def named(store: ox.Store) -> set[tuple[str, str, str, str]]:
        # Blank nodes (the ontology's lists) are renamed by each parse; compare the rest.
        return {
            tuple(str(t) for t in (q.subject, q.predicate, q.object, q.graph_name))
            for q in store
            if not isinstance(q.subject, ox.BlankNode) and not isinstance(q.object, ox.BlankNode)
        }

    assert len(files) == len(dump)
    assert named(files) == named(dump)


def test_the_same_seed_gives_the_same_bytes(project: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    _run(again, "--triples", str(TARGET), "--seed", "1", "--nquads", hash_seed="2")
    assert _digests(again) == _digests(project)


def test_another_seed_gives_another_graph(project: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    _run(other, "--triples", str(TARGET), "--seed", "2")
    ours, theirs = _digests(project), _digests(other)
    assert ours["data/reference/organizations.ttl"] != theirs["data/reference/organizations.ttl"]


COUNTS = """
PREFIX coop: <https://w3id.org/coopgraph/ontology#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT
  (COUNT(DISTINCT ?kind) AS ?kinds)
  (SUM(IF(?parties >= 2, 1, 0)) AS ?agreements)
  (SUM(IF(?parties < 2, 1, 0)) AS ?short)
WHERE {
  { SELECT ?a ?kind (COUNT(DISTINCT ?party) AS ?parties)
    WHERE { ?a a ?kind ; coop:hasParty ?party } GROUP BY ?a ?kind }
}
"""

ASKS = {
    "a dated, placed signing of an agreement": """
        ASK { ?a coop:hasSigning ?s . ?s a coop:Signing ; coop:date ?d ; coop:atPlace ?p .
              ?p a coop:City FILTER(DATATYPE(?d) = xsd:date) }""",
    "a signature by a person for a party, in a post of that party": """
        ASK { ?a coop:hasParty ?org ; coop:hasSigning/coop:hasSignature ?sig .
              ?sig coop:signatory ?person ; coop:onBehalfOf ?org ; coop:inCapacityOf ?post .
              ?person a coop:Person ; coop:holdsPost ?post . ?post coop:postIn ?org }""",
    "a sub-organization of a sub-organization": """
        ASK { ?a coop:subOrganizationOf ?b . ?b coop:subOrganizationOf ?c }""",
    "a crime area of cooperation in the crime-areas scheme": """
        ASK { ?a coop:areaOfCooperation ?area . ?area a coop:CrimeArea ;
              skos:inScheme <https://w3id.org/coopgraph/id/scheme/crime-areas> }""",
    "a goal in a launched goal framework": """
        ASK { ?goal a coop:Goal ; skos:inScheme ?f . ?launch coop:launched ?f }""",
    "evidence quoted from a source document": """
        ASK { ?a a coop:CooperationAgreement ; coop:evidence ?q .
              ?q prov:value ?text ; prov:wasQuotedFrom ?src . ?src a coop:SourceDocument }""",
    "a city within a country within a region": """
        ASK { ?city a coop:City ; coop:withinPlace ?country . ?country a coop:Country ;
              coop:withinPlace ?region . ?region a coop:Region }""",
    "a supplemental agreement": "ASK { ?a coop:supplements ?b }",
    "a resolution adopted by an organization": "ASK { ?r a coop:Resolution ; coop:adoptedBy ?o }",
}


def test_the_graph_holds_the_model(project: Path) -> None:
    store = ox.Store()
    store.bulk_load(path=str(project / "dataset.nq"), format=ox.RdfFormat.N_QUADS)
    options = {"use_default_graph_as_union": True}
    kinds, agreements, short = next(iter(store.query(COUNTS, **options)))
    assert int(kinds.value) >= 4  # several kinds of agreement
    assert int(agreements.value) > 100
    assert int(short.value) == 0
    prefixes = (
        "PREFIX coop: <https://w3id.org/coopgraph/ontology#>\n"
        "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\n"
        "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
        "PREFIX prov: <http://www.w3.org/ns/prov#>\n"
    )
    missing = [what for what, ask in ASKS.items() if not store.query(prefixes + ask, **options)]
    assert not missing
    graphs = {g.value for g in store.named_graphs()}
    assert len([g for g in graphs if "/id/source/gen-" in g]) >= 5
    assert len([g for g in graphs if "/graph/" in g]) >= 5


def test_a_term_the_ontology_lacks_stops_the_generator(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(generate, "TERMS", [*generate.TERMS, "coop:noSuchTerm"])
    with pytest.raises(generate.GeneratorError, match="coop:noSuchTerm"):
        generate.generate(tmp_path / "out", 2000, progress=False)
    assert not (tmp_path / "out").exists()


def test_a_folder_of_something_else_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(generate.GeneratorError, match="not empty"):
        generate.generate(tmp_path, 2000, progress=False)
    assert (tmp_path / "notes.txt").is_file()


@pytest.mark.parametrize(("text", "value"), [("10k", 10_000), ("1M", 1_000_000), ("2500", 2500)])
def test_sizes(text: str, value: int) -> None:
    assert generate.parse_size(text) == value


def test_the_engines_agree_on_a_generated_graph(project: Path) -> None:
    """A generated graph states each triple in one graph, so the Oxigraph engine reads the
    union of its graphs without storing a copy; its answers to the benchmark's query mix
    are those of the rdflib engine, the reference."""
    spec = importlib.util.spec_from_file_location("bench_workload", ROOT / "bench" / "workload.py")
    assert spec is not None and spec.loader is not None
    workload = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = workload  # dataclasses look their module up
    spec.loader.exec_module(workload)
    sources = project_sources(project)
    oxigraph = open_engine("oxigraph", sources, project)
    rdflib = open_engine("rdflib", sources, project)
    assert oxigraph.union_stored is False
    assert len(oxigraph) == len(rdflib)
    word = json.loads((project / "generated.json").read_text(encoding="utf-8"))["search_word"]
    for query in workload.mix(word):
        if query.name in ("describe", "construct"):
            got, want = (
                {tuple(map(str, t)) for t in engine.construct(query.text)}
                for engine in (oxigraph, rdflib)
            )
        else:
            got, want = (
                sorted(sorted((k, str(v)) for k, v in r.items()) for r in engine.select(query.text))
                for engine in (oxigraph, rdflib)
            )
        assert got == want and got, query.name
