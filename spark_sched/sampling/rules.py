"""Sampling rules: which K-subsets of the N blocks a job accepts.

A rule is a small object (like Spark's comparator policies): `quotas` splits the
K among groups of blocks (the chooser fills each group's quota), `accepts`
judges a whole subset. `"uniform"` is one group of K; `Stratified` gives each
stratum its own count; `Predicate` wraps a user callable that judges subsets;
`ClassCounts` fixes the count of every locality class (how the intermediate
stage keeps an input choice's design when it picks among extra upstream blocks).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from spark_sched.sampling.blocks import Block
from spark_sched.sampling.errors import SamplingError

RULE_NAMES = ("uniform",)
ALLOWED_RULES = "'uniform', a Stratified({stratum: count}) or a dict of counts, or a callable(blocks) -> bool"


class SamplingRule(Protocol):
    name: str

    def quotas(self, blocks: Sequence[Block], k: int) -> dict[Hashable, int]:
        """How many blocks each group must contribute (groups are `group_of` keys); raises if unmeetable."""
        ...

    def group_of(self, block: Block) -> Hashable: ...

    def accepts(self, chosen: Sequence[Block]) -> bool: ...


@dataclass(frozen=True)
class Uniform:
    """Any K of the N blocks."""

    name: str = "uniform"

    def quotas(self, blocks: Sequence[Block], k: int) -> dict[Hashable, int]:
        return {None: k}

    def group_of(self, block: Block) -> Hashable:
        return None

    def accepts(self, chosen: Sequence[Block]) -> bool:
        return True


@dataclass(frozen=True)
class Stratified:
    """Exactly `counts[s]` blocks of each stratum s (blocks carry their stratum); counts sum to K."""

    counts: Mapping[Hashable, int]
    name: str = "stratified"

    def quotas(self, blocks: Sequence[Block], k: int) -> dict[Hashable, int]:
        total = sum(self.counts.values())
        if total != k:
            raise SamplingError("sampling (stratified counts)", dict(self.counts), f"counts summing to k = {k}")
        have: dict[Hashable, int] = {}
        for block in blocks:
            have[block.stratum] = have.get(block.stratum, 0) + 1
        for stratum, count in self.counts.items():
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                raise SamplingError(f"sampling count of stratum {stratum!r}", count, "a whole number >= 0")
            if stratum not in have:
                raise SamplingError("sampling stratum", stratum, f"a stratum of the source ({_strata(have)})")
            if count > have.get(stratum, 0):
                raise SamplingError(
                    f"sampling count of stratum {stratum!r}", count,
                    f"at most the {have.get(stratum, 0)} blocks that stratum has (strata: {_strata(have)})",
                )
        return dict(self.counts)

    def group_of(self, block: Block) -> Hashable:
        return block.stratum

    def accepts(self, chosen: Sequence[Block]) -> bool:
        got: dict[Hashable, int] = {}
        for block in chosen:
            got[block.stratum] = got.get(block.stratum, 0) + 1
        return all(got.get(s, 0) == c for s, c in self.counts.items()) and set(got) <= set(self.counts)


@dataclass(frozen=True)
class ClassCounts:
    """Exactly `counts[c]` blocks of every group c, a block's group read from `group_of_id` by its id.

    Used for the extra upstream blocks and the K outputs of the intermediate stage: the groups are
    the locality classes of the input choice (each inside one stratum), so any choice it accepts keeps
    the stratum counts, and the class counts a design-based estimate weighs by.
    """

    counts: Mapping[Hashable, int]
    group_of_id: Mapping[int, Hashable] = field(compare=False)
    name: str = "stratified"

    def quotas(self, blocks: Sequence[Block], k: int) -> dict[Hashable, int]:
        have: dict[Hashable, int] = {}
        for block in blocks:
            have[self.group_of(block)] = have.get(self.group_of(block), 0) + 1
        for group, count in self.counts.items():
            if count > have.get(group, 0):
                raise SamplingError(f"blocks of locality class {group!r}", have.get(group, 0), f"at least {count}")
        return dict(self.counts)

    def group_of(self, block: Block) -> Hashable:
        return self.group_of_id.get(block.id)

    def accepts(self, chosen: Sequence[Block]) -> bool:
        got: dict[Hashable, int] = {}
        for block in chosen:
            got[self.group_of(block)] = got.get(self.group_of(block), 0) + 1
        return all(got.get(g, 0) == c for g, c in self.counts.items()) and set(got) <= set(self.counts)


@dataclass(frozen=True)
class Predicate:
    """A user callable judging a whole subset: the chooser returns its best subset the callable accepts."""

    check: Callable[[Sequence[Block]], bool] = field(compare=False)
    name: str = "callable"

    def quotas(self, blocks: Sequence[Block], k: int) -> dict[Hashable, int]:
        return {None: k}

    def group_of(self, block: Block) -> Hashable:
        return None

    def accepts(self, chosen: Sequence[Block]) -> bool:
        return bool(self.check(list(chosen)))


def _strata(have: Mapping[Hashable, int]) -> str:
    return ", ".join(f"{s!r}: {n}" for s, n in have.items()) or "none"


def resolve_rule(sampling: Any) -> SamplingRule:
    """`"uniform"`, a rule object, a dict of stratum counts, or a callable -> a rule; anything else is refused."""
    if isinstance(sampling, str):
        if sampling == "uniform":
            return Uniform()
        raise SamplingError("sampling", sampling, ALLOWED_RULES)
    if isinstance(sampling, (Uniform, Stratified, Predicate, ClassCounts)):
        return sampling
    if isinstance(sampling, Mapping):
        return Stratified(dict(sampling))
    if callable(sampling):
        return Predicate(sampling)
    raise SamplingError("sampling", sampling, ALLOWED_RULES)


def check_k(k: Any, n: int) -> int:
    """K must be a whole number with 1 <= K <= N (and the source must not be empty)."""
    if n == 0:
        raise SamplingError("source", "no blocks", "a source with at least one block")
    if not isinstance(k, int) or isinstance(k, bool):
        raise SamplingError("k", k, f"a whole number from 1 to N = {n}")
    if k <= 0 or k > n:
        raise SamplingError("k", k, f"1 <= k <= N = {n} (the source has {n} blocks)")
    return k


def check_min_per_class(value: Any) -> int:
    """`min_per_class` must be a whole number >= 0 (0: KMN's choice is not bound to cover every class)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise SamplingError("min_per_class", value, "a whole number >= 0 (2 for an estimate with an interval)")
    return value


def check_extra(extra: Any) -> float:
    """`extra`, the share of extra upstream tasks: a number from 0 to 10."""
    if isinstance(extra, bool) or not isinstance(extra, (int, float)) or not 0 <= extra <= 10:
        raise SamplingError("extra", extra, "a number from 0 to 10 (the share of extra upstream tasks, e.g. 0.05)")
    return float(extra)


def check_request(blocks: Sequence[Block], k: Any, sampling: Any, extra: Any = 0.0,
                  min_per_class: Any = 0) -> SamplingRule:
    """Every check that needs no cluster: K against N, the rule against the blocks' strata, extra, the floor.

    A job can call it on its block count and strata before caching or running anything, so settings
    that cannot work end with one error before any Spark job. Locality classes are known only once the
    blocks have locations; `choose_input` checks the floor against them, still before any job of KMN's.
    """
    rule = resolve_rule(sampling)
    check_extra(extra)
    per_class = check_min_per_class(min_per_class)
    check_k(k, len(blocks))
    quotas = rule.quotas(blocks, k)
    if per_class and isinstance(rule, Predicate):
        raise SamplingError("min_per_class", per_class, "0 with a callable sampling rule")
    for group, count in quotas.items():
        members = sum(1 for b in blocks if rule.group_of(b) == group)
        if 0 < count < min(per_class, members):
            where = "k" if group is None else f"sampling count of stratum {group!r}"
            raise SamplingError(f"{where} (with min_per_class {per_class})", count,
                                f"at least {min(per_class, members)} (every locality class needs {per_class} blocks)")
    return rule
