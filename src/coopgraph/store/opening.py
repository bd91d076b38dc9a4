"""Open an engine of a given kind on the sources: in memory, on disk (reopened when it holds
the same sources) or in a remote store."""

from __future__ import annotations

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

from coopgraph.errors import CoopgraphError
from coopgraph.graph.sources import Source, rdflib_dataset, shown_path, source_prefixes
from coopgraph.store.engine import ENGINES, Engine
from coopgraph.store.oxigraph import OxigraphEngine, ox_fill
from coopgraph.store.rdflib import RdflibEngine
from coopgraph.store.remote import open_remote


def open_engine(
    kind: str,
    sources: Sequence[Source],
    root: Path | None = None,
    prefixes: dict[str, str] | None = None,
    path: str | Path | None = None,
    options: dict[str, Any] | None = None,
) -> Engine:
    """Load ``sources`` into a new engine of the given kind.

    Args:
        path: For the Oxigraph engine, a folder to keep the store in: it is reopened
            without loading when it holds these very sources, and rebuilt otherwise.
        options: Settings for the remote engine (``remote_*``, ``query_timeout``).

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
        return OxigraphEngine(store, union_stored=stored, **meta)
    if kind == "rdflib":
        ds = rdflib_dataset(sources, root)
        names = dict(prefixes or {})
        names.update({p: str(n) for p, n in ds.namespaces() if p and p not in names})
        return RdflibEngine(ds, prefixes=names, files=shown, build=_digest(sources))
    meta = {
        "prefixes": source_prefixes(sources, prefixes),
        "files": shown,
        "build": _digest(sources),
    }
    if kind == "oxigraph":
        return _open_on_disk(Path(str(path)), sources, root, meta)
    if kind == "remote":
        return open_remote(sources, options or {}, meta)
    raise CoopgraphError(f"unknown store engine {kind!r}; use one of: {', '.join(ENGINES)}")


#: The file in an on-disk store's folder that says what it was built from.
STORE_META = "coopgraph-store.json"


def _open_on_disk(
    folder: Path, sources: Sequence[Source], root: Path | None, meta: dict[str, Any]
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
        except (OSError, ValueError, AttributeError):
            built, stored = None, True
        if built == meta["build"]:
            return OxigraphEngine(path=data, reopened=True, union_stored=stored, **meta)
    folder.mkdir(parents=True, exist_ok=True)
    loading = folder / f"store.loading-{os.getpid()}"
    shutil.rmtree(loading, ignore_errors=True)
    try:
        store = ox.Store(str(loading))
        stored = ox_fill(store, sources, root)
        store.flush()
        del store  # closes RocksDB, so that the folder can be moved and reopened
        gc.collect()
        marker.unlink(missing_ok=True)
        if data.exists():
            shutil.rmtree(data)
        loading.rename(data)
        union = "stored" if stored else "query"
        text = json.dumps(
            {"build": meta["build"], "union": union, "files": meta["files"]}, indent=2
        )
        partial = marker.with_suffix(".partial")
        partial.write_text(text + "\n", encoding="utf-8")
        partial.replace(marker)
    finally:
        shutil.rmtree(loading, ignore_errors=True)
    return OxigraphEngine(path=data, union_stored=stored, **meta)


def _digest(sources: Sequence[Source]) -> str:
    digest = hashlib.sha256()
    for source in sorted(sources, key=lambda s: str(s.path)):
        digest.update(str(source.graph).encode())
        digest.update(source.path.read_bytes())
    return digest.hexdigest()[:16]
