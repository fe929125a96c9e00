"""Sampling rules: which K-subsets of the N blocks a job accepts.

A rule is a small object (like Spark's comparator policies): `quotas` splits the
K among groups of blocks (the chooser fills each group's quota), `accepts`
judges a whole subset. `"uniform"` is one group of K; `Stratified` gives each
stratum its own count; `Predicate` wraps a user callable that judges subsets.
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
    if isinstance(sampling, (Uniform, Stratified, Predicate)):
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
