"""The publishing commands: ``coopgraph docs``, ``release`` and ``serve``."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import click

from coopgraph.cli.session import EXIT_INVALID, Session, fail, say


@click.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder to write (replaced whole). Default: build/docs in the project.",
)
@click.pass_obj
def docs(session: Session, output: Path | None) -> None:
    """Build the HTML documentation of the ontology with pyLODE.

    Writes index.html (the ontology and alignment modules: every class and property with
    its label, definition, super- and sub-terms, domains and ranges), classes.svg (a diagram
    of the classes, drawn by Graphviz) and schemes/NAME.html (each concept scheme and its
    concepts). The folder is built beside its place and then swapped in, never half-written.
    Prints the path of index.html.
    """
    from coopgraph.publish import docs as docs_mod

    settings = session.settings()
    ds = session.load(settings)
    folder = output or (ds.root or Path.cwd()) / "build" / "docs"
    built = docs_mod.docs_from_dataset(ds, progress=say)
    written = docs_mod.write_docs(built, folder)
    say(f"wrote {len(written)} files to {folder}")
    click.echo(folder / docs_mod.FILES.index)


@click.command()
@click.option(
    "--version",
    "version",
    metavar="X.Y.Z",
    help="The version to release. Default: the one the ontology states (owl:versionInfo).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder of releases; the release goes to OUTPUT/X.Y.Z (default: dist in the project).",
)
@click.pass_obj
def release(session: Session, version: str | None, output: Path | None) -> None:
    """Build a release: the ontology, the data, the inferences, VoID, checksums, change log.

    Refused (exit 1, nothing written) when the data does not conform to the shapes (with or
    without the OWL 2 RL inferences), is inconsistent, or coopgraph check reports an error.
    The release goes to dist/X.Y.Z, built beside it and renamed into place; an existing
    version is never rebuilt. CHANGES.md compares it with the highest earlier release in the
    same folder. Then ontology/*.ttl and ontology/catalog-v001.xml are changed to state the
    new version (owl:versionIRI, owl:versionInfo): commit them with the release. Prints the
    release's folder.
    """
    from coopgraph.publish import release as release_mod

    settings = session.settings()
    try:
        made = release_mod.build_release(settings["root"] or None, version, output, say)
    except release_mod.ReleaseRefused as err:
        fail(str(err), EXIT_INVALID)
    say(f"{made.version}: {made.changes.summary()}")
    if made.sources:
        say(f"now stating version {made.version}: {', '.join(made.sources)} (commit them)")
    say(f"released {len(made.files)} files to {made.folder} (check: sha256sum -c SHA256SUMS)")
    click.echo(made.folder)


#: The arguments and options of ``coopgraph serve``, in the order ``--help`` shows them.
_SERVE_OPTIONS = (
    click.argument("files", nargs=-1, metavar="[FILE]..."),
    click.option("--host", help="Address to listen on (default 127.0.0.1)."),
    click.option("--port", type=int, help="Port to listen on (default 8000; 0: any free port)."),
    click.option("--store", "store", metavar="ENGINE", help="Store engine: oxigraph or rdflib."),
    click.option(
        "--store-path",
        "store_path",
        metavar="DIR",
        help="Keep the Oxigraph store on disk in DIR; the next start reopens it without loading.",
    ),
    click.option(
        "--production",
        is_flag=True,
        help="Serve with granian: several processes (--workers) of several threads; slow clients "
        "cost no thread.",
    ),
    click.option("--workers", type=int, help="Server processes in production mode (default 2)."),
    click.option(
        "--update-token-file",
        "update_token_file",
        metavar="PATH",
        help="Enable SPARQL Update on /update with the token on the first line of PATH (or set "
        "COOPGRAPH_UPDATE_TOKEN; the token itself is never taken from the command line).",
    ),
)


def _serve_options(command: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(_SERVE_OPTIONS):
        command = option(command)
    return command


@click.command()
@_serve_options
@click.pass_obj
def serve(
    session: Session,
    files: tuple[str, ...],
    host: str | None,
    port: int | None,
    store: str | None,
    store_path: str | None,
    production: bool,
    workers: int | None,
    update_token_file: str | None,
) -> None:
    """Serve the graph: SPARQL endpoint, linked-data pages, query editor, dumps.

    Without FILE, the bundled graph (the project's ontology and data); with FILEs, those RDF
    files (Turtle, N-Triples, TriG, N-Quads, JSON-LD, RDF/XML), each triple file in a graph
    named after it. The URL to open is printed once the server listens. SPARQL Update is
    enabled by a token in COOPGRAPH_UPDATE_TOKEN or in the file --update-token-file names.
    """
    from coopgraph.web import serve as serving
    from coopgraph.web.access import HostPolicy
    from coopgraph.web.state import get_state
    from coopgraph.web.update_token import resolve_update_token

    settings = session.settings(
        host=host,
        port=port,
        store=store,
        store_path=store_path,
        workers=workers,
        update_token_file=update_token_file,
    )
    resolve_update_token(settings)  # an unreadable token file stops here, before loading
    HostPolicy.from_settings(settings)  # as does a malformed public_url or allowed_hosts
    started = time.monotonic()
    app = serving.build_app(settings, files, start_pool=not production)
    engine = get_state(app).engine
    done = "reopened" if engine.reopened else "loaded"
    click.echo(f"{done} {engine.describe()} in {time.monotonic() - started:.1f} s", err=True)
    if production:
        serving.run_production(app, settings, serving.echo_err)
    else:
        serving.run_development(app, str(settings["host"]), int(settings["port"]), serving.echo_err)
