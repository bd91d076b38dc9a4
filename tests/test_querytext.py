"""What the endpoint reads from a request before any engine sees it."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MIMEAccept

from coopgraph import formats
from coopgraph.errors import QueryError
from coopgraph.sparql import querydataset, querytext
from coopgraph.web import media

DEEP = querytext.MAX_NESTING + 1


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * WHERE { FILTER(" + "(" * DEEP + "1" + ")" * DEEP + ") }",
        "SELECT * WHERE " + "{" * DEEP + "}" * DEEP,
        "SELECT * WHERE { ?s ?p " + "[ ?p " * DEEP + "1" + " ]" * DEEP + " }",
        "SELECT * WHERE { FILTER(" + "! " * DEEP + "true) }",
        "SELECT * WHERE { FILTER(" + "- " * DEEP + "1 > 0) }",
        "SELECT * WHERE { FILTER(" + "-" * DEEP + "1 > 0) }",
        "SELECT * WHERE { ?s " + "^" * DEEP + "<http://example.org/p> ?o }",
    ],
    ids=["parens", "braces", "blank-nodes", "not", "minus", "dashes", "inverse"],
)
def test_deep_nesting_is_refused_with_its_place(text: str) -> None:
    found = querytext.scan(text)
    with pytest.raises(QueryError) as caught:
        querytext.refuse_remote(found)
    assert f"more than {querytext.MAX_NESTING} levels" in str(caught.value)
    assert caught.value.line == 1
    assert caught.value.column == found.too_deep.column
    assert text[caught.value.column - 1] in "({[!-^"


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * WHERE { FILTER(" + "(" * 100 + "1" + ")" * 100 + ") }",
        'SELECT * WHERE { ?s ?p "' + "(" * 500 + '" } # ' + "{" * 500,
        "SELECT * WHERE { ?s <http://example.org/a-b> ?o FILTER(-1 - -2 < - ?o) }",
        "PREFIX ex: <http://example.org/>\nSELECT * WHERE { ?s ex:a--b ?o }\n" * 3,
        "SELECT * WHERE { " + "{ ?s ?p ?o } " * 1000 + "}",
    ],
    ids=["100-parens", "in-string-and-comment", "binary-minus", "dashes-in-names", "wide"],
)
def test_ordinary_queries_are_not_too_deep(text: str) -> None:
    assert querytext.scan(text).too_deep is None


@pytest.mark.parametrize(
    ("formats", "expected"),
    [
        (("tsv", "text/tab-separated-values"), "text/tab-separated-values"),
        (("nonsense", "csv"), "text/csv"),
        (("application/sparql-results+xml",), "application/sparql-results+xml"),
        ((" JSON ",), "application/sparql-results+json"),
    ],
)
def test_the_first_servable_format_parameter_wins(formats, expected: str) -> None:
    chosen = media.negotiate(MIMEAccept(), media.RESULT_TYPES, formats, media.RESULT_NAMES)
    assert chosen == expected


def test_n3_is_answered_with_turtle() -> None:
    chosen = media.negotiate(MIMEAccept(), formats.GRAPH_TYPES, ("n3",), media.GRAPH_NAMES)
    assert chosen == "text/turtle"


def test_no_servable_format_lists_what_is_on_offer() -> None:
    with pytest.raises(media.NotAcceptable) as caught:
        media.negotiate(MIMEAccept(), media.RESULT_TYPES, ("pdf", "docx"), media.RESULT_NAMES)
    message = str(caught.value)
    assert "'pdf' or 'docx'" in message
    assert all(t in message for t in media.RESULT_TYPES)


def test_the_dataset_clause_separates_from_and_from_named() -> None:
    text = "SELECT * FROM <urn:a> FROM NAMED <urn:b> FROM <urn:c> WHERE { ?s ?p ?o }"
    assert querydataset.dataset_clause(text) == (["urn:a", "urn:c"], ["urn:b"])
    assert querydataset.dataset_clause("SELECT * FROM NAMED <urn:b> WHERE {}") == ([], ["urn:b"])


@pytest.mark.parametrize(
    "text",
    [
        "SELECT ?p ?o WHERE { <https://x.org/a> ?p ?o }",
        "# uncached\nSELECT ?p ?o WHERE { <https://x.org/a> ?p ?o }",
        "PREFIX o: <https://x.org/> SELECT DISTINCT ?p ?o { o:a ?p ?o . } LIMIT 10",
        "select * where { <https://x.org/a> a ?type }",
        "SELECT ?o WHERE { <https://x.org/a> <https://x.org/p> ?o } LIMIT 5 OFFSET 2",
        "PREFIX : <https://x.org/> SELECT ?o { :a :p ?o }",
        "DESCRIBE <https://x.org/a>",
    ],
)
def test_a_lookup_of_one_node_is_recognised(text: str) -> None:
    assert querytext.is_lookup(text)


@pytest.mark.parametrize(
    "text",
    [
        "SELECT ?s ?o WHERE { ?s ?p ?o }",
        "SELECT ?p ?o WHERE { <a> ?p ?o . <b> ?q ?r }",
        "SELECT ?o WHERE { <a> ?p ?o . ?o ?q ?x }",
        "SELECT ?o WHERE { <a> ?p ?o ; ?q ?x }",
        "SELECT ?o WHERE { <a> ?p ?o , ?x }",
        "SELECT ?p ?o WHERE { <a> ?p ?o FILTER(?o) }",
        "SELECT ?o WHERE { <a> <p>* ?o }",
        "SELECT ?o FROM <g> WHERE { <a> ?p ?o }",
        "SELECT ?o WHERE { <a> ?p ?o } ORDER BY ?o",
        "SELECT (COUNT(*) AS ?n) WHERE { <a> ?p ?o }",
        "SELECT ?o WHERE { <a> ?p [ ?q ?o ] }",
        "SELECT ?o WHERE { GRAPH ?g { <a> ?p ?o } }",
        "SELECT ?o WHERE { { SELECT ?o WHERE { ?s ?p ?o } } }",
        "DESCRIBE ?x WHERE { ?x ?p ?o }",
        "DESCRIBE <a> <b>",
        "ASK { <a> ?p ?o }",
        "SELECT ?o WHERE { <a> ?p ?o } ; DROP ALL",
        "SELECT ?o WHERE { <a> ?p ?o SERVICE <http://x> { ?o ?q ?r } }",
    ],
)
def test_anything_else_is_not_a_lookup(text: str) -> None:
    assert not querytext.is_lookup(text)


@pytest.mark.parametrize(
    ("text", "name", "line", "column"),
    [
        ("SELECT * WHERE {\n  ?s ?p ?o .\n  SERVICE <http://x/> { } }", "SERVICE", 3, 3),
        ("  # LOAD in a comment\n\n LOAD <http://x/>", "LOAD", 3, 2),
        ('SELECT * WHERE { ?s ?p """a\nLOAD\nb""" . ?o.service <x> { } }', "SERVICE", 3, 11),
        ("SELECT * FROM <g> WHERE { ?s ?p ?o }", "FROM", 1, 10),
        ("SELECT *\r\nWHERE { ?s ?p 'it''s' } # FROM\n\tLOAD <x>", "LOAD", 3, 2),
    ],
)
def test_a_keyword_is_found_with_its_line_and_column(
    text: str, name: str, line: int, column: int
) -> None:
    found = querytext.scan(text)
    keyword = {"SERVICE": found.service, "LOAD": found.load, "FROM": found.from_clause}[name]
    assert keyword is not None and (keyword.line, keyword.column) == (line, column)
    offset = sum(len(x) + 1 for x in text.split("\n")[: line - 1]) + column - 1
    assert text[offset : offset + len(name)].upper() == name


@pytest.mark.parametrize(
    "text",
    [
        "SELECT ?p ?o WHERE { <a> ?p ?o }   \n\n",
        "# a comment first\nSELECT ?p ?o WHERE { <a> ?p ?o } # and one after",
        "\n\n  SELECT ?p ?o WHERE { <a> ?p ?o }",
    ],
)
def test_white_space_and_comments_around_a_lookup_keep_it_a_lookup(text: str) -> None:
    assert querytext.scan(text).is_lookup


def test_a_keyword_inside_a_string_or_comment_is_not_one() -> None:
    found = querytext.scan('SELECT * WHERE { ?s ?p """a\nLOAD\nb""" } # SERVICE <x>')
    assert found.load is None and found.service is None and found.form == "SELECT"


@pytest.mark.parametrize(
    ("text", "unlimited"),
    [
        ("SELECT ?p ?o WHERE { <https://x.org/a> ?p ?o }", True),
        ("# first\nselect distinct * { <https://x.org/a> a ?t . } # last", True),
        ("SELECT ?p ?o WHERE { <https://x.org/a> ?p ?o } LIMIT 10", False),
        ("SELECT ?p ?o WHERE { <https://x.org/a> ?p ?o } OFFSET 10", False),
        ("DESCRIBE <https://x.org/a>", False),
        ("SELECT ?s WHERE { ?s ?p ?o }", False),
    ],
)
def test_a_lookup_without_limit_or_offset_may_be_given_one(text: str, unlimited: bool) -> None:
    assert querytext.scan(text).unlimited_lookup is unlimited


@pytest.mark.parametrize(
    "text",
    [
        "SELECT ?p ?o WHERE { <https://x.org/a> ?p ?o }",
        "SELECT ?p ?o WHERE { <https://x.org/a> ?p ?o } # a comment on the last line",
        "SELECT ?p ?o WHERE { <https://x.org/a> ?p ?o } #",
    ],
)
def test_the_added_limit_is_read_by_the_engines(text: str) -> None:
    import pyoxigraph as ox
    from rdflib import Graph

    store = ox.Store()
    store.update("INSERT DATA { <https://x.org/a> <https://x.org/p> 1, 2, 3, 4 }")
    limited = querytext.with_limit(text, 3)
    assert querytext.scan(limited).is_lookup and not querytext.scan(limited).unlimited_lookup
    assert len(list(store.query(limited))) == 3
    graph = Graph()
    graph.update("INSERT DATA { <https://x.org/a> <https://x.org/p> 1, 2, 3, 4 }")
    assert len(list(graph.query(limited))) == 3


# --------------------------------------------------------------------------- the engines' reading

#: Port 9 (discard): Oxigraph refuses it before any connection, so it tells whether
#: pyoxigraph read a SERVICE or a LOAD without touching the network.
NINE = "http://127.0.0.1:9/"


def _oxigraph_reads(text: str, keyword: str) -> bool:
    """Whether pyoxigraph reads ``keyword`` in ``text`` (see :data:`NINE`)."""
    import pyoxigraph as ox

    store = ox.Store()
    s, p = ox.NamedNode("urn:x:s"), ox.NamedNode("urn:x:p")
    store.add(ox.Quad(s, p, ox.Literal("default")))  # so that a pattern around SERVICE matches
    store.add(ox.Quad(s, p, ox.Literal("in-f5"), ox.NamedNode(NINE + "f5")))
    try:
        if keyword == "LOAD":
            store.update(text)
            return False
        answer = store.query(text)
        rows = [] if isinstance(answer, ox.QueryBoolean) else list(answer)
    except OSError as err:
        return "port 9" in str(err)
    except (SyntaxError, RuntimeError, ValueError):
        return False
    # FROM: the named graph read as the default graph.
    return keyword == "FROM" and any(
        getattr(term, "value", None) == "in-f5" for row in rows for term in row
    )


def _rdflib_reads(text: str, keyword: str) -> bool:
    """Whether rdflib's parser reads ``keyword`` in ``text`` (from its algebra)."""
    from rdflib.plugins.sparql import prepareQuery
    from rdflib.plugins.sparql.algebra import translateUpdate
    from rdflib.plugins.sparql.parser import parseUpdate
    from rdflib.plugins.sparql.parserutils import CompValue

    try:
        tree = (
            translateUpdate(parseUpdate(text)).algebra
            if keyword == "LOAD"
            else prepareQuery(text).algebra
        )
    except Exception:  # noqa: BLE001 - it does not parse: rdflib reads no keyword
        return False
    wanted = {"SERVICE": "ServiceGraphPattern", "LOAD": "Load"}.get(keyword)

    def walk(node: object) -> bool:
        if isinstance(node, CompValue):
            if node.name == wanted or (
                keyword == "FROM" and "datasetClause" in node and node["datasetClause"]
            ):
                return True
            return any(walk(v) for v in node.values())
        if isinstance(node, list | tuple):
            return any(walk(v) for v in node)
        return False

    return walk(tree)


