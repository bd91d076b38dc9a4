"""`coopgraph owlapi`: load the ontology and the data with the OWL API, as Protégé does.

Protégé 5 is built on the OWL API 5. This module runs the OWL API itself (Debian's
``libowlapi-java``) through a small Java program shipped with the package,
``coopgraph/java/OwlApiCheck.java``, compiled once with ``javac`` against the installed
jars into a cache folder (a new OWL API or a changed program gets a new build). For each
document it reports:

- load errors (a parse error, with the parser's line and column), imports that did not
  load, triples the OWL API parsed but could not turn into axioms ("unparsed"), and
  declarations it had to guess because a term was used undeclared;
- the violations of the OWL 2 DL profile (ontology modules and data) and of the OWL 2 RL
  profile (ontology modules), as the OWL API's profile checkers report them.

Imports are resolved only through ``ontology/catalog-v001.xml``, the catalog Protégé reads
beside the file it opens; nothing is fetched from the web. A data file has no ontology
header (it is a named graph of triples about one source), so it is loaded the way a
curator sees it in Protégé: into an ontology that imports the project's ontology modules,
whose declarations tell the parser which property is an object and which a data property.

Every finding but "loaded" is an ERROR. The data's days and years (``xsd:date``,
``xsd:gYear``, types outside the OWL 2 datatype map) are values of annotation properties
(``coop:date``, ``coop:year`` ...), which the DL profile leaves alone, as it leaves the
``dcterms:issued`` of a source document; a data property with such a value is reported
(``UseOfDefinedDatatypeInLiteral``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

from rdflib import Graph
from rdflib.namespace import OWL, RDF

from coopgraph.errors import CoopgraphError, FormatError, MissingFileError
from coopgraph.graph.project import find_root, ontology_files, relative
from coopgraph.graph.sources import project_sources

FORMATS = ("text", "tsv", "json")

#: Where Debian installs the OWL API and the libraries it needs.
JAVA_LIBRARY = Path("/usr/share/java")
#: The OWL API and its run-time dependencies, as Debian's ``libowlapi-java`` has them
#: (unversioned names; every ``rdf4j-*.jar`` is added too).
JARS = (
    "owlapi-distribution",
    "guava",
    "caffeine",
    "commons-io",
    "commons-codec",
    "commons-rdf-api",
    "hppcrt",
    "jsr305",
    "xz",
    "atinject-jsr330-api",
    "slf4j-api",
    "slf4j-nop",
    "jackson-core",
    "jackson-databind",
    "jackson-annotations",
    "httpclient",
    "httpclient-cache",
    "httpcore",
    "commons-logging",
    "jsonld-java",
)
PROGRAM = "OwlApiCheck"
INSTALL_HINT = "install it with: scripts/install-system-packages owlapi javac"

#: What each kind of line from the Java program means, and how severe it is.
KINDS = {
    "loaded": ("INFO", "loaded"),
    "load-error": ("ERROR", "does not load"),
    "missing-import": ("ERROR", "an import did not load"),
    "unparsed": ("ERROR", "triple the OWL API could not parse"),
    "guessed": ("ERROR", "term used without a declaration; the OWL API guessed its kind"),
    "OWL2_DL": ("ERROR", "OWL 2 DL profile violation"),
    "OWL2_RL": ("ERROR", "OWL 2 RL profile violation"),
}


@dataclass(frozen=True)
class Finding:
    """One line of the OWL API's report."""

    severity: str
    kind: str
    file: str
    message: str
    what: str

    def __str__(self) -> str:
        return f"{self.severity} {self.kind} {self.file}: {self.message}"


