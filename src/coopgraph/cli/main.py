"""The ``coopgraph`` command: a thin shell over the library.

Every command loads the project (``ontology/``, ``data/``, ``shapes/``) found from the
current directory upwards, or the one given with ``--root`` / ``COOPGRAPH_ROOT``.
Exit codes: 0 success; 1 the graph does not conform (``validate``; ``release`` refuses)
or is inconsistent (``reason``, ``dl``); 2 bad input (a file that is missing or does not
parse, a query with a syntax error, an unknown format or setting), reported as one line on stderr.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from coopgraph import __version__, formats
from coopgraph.atomic import write_atomically
from coopgraph.cli.publish import docs, release, serve
from coopgraph.cli.session import EXIT_INVALID, Group, Session, load_progress, read_query
from coopgraph.errors import FormatError
from coopgraph.graph import stats as stats_mod
from coopgraph.graph.load import load_shapes
from coopgraph.quality import report as report_mod
from coopgraph.quality.validate import default_validator, validate_project
from coopgraph.quality.validate import validate as run_validation
from coopgraph.reason import REASONERS, Reasoning
from coopgraph.reason import reason as run_reasoner
from coopgraph.settings import SETTINGS, resolve
from coopgraph.sparql import query as query_mod
from coopgraph.sparql.parse import parse_query

#: RDF formats ``coopgraph reason`` can write, and rdflib's names for them.
RDF_FORMATS = {f.name: f.rdflib for f in formats.ALL}


def _settings_help() -> str:
    lines = ["\b", "Settings (--setting NAME VALUE, or the environment variable):"]
    for s in SETTINGS:
        lines.append(f"  {s.name} ({s.env_var}, default {s.default!r}): {s.help}")
    return "\n".join(lines)


@click.group(cls=Group, epilog=_settings_help())
@click.version_option(__version__, prog_name="coopgraph")
@click.option(
    "--root",
    metavar="DIR",
    help="The project folder (with ontology/, data/, shapes/). Default: found from the "
    "current directory upwards.",
)
@click.option(
    "--setting",
    "overrides",
    nargs=2,
    multiple=True,
    metavar="NAME VALUE",
    help="Set a setting (see below); may be repeated.",
)
@click.pass_context
def cli(ctx: click.Context, root: str | None, overrides: tuple[tuple[str, str], ...]) -> None:
    """coopgraph: a knowledge graph of international cooperation.

    Load the ontology and the data, check them against the SHACL shapes, reason with
    OWL 2 RL, query them with SPARQL, and count what they hold.
    """
    # rdflib logs a traceback for every ill-typed literal ("2016-13-01"^^xsd:date); the
    # shapes report those values, so the tracebacks only bury the report.
    logging.getLogger("rdflib.term").setLevel(logging.ERROR)
    ctx.obj = Session(root, dict(overrides))
    resolve(ctx.obj.flags, ctx.obj.overrides)  # report a bad setting before any work


@cli.command()
@click.option(
    "--format",
    "fmt",
    metavar="FORMAT",
    help=f"Report format: {', '.join(report_mod.FORMATS)} (default: text).",
)
@click.option(
    "--inferred",
    is_flag=True,
    help="Reason first and validate the asserted graphs together with the inferences.",
)
@click.option(
    "--validator",
    metavar="ENGINE",
    help="SHACL engine: pyshacl, pyshacl-turbo or auto (default: auto, the fastest installed).",
)
@click.pass_obj
def validate(session: Session, fmt: str | None, inferred: bool, validator: str | None) -> None:
    """Check the data against the SHACL shapes; exit 1 when it does not conform.

    The text report groups the results by shape, and names for each the focus node, the
    path, the offending value and the data file the node comes from.
    """
    settings = session.settings(validate_format=fmt, validator=validator)
    fmt = settings["validate_format"]
    if fmt not in report_mod.FORMATS:
        raise FormatError(fmt, report_mod.FORMATS, "the validation report")
    validator = settings["validator"]
    if validator == "auto":
        validator = default_validator()
    if validator == "pyshacl-turbo" and not inferred:
        # The fast path: the files parsed natively, pyshacl-turbo reads them; the same report.
        report = validate_project(settings["root"] or None, progress=load_progress(settings))
    else:
        ds = session.load(settings)
        if inferred:
            run_reasoner(ds, reasoner=settings["reasoner"])
        shapes = load_shapes(settings["root"] or None)
        report = run_validation(ds, shapes, include_inferred=inferred, validator=validator)
    click.echo(report_mod.render_report(report, fmt), nl=False)
    if fmt != "text":
        click.echo(report_mod.summary(report), err=True)
    sys.exit(0 if report.conforms else EXIT_INVALID)


@cli.command()
@click.option(
    "--format",
    "fmt",
    metavar="FORMAT",
    help=f"RDF format of the inferences: {', '.join(RDF_FORMATS)} (default: turtle).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the inferences to this file (written whole or not at all) instead of stdout.",
)
@click.option(
    "--check/--no-check",
    default=True,
    show_default=True,
    help="Validate the asserted graphs together with the inferences against the shapes.",
)
@click.option(
    "--reasoner",
    metavar="NAME",
    help=f"The reasoner: {', '.join(REASONERS)} (default: rules; the same closure).",
)
@click.pass_obj
def reason(
    session: Session, fmt: str | None, output: Path | None, check: bool, reasoner: str | None
) -> None:
    """Materialise the OWL 2 RL closure as a separate graph.

    The asserted graphs are not changed. A summary goes to stderr; the command exits 1
    when the graph is inconsistent (a clash, or a member of owl:Nothing) or, with --check,
    when the graph and its inferences together do not conform to the shapes.
    """
    settings = session.settings(reason_format=fmt, reasoner=reasoner)
    fmt = settings["reason_format"]
    if fmt not in RDF_FORMATS:
        raise FormatError(fmt, tuple(RDF_FORMATS), "the inferences")
    if settings["reasoner"] not in REASONERS:
        raise FormatError(settings["reasoner"], REASONERS, kind="reasoner")
    ds = session.load(settings)
    result = run_reasoner(ds, reasoner=settings["reasoner"])
    if result.note:
        click.echo(f"reasoning with owlrl: {result.note}", err=True)
    text = result.inferred.serialize(format=RDF_FORMATS[fmt])
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomically(output, text)
    ok = _say_reasoning(result, len(ds.merged()), output)
    if check:
        report = run_validation(
            ds,
            load_shapes(settings["root"] or None),
            include_inferred=True,
            validator=settings["validator"],
        )
        click.echo("with inferences: " + report_mod.summary(report), err=True)
        ok = ok and report.conforms
    sys.exit(0 if ok else EXIT_INVALID)


def _say_reasoning(result: Reasoning, asserted: int, output: Path | None) -> bool:
    """Print the reasoning's summary and its inconsistencies on stderr; True if there are none."""
    click.echo(
        f"{len(result.inferred)} inferred triples in {result.seconds:.1f} s "
        f"(from {asserted} asserted; {result.reasoner})"
        + (f", written to {output}" if output else ""),
        err=True,
    )
    for message in result.inconsistencies:
        click.echo(f"inconsistent: {' '.join(message.split())}", err=True)
    for node in result.nothing:
        click.echo(f"inconsistent: {node} is inferred to be a member of owl:Nothing", err=True)
    return result.consistent


