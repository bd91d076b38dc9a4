"""Open an engine of a given kind on the sources: in memory, on disk (reopened when it holds
the same sources) or in a remote store."""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from coopgraph.errors import CoopgraphError, QueryError
from coopgraph.graph.sources import Source, rdflib_dataset, shown_path, source_prefixes
from coopgraph.store.engine import ENGINES, Engine
from coopgraph.store.inference import Inferences
from coopgraph.store.oxigraph import OxigraphEngine, ox_fill
from coopgraph.store.rdflib import RdflibEngine
from coopgraph.store.remote import RemoteEngine


def open_engine(
    kind: str,
    sources: Sequence[Source],
    root: Path | None = None,
    prefixes: dict[str, str] | None = None,
    path: str | Path | None = None,
    options: dict[str, Any] | None = None,
    reasoner: str | None = None,
) -> Engine:
    """Load ``sources`` into a new engine of the given kind.

    Args:
        path: For the Oxigraph engine, a folder to keep the store in: it is reopened
            without loading when it holds these very sources (and their inferences, when
            asked for), and rebuilt otherwise.
        options: Settings for the remote engine (``remote_*``, ``query_timeout``).
        reasoner: Materialise the OWL 2 RL closure with this reasoner (one of
            :data:`coopgraph.reason.REASONERS`) into the inferred graph, served with the
            asserted graphs (:mod:`coopgraph.store.inference`); ``None``: the asserted
            graphs alone.

    Raises:
        CoopgraphError: for an unknown engine, or a ``path`` that holds something else;
            ParseError for a file that does not parse.
    """
    shown = {s.graph or str(s.path): shown_path(s.path, root) for s in sources}
    if kind == "oxigraph" and path is None:
        with ThreadPoolExecutor(1) as pool:  # read the digest and prefixes while loading
            build = pool.submit(_digest, sources)
            found = pool.submit(source_prefixes, sources, prefixes)
            store = ox.Store()
            stored = ox_fill(store, sources, root)
        meta = {"prefixes": found.result(), "files": shown, "build": build.result()}
        return _inferring(OxigraphEngine(store, union_stored=stored, **meta), reasoner)
    if kind == "rdflib":
        ds = rdflib_dataset(sources, root)
        names = dict(prefixes or {})
        names.update({p: str(n) for p, n in ds.namespaces() if p and p not in names})
        engine = RdflibEngine(ds, prefixes=names, files=shown, build=_digest(sources))
        return _inferring(engine, reasoner)
    meta = {
        "prefixes": source_prefixes(sources, prefixes),
        "files": shown,
        "build": _digest(sources),
    }
    if kind == "oxigraph":
        return _open_on_disk(Path(str(path)), sources, root, meta, reasoner)
    if kind == "remote":
        remote = open_remote(sources, options or {}, meta)
        if remote.reopened and reasoner is not None:
            return remote  # serving what the store holds: its inferred graph too, as it is
        return _inferring(remote, reasoner)
    raise CoopgraphError(f"unknown store engine {kind!r}; use one of: {', '.join(ENGINES)}")


def _inferring(engine: Engine, reasoner: str | None) -> Engine:
    """``engine``, with its inferred graph materialised when a reasoner is given."""
    if reasoner is not None:
        engine.materialise(reasoner)
    return engine


#: The file in an on-disk store's folder that says what it was built from.
STORE_META = "coopgraph-store.json"


def _open_on_disk(
    folder: Path,
    sources: Sequence[Source],
    root: Path | None,
    meta: dict[str, Any],
    reasoner: str | None,
) -> OxigraphEngine:
    """Reopen the store in ``folder`` if it was built from ``sources``; else rebuild it.

    The new store is built beside the old one and swapped in at the end, so an interrupted
    build leaves the previous store (or nothing) behind, never half a store.
    """
    marker = folder / STORE_META
    data = folder / "store"
    if folder.exists() and any(folder.iterdir()) and not marker.is_file():
        raise CoopgraphError(
            f"{folder}: not a coopgraph store (no {STORE_META}); give a new or empty folder"
        )
    if marker.is_file() and data.is_dir():
        try:
            noted = json.loads(marker.read_text(encoding="utf-8"))
            built, stored = noted.get("build"), noted.get("union") != "query"
            inferences = noted.get("inferences")
            kept = Inferences.from_json(inferences) if inferences else None
        except (OSError, ValueError, AttributeError, TypeError):
            built, stored, kept = None, True, None
        if built == meta["build"] and (kept.asked if kept else None) == reasoner:
            engine = OxigraphEngine(path=data, reopened=True, union_stored=stored, **meta)
            engine.inferences = kept
            return engine
    folder.mkdir(parents=True, exist_ok=True)
    loading = folder / f"store.loading-{os.getpid()}"
    shutil.rmtree(loading, ignore_errors=True)
    try:
        store = ox.Store(str(loading))
        stored = ox_fill(store, sources, root)
        building = OxigraphEngine(store, union_stored=stored, **meta)
        if reasoner is not None:
            building.materialise(reasoner)
        store.flush()
        kept = building.inferences
        del store, building  # closes RocksDB, so that the folder can be moved and reopened
        gc.collect()
        marker.unlink(missing_ok=True)
        if data.exists():
            shutil.rmtree(data)
        loading.rename(data)
        union = "stored" if stored else "query"
        noted = {"build": meta["build"], "union": union, "files": meta["files"]}
        if kept is not None:
            noted["inferences"] = dataclasses.asdict(kept)
        text = json.dumps(noted, indent=2)
        partial = marker.with_suffix(".partial")
        partial.write_text(text + "\n", encoding="utf-8")
        partial.replace(marker)
    finally:
        shutil.rmtree(loading, ignore_errors=True)
    engine = OxigraphEngine(path=data, union_stored=stored, **meta)
    engine.inferences = kept
    return engine


def _digest(sources: Sequence[Source]) -> str:
    digest = hashlib.sha256()
    for source in sorted(sources, key=lambda s: str(s.path)):
        digest.update(str(source.graph).encode())
        digest.update(source.path.read_bytes())
    return digest.hexdigest()[:16]


def open_remote(
    sources: Sequence[Source], options: dict[str, Any], meta: dict[str, Any]
) -> RemoteEngine:
    """Connect to the store the ``remote_*`` settings name, and load ``sources`` into it
    unless ``remote_load`` is off.

    Raises:
        CoopgraphError: when no query URL is set, or the store cannot be reached or refuses.
    """
    query_url = str(options.get("remote_query_url") or "")
    if not query_url:
        raise CoopgraphError(
            "the remote engine needs the store's query URL: --setting remote_query_url URL "
            "(or COOPGRAPH_REMOTE_QUERY_URL)"
        )
    user = str(options.get("remote_user") or "")
    auth = (user, str(options.get("remote_password") or "")) if user else None
    engine = RemoteEngine(
        query_url,
        update_url=str(options.get("remote_update_url") or ""),
        store_url=str(options.get("remote_store_url") or ""),
        auth=auth,
        timeout=float(options.get("query_timeout") or 10.0) + 5.0,
        max_answer=4 * int(options.get("max_answer_bytes") or 0) + 2**24,
        **meta,
    )
    if options.get("remote_load", True):
        try:
            engine.load(sources)
        except QueryError as err:
            raise CoopgraphError(f"loading into the remote store failed: {err.message}") from None
    else:
        engine.reopened = True
        engine.graph_names()  # fail now, not on the first request, if the store is away
    return engine