P = f"PREFIX : <{NINE}> PREFIX SILENT: <{NINE}> PREFIX service: <{NINE}> PREFIX from: <{NINE}> "
VARIANTS = [
    ("SERVICE", f"SELECT * WHERE {{ SERVICE <{NINE}x> {{ ?s ?p ?o }} }}"),
    ("SERVICE", f"SELECT * WHERE {{ service <{NINE}x> {{ ?s ?p ?o }} }}"),
    ("SERVICE", f"SELECT * WHERE {{ SeRvIcE<{NINE}x>{{ ?s ?p ?o }} }}"),
    ("SERVICE", P + "SELECT * WHERE { SERVICE:sparql { ?s ?p ?o } }"),
    ("SERVICE", P + "SELECT * WHERE { service:sparql { ?s ?p ?o } }"),
    ("SERVICE", P + "SELECT * WHERE { SERVICE:sparql{ ?s ?p ?o } }"),
    ("SERVICE", P + "SELECT * WHERE { SERVICE#a comment\n:sparql { ?s ?p ?o } }"),
    ("SERVICE", P + "SELECT * WHERE { SERVICE:x#c\n{ ?s ?p ?o } }"),
    ("SERVICE", P + "SELECT * WHERE { OPTIONAL { SERVICE:x { ?s ?p ?o } } }"),
    ("SERVICE", P + "SELECT * WHERE { { SELECT * WHERE { SERVICE:x { ?s ?p ?o } } } }"),
    ("SERVICE", P + "CONSTRUCT { ?s ?p ?o } WHERE { SERVICE:x { ?s ?p ?o } }"),
    ("SERVICE", P + "ASK { SERVICE:x { ?s ?p ?o } }"),
    ("SERVICE", P + "SELECT * WHERE { ?s ?p ?o . SERVICE:x { ?a ?b ?c } }"),
    ("SERVICE", f"SELECT * WHERE {{ \\u0053ERVICE <{NINE}x> {{ ?s ?p ?o }} }}"),
    ("SERVICE", f"SELECT * WHERE {{ \\U00000053ERVICE <{NINE}x> {{ ?s ?p ?o }} }}"),
    ("SERVICE", f"SELECT * WHERE {{ ?s ?p ?o.SERVICE <{NINE}x> {{ ?a ?b ?c }} }}"),
    ("SERVICE", P + "SELECT * WHERE { service:x ?p ?o }"),
    ("SERVICE", P + "SELECT * WHERE { ?s service:x ?o }"),
    ("SERVICE", P + "SELECT * WHERE { ?s ?p service:x }"),
    ("SERVICE", P + 'SELECT * WHERE { ?s ?p "SERVICE <http://x/> { }" }'),
    ("SERVICE", P + "SELECT * WHERE { ?s ?p ?o } # SERVICE :x { ?s ?p ?o }"),
    ("SERVICE", P + "SELECT * WHERE { ?s <urn:SERVICE> ?o }"),
    ("SERVICE", P + "SELECT ?service WHERE { ?service ?p ?o }"),
    ("SERVICE", P + "SELECT * WHERE { ?s ?p ?o FILTER(?o = service:x) }"),
    ("FROM", P + "SELECT * FROM <" + NINE + "f5> WHERE { ?s ?p ?o }"),
    ("FROM", P + "SELECT * FROM:f5 WHERE { ?s ?p ?o }"),
    ("FROM", P + "select * from:f5 where { ?s ?p ?o }"),
    ("FROM", P + "SELECT ?o FROM:f5 WHERE { ?s ?p ?o }"),
    ("FROM", P + "SELECT * \\u0046ROM <" + NINE + "f5> WHERE { ?s ?p ?o }"),
    ("FROM", P + "SELECT * WHERE { ?s ?p ?o } # FROM <" + NINE + "f5>"),
    ("FROM", P + "SELECT * WHERE { ?s ?p from:f5 }"),
    ("FROM", P + "SELECT * WHERE { from:f5 ?p ?o }"),
    ("FROM", P + 'SELECT * WHERE { ?s ?p "FROM <x>" }'),
    ("LOAD", f"LOAD <{NINE}doc>"),
    ("LOAD", f"load silent <{NINE}doc>"),
    ("LOAD", P + 'INSERT DATA { <urn:x:a> <urn:x:b> "c" } ;LOAD:l4'),
    ("LOAD", P + 'INSERT DATA { <urn:x:a> <urn:x:b> "c" } ; LOAD :l4'),
    ("LOAD", P + 'INSERT DATA { <urn:x:a> <urn:x:b> "LOAD <x>" }'),
    ("LOAD", P + "INSERT { ?s ?p ?o } WHERE { ?s ?p ?o } # LOAD :l4"),
]