@cli.command()
@click.argument("files", nargs=-1, metavar="[FILE]...")
@click.option(
    "--explain/--no-explain",
    default=True,
    show_default=True,
    help="When something is wrong, find a minimal set of axioms that shows why.",
)
@click.pass_obj
def dl(session: Session, files: tuple[str, ...], explain: bool) -> None:
    """Check the graph with HermiT, a complete OWL 2 DL reasoner (needs Java).

    Checks the ontology, the alignment module and every data file, plus the Turtle FILEs
    given (e.g. a file about to be added), and prints whether the graph is consistent, its
    unsatisfiable classes and the time taken. When the graph is inconsistent or a class is
    unsatisfiable, it prints why: a minimal set of axioms that clash, each with its file.
    Exits 1 when the graph is inconsistent or a class is unsatisfiable.
    """
    from coopgraph.quality import dl as dl_mod

    ds = session.load(session.settings())
    dl_mod.add_files(ds, files)
    report = dl_mod.check(ds, explain=explain)
    click.echo(dl_mod.render(report, ds), nl=False)
    sys.exit(0 if report.ok else EXIT_INVALID)


@cli.command()
@click.argument("query_file", metavar="FILE|-")
@click.option(
    "--format",
    "fmt",
    metavar="FORMAT",
    help=f"Result format: {', '.join(query_mod.TABLE_FORMATS)} for SELECT and ASK, "
    f"{', '.join(query_mod.GRAPH_FORMATS)} for CONSTRUCT and DESCRIBE (default: table, "
    "which is Turtle for CONSTRUCT and DESCRIBE).",
)
@click.option(
    "--infer/--no-infer",
    default=None,
    help="With the OWL 2 RL inferences (the default, as on the endpoint), or without.",
)
@click.pass_obj
def query(session: Session, query_file: str, fmt: str | None, infer: bool | None) -> None:
    """Run the SPARQL query in FILE (or on stdin, with -) on all graphs and their inferences.

    GRAPH reaches each source's facts (a graph named after the source document) and the
    inferences (https://w3id.org/coopgraph/graph/inferred). SERVICE and FROM are refused.
    """
    settings = session.settings(query_format=fmt, infer=infer)
    fmt = settings["query_format"]
    if fmt not in query_mod.FORMATS:
        raise FormatError(fmt, query_mod.FORMATS, "query results")
    text = read_query(query_file)
    parse_query(text)  # a syntax error is reported before the data is loaded
    ds = session.load(settings)
    if settings["infer"]:
        run_reasoner(ds, reasoner=settings["reasoner"])
    answer = query_mod.run_query(ds, text)
    click.echo(query_mod.render(answer, fmt, ds), nl=False)


