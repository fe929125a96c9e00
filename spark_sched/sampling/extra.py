"""The intermediate stage's two choices under the sampling rule: which M upstream blocks, and when K outputs can do.

The M = ceil(K(1 + extra)) upstream blocks must leave room to pick K outputs
that meet the rule, and the K outputs must meet it: with per-stratum counts
each stratum gets its own extra blocks, and the outputs are picked only once
every stratum has its count among the finished ones (not merely K finished in
all, which let a fast stratum crowd out a slow one). With `min_per_class`, the
counts kept are those of every locality class in the K-block input choice, so
the outputs used carry the design an estimate weighs by (`design`); which of a
class's finished outputs are used still follows finish order and cross-rack
skew, not chance (see docs/sampling.md).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence

from spark_sched.sampling.blocks import Block
from spark_sched.sampling.design import Design, design_of, locality_class
from spark_sched.sampling.errors import SamplingError
from spark_sched.sampling.rules import ClassCounts, Predicate, SamplingRule, Stratified, Uniform


def grow(counts: Mapping[Hashable, int], room: Mapping[Hashable, int], extra_blocks: int) -> dict[Hashable, int]:
    """`counts` plus `extra_blocks` more, each to the group furthest below its share, never past its `room`."""
    grown = dict(counts)
    total = sum(counts.values()) or 1
    for _ in range(extra_blocks):
        open_groups = [g for g in grown if grown[g] < room.get(g, 0)]
        if not open_groups:
            break
        target = sum(grown.values()) + 1
        group = max(open_groups, key=lambda g: (counts[g] * target / total - grown[g], counts[g]))
        grown[group] += 1
    return grown


def upstream_rule(rule: SamplingRule, blocks: Sequence[Block], k: int, extra: float,
                  base: Design | None = None) -> tuple[SamplingRule, int, SamplingRule]:
    """(rule for the M upstream blocks, M, rule for the K outputs picked among them).

    `base`, the design of a K-block input choice with `min_per_class`, fixes every class's count.
    """
    m = min(len(blocks), math.ceil(k * (1 + extra)))
    if base is not None:
        counts = base.counts()
        class_of = {b.id: locality_class(b, rule.group_of(b)) for b in blocks}
        grown = grow(counts, base.sizes, m - k)
        return ClassCounts(grown, class_of), sum(grown.values()), ClassCounts(counts, class_of)
    if isinstance(rule, Stratified):
        have: dict[Hashable, int] = {}
        for b in blocks:
            have[b.stratum] = have.get(b.stratum, 0) + 1
        grown = {s: min(have.get(s, 0), math.ceil(c * (1 + extra))) for s, c in rule.counts.items()}
        return Stratified(grown), sum(grown.values()), rule
    return Uniform(), m, rule


def can_meet(rule: SamplingRule, blocks: Sequence[Block], k: int) -> bool:
    """Whether K of `blocks` can meet the rule's counts (finished outputs: pick now; alive ones: still possible)."""
    if len(blocks) < k:
        return False
    try:
        rule.quotas(blocks, k)
    except SamplingError:
        return False
    return True


def used_design(rule: SamplingRule, blocks: Sequence[Block], used: Sequence[int], min_per_class: int) -> Design | None:
    """The design of the outputs used, over all N blocks' classes (None for a callable rule)."""
    if isinstance(rule, Predicate):
        return None
    group_of: dict[int, Hashable] = {b.id: rule.group_of(b) for b in blocks}
    return design_of(blocks, used, group_of, min_per_class)

