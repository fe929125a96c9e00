"""`any_k_of_n`: choose the K blocks that suit the cluster now, run only those, and record the choice in job tags.

Input stage only (no `downstream`): the chooser's K blocks run as one job,
`SparkContext.runJob(rdd, fn, partitions=chosen)`. With `downstream`, KMN's
intermediate stage too: M = ceil(K(1 + extra)) upstream tasks (`fn` over M
chosen blocks, outputs cached where they ran); once K have finished, the K
outputs with the least cross-rack skew are picked (waiting for more only while
the straggler bound says it can pay), the rest are cancelled by job tag, and
`downstream` gets an RDD of exactly the K picked outputs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyspark import RDD, StorageLevel

from spark_sched.jobscope import job_scope
from spark_sched.sampling.blocks import Block, BlockSource
from spark_sched.sampling.cached import CachedBlocks
from spark_sched.sampling.design import Design
from spark_sched.sampling.errors import SamplingError
from spark_sched.sampling.extra import can_meet, upstream_rule, used_design
from spark_sched.sampling.intermediate import (
    Output,
    link_loads,
    reducer_share,
    skew,
)
from spark_sched.sampling.matching import InputChoice, choose_input
from spark_sched.sampling.rules import SamplingRule, check_extra, check_k, check_min_per_class, resolve_rule
from spark_sched.sampling.snapshot import ClusterSnapshot, snapshot
from spark_sched.sampling.spark_rdd import locations, prune
from spark_sched.sampling.straggler import StragglerBound, pick_outputs
from spark_sched.sampling.tags import decision_tags, new_tag
from spark_sched.sampling.upstream import UpstreamJobs

DEFAULT_EXTRA = 0.05
POLL_S = 0.02
PartitionFn = Callable[[Iterable[Any]], Iterable[Any]]


@dataclass
class KmnRun:
    """What ran: the blocks read, the outputs fed downstream, where tasks were expected, and the result."""

    tag: str
    result: Any
    chosen: tuple[int, ...]
    used: tuple[int, ...]
    placement: dict[int, str | None]
    decision_ms: float
    seed: int
    rule: str
    expected_skew: float = 1.0
    waited_ms: float = 0.0
    cancelled: tuple[int, ...] = ()  # upstream blocks whose jobs were cancelled (their task time: Spark's records)
    unused_ms: float = 0.0  # wall time of upstream jobs that finished but were not picked
    timings: dict[str, float] = field(default_factory=dict)
    design: Design | None = None  # the classes and counts behind `used`, for `spark_sched.sampling.estimate`

    @property
    def local_expected(self) -> int:
        return sum(1 for host in self.placement.values() if host is not None)


def as_source(source: Any) -> BlockSource:
    """An RDD or DataFrame becomes CachedBlocks; a source with `blocks()` and `to_rdd(sc)` is used as is."""
    if hasattr(source, "blocks") and hasattr(source, "to_rdd"):
        return source
    if isinstance(source, RDD) or hasattr(source, "rdd"):
        return CachedBlocks(source)
    raise SamplingError("source", type(source).__name__, "an RDD, a DataFrame, CachedBlocks(...) or HostFiles(...)")


def _session(spark: Any) -> Any:
    from pyspark.sql import SparkSession

    spark = spark or SparkSession.getActiveSession()
    if spark is None:
        raise SamplingError("spark", None, "a running SparkSession (pass spark=... or start one)")
    return spark


def _check_extra(extra: Any) -> float:
    return check_extra(extra)


def any_k_of_n(
    source: Any,
    k: int,
    fn: PartitionFn,
    *,
    sampling: Any = "uniform",
    downstream: Callable[[RDD], Any] | None = None,
    extra: float = DEFAULT_EXTRA,
    spark: Any = None,
    seed: int = 0,
    topology: Any = None,
    racks: dict[str, str] | None = None,
    tag: str | None = None,
    straggler: StragglerBound | None = None,
    min_per_class: int = 0,
) -> KmnRun:
    """Run `fn` over the K of the N blocks of `source` that suit the cluster now (KMN).

    `fn` is a partition function (iterator of records -> iterable), as for
    `SparkContext.runJob`. `sampling` says which K-subsets are valid: "uniform",
    a dict / `Stratified` of per-stratum counts, or a callable judging a list of
    `Block`s. Without `downstream` the result is the list `runJob` returns; with
    it, `fn` is the upstream stage and the result is `downstream(rdd_of_K_outputs)`.
    The job tags `<tag>` (default `spark-sched-kmn-<id>`), `spark-sched-blocks-<ids>`
    (`upstream`/`outputs` for the two stages) and `spark-sched-seed-<seed>` record
    the decision; the same seed repeats it. `min_per_class` (2 for an estimate with an interval) makes
    the choice read that many blocks of every locality class, so `run.design` supports an unbiased
    estimate (`spark_sched.sampling.estimate`).
    """
    rule = resolve_rule(sampling)
    extra = _check_extra(extra)
    per_class = check_min_per_class(min_per_class)
    src = as_source(source)
    spark = _session(spark)
    blocks = src.blocks()
    check_k(k, len(blocks))
    rule.quotas(blocks, k)
    snap = snapshot(spark, topology, racks)
    tag = tag or new_tag()
    rdd = src.to_rdd(spark.sparkContext)  # type: ignore[attr-defined]
    if downstream is None:
        return _input_stage(rdd, blocks, k, fn, rule, snap, tag, seed, per_class)
    straggler = straggler or StragglerBound()
    return _two_stages(rdd, blocks, k, fn, downstream, rule, snap, tag, seed, extra, straggler, per_class)


def _input_stage(rdd: RDD, blocks: list[Block], k: int, fn: PartitionFn, rule: SamplingRule,
                 snap: ClusterSnapshot, tag: str, seed: int, per_class: int = 0) -> KmnRun:
    choice = choose_input(blocks, k, snap, rule, seed, per_class)
    sc = rdd.context
    started = time.monotonic()
    with job_scope(sc, tags=decision_tags(tag, "blocks", choice.chosen, seed)):
        result = sc.runJob(rdd, fn, partitions=list(choice.chosen))
    run_ms = (time.monotonic() - started) * 1000
    return KmnRun(tag, result, choice.chosen, choice.chosen, choice.placement, choice.decision_ms, seed, rule.name,
                  timings={"run_ms": run_ms}, design=choice.design)


def _outputs(up: RDD, ids: Sequence[int], blocks: list[Block], done: dict, snap: ClusterSnapshot) -> list[Output]:
    """Finished outputs in finish order, each with the host and rack that hold its cached copy."""
    hosts = locations(up)
    by_id = {b.id: b for b in blocks}
    ordered = sorted(done.values(), key=lambda f: f.finished)
    out = []
    for f in ordered:
        host = hosts[f.position][0] if hosts[f.position] else ""
        block = by_id[ids[f.position]]
        out.append(Output(block.id, snap.rack(host), max(1, f.size), host, block.stratum))
    return out


def _two_stages(rdd: RDD, blocks: list[Block], k: int, fn: PartitionFn, downstream: Callable[[RDD], Any],
                rule: SamplingRule, snap: ClusterSnapshot, tag: str, seed: int, extra: float,
                straggler: StragglerBound, per_class: int = 0) -> KmnRun:
    base = choose_input(blocks, k, snap, rule, seed, per_class).design if per_class else None
    first, m, last = upstream_rule(rule, blocks, k, extra, base)
    choice: InputChoice = choose_input(blocks, m, snap, first, seed)
    ids = list(choice.chosen)
    if m == k:  # nothing to choose among upstream outputs: one pipeline, as Spark would run it
        with job_scope(rdd.context, tags=decision_tags(tag, "blocks", ids, seed)):
            result = downstream(prune(rdd, ids).mapPartitions(fn))
        return KmnRun(tag, result, tuple(ids), tuple(ids), choice.placement, choice.decision_ms, seed, rule.name,
                      design=used_design(rule, blocks, ids, per_class))
    by_id = {b.id: b for b in blocks}
    up = prune(rdd, ids).mapPartitions(fn).persist(StorageLevel.MEMORY_ONLY)
    jobs = UpstreamJobs(up, decision_tags(tag, "upstream", ids, seed), f"{tag}-up")
    share = reducer_share(snap.racks)
    jobs.launch()
    t_k: float | None = None
    best: list[Output] = []
    try:
        while True:
            done, failed = jobs.snapshot()
            running = m - len(done) - len(failed)
            alive = [by_id[ids[p]] for p in range(m) if p not in failed]
            if not can_meet(last, alive, k):
                raise SamplingError("upstream tasks", f"{len(failed)} failed", f"at least {k} finishing, meeting the "
                                    f"sampling rule; first error: {next(iter(failed.values()), '?')}")
            if can_meet(last, [by_id[ids[p]] for p in done], k):  # every stratum (class) has its count finished
                t_k = t_k or time.monotonic()
                outputs = _outputs(up, ids, blocks, done, snap)
                pick = pick_outputs(outputs, k, share, last, snap.uplink_bits)
                best = pick.chosen
                if not straggler.keep_waiting(time.monotonic() - t_k, pick.transfer_s, pick.ideal_s, running):
                    break
            time.sleep(POLL_S)
        cancelled_at = jobs.cancel()
        waited = (cancelled_at - (t_k or cancelled_at)) * 1000
        done, failed = jobs.snapshot()
        used = sorted(o.id for o in best)
        positions = [ids.index(i) for i in used]
        with job_scope(rdd.context, tags=decision_tags(tag, "outputs", used, seed)):
            result = downstream(prune(up, positions))
    finally:
        jobs.cancel()
        jobs.join()
        up.unpersist(blocking=False)
    unused_ms = sum((f.finished - f.started) * 1000 for f in done.values() if ids[f.position] not in set(used))
    cancelled = tuple(sorted(ids[p] for p in range(m) if p not in done))
    return KmnRun(tag, result, tuple(ids), tuple(used), choice.placement, choice.decision_ms, seed, rule.name,
                  expected_skew=skew(link_loads(best, share)), waited_ms=waited, cancelled=cancelled,
                  unused_ms=unused_ms, design=used_design(rule, blocks, used, per_class))