@cli.command()
@click.option(
    "--format",
    "fmt",
    metavar="FORMAT",
    help=f"Output format: {', '.join(stats_mod.FORMATS)} (default: table).",
)
@click.option(
    "--inferred",
    is_flag=True,
    help="Reason first, and also count instances with their inferred types.",
)
@click.pass_obj
def stats(session: Session, fmt: str | None, inferred: bool) -> None:
    """Count triples per named graph and instances per class."""
    settings = session.settings(stats_format=fmt)
    fmt = settings["stats_format"]
    if fmt not in stats_mod.FORMATS:
        raise FormatError(fmt, stats_mod.FORMATS, "the statistics")
    ds = session.load(settings)
    if inferred:
        run_reasoner(ds, reasoner=settings["reasoner"])
    click.echo(stats_mod.render(stats_mod.compute(ds), ds, fmt), nl=False)


@cli.command()
@click.argument("files", nargs=-1, metavar="[FILE]...")
@click.option(
    "--format", "fmt", metavar="FORMAT", help="Report format: text, tsv, json (default: text)."
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warn", "none"]),
    help="Exit 1 when a finding of this severity or worse is present (default: error).",
)
@click.option(
    "--alone",
    is_flag=True,
    help="Check the FILEs by themselves, without the rest of the project.",
)
@click.pass_obj
def check(
    session: Session, files: tuple[str, ...], fmt: str | None, fail_on: str | None, alone: bool
) -> None:
    """Quality report on the ontology (ERROR / WARN / INFO), like ROBOT's report.

    Runs the SPARQL checks shipped in coopgraph/checks/ (labels, definitions, header,
    declarations, punning, domains and ranges, unconnected and deprecated terms, file
    extensions, naming, and the mechanical OOPS! pitfalls) over the project's ontology and
    data. Given Turtle FILEs, checks those, read with the rest of the project (its
    declarations and uses count), and reports only what is about the FILEs; with --alone,
    checks the FILEs by themselves. Exits 1 when a finding is as severe as --fail-on.
    """
    from coopgraph.quality import check as check_mod
    from coopgraph.quality import check_report

    settings = session.settings(check_format=fmt, check_fail_on=fail_on)
    fmt, fail_on = settings["check_format"], settings["check_fail_on"]
    if fmt not in check_report.FORMATS:
        raise FormatError(fmt, check_report.FORMATS, "the check report")
    check_report.failing(fail_on)  # an unknown level is reported before any work
    report = check_mod.run_checks(settings["root"] or None, files=list(files), alone=alone)
    click.echo(report.render(fmt), nl=False)
    if fmt != "text":
        click.echo(report.summary(), err=True)
    sys.exit(EXIT_INVALID if report.fails(fail_on) else 0)


