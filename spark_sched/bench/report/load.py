"""Reading bench JSON files for the report: files or directories of them, each checked for the shape it relies on.

A file that is not what the report expects is one error naming it (never a
traceback), and a directory's JSON files that are not bench results (a
composer's state, say) are skipped, not refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from spark_sched.errors import SparkSchedError, printable

WHO = "spark-sched bench report"
SOURCE_KEY = "_source"  # added by load_results: the JSON file a result came from (not part of the bench JSON)
# The experiment name becomes a file name (`<experiment>.png`): nothing that could leave the output directory.
SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
# Sections that must be JSON objects when present; anything else means the file is not what we think it is.
OBJECT_FIELDS = ("variants", "spread", "runs", "ratios", "targets", "machine", "params", "cluster")


def _refuse(path: Path, problem: str) -> SparkSchedError:
    """One line naming the file and what is wrong with it, so the CLI prints it instead of a traceback."""
    return SparkSchedError(printable(f"{WHO}: {path}: {problem}"))


def _read_json(path: Path) -> Any:
    """The parsed file; a file that cannot be read or parsed is one error naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise _refuse(path, f"cannot be read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise _refuse(path, "is not valid; allowed: a bench JSON file (it is not UTF-8 text)") from exc
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}: {exc.msg}"
        raise _refuse(path, f"is not valid JSON ({where}); allowed: a bench JSON file") from exc


def _looks_like_bench(data: Any) -> bool:
    """Whether a JSON file in a directory claims to be a bench result (others, e.g. composer-state.json, are not)."""
    return isinstance(data, dict) and "experiment" in data


def _check_bench(path: Path, data: Any) -> dict[str, Any]:
    """`data` if it has the bench JSON's shape; else an error saying which part is wrong.

    Only the shape the renderer relies on is checked (sections are objects, the name is
    a safe file name); numbers inside may be null or missing and render as "n/a".
    """
    allowed = "a JSON object with \"experiment\" and \"variants\", as `spark-sched bench` writes"
    if not isinstance(data, dict) or "experiment" not in data or "variants" not in data:
        raise _refuse(path, f"is not a bench JSON; allowed: {allowed}")
    name = data["experiment"]
    if not isinstance(name, str) or not SAFE_NAME.fullmatch(name):
        raise _refuse(path, f"experiment = {name!r} is not valid; allowed: letters, digits, '_', '-', '.'")
    if not isinstance(data["variants"], dict):
        raise _refuse(path, f"variants = {_short(data['variants'])} is not valid; allowed: a JSON object")
    for key in OBJECT_FIELDS:
        if key in data and data[key] is not None and not isinstance(data[key], dict):
            raise _refuse(path, f"{key} = {_short(data[key])} is not valid; allowed: a JSON object")
    for variant, metrics in data["variants"].items():
        if not isinstance(metrics, dict):
            raise _refuse(path, f"variants.{variant} = {_short(metrics)} is not valid; allowed: a JSON object")
    return data


def _short(value: Any) -> str:
    """A refused value, cut short: the error is one line however big the value was."""
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _load_file(path: Path) -> dict[str, Any]:
    """A file named on the command line: it must be a bench JSON."""
    result = dict(_check_bench(path, _read_json(path)))
    result[SOURCE_KEY] = str(path)
    return result


def _load_dir(path: Path) -> list[dict[str, Any]]:
    """Every bench JSON directly in `path`; other JSON files there (no "experiment") are someone else's state."""
    found = []
    for file in sorted(path.glob("*.json")):
        data = _read_json(file)
        if _looks_like_bench(data):
            found.append(_check_bench(file, data) | {SOURCE_KEY: str(file)})
    if not found:
        raise _refuse(path, "holds no bench JSON; allowed: a directory `spark-sched bench --out` wrote")
    return found


def load_results(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """The bench results in `paths` (JSON files, or directories of them), sorted by experiment name.

    Each result is the JSON object plus `SOURCE_KEY` (the file it came from), which the page
    and `write_report` use to name the source and find the extra plots beside it. The same
    experiment twice is refused: both would write `<experiment>.png` and one would silently win.
    """
    results: list[dict[str, Any]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            results.extend(_load_dir(path))
        elif path.exists():
            results.append(_load_file(path))
        else:
            raise _refuse(path, "does not exist; allowed: a bench JSON file or a directory of them")
    results.sort(key=lambda r: (r["experiment"], r[SOURCE_KEY]))
    for before, after in zip(results, results[1:], strict=False):
        if before["experiment"] == after["experiment"]:
            raise _refuse(
                Path(after[SOURCE_KEY]),
                f"experiment {after['experiment']!r} is also in {before[SOURCE_KEY]}; allowed: one file per experiment",
            )
    return results