@pytest.mark.parametrize(("keyword", "text"), VARIANTS, ids=range(len(VARIANTS)))
def test_the_scanner_reads_keywords_as_the_engines_do(keyword: str, text: str) -> None:
    """The scanner reports SERVICE, FROM and LOAD exactly when pyoxigraph or rdflib reads
    them, at their place (the oracles ask the engines themselves, without any network)."""
    read = _oxigraph_reads(text, keyword) or _rdflib_reads(text, keyword)
    found = querytext.scan(text)
    where = {"SERVICE": found.service, "FROM": found.from_clause, "LOAD": found.load}[keyword]
    assert (where is not None) is read, (read, where)
    if where is not None:
        decoded = text.replace("\\u0053", "S").replace("\\U00000053", "S")
        decoded = decoded.replace("\\u0046", "F")
        line = text.splitlines()[where.line - 1]
        assert line[where.column - 1 :].upper().startswith((keyword, "\\U", "\\u")), line
        assert decoded


@pytest.mark.parametrize(
    ("text", "service", "load", "source"),
    [  # the oracles above cannot make these vacuous
        (P + "SELECT * WHERE { SERVICE:sparql { ?s ?p ?o } }", True, False, False),
        (P + "SELECT * WHERE { service:x ?p ?o }", False, False, False),
        (P + "SELECT * FROM:f5 WHERE { ?s ?p ?o }", False, False, True),
        (P + 'INSERT DATA { <urn:x:a> <urn:x:b> "c" } ;LOAD:l4', False, True, False),
        ("SELECT * \\u0046ROM <urn:x:g> WHERE { ?s ?p ?o }", False, False, True),
        # SILENT, and an error inside a FILTER, hide the failed call from the oracles:
        # these are asserted as they are.
        (
            P + "SELECT * WHERE { ?s ?p ?o FILTER EXISTS { SERVICE:x { ?a ?b ?c } } }",
            True,
            False,
            False,
        ),
        (
            P + "SELECT * WHERE { ?s ?p ?o FILTER NOT EXISTS { service:x { ?a ?b ?c } } }",
            True,
            False,
            False,
        ),
        (P + "SELECT * WHERE { SERVICESILENT:x { ?s ?p ?o } }", True, False, False),
        (P + "SELECT * WHERE { SERVICE SILENT :x { ?s ?p ?o } }", True, False, False),
    ],
)
def test_known_readings(text: str, service: bool, load: bool, source: bool) -> None:
    found = querytext.scan(text)
    assert (found.service is not None, found.load is not None) == (service, load)
    assert (found.from_clause is not None) is source


def test_a_store_elsewhere_gets_no_word_it_could_misread() -> None:
    """For the remote engine, any word starting with SERVICE or LOAD is refused."""
    text = P + "SELECT * WHERE { service:x ?p ?o }"
    querytext.refuse_remote(querytext.scan(text))
    with pytest.raises(QueryError, match="starting with SERVICE"):
        querytext.refuse_remote(querytext.scan(text), strict=True)


@pytest.mark.parametrize(
    "text",
    ["SELECT DISTINCT ?p WHERE { _:x ?p ?o }", "SELECT * WHERE { [] ?p ?o }"],
)
def test_a_blank_node_subject_is_no_lookup(text: str) -> None:
    assert not querytext.scan(text).is_lookup