@cli.command()
@click.argument("files", nargs=-1, metavar="[FILE]...")
@click.option(
    "--format", "fmt", default="text", metavar="FORMAT", help="Report format: text, tsv, json."
)
@click.pass_obj
def owlapi(session: Session, files: tuple[str, ...], fmt: str) -> None:
    """Load the ontology and the data with the OWL API 5, as Protégé does (needs Java).

    Loads each ontology module and each data file (or the Turtle FILEs) with the OWL API,
    the library Protégé is built on, resolving imports through ontology/catalog-v001.xml,
    and prints what it reports: load errors, imports not loaded, unparsed triples, guessed
    declarations, and violations of the OWL 2 DL profile (all files) and of the OWL 2 RL
    profile (ontology modules). Data files are loaded in the context of the ontology.
    Exits 1 on an ERROR.
    """
    from coopgraph.quality import owlapi as owlapi_mod

    if fmt not in owlapi_mod.FORMATS:
        raise FormatError(fmt, owlapi_mod.FORMATS, "the OWL API report")
    settings = session.settings()
    report = owlapi_mod.run(settings["root"] or None, files)
    click.echo(report.render(fmt), nl=False)
    if fmt != "text":
        click.echo(report.summary(), err=True)
    sys.exit(0 if report.ok else EXIT_INVALID)


@cli.command(name="format")
@click.argument("files", nargs=-1, metavar="[FILE]...")
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Change nothing; list the files that are not canonical, with a diff, and exit 1.",
)
@click.pass_obj
def format_(session: Session, files: tuple[str, ...], check_only: bool) -> None:
    """Rewrite the Turtle of ontology/, shapes/ and data/ (or the FILEs) in canonical form.

    One form for every file, whoever saved it last (a text editor, Protégé, a script):
    rdflib's long Turtle, the ontology header first, then classes, properties and shapes,
    then every other subject, in IRI order; the project's prefixes; one object a line.
    The triples never change: a file is rewritten only when the new text gives back the
    same graph. Comments do not survive (keep explanations in rdfs:comment). Running it
    twice changes nothing the second time.
    """
    from coopgraph.graph import canonical

    settings = session.settings()
    root, paths = canonical.files_to_format(settings["root"] or None, files)
    total = len(paths)
    outcomes = canonical.plan(paths, root)
    changed = [o for o in outcomes if o.changed]
    if check_only:
        for outcome in changed:
            click.echo(outcome.diff(), nl=False)
        for outcome in changed:
            click.echo(f"not canonical: {outcome.shown}", err=True)
        if changed:
            verdict = f"{len(changed)} of {total} files not canonical; run `coopgraph format`"
        else:
            verdict = f"all {total} files canonical"
        click.echo(f"coopgraph format --check: {verdict}", err=True)
        sys.exit(EXIT_INVALID if changed else 0)
    for outcome in canonical.write(outcomes):
        dropped = f" (left out {outcome.dropped} OWL declarations)" if outcome.dropped else ""
        click.echo(f"rewrote {outcome.shown}{dropped}", err=True)
    click.echo(f"coopgraph format: {len(changed)} of {total} files rewritten", err=True)


for _command in (docs, release, serve):  # the publishing stage: cli/publish.py
    cli.add_command(_command)
