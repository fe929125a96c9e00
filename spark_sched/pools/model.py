"""The pool tree: what a pool file says, once it has been read and checked.

Spark's own pools are one level deep (`<allocations><pool .../></allocations>`);
this tree may nest. A parent pool's share of the cluster is split among its
children by weight; only leaves receive jobs. `flatten.py` turns the tree into
the one level Spark understands.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from spark_sched.errors import SparkSchedError, printable

FAIR = "FAIR"
FIFO = "FIFO"
MODES = (FAIR, FIFO)
DEFAULT_POOL = "default"  # Spark adds this pool when the file does not declare it
MAX_INT = 2**31 - 1  # Spark parses weight and minShare as a JVM Int
FIELDS = ("mode", "weight", "minShare")


@dataclass(frozen=True)
class Pool:
    """One pool: Spark's three settings plus children (a leaf has none).

    `mode` orders the jobs inside a leaf (Spark's FIFO or FAIR); a parent always
    shares FAIRly among its children, since weights are all flattening can carry.
    """

    name: str
    mode: str = FIFO
    weight: int = 1
    min_share: int = 0
    children: tuple[Pool, ...] = ()

    @property
    def is_leaf(self) -> bool:
        return not self.children


@dataclass(frozen=True)
class PoolTree:
    """The root's children, in file order, and the file they came from."""

    pools: tuple[Pool, ...] = ()
    source: str = ""

    def walk(self) -> Iterator[tuple[tuple[str, ...], Pool]]:
        """Every pool with its path from the root (parents before children)."""

        def visit(pool: Pool, parents: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Pool]]:
            path = (*parents, pool.name)
            yield path, pool
            for child in pool.children:
                yield from visit(child, path)

        for top in self.pools:
            yield from visit(top, ())

    def leaves(self) -> list[tuple[tuple[str, ...], Pool]]:
        """The pools jobs can run in, with their paths, in file order."""
        return [(path, pool) for path, pool in self.walk() if pool.is_leaf]

    def leaf_names(self) -> list[str]:
        return [pool.name for _, pool in self.leaves()]

    def same_pools(self, other: PoolTree) -> bool:
        """Equal trees, whatever file each came from."""
        return self.pools == other.pools


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a pool file, as one line: file, pool, field, value, what is allowed."""

    source: str
    pool: str | None
    field: str
    value: Any
    allowed: str
    warning: bool = False
    verdict: str = "is not valid"  # what is wrong with the value ("does not exist" for a missing file)

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        if self.warning:
            return printable(f"{where}warning: {self.allowed}")
        pool = f"pool {self.pool!r}: " if self.pool is not None else ""
        return printable(f"{where}{pool}{self.field} = {self.value!r} {self.verdict}; allowed: {self.allowed}")


@dataclass(frozen=True)
class RawPool:
    """A pool as read, before checking: values of any type, keys nobody knows, children.

    Readers (TOML, XML) produce these; `validate.py` checks them and builds `Pool`s,
    so that every problem in a file is reported at once rather than the first only.
    """

    name: Any
    path: tuple[str, ...]
    values: dict[str, Any] = field(default_factory=dict)
    unknown: dict[str, Any] = field(default_factory=dict)
    children: tuple[RawPool, ...] = ()


@dataclass(frozen=True)
class RawTree:
    pools: tuple[RawPool, ...]
    source: str


class PoolError(SparkSchedError):
    """A pool file or pool name that cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem] | str) -> None:
        self.problems = [] if isinstance(problems, str) else [p for p in problems if not p.warning]
        text = problems if isinstance(problems, str) else "\n".join(str(p) for p in self.problems)
        super().__init__(text)


def path_text(path: tuple[str, ...]) -> str:
    """How a pool's place in the tree is written in messages and comments: `etl/alice`."""
    return "/".join(str(part) for part in path)
