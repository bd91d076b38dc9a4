"""`coopgraph check`: a quality report on the ontology, in the manner of ROBOT's ``report``.

Each check is a SPARQL SELECT kept as a file in ``coopgraph/checks/`` (package data, so that
``coopgraph check`` and ``coopgraph release`` run the same checks from an installed package,
and the checks change together with the code that reads them). A check file starts with
comment lines, ``# key: value``:

- ``id`` (the file's name without ``.rq``), ``severity`` (ERROR, WARN or INFO), ``title``
  and ``description`` (one sentence: what must hold): required;
- ``pitfalls`` (the OOPS! pitfalls it covers, e.g. ``P08``), ``robot`` (the ROBOT report
  queries it stands for), ``rationale`` (why that severity), ``scope``: optional.

The query selects ``?subject`` (the term at fault), and may select ``?property``,
``?value`` and ``?other`` (another term involved), in the shape of ROBOT's report queries.
A blank-node subject (a restriction, a list) is reported as the named term that holds it.

``scope`` says what a check reads, so the data is not run through checks that only look
at declarations and axioms: ``ontology`` (the ontology modules, and the files checked),
``all`` (the ontology and the data; the default), ``files`` (one named graph per file, for
checks about a file).

Terms of an ontology's *own namespace* are those whose IRI starts with the ontology IRI
followed by ``#`` or ``/``, or with its ``vann:preferredNamespaceUri``. Checks about what a
term lacks (label, definition, domain, links, naming) look only at own terms; the external
terms the ontology declares (``prov:Entity``, ``skos:definition``) are described elsewhere.
Checks about what is written (labels, declarations, puns, deprecated terms) look at all.

Two ways to run:

- the project (no files): its ontology modules and its data, every finding reported;
- Turtle ``files``: the files, read together with the rest of the project (so the
  ontology's declarations, labels, domains and namespaces count, as Protégé would see them
  through the imports, and the data's uses of a term count), reporting only findings about
  the files' own subjects: those stated in a file, or only used there. A file that belongs
  to the project is checked in its place, with the same findings as in a project run; give
  a changed copy of a project file with ``alone``, or it is read beside the original. With
  ``alone`` (or when no project is found), the files are checked by themselves, e.g. a
  third-party ontology. The checks' fixtures are checked both ways.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import DC, RDF, XSD, NamespaceManager
from rdflib.term import Node

from coopgraph.errors import CoopgraphError, MissingFileError
from coopgraph.graph.load import ProjectDataset, build_dataset, load_files
from coopgraph.graph.project import GraphKind, find_root, relative
from coopgraph.namespace import PREFIXES as NAMESPACES
from coopgraph.quality.check_report import SCOPES, SEVERITIES, Check, CheckReport, Finding
from coopgraph.terms import ox_to_rdflib, rdflib_to_ox, short

_REQUIRED = ("id", "severity", "title", "description")
_OPTIONAL = ("pitfalls", "robot", "scope", "rationale")
#: The prefixes every check may use without declaring them.
PREFIXES = {
    **{name: NAMESPACES[name] for name in ("rdf", "rdfs", "owl", "xsd", "skos", "dcterms", "vann")},
    "dc": str(DC),
}


# --------------------------------------------------------------------------- the checks


@functools.cache
def load_checks() -> tuple[Check, ...]:
    """Read and parse every check shipped with the package, in file-name order.

    Raises:
        CoopgraphError: for a check file whose header or query is wrong (a bug, not input).
    """
    folder = resources.files("coopgraph.quality") / "checks"
    entries = sorted((e for e in folder.iterdir() if e.name.endswith(".rq")), key=lambda e: e.name)
    return tuple(read_check(e.name, e.read_text(encoding="utf-8")) for e in entries)


def read_check(name: str, text: str) -> Check:
    """Parse one check file called ``name`` (its header and its query).

    Raises:
        CoopgraphError: when the header misses a key, has an unknown key or value, or the
            id differs from the file name; or when the query does not parse or does not
            select ``?subject``.
    """
    header: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        key, colon, value = line.lstrip("#").partition(":")
        key = key.strip()
        if not colon or key not in (*_REQUIRED, *_OPTIONAL):
            raise CoopgraphError(f"checks/{name}: unknown header line {line!r}")
        header[key] = value.strip()
    missing = [k for k in _REQUIRED if not header.get(k)]
    if missing:
        raise CoopgraphError(f"checks/{name}: the header lacks {', '.join(missing)}")
    if header["id"] != name.removesuffix(".rq"):
        raise CoopgraphError(f"checks/{name}: its id is {header['id']!r}, not the file's name")
    if header["severity"] not in SEVERITIES:
        raise CoopgraphError(f"checks/{name}: severity must be one of {', '.join(SEVERITIES)}")
    scope = header.get("scope") or "all"
    if scope not in SCOPES:
        raise CoopgraphError(f"checks/{name}: scope must be one of {', '.join(SCOPES)}")
    try:
        answer = ox.Store().query(text, prefixes=PREFIXES)
    except SyntaxError as err:
        raise CoopgraphError(f"checks/{name}: {err}") from None
    if not isinstance(answer, ox.QuerySolutions) or ox.Variable("subject") not in answer.variables:
        raise CoopgraphError(f"checks/{name}: the query must be a SELECT of ?subject")
    return Check(
        header["id"],
        header["severity"],
        header["title"],
        header["description"],
        tuple(header.get("pitfalls", "").split()),
        tuple(header.get("robot", "").split()),
        scope,
        header.get("rationale", ""),
        text,
    )


# --------------------------------------------------------------------------- running them


def run_checks(
    root: str | Path | None = None,
    files: Sequence[str | Path] | None = None,
    *,
    alone: bool = False,
) -> CheckReport:
    """Run every check over the project, or over Turtle ``files`` (see the module doc).

    Args:
        root: The project root; found from the current directory when empty.
        files: Turtle files to check instead of the project, read with the rest of the
            project; only the findings about them are reported.
        alone: Check ``files`` by themselves, without the rest of the project.

    Raises:
        MissingFileError: for a missing file, or no project when no files are given.
        LayoutError: for a file the project layout does not allow.
        CoopgraphError: for ``alone`` without ``files``.
        ParseError: for a file that does not parse (file, line, column).
    """
    if alone and not files:
        raise CoopgraphError("checking alone applies to files; name the files to check")
    if files:
        run = _FileRun(root, files, alone)
    else:
        run = _Run(build_dataset(root))
    report = CheckReport(checks=list(load_checks()), files=run.shown_files())
    seen: set[tuple[str, str, str, str]] = set()
    for check in report.checks:
        for row in run.select(check):
            finding = run.finding(check, row)
            if finding is None:
                continue
            key = (finding.check, finding.iri, finding.property, finding.value)
            if key not in seen:
                seen.add(key)
                report.findings.append(finding)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    report.findings.sort(
        key=lambda f: (
            order[f.severity],
            f.check,
            f.subject.casefold(),
            f.subject,
            f.property,
            f.value,
        )
    )
    return report


class _Run:
    """The store the checks read, and how findings are placed in files.

    The files are parsed by :mod:`coopgraph.graph.load` (its layout rules and its parse errors),
    then copied into an in-memory Oxigraph store, one named graph per file: Oxigraph runs
    all the checks in a fraction of a second, where rdflib's engine takes seconds for the
    pairwise label checks (and, in rdflib 7.6, does not join sub-selects on a shared
    variable).
    """

    def __init__(self, ds: ProjectDataset, checked: set[URIRef] | None = None) -> None:
        self.ds = ds
        #: The graphs whose findings are reported (None: all of them).
        self.checked = checked
        self.nsm: NamespaceManager = ds.namespace_manager
        self._shown = {name: relative(path, ds.root) for name, path in ds.files.items()}
        self.store = ox.Store()
        for name in ds.kinds:
            graph = ox.NamedNode(str(name))
            self.store.extend(
                ox.Quad(rdflib_to_ox(s), rdflib_to_ox(p), rdflib_to_ox(o), graph)
                for s, p, o in ds.graph(name)
            )

    def shown_files(self) -> list[str]:
        names = self.ds.kinds if self.checked is None else self.checked
        return [self._shown[n] for n in self.ds.kinds if n in names]

    def select(self, check: Check) -> Iterable[dict[str, Node]]:
        """The rows of ``check``'s query, on the graphs of its scope."""
        if check.scope == "ontology":  # the ontology modules, and the files checked
            names = {*self.ds.graphs_of(GraphKind.ONTOLOGY), *(self.checked or ())}
            graphs = [ox.NamedNode(str(n)) for n in self.ds.kinds if n in names]
            options: dict[str, object] = {"default_graph": graphs}
        else:
            options = {"use_default_graph_as_union": True}
        answer = self.store.query(check.query, prefixes=PREFIXES, **options)
        names = [v.value for v in answer.variables]
        for solution in answer:
            row = {n: ox_to_rdflib(solution[n]) for n in names if solution[n] is not None}
            if "subject" in row:
                yield row

    def finding(self, check: Check, row: dict[str, Node]) -> Finding | None:
        """The finding for one result row, or None when it is not about a checked file."""
        subject = self._owner(row["subject"])
        file = self._file_of(subject, row.get("property"))
        if file is None:
            return None
        value = _show(row.get("value"), self.nsm)
        if row.get("other") is not None:
            value = f"{value} (also {_show(row['other'], self.nsm)})".strip()
        return Finding(
            check.id,
            check.severity,
            self._shown_subject(subject),
            _show(row.get("property"), self.nsm),
            value,
            check.title,
            file,
            str(subject),
        )

    def _owner(self, node: Node) -> Node:
        """The named term that holds blank node ``node`` (through restrictions and lists);
        for an axiom held by no named term (``owl:AllDisjointClasses``), the axiom's node."""
        if not isinstance(node, BNode):
            return node
        seen, todo, top = {node}, [node], node
        while todo:
            current = todo.pop(0)
            holders = list(self.ds.subjects(None, current))
            if not holders and top is node:
                top = current
            for holder in holders:
                if isinstance(holder, URIRef):
                    return holder
                if holder not in seen:
                    seen.add(holder)
                    todo.append(holder)
        return top

    def _file_of(self, subject: Node, prop: Node | None) -> str | None:
        """The file ``subject`` comes from ("" when none does); None when that is not a
        checked file.

        The file is the first of the graphs that state ``subject``'s ``prop`` (the label at
        fault), else those that declare it, else those where it is a subject, else those
        that use it.
        """
        if subject in self.ds.kinds:  # a finding about a file
            candidates = [subject]
        else:
            graphs = [(n, self.ds.graph(n)) for n in self.ds.kinds]
            patterns = [(subject, RDF.type, None), (subject, None, None)]
            if isinstance(prop, URIRef):
                patterns.insert(0, (subject, prop, None))
            candidates = []
            for pattern in patterns:
                candidates = [n for n, g in graphs if pattern in g]
                if candidates:
                    break
            else:
                candidates = [
                    n for n, g in graphs if (None, subject, None) in g or (None, None, subject) in g
                ]
        if self.checked is not None:
            candidates = [n for n in candidates if n in self.checked]
            if not candidates:
                return None
        return self._shown[candidates[0]] if candidates else ""

    def _shown_subject(self, subject: Node) -> str:
        if subject in self._shown:
            return self._shown[subject]
        if isinstance(subject, BNode):
            kinds = sorted(short(t, self.nsm) for t in self.ds.objects(subject, RDF.type))
            return f"[ a {', '.join(kinds)} ]" if kinds else "[ ]"
        return short(subject, self.nsm)


