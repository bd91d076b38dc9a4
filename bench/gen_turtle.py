"""Writing the generated graphs: Turtle terms (:func:`lit`, :func:`typed`, :func:`iri`), and
:class:`GraphWriter`, which writes one named graph as its Turtle file and, when asked, as
quads in the shared N-Quads file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO

from coopgraph.namespace import PREFIXES as PROJECT_PREFIXES

XSD = PROJECT_PREFIXES["xsd"]
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

#: Prefixes of the generated Turtle: the project's (``coopgraph.namespace.PREFIXES``) that
#: the generated graphs use.
PREFIXES: dict[str, str] = {
    name: PROJECT_PREFIXES[name]
    for name in (
        "coop dcterms prov rdf rdfs skos xsd o person post place agr res meeting event "
        "signing sig pship q src scheme ca aa"
    ).split()
}


def lit(text: str, lang: str | None = "en") -> str:
    """A Turtle string literal (tagged ``@en`` unless ``lang`` is None)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"' + (f"@{lang}" if lang else "")


def typed(value: str, datatype: str) -> str:
    """A typed literal, ``datatype`` as a prefixed name (``xsd:date``)."""
    return f'"{value}"^^{datatype}'


def iri(value: str) -> str:
    """A full IRI as a Turtle term."""
    return f"<{value}>"


def _expand(token: str) -> str:
    """A Turtle term written by this module, as an N-Triples term."""
    if token.startswith("<"):
        return token
    if token.startswith('"'):
        if token.endswith('"') or token.endswith("@en"):
            return token
        value, datatype = token.rsplit("^^", 1)
        return f"{value}^^{_expand(datatype)}"
    if token.isdigit():
        return f'"{token}"^^<{XSD}integer>'
    if token == "a":
        return f"<{RDF_TYPE}>"
    prefix, local = token.split(":", 1)
    return f"<{PREFIXES[prefix]}{local}>"


#: Tokens of these prefixes (classes, schemes) recur often: their expansions are kept.
_VOCABULARY_PREFIXES = ("coop:", "skos:", "schem")
_expanded: dict[str, str] = {}


def _vocabulary(token: str) -> str:
    """:func:`_expand` for the few tokens that recur (predicates, classes)."""
    found = _expanded.get(token)
    if found is None:
        found = _expanded[token] = _expand(token)
    return found


Pairs = list[tuple[str, list[str]]]
#: Writes a quote (a sentence of the source) and returns its token.
Quoter = Callable[[str], str]


class GraphWriter:
    """One named graph: its Turtle file, and its quads in the shared N-Quads file."""

    def __init__(self, path: Path, graph: str, nquads: IO[str] | None, counter: list[int]):
        self.path = path
        self.graph = f"<{graph}>"
        self.nquads = nquads
        self.counter = counter
        self.handle = path.open("w", encoding="utf-8", newline="\n")
        self.handle.write("".join(f"@prefix {p}: <{n}> .\n" for p, n in PREFIXES.items()))

    def comment(self, text: str) -> None:
        """A section heading in the Turtle file."""
        self.handle.write(f"\n# {'-' * 64} {text}\n")

    def block(self, subject: str, pairs: Pairs) -> None:
        """Write ``subject`` with its predicates and objects (empty object lists skipped)."""
        pairs = [(p, objects) for p, objects in pairs if objects]
        lines = [
            f"    {p} {' , '.join(objects)}" if i else f"{subject} {p} {' , '.join(objects)}"
            for i, (p, objects) in enumerate(pairs)
        ]
        self.handle.write("\n" + " ;\n".join(lines) + " .\n")
        self.counter[0] += sum(len(objects) for _, objects in pairs)
        if self.nquads is not None:
            s = _expand(subject)
            lines = []
            for p, objects in pairs:
                head = f"{s} {_vocabulary(p)} "
                for o in objects:
                    term = _vocabulary(o) if o[:5] in _VOCABULARY_PREFIXES else _expand(o)
                    lines.append(f"{head}{term} {self.graph} .\n")
            self.nquads.write("".join(lines))

    def close(self) -> None:
        self.handle.close()
