"""Files the toolkit writes for users: whole or not at all.

A rendered file is written to a temporary name beside its target and renamed
over it, so a crash, a full disk or a refused input never leaves half a file
where Spark (or the user) would read it; a target that cannot be written is one
clear error naming it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from spark_sched.errors import SparkSchedError


class OutputError(SparkSchedError):
    """A path the toolkit was asked to write to, and cannot."""


def write_atomically(target: str | os.PathLike[str], text: str, what: str) -> Path:
    """Write `text` to `target` via a temporary file and rename; OutputError naming `what` if it cannot."""
    path = Path(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _refused(what, path, exc) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _refused(what, path, exc) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
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