@dataclass
class OwlApiReport:
    """What the OWL API said about each document."""

    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def ok(self) -> bool:
        """No ERROR."""
        return self.count("ERROR") == 0

    def summary(self) -> str:
        errors = self.count("ERROR")
        files = f"{len(self.files)} file" + "s" * (len(self.files) != 1)
        return f"coopgraph owlapi: OWL API 5 on {files} in {self.seconds:.1f} s: {errors} ERROR."

    def render(self, fmt: str = "text") -> str:
        """The report as text (grouped by file), TSV or JSON.

        Raises:
            FormatError: for another format.
        """
        if fmt == "text":
            lines = []
            for file in self.files:
                lines.append(file)
                for f in (f for f in self.findings if f.file == file):
                    label = "loaded" if f.kind == "loaded" else f"{f.severity} {f.kind}"
                    lines.append(f"  {label}: {f.message}")
            lines.append(self.summary())
            return "\n".join(lines) + "\n"
        if fmt == "tsv":
            escape = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n"})
            rows = ["severity\tkind\tfile\tmessage"]
            rows += [
                "\t".join(x.translate(escape) for x in (f.severity, f.kind, f.file, f.message))
                for f in self.findings
            ]
            return "\n".join(rows) + "\n"
        if fmt == "json":
            document = {
                "summary": self.summary(),
                "files": self.files,
                "findings": [asdict(f) for f in self.findings],
            }
            return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        raise FormatError(fmt, FORMATS, "the OWL API report")


# --------------------------------------------------------------------------- the program


def classpath(library: Path = JAVA_LIBRARY) -> list[Path]:
    """The OWL API's jars and their dependencies.

    Raises:
        MissingFileError: when the OWL API or a library it needs is not installed.
    """
    jars = [library / f"{name}.jar" for name in JARS]
    jars += sorted(p for p in library.glob("rdf4j-*.jar") if not p.stem[-1].isdigit())
    missing = [j.name for j in jars if not j.is_file()]
    if missing:
        raise MissingFileError(
            f"the OWL API (Debian's libowlapi-java) is not installed: {library} lacks "
            f"{', '.join(missing)}; {INSTALL_HINT}"
        )
    return jars


