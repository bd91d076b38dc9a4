"""Write files and folders whole or not at all.

A file is written to a temporary file beside it and renamed over it; a folder is built in a
temporary folder beside it and renamed into place, so that a reader never sees half of it
and a failure leaves nothing behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from coopgraph.errors import CoopgraphError, MissingFileError


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so that it is never half-written.

    Raises:
        CoopgraphError: when the folder does not exist or cannot be written.
    """
    folder = path.resolve().parent
    if not folder.is_dir():
        raise MissingFileError(f"{path}: folder {folder} does not exist")
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except OSError as err:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise CoopgraphError(f"{path}: cannot write: {err.strerror}") from None


def build_folder(target: Path, fill: Callable[[Path], None], replace: bool = False) -> None:
    """Build the folder ``target`` whole or not at all.

    ``fill`` writes the folder's content into the temporary folder it is given (beside
    ``target``, on the same file system); the temporary folder is then renamed to ``target``.
    On any failure, including one raised by ``fill``, the temporary folder is removed and
    ``target`` (and its parent, if this call created it) is left as it was.

    Args:
        target: The folder to create.
        fill: Writes the content.
        replace: Replace an existing ``target`` (else an existing one is an error).

    Raises:
        CoopgraphError: when ``target`` exists and ``replace`` is false, or a folder cannot
            be written; whatever ``fill`` raises.
    """
    target = target.resolve()
    if target.exists() and not replace:
        raise CoopgraphError(f"{target} already exists")
    anchor = _existing_ancestor(target.parent)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=anchor))
    except OSError as err:
        raise CoopgraphError(f"{anchor}: cannot write: {err.strerror}") from None
    created: list[Path] = []
    try:
        os.chmod(tmp, 0o755)
        fill(tmp)
        for folder in reversed([target.parent, *target.parent.parents]):
            if not folder.exists():
                folder.mkdir()
                created.append(folder)
        _swap(tmp, target, replace)
    except BaseException as err:
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in reversed(created):
            try:
                folder.rmdir()
            except OSError:
                pass
        if isinstance(err, OSError):
            raise CoopgraphError(f"{target}: cannot write: {err.strerror}") from None
        raise


def _swap(tmp: Path, target: Path, replace: bool) -> None:
    if not (replace and target.exists()):
        os.rename(tmp, target)  # fails when target appeared meanwhile: never merged
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    os.rename(target, old / target.name)
    try:
        os.rename(tmp, target)
    except OSError:
        os.rename(old / target.name, target)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


def _existing_ancestor(folder: Path) -> Path:
    for candidate in (folder, *folder.parents):
        if candidate.is_dir():
            return candidate
    raise MissingFileError(f"{folder}: no such folder")
