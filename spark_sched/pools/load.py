"""Read a pool file of either kind (TOML tree or Spark's XML) into a checked tree, or every problem in it."""

from __future__ import annotations

import os
from pathlib import Path

from spark_sched.pools.flatten import Flattened, flatten
from spark_sched.pools.model import PoolError, PoolTree, Problem
from spark_sched.pools.toml_io import parse_toml
from spark_sched.pools.validate import capacity_warnings, flattened_problems, validate
from spark_sched.pools.xml_io import parse_xml

FORMATS = ("toml", "xml")


def file_format(path: Path, text: str) -> str:
    """`xml` for .xml files (or text starting with `<`), `toml` otherwise."""
    if path.suffix.lower() == ".xml":
        return "xml"
    if path.suffix.lower() == ".toml":
        return "toml"
    return "xml" if text.lstrip().startswith("<") else "toml"


def parse_pools(text: str, source: str, fmt: str) -> tuple[PoolTree, list[Problem]]:
    """Parse and check text in one format; the tree is only meaningful when no error came back."""
    raw, problems = parse_xml(text, source) if fmt == "xml" else parse_toml(text, source)
    if problems and not raw.pools:  # unreadable or misshapen: "no pools" would only repeat the problem
        return PoolTree((), source), problems
    tree, more = validate(raw)
    problems += more
    if not problems:
        problems += flattened_problems(flatten(tree), source)
    return tree, problems


def check_pools(path: str | os.PathLike[str], cores: int | None = None) -> tuple[PoolTree, list[Problem]]:
    """Every problem in a pool file (errors, then warnings such as minShares beyond `cores`)."""
    file = Path(path)
    source = str(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return PoolTree((), source), [_unreadable(source, exc)]
    tree, problems = parse_pools(text, source, file_format(file, text))
    if not problems:
        problems += capacity_warnings(flatten(tree), cores, source)
    return tree, problems


def _unreadable(source: str, exc: OSError | UnicodeDecodeError) -> Problem:
    """Why the file could not be read, naming it: missing, unreadable, or not UTF-8 text."""
    allowed = "a readable TOML or XML file"
    if isinstance(exc, UnicodeDecodeError):
        reason = f"not UTF-8 (byte {exc.start}: {exc.object[exc.start:exc.start + 1]!r})"
        return Problem(source, None, "pool file", reason, allowed)
    if isinstance(exc, FileNotFoundError):
        return Problem(source, None, "pool file", source, allowed, verdict="does not exist")
    return Problem(source, None, "pool file", source, allowed,
                   verdict=f"cannot be read ({exc.strerror or type(exc).__name__})")


def load_pools(path: str | os.PathLike[str]) -> PoolTree:
    """The checked tree in a pool file; PoolError naming every problem otherwise."""
    tree, problems = check_pools(path)
    if any(not p.warning for p in problems):
        raise PoolError(problems)
    return tree


def load_flattened(path: str | os.PathLike[str]) -> Flattened:
    """The Spark pools a pool file stands for."""
    return flatten(load_pools(path))
