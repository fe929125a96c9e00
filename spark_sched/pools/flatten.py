"""Hierarchy -> the one level of pools Spark reads, with integer weights and minShares.

The rule, in full:

* **Share.** A top-level pool's share of the cluster is its weight over the sum
  of the top-level weights; a child's share is its parent's share times its
  weight over the sum of its siblings' weights. Only leaves become Spark pools.
* **Weights.** Spark's weights are JVM Ints and Spark's FAIR comparator only
  compares runningTasks/weight, so any weights proportional to the leaf shares
  give the same order. A flat file keeps its weights as written. A nested one
  gets the smallest integers exactly proportional to the shares (common
  denominator = lcm of the shares' denominators, divided by the gcd of the
  results). Only if those exceed `WEIGHT_LIMIT` are the shares scaled to it and
  rounded (every weight at least 1); `Flattened.max_error` then says by how much
  a leaf's share moved (0.0 when exact).
* **minShare.** A parent's minShare is split among its children in proportion
  to their weights, rounded by largest remainder (ties to the earlier child), and
  added to each child's own minShare, down to the leaves. The leaves' minShares
  therefore sum to all the minShares written in the tree.

What this cannot express: Spark shares among leaves only, so a slot an idle
leaf leaves unused goes to *all* busy leaves by weight, not to its siblings
first. With etl{alice, bob} and adhoc{carol} all weight 1 and bob idle, a true
hierarchy gives alice 1/2 and carol 1/2; the flattened pools give alice 1/3
(weight 1) and carol 2/3 (weight 2). The `pools` bench measures this
(`hierarchy_idle_bob`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from spark_sched.pools.model import Pool, PoolTree

WEIGHT_LIMIT = 1_000_000


@dataclass(frozen=True)
class LeafPool:
    """One Spark pool after flattening: its path in the tree, the share the tree implies, Spark's settings."""

    name: str
    path: tuple[str, ...]
    mode: str
    weight: int
    min_share: int
    share: Fraction


@dataclass(frozen=True)
class Flattened:
    """The leaves Spark gets, and how exactly their integer weights carry the tree's shares."""

    leaves: tuple[LeafPool, ...]
    exact: bool
    max_error: float

    def shares(self) -> dict[str, float]:
        """Each leaf's share of the cluster as the tree defines it (sums to 1)."""
        return {leaf.name: float(leaf.share) for leaf in self.leaves}

    def weight_shares(self) -> dict[str, float]:
        """Each leaf's share as Spark's weights give it (equal to `shares()` when exact)."""
        total = sum(leaf.weight for leaf in self.leaves)
        return {leaf.name: leaf.weight / total for leaf in self.leaves}

    def min_share_total(self) -> int:
        return sum(leaf.min_share for leaf in self.leaves)

    def as_tree(self, source: str = "") -> PoolTree:
        """The flat tree Spark will see (what parsing the rendered XML gives back)."""
        pools = tuple(Pool(leaf.name, leaf.mode, leaf.weight, leaf.min_share) for leaf in self.leaves)
        return PoolTree(pools, source)


def leaf_shares(tree: PoolTree) -> dict[tuple[str, ...], Fraction]:
    """Exact share of every leaf, by path."""
    shares: dict[tuple[str, ...], Fraction] = {}

    def visit(pools: tuple[Pool, ...], parents: tuple[str, ...], share: Fraction) -> None:
        total = sum(p.weight for p in pools)
        for pool in pools:
            own = share * Fraction(pool.weight, total)
            path = (*parents, pool.name)
            if pool.is_leaf:
                shares[path] = own
            else:
                visit(pool.children, path, own)

    if tree.pools:
        visit(tree.pools, (), Fraction(1))
    return shares


def split_min_share(total: int, weights: list[int]) -> list[int]:
    """`total` split in proportion to `weights`, rounded by largest remainder (ties to the earlier one)."""
    whole = sum(weights)
    if total == 0 or whole == 0:
        return [0] * len(weights)
    quotas = [Fraction(total * w, whole) for w in weights]
    parts = [math.floor(q) for q in quotas]
    order = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - parts[i]), i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def leaf_min_shares(tree: PoolTree) -> dict[tuple[str, ...], int]:
    """Every leaf's minShare: its own plus its part of its ancestors' (see the module's rule)."""
    result: dict[tuple[str, ...], int] = {}

    def visit(pools: tuple[Pool, ...], parents: tuple[str, ...], inherited: int) -> None:
        parts = split_min_share(inherited, [p.weight for p in pools])
        for pool, part in zip(pools, parts, strict=True):
            path = (*parents, pool.name)
            if pool.is_leaf:
                result[path] = pool.min_share + part
            else:
                visit(pool.children, path, pool.min_share + part)

    visit(tree.pools, (), 0)
    return result


def integer_weights(shares: list[Fraction]) -> tuple[list[int], bool]:
    """Smallest integers proportional to `shares`, or a rounded scale to WEIGHT_LIMIT; and whether exact."""
    if not shares:
        return [], True
    common = math.lcm(*(s.denominator for s in shares))
    exact = [int(s * common) for s in shares]
    divisor = math.gcd(*exact)
    weights = [w // divisor for w in exact]
    if max(weights) <= WEIGHT_LIMIT:
        return weights, True
    scale = WEIGHT_LIMIT / max(shares)
    return [max(1, round(float(s) * scale)) for s in shares], False


def flatten(tree: PoolTree) -> Flattened:
    """The tree as Spark's one level of pools (see the module docstring for the rule)."""
    shares = leaf_shares(tree)
    mins = leaf_min_shares(tree)
    leaves = tree.leaves()
    if all(len(path) == 1 for path, _ in leaves):
        weights, exact = [pool.weight for _, pool in leaves], True
    else:
        weights, exact = integer_weights([shares[path] for path, _ in leaves])
    result = tuple(
        LeafPool(pool.name, path, pool.mode, weight, mins[path], shares[path])
        for (path, pool), weight in zip(leaves, weights, strict=True)
    )
    total = sum(weights)
    error = max((abs(w / total - float(leaf.share)) for w, leaf in zip(weights, result, strict=True)), default=0.0)
    return Flattened(result, exact, 0.0 if exact else error)