def cache_folder() -> Path:
    """Where the compiled program is kept: ``$XDG_CACHE_HOME/coopgraph`` or ``~/.cache``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "coopgraph" / "owlapi"


def compiled(jars: Sequence[Path]) -> Path:
    """The folder holding the compiled program, compiling it first when needed.

    The build is keyed by the program's text and the jars' sizes and dates, so a new OWL
    API or a changed program is compiled again; it is written beside its final place and
    renamed into it, so an interrupted build leaves nothing half-made.

    Raises:
        MissingFileError: when ``javac`` (a JDK) is missing.
        CoopgraphError: when the program does not compile.
    """
    source = (resources.files("coopgraph.quality") / "java" / f"{PROGRAM}.java").read_bytes()
    key = hashlib.sha256(source)
    for jar in jars:
        stat = jar.stat()
        key.update(f"{jar}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    folder = cache_folder() / key.hexdigest()[:16]
    if (folder / f"{PROGRAM}.class").is_file():
        return folder
    javac = shutil.which("javac")
    if javac is None:
        raise MissingFileError(
            f"javac (a Java JDK) is needed to build the OWL API check; {INSTALL_HINT}"
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Built beside its place and renamed into it; what is left of a failed build goes.
    with tempfile.TemporaryDirectory(dir=folder.parent, ignore_cleanup_errors=True) as work:
        (Path(work) / f"{PROGRAM}.java").write_bytes(source)
        run = subprocess.run(
            [
                javac,
                "-nowarn",
                "-cp",
                os.pathsep.join(map(str, jars)),
                "-d",
                work,
                str(Path(work) / f"{PROGRAM}.java"),
            ],
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            raise CoopgraphError(f"the OWL API check does not compile:\n{run.stderr.strip()}")
        (Path(work) / f"{PROGRAM}.java").unlink()
        try:
            os.rename(work, folder)
        except OSError:  # another run built it meanwhile
            if not (folder / f"{PROGRAM}.class").is_file():
                raise
    return folder


# --------------------------------------------------------------------------- running it


def declares_ontology(path: Path) -> bool:
    """Whether ``path`` has an ``owl:Ontology`` header (a file that does not parse counts as
    an ontology, so that the OWL API says where it fails)."""
    graph = Graph()
    try:
        graph.parse(path, format="turtle")
    except Exception:  # noqa: BLE001 - not Turtle: the OWL API says where it fails
        return True
    return (None, RDF.type, OWL.Ontology) in graph


def run(
    root: str | Path | None = None,
    files: Sequence[str | Path] = (),
    *,
    library: Path = JAVA_LIBRARY,
) -> OwlApiReport:
    """Load the project's ontology modules and data files (or ``files``) with the OWL API.

    A file with an ``owl:Ontology`` header is checked as an ontology (OWL 2 DL and RL);
    a file without one as data (OWL 2 DL), in the context of the project's ontology.

    Raises:
        MissingFileError: for a missing file or project, or when Java or the OWL API is
            not installed.
    """
    project = find_root(root or None)
    catalog = project / "ontology" / "catalog-v001.xml"
    if not catalog.is_file():
        raise MissingFileError(f"{catalog}: no catalog; Protégé resolves imports through it")
    sources = project_sources(project)  # each ontology module's graph is its ontology IRI
    modules = set(ontology_files(project))
    context = [s.graph for s in sources if s.path in modules and s.graph]
    if files:
        paths = [Path(f) for f in files]
        for path in paths:
            if not path.is_file():
                raise MissingFileError(f"{path}: no such file")
        jobs = [("--ontology" if declares_ontology(p) else "--data", p) for p in paths]
    else:
        jobs = [("--ontology" if s.path in modules else "--data", s.path) for s in sources]
    shown = {str(path): relative(path.resolve(), project) for _, path in jobs}
    arguments = ["--catalog", str(catalog)]
    for iri in context:
        arguments += ["--context", iri]
    for option, path in jobs:
        arguments += [option, str(path)]
    started = time.perf_counter()
    lines = _java(arguments, library)
    report = OwlApiReport(files=list(dict.fromkeys(shown.values())))
    report.seconds = time.perf_counter() - started
    for kind, file, message in lines:
        report.findings.append(_finding(kind, shown.get(file, file), message))
    return report


def save_turtle(source: Path, target: Path, root: str | Path | None = None) -> None:
    """Open ``source`` with the OWL API and save it to ``target`` with the OWL API's Turtle
    writer, keeping its prefixes: what Protégé writes when a curator saves the file.

    Raises:
        CoopgraphError: when the OWL API cannot load or save the file.
    """
    catalog = find_root(root or None) / "ontology" / "catalog-v001.xml"
    _java(["--catalog", str(catalog), "--save-turtle", str(source), str(target)])


def _java(arguments: Sequence[str], library: Path = JAVA_LIBRARY) -> list[tuple[str, str, str]]:
    """Run the OWL API program with ``arguments``; its report lines as (kind, file, text).

    Raises:
        MissingFileError: when Java or the OWL API is not installed.
        CoopgraphError: when the program fails.
    """
    java = shutil.which("java")
    if java is None:
        raise MissingFileError(f"java is needed to run the OWL API; {INSTALL_HINT}")
    jars = classpath(library)
    program = compiled(jars)
    answer = subprocess.run(
        [
            java,
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-Djava.awt.headless=true",
            "-cp",
            os.pathsep.join(map(str, [program, *jars])),
            PROGRAM,
            *arguments,
        ],
        capture_output=True,
        text=True,
    )
    if answer.returncode != 0:
        raise CoopgraphError(f"the OWL API program failed:\n{answer.stderr.strip()}")
    rows = []
    for line in answer.stdout.splitlines():
        kind, file, message = (_unescape(x) for x in line.split("\t", 2))
        rows.append((kind, file, message))
    return rows


def _finding(kind: str, file: str, message: str) -> Finding:
    severity, what = KINDS.get(kind, ("ERROR", kind))
    return Finding(severity, kind, file, message, what)


def _unescape(text: str) -> str:
    out, chars = [], iter(text)
    for c in chars:
        if c == "\\":
            nxt = next(chars, "")
            out.append({"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}.get(nxt, nxt))
        else:
            out.append(c)
    return "".join(out)
