"""The readable pool file: TOML, one table per pool, child pools as nested tables.

```toml
[pools.etl]            # a parent: its share is split among its children by weight
weight = 1
minShare = 2

[pools.etl.alice]      # a leaf: jobs run here
mode = "FIFO"
weight = 1
```

Keys a pool may hold: `mode` (FAIR|FIFO), `weight` (whole number >= 1) and
`minShare` (whole number >= 0), Spark's own names; every table inside a pool is a
child pool. Anything else is refused, since it is most likely a typo.
"""

from __future__ import annotations

import re
from typing import Any

from spark_sched.pools.model import FIELDS, Pool, PoolTree, Problem, RawPool, RawTree, path_text
from spark_sched.tomlread import TomlError, loads

TOP_KEY = "pools"
FIELD_KEYS = {"mode": "mode", "weight": "weight", "minShare": "min_share"}
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
ALLOWED_KEYS = "mode, weight, minShare, or a [child] table"
# Deeper trees are refused rather than walked: each level halves a share, and Python's recursion has a floor.
MAX_DEPTH = 32


def parse_toml(text: str, source: str) -> tuple[RawTree, list[Problem]]:
    """Read a TOML pool file into raw pools; structural problems (syntax, stray keys) come back as a list."""
    try:
        data = loads(text)
    except TomlError as exc:
        return RawTree((), source), [Problem(source, None, "TOML syntax", str(exc), "valid TOML")]
    problems = [
        Problem(source, None, key, value, f"a [{TOP_KEY}] table holding the pools")
        for key, value in data.items()
        if key != TOP_KEY
    ]
    top = data.get(TOP_KEY, {})
    if not isinstance(top, dict):
        problems.append(Problem(source, None, TOP_KEY, top, "a table of pools"))
        return RawTree((), source), problems
    pools = tuple(_pool(name, body, (), source, problems) for name, body in top.items())
    return RawTree(pools, source), problems


def _pool(name: str, body: Any, parents: tuple[str, ...], source: str, problems: list[Problem]) -> RawPool:
    path = (*parents, name)
    if len(path) > MAX_DEPTH:
        depth = f"{len(path)} levels or more"
        problems.append(Problem(source, path_text(path[:MAX_DEPTH]), "depth", depth, f"at most {MAX_DEPTH} levels"))
        return RawPool(name, path)
    if not isinstance(body, dict):
        problems.append(Problem(source, path_text(path), "pool", body, f"a table ([{TOP_KEY}.{'.'.join(path)}])"))
        return RawPool(name, path)
    for key in (k for k, v in body.items() if k in FIELD_KEYS and isinstance(v, dict)):
        allowed = f"a child pool name other than {', '.join(FIELD_KEYS)} (those keys are settings)"
        problems.append(Problem(source, path_text((*path, key)), "name", key, allowed))
    values = {FIELD_KEYS[k]: v for k, v in body.items() if k in FIELD_KEYS and not isinstance(v, dict)}
    unknown = {k: v for k, v in body.items() if k not in FIELD_KEYS and not isinstance(v, dict)}
    children = tuple(_pool(k, v, path, source, problems) for k, v in body.items() if isinstance(v, dict))
    return RawPool(name, path, values, unknown, children)


def _key(name: str) -> str:
    """A TOML key: bare when it can be, else a basic string (names are printable, so only \\ and " need escapes)."""
    if _BARE_KEY.fullmatch(name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dump_toml(tree: PoolTree, header: str = "") -> str:
    """The tree as a pool file (every setting written out), parents before children."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    for path, pool in tree.walk():
        if lines:
            lines.append("")
        lines.append(f"[{TOP_KEY}.{'.'.join(_key(part) for part in path)}]")
        lines.extend(_settings(pool))
    return "\n".join(lines) + "\n"


def _settings(pool: Pool) -> list[str]:
    values = {"mode": f'"{pool.mode}"', "weight": str(pool.weight), "minShare": str(pool.min_share)}
    return [f"{key} = {values[key]}" for key in FIELDS]
