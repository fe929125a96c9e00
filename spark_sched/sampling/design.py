"""The sampling design behind a KMN choice: which blocks the chooser could not tell apart, and how many it took.

KMN picks blocks by where they sit and which slots are free, not at random, so
an estimate cannot treat the K blocks as a simple random sample: when the
data's values follow its placement (sorted data cached in order, one host's
blocks all from one day), the blocks on busy hosts are never read and the
estimate is biased. What makes a valid estimate possible is that the chooser
sees nothing of a block but its replica hosts and its stratum, and it shuffles
the blocks with the seed before choosing. Call blocks with the same (stratum,
replica hosts) a *locality class*. The chooser cannot tell two blocks of one
class apart, so, whatever it decides about how many blocks n_c to take from
class c (that depends on free slots, never on values), which n_c it takes is a
uniformly random n_c-subset of the class's N_c blocks. The choice is therefore
a stratified random sample with the classes as strata (Cochran, *Sampling
Techniques*, 3rd ed., 1977, ch. 5): block i of class c is in the sample with
probability n_c / N_c, and the stratified (Horvitz-Thompson) estimator with
weights N_c / n_c is unbiased, provided every class is sampled (n_c >= 1) and,
for its variance, n_c >= 2 wherever N_c > 1. `min_per_class` makes the chooser
take at least that many blocks of every class (the bound on how far its choice
may depart from uniform); this module records the classes and counts.

This holds for the "uniform" and per-stratum rules. A callable rule sees block
ids, so its choice may depend on more than the class: no design is recorded.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from spark_sched.sampling.blocks import Block

ClassKey = tuple[Hashable, frozenset[str]]


def locality_class(block: Block, group: Hashable) -> ClassKey:
    """(group under the sampling rule, set of replica hosts): all the chooser knows of a block.

    The set, not the order: the chooser's flow network keeps each row's edges sorted, and its
    tie-breaks compare host names, so the order Spark lists replicas in changes nothing.
    """
    return (group, frozenset(block.hosts))


@dataclass(frozen=True)
class Design:
    """The stratified design of one choice: each class's size N_c and the class of every chosen block.

    `weight(id)` is N_c / n_c, the number of blocks of its class each chosen block stands for.
    """

    sizes: Mapping[ClassKey, int]
    class_of: Mapping[int, ClassKey]
    min_per_class: int = 0

    def counts(self) -> dict[ClassKey, int]:
        """n_c: chosen blocks per class (0 for a class the choice skipped)."""
        got = dict.fromkeys(self.sizes, 0)
        for key in self.class_of.values():
            got[key] += 1
        return got

    def missing(self) -> list[ClassKey]:
        """Classes with no chosen block: their blocks had probability 0, so no estimate is unbiased."""
        return [key for key, n in self.counts().items() if n == 0]

    def weight(self, block_id: int) -> float:
        key = self.class_of[block_id]
        return self.sizes[key] / self.counts()[key]

    def restricted(self, ids: Iterable[int]) -> Design:
        """The same classes with only `ids` chosen (the outputs an intermediate stage used)."""
        keep = set(ids)
        return Design(self.sizes, {i: c for i, c in self.class_of.items() if i in keep}, self.min_per_class)


def design_of(blocks: Sequence[Block], chosen: Iterable[int], group_of: Mapping[int, Hashable],
              min_per_class: int = 0) -> Design:
    """The design of choosing `chosen` from `blocks` (`group_of`: block id -> group under the rule)."""
    key_of = {b.id: (group_of[b.id], frozenset(b.hosts)) for b in blocks}
    sizes: dict[ClassKey, int] = {}
    for key in key_of.values():
        sizes[key] = sizes.get(key, 0) + 1
    return Design(sizes, {i: key_of[i] for i in chosen}, min_per_class)
