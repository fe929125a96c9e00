"""The composer's memory as JSON in the state directory: per-class bandits and the task-duration history.

Per class it holds each composition's statistics, the incumbent (what the class
runs), and whether the class has settled (`settled`, `settled_at`: the decision
from which it stopped exploring), so an operator can read it without the tool.

Written atomically (a temporary file renamed over the old one), so a crash
leaves the previous state, never half of one. A state file that cannot be read
is refused with one line and moved aside (`state.json.corrupt-<UTC time>`), so
nothing learned is silently replaced by a fresh start and the next start begins
clean only because the operator was told.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spark_sched.composer.bandit import ClassState
from spark_sched.composer.errors import ComposerStateError

VERSION = 2
READABLE = (1, 2)  # version 1 (no incumbents, no settling) reads as classes still exploring
FILE_NAME = "state.json"


def state_path(state_dir: str | os.PathLike[str]) -> Path:
    """`<state_dir>/composer/state.json`."""
    return Path(state_dir) / "composer" / FILE_NAME


@dataclass
class ComposerState:
    classes: dict[str, ClassState] = field(default_factory=dict)
    history: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"version": VERSION, "classes": {k: v.to_json() for k, v in self.classes.items()},
                "history": self.history}

    @staticmethod
    def from_json(data: Any) -> ComposerState:
        if not isinstance(data, dict) or data.get("version") not in READABLE:
            raise ValueError(f"not a composer state (version {' or '.join(map(str, READABLE))})")
        classes = {str(k): ClassState.from_json(v) for k, v in data["classes"].items()}
        history = {str(k): {"task_ms": float(v["task_ms"]), "jobs": int(v["jobs"]),
                            "recent": [float(x) for x in v.get("recent", [])], "bucket": str(v.get("bucket", ""))}
                   for k, v in data["history"].items()}
        return ComposerState(classes, history)


def load_state(path: str | os.PathLike[str], keep_aside: bool = True) -> ComposerState:
    """The state in `path`; an empty state when the file does not exist; ComposerStateError when it is corrupt.

    `keep_aside`: move a corrupt file to `<name>.corrupt-<UTC time>` (what a composer starting on it does);
    a read-only reader (`composer show`) passes False and only refuses.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ComposerState()
    except OSError as exc:
        raise ComposerStateError(f"composer state {file} cannot be read: {exc}") from exc
    try:
        return ComposerState.from_json(json.loads(text))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        if not keep_aside:
            raise ComposerStateError(f"composer state {file} is corrupt ({reason})") from None
        aside = file.with_name(f"{file.name}.corrupt-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
        os.replace(file, aside)
        raise ComposerStateError(
            f"composer state {file} is corrupt ({reason}); kept aside as {aside.name}, not reset: "
            "inspect it, then move it back or start fresh"
        ) from None


def save_state(state: ComposerState, path: str | os.PathLike[str]) -> Path:
    """Write the state atomically; returns the path."""
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".state-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(state.to_json(), f, indent=1, sort_keys=True)
        os.replace(tmp, file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return file
