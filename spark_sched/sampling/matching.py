"""Input stage: which K of the N blocks let the most tasks start now on a free slot holding their data.

A maximum flow (scipy's `maximum_flow`, Dinic's algorithm in C) over
source -> group -> block -> host -> rack -> sink: a group edge carries the
rule's quota (one group of K for "uniform", one per stratum), a block edge 1,
block -> host exists where the host holds a replica and has a free slot, host ->
rack carries the host's free slots. Without the group and rack layers this is
the bipartite matching of blocks to free local slots; the group layer keeps
per-stratum counts exact, which plain matching cannot. Ties (many maximum
choices) are broken toward balance: the smallest per-host, then per-rack, cap
that still keeps the maximum is found by bisection and imposed. Blocks that
cannot be local fill the rest of each quota, read from the least-loaded
replicas. The block order is shuffled with `seed` first, so equal blocks are
not always the lowest ids, and a recorded seed repeats the choice.

The chooser reads nothing of a block but its group under the rule and the set
of its replica hosts, so within a locality class (same group, same
hosts) the shuffle alone decides which blocks are taken: the choice is a
stratified random sample over those classes (`design`). `min_per_class` first
takes that many blocks of every class (the first ones in the shuffled order,
so still at random within the class), so that every class is represented and
an estimate from the sample is unbiased with a variance that can be estimated;
the rest of each quota is chosen for locality as above.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import chain, repeat

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_flow

from spark_sched.sampling.blocks import Block
from spark_sched.sampling.design import ClassKey, Design, design_of, locality_class
from spark_sched.sampling.errors import SamplingError
from spark_sched.sampling.rules import Predicate, SamplingRule, Uniform
from spark_sched.sampling.snapshot import ClusterSnapshot

SWAP_BUDGET = 5000  # subsets a callable rule may be asked about before the chooser gives up


@dataclass(frozen=True)
class InputChoice:
    """The chosen block ids, where each was expected to run (None: no free local slot), how long it took,
    and the sampling design the choice amounts to (None for a callable rule)."""

    chosen: tuple[int, ...]
    placement: dict[int, str | None] = field(default_factory=dict)
    decision_ms: float = 0.0
    seed: int = 0
    rule: SamplingRule | None = field(default=None, repr=False)
    blocks: Sequence[Block] = field(default=(), repr=False)
    min_per_class: int = 0

    @cached_property
    def design(self) -> Design | None:
        """Locality classes and counts of the choice (worked out when asked: the decision does not need them)."""
        if self.rule is None or isinstance(self.rule, Predicate):
            return None
        group_of = {b.id: self.rule.group_of(b) for b in self.blocks}
        return design_of(self.blocks, self.chosen, group_of, self.min_per_class)

    @property
    def local(self) -> int:
        """How many chosen blocks were matched to a free slot on a host holding them."""
        return sum(1 for host in self.placement.values() if host is not None)


@dataclass
class _Graph:
    """The flow network in COO form; host and rack capacities are rewritten between solves."""

    rows: np.ndarray
    cols: np.ndarray
    caps: np.ndarray
    host_edges: slice
    rack_edges: slice
    size: int
    block_edge_rows: np.ndarray  # block position of each block -> host edge
    block_edges: slice
    first_block: int
    first_host: int
    matrix: csr_matrix = field(init=False)
    order: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        # One CSR layout for every solve; `order` maps its data slots back to edges, so a solve only copies caps.
        ids = np.arange(1, len(self.caps) + 1, dtype=np.int32)
        self.matrix = csr_matrix((ids, (self.rows, self.cols)), shape=(self.size, self.size), dtype=np.int32)
        self.order = self.matrix.data - 1

    def solve(self, flows: bool = False) -> tuple[int, np.ndarray]:
        """Max flow value and (with `flows`) the flow on each block -> host edge."""
        self.matrix.data = self.caps[self.order]
        result = maximum_flow(self.matrix, 0, self.size - 1)
        if not flows or self.block_edges.stop == self.block_edges.start:
            return int(result.flow_value), np.zeros(0, dtype=np.int64)
        flow = result.flow.tocsr()
        rows = self.rows[self.block_edges]
        cols = self.cols[self.block_edges]
        return int(result.flow_value), np.asarray(flow[rows, cols]).ravel()


def _build(blocks: Sequence[Block], quotas: dict[Hashable, int], rule: SamplingRule, snap: ClusterSnapshot) -> _Graph:
    groups = list(quotas)
    group_index = {g: i for i, g in enumerate(groups)}
    hosts = sorted(h for h, n in snap.free.items() if n > 0)
    racks = sorted({snap.rack(h) for h in hosts})
    rack_index = {r: i for i, r in enumerate(racks)}
    first_group, first_block = 1, 1 + len(groups)
    first_host = first_block + len(blocks)
    first_rack = first_host + len(hosts)
    sink = first_rack + len(racks)
    rows: list[np.ndarray] = [np.zeros(len(groups), dtype=np.int64)]
    cols = [np.arange(first_group, first_block)]
    caps = [np.array([quotas[g] for g in groups], dtype=np.int64)]
    if groups == [None]:
        member = np.zeros(len(blocks), dtype=np.int64)  # one group ("uniform", callable): no per-block lookup
    else:
        member = np.array([group_index.get(rule.group_of(b), -1) for b in blocks], dtype=np.int64)
    keep = np.flatnonzero(member >= 0)
    rows.append(first_group + member[keep])
    cols.append(first_block + keep)
    caps.append(np.ones(len(keep), dtype=np.int64))
    replicas = [b.hosts for b in blocks]
    owner = np.repeat(np.arange(len(blocks)), np.array(list(map(len, replicas)), dtype=np.int64))
    host_index = {h: i for i, h in enumerate(hosts)}
    flat = list(chain.from_iterable(replicas))
    where = np.array(list(map(host_index.get, flat, repeat(-1, len(flat)))), dtype=np.int64)
    pair = np.column_stack([owner[where >= 0], where[where >= 0]])  # duplicate replicas add up: the block cap is 1
    start = sum(len(r) for r in rows)
    rows.append(first_block + pair[:, 0])
    cols.append(first_host + pair[:, 1])
    caps.append(np.ones(len(pair), dtype=np.int64))
    block_edges = slice(start, start + len(pair))
    rows.append(first_host + np.arange(len(hosts)))
    cols.append(first_rack + np.array([rack_index[snap.rack(h)] for h in hosts], dtype=np.int64))
    caps.append(np.array([snap.free[h] for h in hosts], dtype=np.int64))
    host_edges = slice(block_edges.stop, block_edges.stop + len(hosts))
    rows.append(first_rack + np.arange(len(racks)))
    cols.append(np.full(len(racks), sink))
    caps.append(np.full(len(racks), sum(snap.free[h] for h in hosts), dtype=np.int64))
    rack_edges = slice(host_edges.stop, host_edges.stop + len(racks))
    return _Graph(np.concatenate(rows), np.concatenate(cols), np.concatenate(caps).astype(np.int32), host_edges,
                  rack_edges, sink + 1, pair[:, 0], block_edges, first_block, first_host)


MAX_BALANCE_SOLVES = 4  # flows per balancing step: the even cap, then a short gallop and bisection


def _smallest_cap(graph: _Graph, edges: slice, base: np.ndarray, lo: int, hi: int, best: int,
                  known: np.ndarray) -> np.ndarray:
    """Impose the smallest cap in [lo, hi] on `edges` (never above `base`) that keeps the flow at `best`.

    Gallops up from `lo` (the perfectly even cap, usually feasible or nearly), then bisects, within
    MAX_BALANCE_SOLVES flows; `hi` is known feasible, with flows `known`. Returns the imposed cap's flows.
    """
    solves = 0
    flows = {hi: known}

    def feasible(cap: int) -> bool:
        nonlocal solves
        solves += 1
        graph.caps[edges] = np.minimum(base, cap)
        value, flow = graph.solve(flows=True)
        if value == best:
            flows[cap] = flow
        return value == best

    step, below, top = 1, lo - 1, hi
    probe = lo
    while probe < hi and solves < MAX_BALANCE_SOLVES:
        if feasible(probe):
            top = probe
            break
        below, probe, step = probe, min(hi, probe + step), step * 2
    while below + 1 < top and solves < MAX_BALANCE_SOLVES:
        mid = (below + top) // 2
        if feasible(mid):
            top = mid
        else:
            below = mid
    graph.caps[edges] = np.minimum(base, top)
    return flows[top]


def _matched(blocks: Sequence[Block], quotas: dict[Hashable, int], rule: SamplingRule,
             snap: ClusterSnapshot) -> dict[int, str]:
    """Block position -> host for a maximum, balanced set of local placements."""
    graph = _build(blocks, quotas, rule, snap)
    best, flow = graph.solve(flows=True)
    if best == 0:
        return {}
    host_base = graph.caps[graph.host_edges].copy()
    flow = _smallest_cap(graph, graph.host_edges, host_base, 1, int(host_base.max()), best, flow)
    racks = graph.rack_edges.stop - graph.rack_edges.start
    rack_base = graph.caps[graph.rack_edges].copy()
    flow = _smallest_cap(graph, graph.rack_edges, rack_base, -(-best // racks), best, best, flow)
    hosts = sorted(h for h, n in snap.free.items() if n > 0)
    used = np.flatnonzero(flow > 0)
    host_cols = graph.cols[graph.block_edges][used] - graph.first_host
    return {int(graph.block_edge_rows[e]): hosts[int(c)] for e, c in zip(used, host_cols, strict=True)}


def _fill(blocks: Sequence[Block], quotas: dict[Hashable, int], rule: SamplingRule, snap: ClusterSnapshot,
          matched: dict[int, str], load: dict[str, int] | None = None) -> list[int]:
    """Positions completing each group's quota (blocks that cannot start locally now), spreading their reads.

    Passes over the (shuffled) blocks take one whose least-loaded replica host carries at most `level`
    chosen blocks, raising `level` after each pass: reads spread over replica hosts without scoring all N.
    """
    load = dict(load or {})
    for host in matched.values():
        load[host] = load.get(host, 0) + 1
    need = dict(quotas)
    for pos in matched:
        need[rule.group_of(blocks[pos])] -= 1
    picked: list[int] = []
    taken = set(matched)
    level = 0
    while any(n > 0 for n in need.values()):
        before = len(picked)
        for pos, block in enumerate(blocks):
            group = rule.group_of(block)
            if pos in taken or need.get(group, 0) <= 0:
                continue
            host = min(block.hosts or ("",), key=lambda h: (load.get(h, 0), h))
            if load.get(host, 0) > level:
                continue
            picked.append(pos)
            taken.add(pos)
            need[group] -= 1
            load[host] = load.get(host, 0) + 1
            if not any(n > 0 for n in need.values()):
                break
        if len(picked) == before and level > len(blocks):
            break
        level += 1
    return picked


def _accepted(blocks: Sequence[Block], best: list[int], rule: SamplingRule, seed: int) -> list[int]:
    """The best subset the rule accepts: the optimum, else single swaps from the back, else random subsets."""
    if rule.accepts([blocks[p] for p in best]):
        return best
    tries = 0
    outside = [p for p in range(len(blocks)) if p not in set(best)]
    for out in reversed(range(len(best))):
        for inn in outside:
            candidate = best[:out] + [inn] + best[out + 1:]
            tries += 1
            if rule.accepts([blocks[p] for p in candidate]):
                return candidate
            if tries >= SWAP_BUDGET // 2:
                break
        if tries >= SWAP_BUDGET // 2:
            break
    rng = np.random.default_rng(seed)
    for _ in range(SWAP_BUDGET // 2):
        candidate = sorted(int(p) for p in rng.choice(len(blocks), size=len(best), replace=False))
        if rule.accepts([blocks[p] for p in candidate]):
            return candidate
    raise SamplingError("sampling (callable rule)", getattr(rule, "name", "callable"),
                        f"a rule some {len(best)}-subset satisfies (none of {SWAP_BUDGET} subsets tried was accepted)")


def _floor(blocks: Sequence[Block], quotas: dict[Hashable, int], rule: SamplingRule, per_class: int) -> list[int]:
    """Positions of the first `per_class` blocks of every locality class in the (shuffled) order.

    Raises before anything runs when a group's quota cannot hold its classes' share.
    """
    taken: Counter[ClassKey] = Counter()
    picked: list[int] = []
    for pos, block in enumerate(blocks):
        group = rule.group_of(block)
        key = locality_class(block, group)
        if quotas.get(group, 0) > 0 and taken[key] < per_class:
            taken[key] += 1
            picked.append(pos)
    need = Counter(rule.group_of(blocks[p]) for p in picked)
    for group, n in need.items():
        if n > quotas[group]:
            classes = sum(1 for key in taken if key[0] == group)
            field_name = "k" if group is None else f"sampling count of stratum {group!r}"
            raise SamplingError(
                f"{field_name} (with min_per_class {per_class})", quotas[group],
                f"at least {n}: the {classes} locality classes (blocks with the same replica hosts"
                f"{'' if group is None else ' in this stratum'}) each need {per_class} blocks (fewer if a class has "
                "fewer) for an unbiased estimate with a variance; or min_per_class=0 (no interval guarantee)",
            )
    return picked


def _choose(blocks: Sequence[Block], quotas: dict[Hashable, int], rule: SamplingRule,
            snap: ClusterSnapshot) -> tuple[list[int], dict[int, str]]:
    """Positions meeting every quota, most of them local, and the host each local one was matched to."""
    matched = _matched(blocks, quotas, rule, snap)
    return list(matched) + _fill(blocks, quotas, rule, snap, matched), matched


def _choose_with_floor(blocks: Sequence[Block], quotas: dict[Hashable, int], rule: SamplingRule,
                       snap: ClusterSnapshot, per_class: int) -> tuple[list[int], dict[int, str]]:
    """`per_class` blocks of every class first (placed locally where slots allow), then the rest by locality."""
    forced = _floor(blocks, quotas, rule, per_class)
    forced_quotas = dict(Counter(rule.group_of(blocks[p]) for p in forced))
    placed = _matched([blocks[p] for p in forced], forced_quotas, rule, snap)
    matched = {forced[i]: host for i, host in placed.items()}
    used = Counter(matched.values())
    left = replace(snap, free={h: n - used.get(h, 0) for h, n in snap.free.items()})
    rest = sorted(set(range(len(blocks))) - set(forced))
    rest_quotas = {g: q - forced_quotas.get(g, 0) for g, q in quotas.items()}
    sub = [blocks[p] for p in rest]
    sub_matched = _matched(sub, rest_quotas, rule, left)
    sub_filled = _fill(sub, rest_quotas, rule, left, sub_matched, load=dict(used))
    matched.update({rest[i]: host for i, host in sub_matched.items()})
    return forced + [rest[i] for i in [*sub_matched, *sub_filled]], matched


def choose_input(
    blocks: Sequence[Block], k: int, snap: ClusterSnapshot, rule: SamplingRule | None = None, seed: int = 0,
    min_per_class: int = 0,
) -> InputChoice:
    """The K blocks (valid under `rule`) that let the most tasks start now on a free local slot.

    With `min_per_class` > 0, at least that many of every locality class (all of a smaller class) come
    first, so an estimate over the choice is unbiased (see `spark_sched.sampling.design`).
    """
    from spark_sched.sampling.rules import check_k, check_min_per_class

    started = time.perf_counter()
    rule = rule or Uniform()
    check_k(k, len(blocks))
    per_class = check_min_per_class(min_per_class)
    if per_class and isinstance(rule, Predicate):
        raise SamplingError("min_per_class", per_class, "0 with a callable sampling rule (a callable sees block ids, "
                            "so its choice is not random within locality classes)")
    quotas = rule.quotas(blocks, k)
    order = np.random.default_rng(seed).permutation(len(blocks))
    shuffled = [blocks[int(i)] for i in order]
    if per_class:
        positions, matched = _choose_with_floor(shuffled, quotas, rule, snap, per_class)
    else:
        positions, matched = _choose(shuffled, quotas, rule, snap)
    positions = _accepted(shuffled, positions, rule, seed)
    placement = {shuffled[p].id: matched.get(p) for p in positions}
    elapsed = (time.perf_counter() - started) * 1000
    return InputChoice(tuple(sorted(placement)), placement, elapsed, seed, rule, blocks, per_class)
