"""Files the toolkit writes for users: whole or not at all.

A rendered file is written to a temporary name beside its target and renamed
over it, so a crash, a full disk or a refused input never leaves half a file
where Spark (or the user) would read it; a target that cannot be written is one
clear error naming it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from spark_sched.errors import SparkSchedError


class OutputError(SparkSchedError):
    """A path the toolkit was asked to write to, and cannot."""


@contextmanager
def replaced(target: Path) -> Iterator[Path]:
    """A temporary path beside `target` to write; on a clean exit it becomes `target`, else it is removed.

    mkstemp makes the file 0600; it is made 0644 before the rename, because what the toolkit writes is
    read by others too (Spark's file server serving a jar, an image's non-root user, the user's tools).
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_atomically(target: str | os.PathLike[str], text: str, what: str) -> Path:
    """Write `text` to `target` via a temporary file and rename; OutputError naming `what` if it cannot."""
    path = Path(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with replaced(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _refused(what, path, exc) from exc
    return path


def _refused(what: str, path: Path, exc: OSError) -> OutputError:
    return OutputError(f"{what} = '{path}' is not valid ({exc.strerror}); allowed: a file in a writable directory")


def writable_dir(directory: str | os.PathLike[str], what: str) -> Path:
    """Make `directory` (and parents); OutputError naming `what` when it is a file or cannot be made."""
    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{what} = '{path}' is not valid ({exc.strerror}); allowed: a writable directory") from exc
    return path
