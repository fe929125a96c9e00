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
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_flow

from spark_sched.sampling.blocks import Block
from spark_sched.sampling.errors import SamplingError
from spark_sched.sampling.rules import SamplingRule, Uniform
from spark_sched.sampling.snapshot import ClusterSnapshot

SWAP_BUDGET = 5000  # subsets a callable rule may be asked about before the chooser gives up


@dataclass(frozen=True)
class InputChoice:
    """The chosen block ids, where each was expected to run (None: no free local slot), and how long it took."""

    chosen: tuple[int, ...]
    placement: dict[int, str | None] = field(default_factory=dict)
    decision_ms: float = 0.0
    seed: int = 0

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
          matched: dict[int, str]) -> list[int]:
    """Positions completing each group's quota (blocks that cannot start locally now), spreading their reads.

    Passes over the (shuffled) blocks take one whose least-loaded replica host carries at most `level`
    chosen blocks, raising `level` after each pass: reads spread over replica hosts without scoring all N.
    """
    load: dict[str, int] = {}
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
            host = min(block.hosts or ("",), key=lambda h: load.get(h, 0))
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


def choose_input(
    blocks: Sequence[Block], k: int, snap: ClusterSnapshot, rule: SamplingRule | None = None, seed: int = 0
) -> InputChoice:
    """The K blocks (valid under `rule`) that let the most tasks start now on a free local slot."""
    from spark_sched.sampling.rules import check_k

    started = time.perf_counter()
    rule = rule or Uniform()
    check_k(k, len(blocks))
    quotas = rule.quotas(blocks, k)
    order = np.random.default_rng(seed).permutation(len(blocks))
    shuffled = [blocks[int(i)] for i in order]
    matched = _matched(shuffled, quotas, rule, snap)
    positions = list(matched) + _fill(shuffled, quotas, rule, snap, matched)
    positions = _accepted(shuffled, positions, rule, seed)
    placement = {shuffled[p].id: matched.get(p) for p in positions}
    elapsed = (time.perf_counter() - started) * 1000
    return InputChoice(tuple(sorted(placement)), placement, elapsed, seed)