class _FileRun(_Run):
    """A run over Turtle files, with the rest of the project as context."""

    def __init__(self, root: str | Path | None, files: Sequence[str | Path], alone: bool) -> None:
        project = None if alone else _project(root)
        given = {Path(f).resolve(): str(f) for f in files}
        ds = build_dataset(project) if project is not None else ProjectDataset()
        loaded = {p.resolve() for p in ds.files.values()}
        extra = [Path(f) for f in _unique(files) if Path(f).resolve() not in loaded]
        for path in extra:
            if not path.is_file():
                raise MissingFileError(f"{path}: no such file")
        added = load_files(extra, project)
        for name in added.kinds:
            ds.attach(added.graph(name), added.kinds[name])
            ds.files[name] = added.files[name]
        for prefix, namespace in added.namespaces():
            ds.bind(prefix, namespace, override=False)
        checked = {n for n, p in ds.files.items() if p.resolve() in given}
        super().__init__(ds, checked)
        for name in checked:
            self._shown[name] = given[ds.files[name].resolve()]


def _project(root: str | Path | None) -> Path | None:
    """The project root: the one given, or the one found; None when none is found."""
    if root:
        return find_root(root)
    try:
        return find_root()
    except MissingFileError:
        return None


def _unique(files: Iterable[str | Path]) -> list[str | Path]:
    seen: set[Path] = set()
    out = []
    for f in files:
        if Path(f).resolve() not in seen:
            seen.add(Path(f).resolve())
            out.append(f)
    return out


def _show(node: Node | None, nsm: NamespaceManager) -> str:
    """A term as the report shows it: a CURIE, a quoted literal with its language, or the
    bare text of a plain message."""
    if node is None:
        return ""
    if isinstance(node, Literal):
        text = str(node)
        if node.language:
            return json.dumps(text, ensure_ascii=False) + "@" + node.language
        if node.datatype not in (None, XSD.string):
            return json.dumps(text, ensure_ascii=False) + "^^" + short(node.datatype, nsm)
        if text != text.strip() or any(c in text for c in "\n\r\t"):
            return json.dumps(text, ensure_ascii=False)
        return text
    if isinstance(node, BNode):
        return "[ ]"
    return short(node, nsm)
