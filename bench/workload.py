"""The benchmark's queries, written for a graph made by ``bench/generate.py``.

The same texts run in process on each engine and over HTTP on each server. They use only
the default graph, which every server here makes the union of the named graphs; the
generator states each triple in one graph only, so union and multiset union agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from coopgraph.namespace import ID_SPACE as ID
from coopgraph.namespace import PREFIXES as NAMESPACES

PREFIXES = "".join(f"PREFIX {p}: <{NAMESPACES[p]}>\n" for p in ("coop", "rdfs", "prov"))


@dataclass(frozen=True)
class Query:
    """One query of the mix: a short name, what it does, the text."""

    name: str
    label: str
    text: str


def agreement(n: int) -> str:
    """The IRI of the ``n``-th generated agreement (from 1)."""
    return f"{ID}agreement/a-{n:07d}"


def org(i: int) -> str:
    """The IRI of the ``i``-th generated organization (0 is the one with most agreements)."""
    return f"{ID}org/org-{i:06d}"


def lookup(iri: str) -> str:
    return f"SELECT ?p ?o WHERE {{ <{iri}> ?p ?o }}"


AGGREGATE = (
    PREFIXES + "SELECT ?org (COUNT(?agreement) AS ?n) WHERE { ?agreement coop:hasParty ?org }\n"
    "GROUP BY ?org ORDER BY DESC(?n) ?org LIMIT 20"
)


def mix(search_word: str) -> list[Query]:
    """The fixed query mix run in process on every engine."""
    word = search_word.replace('"', "")
    party = org(0)
    return [
        Query("lookup", "lookup by IRI", lookup(agreement(1))),
        Query(
            "join",
            "two-hop join (an organization's agreements → signing → date, place)",
            PREFIXES + "SELECT ?agreement ?date ?place WHERE {\n"
            f"  ?agreement coop:hasParty <{party}> ; coop:hasSigning ?signing .\n"
            "  ?signing coop:date ?date ; coop:atPlace ?place }",
        ),
        Query("aggregate", "aggregate (agreements per organization, top 20)", AGGREGATE),
        Query(
            "regex",
            "text search, REGEX on quotes",
            PREFIXES + "SELECT ?quote ?text WHERE { ?quote prov:value ?text "
            f'FILTER(REGEX(?text, "{word}", "i")) }}',
        ),
        Query(
            "contains",
            "text search, CONTAINS on labels",
            PREFIXES + "SELECT ?s ?label WHERE { ?s rdfs:label ?label "
            f'FILTER(CONTAINS(LCASE(STR(?label)), "{word.lower()}")) }}',
        ),
        Query("describe", "DESCRIBE an agreement", f"DESCRIBE <{agreement(1)}>"),
        Query(
            "construct",
            "CONSTRUCT an organization's agreements and co-parties",
            PREFIXES + "CONSTRUCT { ?agreement coop:hasParty ?other . ?other rdfs:label ?label }\n"
            f"WHERE {{ ?agreement coop:hasParty <{party}> , ?other . ?other rdfs:label ?label }}",
        ),
    ]


def query_path(endpoint: str, text: str) -> str:
    """``/sparql?query=...`` for a GET request."""
    return f"{endpoint}?query={quote(text, safe='')}"


def lookup_paths(endpoint: str, agreements: int, count: int = 500) -> list[str]:
    """GET targets looking up ``count`` different agreements (fewer if there are fewer)."""
    return [
        query_path(endpoint, lookup(agreement(n))) for n in range(1, min(agreements, count) + 1)
    ]
