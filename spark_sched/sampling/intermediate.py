"""Intermediate stage: of the M upstream outputs that finished, the K that spread cross-rack traffic evenly.

Downstream tasks read every chosen output; a rack sends the part of its outputs
read by reducers in other racks and receives the part of other racks' outputs
its own reducers read. The slowest rack link (each uplink, each direction)
sets the downstream transfer time, so KMN minimises the cross-rack skew: the
most loaded directed uplink over the least loaded. The paper's heuristic deals
outputs round-robin across racks; when C(M, K) is small the chooser searches
every subset instead (and never does worse than round-robin).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

from spark_sched.sampling.blocks import Block
from spark_sched.sampling.errors import SamplingError
from spark_sched.sampling.rules import SamplingRule, Uniform

EXACT_LIMIT = 3000  # subsets searched exhaustively at most; above this, round-robin

GroupOf = Callable[["Output"], Hashable]


@dataclass(frozen=True)
class Output:
    """One finished upstream task: which block it read, where its output sits, how many bytes it holds."""

    id: int
    rack: str
    size: int
    host: str = ""
    stratum: Hashable = None

    def as_block(self) -> Block:
        return Block(self.id, (self.host,), self.size, self.stratum)


def link_loads(chosen: Sequence[Output], share: Mapping[str, float]) -> dict[tuple[str, str], float]:
    """Bytes on each rack uplink per direction when reducers in rack r read `share[r]` of every output."""
    total = sum(o.size for o in chosen)
    held = {rack: 0.0 for rack in share}
    for output in chosen:
        held[output.rack] = held.get(output.rack, 0.0) + output.size
    loads = {}
    for rack, bytes_here in held.items():
        f = share.get(rack, 0.0)
        loads[(rack, "out")] = bytes_here * (1.0 - f)
        loads[(rack, "in")] = (total - bytes_here) * f
    return loads


def skew(loads: Mapping[tuple[str, str], float]) -> float:
    """Most loaded directed uplink over the least loaded (1.0 when even or idle, inf when one link idles)."""
    values = list(loads.values())
    if not values or max(values) == 0:
        return 1.0
    return max(values) / min(values) if min(values) > 0 else math.inf


def transfer_seconds(loads: Mapping[tuple[str, str], float], uplink_bits: float) -> float:
    """How long the busiest uplink needs for its bytes: the downstream stage's network time."""
    return max(loads.values(), default=0.0) * 8.0 / uplink_bits


def ideal_seconds(total_bytes: float, share: Mapping[str, float], uplink_bits: float) -> float:
    """The transfer time of a perfectly balanced choice (each rack holding its reducers' share)."""
    worst = max((total_bytes * f * (1.0 - f) for f in share.values()), default=0.0)
    return worst * 8.0 / uplink_bits


def reducer_share(racks: Mapping[str, str]) -> dict[str, float]:
    """Each rack's share of the downstream reads: its share of the hosts."""
    counts: dict[str, int] = {}
    for rack in racks.values():
        counts[rack] = counts.get(rack, 0) + 1
    total = sum(counts.values()) or 1
    return {rack: n / total for rack, n in counts.items()}


def round_robin(outputs: Sequence[Output], k: int, quotas: Mapping[Hashable, int], group_of: GroupOf) -> list[Output]:
    """The paper's heuristic: deal outputs across racks in turn (in finish order), filling each group's quota."""
    by_rack: dict[str, list[Output]] = {}
    for output in outputs:
        by_rack.setdefault(output.rack, []).append(output)
    need = dict(quotas)
    picked: list[Output] = []
    racks = sorted(by_rack)
    while len(picked) < k:
        progressed = False
        for rack in racks:
            queue = by_rack[rack]
            pos = next((i for i, o in enumerate(queue) if need.get(group_of(o), 0) > 0), None)
            if pos is None or len(picked) == k:
                continue
            output = queue.pop(pos)
            need[group_of(output)] -= 1
            picked.append(output)
            progressed = True
        if not progressed:
            break
    return picked


def _objective(chosen: Sequence[Output], share: Mapping[str, float]) -> tuple[float, float]:
    loads = link_loads(chosen, share)
    return (skew(loads), max(loads.values(), default=0.0))


def choose_outputs(
    outputs: Sequence[Output],
    k: int,
    share: Mapping[str, float],
    rule: SamplingRule | None = None,
    exact_limit: int = EXACT_LIMIT,
) -> list[Output]:
    """K of the finished outputs, valid under `rule`, with the least cross-rack skew (exact when small)."""
    rule = rule or Uniform()
    if k > len(outputs):
        raise SamplingError("k (intermediate stage)", k, f"at most the {len(outputs)} finished upstream outputs")
    blocks = [o.as_block() for o in outputs]
    quotas = rule.quotas(blocks, k)

    def group_of(output: Output) -> Hashable:
        return rule.group_of(output.as_block())

    def valid(chosen: Sequence[Output]) -> bool:
        counts: dict[Hashable, int] = {}
        for o in chosen:
            counts[group_of(o)] = counts.get(group_of(o), 0) + 1
        return counts == {g: n for g, n in quotas.items() if n} and rule.accepts([o.as_block() for o in chosen])

    heuristic = round_robin(outputs, k, quotas, group_of)
    if math.comb(len(outputs), k) <= exact_limit:
        best = min((c for c in combinations(outputs, k) if valid(c)), key=lambda c: _objective(c, share), default=None)
        if best is not None:
            return list(best)
    elif len(heuristic) == k and valid(heuristic):
        return heuristic
    for candidate in combinations(outputs, k):  # a callable rule refused round-robin: first accepted in finish order
        if valid(candidate):
            return list(candidate)
    raise SamplingError("sampling", getattr(rule, "name", rule), f"a rule some {k} of the {len(outputs)} outputs meet")
