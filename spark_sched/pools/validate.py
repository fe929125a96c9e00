"""The checks Spark does not do, each problem one line naming file, pool, field, value and what is allowed.

Spark turns an unknown mode into FIFO and a bad weight into 1 with only a log
line, and creates any pool a job names. Here every such value is refused, all
of them at once, before a session starts.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from spark_sched.pools.flatten import Flattened
from spark_sched.pools.model import DEFAULT_POOL, FAIR, FIFO, MAX_INT, MODES, Pool, PoolTree, Problem, RawPool, RawTree
from spark_sched.pools.model import path_text as _where

NAME_RULE = "a non-empty name of printable characters without surrounding blanks"
KNOWN_KEYS = "mode, weight, minShare (and child pools)"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def valid_name(name: Any) -> bool:
    """Names Spark and XML can both carry unchanged."""
    return isinstance(name, str) and bool(name) and name.isprintable() and name.strip() == name


def _check_pool(raw: RawPool, source: str, problems: list[Problem]) -> Pool:
    where = _where(raw.path)
    if not valid_name(raw.name):
        problems.append(Problem(source, where, "name", raw.name, NAME_RULE))
    for key, value in raw.unknown.items():
        problems.append(Problem(source, where, key, value, KNOWN_KEYS))
    mode = raw.values.get("mode", FAIR if raw.children else FIFO)
    if isinstance(mode, str) and mode.strip().upper() in MODES:
        mode = mode.strip().upper()
        if raw.children and mode != FAIR:
            problems.append(Problem(source, where, "mode", mode, "FAIR for a pool with children (leaves may be FIFO)"))
    else:
        problems.append(Problem(source, where, "mode", mode, ", ".join(MODES)))
    weight = raw.values.get("weight", 1)
    if not (_is_int(weight) and 1 <= weight <= MAX_INT):
        problems.append(Problem(source, where, "weight", weight, f"a whole number from 1 to {MAX_INT}"))
    min_share = raw.values.get("min_share", 0)
    if not (_is_int(min_share) and 0 <= min_share <= MAX_INT):
        problems.append(Problem(source, where, "minShare", min_share, f"a whole number from 0 to {MAX_INT}"))
    children = tuple(_check_pool(child, source, problems) for child in raw.children)
    return Pool(str(raw.name), str(mode), _int_or(weight, 1), _int_or(min_share, 0), children)


def _int_or(value: Any, fallback: int) -> int:
    return value if _is_int(value) else fallback


def _names(raw: RawTree, problems: list[Problem]) -> None:
    """Duplicate names anywhere in the tree, and parents whose name Spark's own `default` pool would take."""
    everything: list[RawPool] = []

    def visit(pool: RawPool) -> None:
        everything.append(pool)
        for child in pool.children:
            visit(child)

    for top in raw.pools:
        visit(top)
    counts = Counter(p.name for p in everything if isinstance(p.name, str))
    for pool in everything:
        if isinstance(pool.name, str) and counts[pool.name] > 1:
            others = [_where(p.path) for p in everything if p.name == pool.name and p is not pool]
            allowed = f"a name used once in the tree (also at {', '.join(others)})"
            problems.append(Problem(raw.source, _where(pool.path), "name", pool.name, allowed))
        if pool.children and pool.name == DEFAULT_POOL:
            allowed = f"a parent name other than {DEFAULT_POOL!r} (Spark adds its own leaf pool by that name)"
            problems.append(Problem(raw.source, _where(pool.path), "name", pool.name, allowed))


def validate(raw: RawTree) -> tuple[PoolTree, list[Problem]]:
    """Check a raw tree; the tree is only meaningful when no problem came back."""
    problems: list[Problem] = []
    if not raw.pools:
        problems.append(Problem(raw.source, None, "pools", "(none)", "at least one pool"))
    pools = tuple(_check_pool(pool, raw.source, problems) for pool in raw.pools)
    _names(raw, problems)
    return PoolTree(pools, raw.source), problems


def flattened_problems(flat: Flattened, source: str) -> list[Problem]:
    """Limits only the flattened pools can break: a leaf's minShare after its parents' parts are added."""
    return [
        Problem(source, _where(leaf.path), "minShare (with its parents' parts)", leaf.min_share, f"at most {MAX_INT}")
        for leaf in flat.leaves
        if leaf.min_share > MAX_INT
    ]


def capacity_warnings(flat: Flattened, cores: int | None, source: str) -> list[Problem]:
    """minShares the cluster cannot honour all at once: a warning with both numbers."""
    total = flat.min_share_total()
    if cores is None or total <= cores:
        return []
    text = (
        f"minShare total = {total} is more than the cluster's {cores} cores; "
        "pools below their minShare all claim slots before any weight counts"
    )
    return [Problem(source, None, "minShare", total, text, warning=True)]
