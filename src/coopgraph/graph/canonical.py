"""`coopgraph format`: one canonical, diff-friendly Turtle form for ontology, data and shapes.

The form is rdflib's ``longturtle`` (one statement block per subject, one object per line,
blank nodes nested where they are used once, lists as ``( ... )``), with these choices fixed,
so that the same graph is always written the same way, whoever saved it last:

- subjects in a fixed order: the ontology header first, then the classes, properties,
  datatypes, shapes and concept schemes (each group in IRI order), then every other
  subject in IRI order; a subject of several kinds goes with the first;
- predicates: ``rdf:type`` first, then ``rdfs:label``, then the others in IRI order;
  objects in term order;
- prefixes: the project's (:data:`PREFIXES`) for the namespaces they cover, whatever the
  file declared (Protégé adds a default ``:`` prefix, for instance); a namespace the
  project does not know keeps the file's prefix; only the prefixes in use are written,
  sorted;
- terms: a literal typed ``xsd:string`` is written plain (RDF 1.1 makes them one term; the
  OWL API writes the type out, rdflib would not);
- OWL's symmetric axioms between named terms (``owl:disjointWith``, ``owl:inverseOf``,
  ...) are written from the smaller IRI, and the lists of OWL's set constructors
  (``owl:members``, ``owl:unionOf``, ...) in IRI order, as the OWL API writes them;
- files of ``data/`` and ``shapes/`` keep no OWL declarations (``a owl:Class``,
  ``a owl:NamedIndividual``, a header-less ``[] a owl:Ontology``): the OWL API adds them
  on saving, and they belong in ``ontology/``.

These make a file saved by Protégé (the OWL API's Turtle writer) come back, once
formatted, to the committed text, except for what was really changed.

Comments do not survive, as with every RDF writer, Protégé's included: what a reader needs
belongs in annotations (``rdfs:comment``, ``skos:definition``).

The rewrite is safe: a file is rewritten only when its graph, read back from the new text,
is isomorphic to the graph read from the old one after the changes above (which keep the
meaning, and drop only the declarations listed); every file is read before any is
written, so a syntax error anywhere (reported with file, line and column) leaves every
file as it was; and each file is replaced atomically.
"""

from __future__ import annotations

import difflib
import io
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.compare import isomorphic
from rdflib.namespace import OWL, RDF, RDFS, SH, SKOS, XSD
from rdflib.plugins.serializers.longturtle import LongTurtleSerializer
from rdflib.term import Node

from coopgraph.errors import CoopgraphError
from coopgraph.graph.project import data_files, find_root, ontology_files, relative, shape_files
from coopgraph.graph.turtle import parse_turtle
from coopgraph.namespace import PREFIXES

#: OWL's symmetric axioms between named terms: ``a P b`` says what ``b P a`` says, and
#: writers pick either side (the OWL API its own); the canonical form puts the smaller IRI
#: first.
SYMMETRIC = frozenset(
    {
        OWL.disjointWith,
        OWL.equivalentClass,
        OWL.equivalentProperty,
        OWL.inverseOf,
        OWL.propertyDisjointWith,
        OWL.sameAs,
        OWL.differentFrom,
    }
)


class CanonicalSerializer(LongTurtleSerializer):
    """rdflib's long Turtle, with the subject groups of the canonical form."""

    topClasses: ClassVar[list[URIRef]] = [  # read by rdflib's orderSubjects
        OWL.Ontology,
        OWL.Class,
        OWL.ObjectProperty,
        OWL.DatatypeProperty,
        OWL.AnnotationProperty,
        RDFS.Datatype,
        SH.NodeShape,
        SH.PropertyShape,
        SKOS.ConceptScheme,
    ]

    def startDocument(self) -> None:  # noqa: N802 (rdflib's name)
        """Write the prefixes as Turtle's ``@prefix`` (the OWL API's parser, and so
        Protégé's, does not read the SPARQL-style ``PREFIX`` that rdflib writes)."""
        self._started = True
        for prefix, namespace in sorted(self.namespaces.items()):
            self.write(f"@prefix {prefix}: <{namespace}> .\n")
        if self.namespaces:
            self.write("\n")


#: OWL's n-ary constructors whose list is a set: the OWL API writes the members sorted,
#: and so does the canonical form (when every member is named).
SET_LISTS = frozenset(
    {
        OWL.members,
        OWL.distinctMembers,
        OWL.unionOf,
        OWL.intersectionOf,
        OWL.oneOf,
        OWL.disjointUnionOf,
    }
)
#: The types that declare an OWL entity; the OWL API writes a declaration for every term a
#: file uses. They belong in ``ontology/``: a data or shapes file keeps none.
DECLARATIONS = frozenset(
    {
        OWL.Class,
        OWL.ObjectProperty,
        OWL.DatatypeProperty,
        OWL.AnnotationProperty,
        OWL.NamedIndividual,
        RDFS.Datatype,
    }
)


def declarations_to_drop(graph: Graph) -> set[tuple[Node, Node, Node]]:
    """The triples a data or shapes file does not keep: OWL declarations, and a header-less
    ``[] a owl:Ontology`` (what the OWL API adds to a file that has no header)."""
    drop = {(s, RDF.type, o) for s, o in graph.subject_objects(RDF.type) if o in DECLARATIONS}
    for header in graph.subjects(RDF.type, OWL.Ontology):
        if isinstance(header, BNode) and len(list(graph.predicate_objects(header))) == 1:
            drop.add((header, RDF.type, OWL.Ontology))
    return drop


def canonical_graph(graph: Graph, *, declarations: bool = True) -> Graph:
    """A copy of ``graph`` with the canonical prefixes and terms (see the module doc);
    without its OWL declarations when ``declarations`` is false (data and shapes files)."""
    out = Graph(bind_namespaces="none")
    for prefix, namespace in PREFIXES.items():
        out.bind(prefix, namespace)
    known = set(PREFIXES.values())
    for prefix, namespace in sorted(graph.namespace_manager.namespaces()):
        if str(namespace) not in known and prefix not in PREFIXES and prefix:
            out.bind(prefix, namespace)
    dropped = set() if declarations else declarations_to_drop(graph)
    sets = {o for p in SET_LISTS for o in graph.objects(None, p) if o != RDF.nil}
    for head in sets:
        items = list(Collection(graph, head))
        cells = _cells(graph, head)
        if all(isinstance(i, URIRef) for i in items) and len(cells) == len(items):
            dropped |= {t for cell in cells for t in graph.triples((cell, None, None))}
            for holder, p in graph.subject_predicates(head):
                dropped.add((holder, p, head))
                fresh = BNode()
                Collection(out, fresh, sorted(items))
                out.add((holder, p, fresh))
    for s, p, o in graph:
        if (s, p, o) in dropped:
            continue
        if isinstance(o, Literal) and o.datatype == XSD.string and not o.language:
            o = Literal(str(o))
        if p in SYMMETRIC and isinstance(s, URIRef) and isinstance(o, URIRef) and o < s:
            s, o = o, s
        out.add((s, p, o))
    return out


def _cells(graph: Graph, head: Node) -> list[Node]:
    """The blank nodes that make up the RDF list at ``head``."""
    cells, cell = [], head
    while isinstance(cell, BNode) and cell not in cells:
        cells.append(cell)
        cell = graph.value(cell, RDF.rest)
    return cells


def canonical_text(graph: Graph, *, declarations: bool = True) -> str:
    """``graph`` in the canonical Turtle form."""
    stream = io.BytesIO()
    canonical = canonical_graph(graph, declarations=declarations)
    CanonicalSerializer(canonical).serialize(stream, encoding="utf-8", canon=True)
    return stream.getvalue().decode("utf-8")


@dataclass
class Outcome:
    """What formatting did, or would do, to one file."""

    path: Path
    shown: str
    before: str
    after: str
    #: OWL declarations left out (data and shapes files keep none).
    dropped: int = 0

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self, context: int = 2) -> str:
        lines = difflib.unified_diff(
            self.before.splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            f"{self.shown} (committed)",
            f"{self.shown} (canonical)",
            n=context,
        )
        return "".join(lines)


def project_files(root: Path) -> list[Path]:
    """The Turtle files that are kept canonical: ``ontology/``, ``shapes/`` and ``data/``."""
    files = [*ontology_files(root), *shape_files(root)]
    files += [f.path for f in data_files(root) if f.path.suffix == ".ttl"]
    return files


def keeps_declarations(path: Path, root: Path | None) -> bool:
    """Whether ``path`` may hold OWL declarations: not a file of ``data/`` or ``shapes/``."""
    if root is None:
        return True
    try:
        top = path.resolve().relative_to(root.resolve()).parts[0]
    except (ValueError, IndexError):
        return True
    return top not in ("data", "shapes")


def plan(
    paths: Sequence[Path], root: Path | None = None, *, declarations: bool | None = None
) -> list[Outcome]:
    """Read every file and work out its canonical text; writes nothing.

    ``declarations`` says whether the files keep OWL declarations; by default those of
    ``data/`` and ``shapes/`` do not (see :func:`declarations_to_drop`), others do.

    Raises:
        ParseError: for a file that is not Turtle (file, line, column).
        MissingFileError: for a missing file.
        CoopgraphError: when the canonical text would not give back the same graph (a bug
            in the writer; the file is left alone).
    """
    outcomes = []
    for path in paths:
        shown = relative(path.resolve(), root) if root else str(path)
        graph = parse_turtle(path, Graph(), shown=shown)
        keep = keeps_declarations(path, root) if declarations is None else declarations
        after = canonical_text(graph, declarations=keep)
        again = Graph().parse(data=after, format="turtle")
        if not isomorphic(canonical_graph(graph, declarations=keep), again):
            raise CoopgraphError(
                f"{shown}: the canonical form would not keep the same triples; left as it is"
            )
        dropped = 0 if keep else len(declarations_to_drop(graph))
        before = path.read_text(encoding="utf-8")
        outcomes.append(Outcome(path, shown, before, after, dropped))
    return outcomes


def write(outcomes: Iterable[Outcome]) -> list[Outcome]:
    """Replace each changed file by its canonical text, atomically; return those changed."""
    changed = []
    for outcome in outcomes:
        if not outcome.changed:
            continue
        mode = outcome.path.stat().st_mode & 0o777
        fd, temporary = tempfile.mkstemp(
            dir=outcome.path.parent, prefix=f".{outcome.path.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
                out.write(outcome.after)
            os.chmod(temporary, mode)
            os.replace(temporary, outcome.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        changed.append(outcome)
    return changed


def files_to_format(
    root: str | Path | None, files: Sequence[str | Path]
) -> tuple[Path, list[Path]]:
    """The project root and the files to format: those given, or the project's."""
    project = find_root(root or None)
    if files:
        return project, [Path(f) for f in files]
    return project, project_files(project)
