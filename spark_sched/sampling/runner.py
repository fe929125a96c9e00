"""`any_k_of_n`: choose the K blocks that suit the cluster now, run only those, and record the choice in job tags.

Input stage: the chooser's K blocks run as one job, `SparkContext.runJob(rdd,
fn, partitions=chosen)`. KMN's intermediate stage adds M = ceil(K(1 + extra))
upstream tasks, decided before launching (`decide`): only when the M tasks fit
the free local slots and what they can save exceeds what extra tasks
measurably cost; otherwise the K run as one pipeline. They can save the
transfer a better choice of outputs avoids and the wait for the slowest of K
that keeping the first K of M to finish avoids (`hedge`, from the upstream
task times this application has seen, which every run records in `history`).
When extra tasks run, they are ONE job of M tasks whose completions reach the
driver as they finish (`completions`); the first K, rack-balanced within the
straggler bound (`firstk`), are kept and the rest cancelled by job tag:

- without `downstream`, `fn`'s outputs are partial results (sums, counts,
  gradient sums): the K kept outputs are the result, nothing is cached and no
  second job runs;
- with `downstream`, the M outputs are cached where they ran and `downstream`
  gets an RDD of the K kept ones.

Every run records its phase times (`KmnRun.timings`): decide, then either one
pipeline, or upstream, choose, cancel and downstream.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyspark import RDD, StorageLevel

from spark_sched.connect import refuse_on_connect
from spark_sched.jobscope import job_scope
from spark_sched.sampling.blocks import Block, BlockSource
from spark_sched.sampling.cached import CachedBlocks
from spark_sched.sampling.completions import Completions
from spark_sched.sampling.cut import cut_handle, cut_input
from spark_sched.sampling.decide import OVERHEADS, Decision, ExtraTasks, resolve_extra_tasks, transfer_gain_s
from spark_sched.sampling.design import Design
from spark_sched.sampling.errors import SamplingError
from spark_sched.sampling.extra import upstream_rule, used_design
from spark_sched.sampling.firstk import Kept, OutputSetting, keep_k
from spark_sched.sampling.hedge import hedge_gain_s
from spark_sched.sampling.history import TASK_TIMES, SecondsParam, TaskTime, fn_key, timed
from spark_sched.sampling.intermediate import Output, link_loads, reducer_share, skew
from spark_sched.sampling.matching import InputChoice, choose_input
from spark_sched.sampling.rules import SamplingRule, check_extra, check_k, check_min_per_class, resolve_rule
from spark_sched.sampling.snapshot import ClusterSnapshot, snapshot
from spark_sched.sampling.spark_rdd import prune
from spark_sched.sampling.straggler import StragglerBound
from spark_sched.sampling.tags import decision_tags, new_tag

DEFAULT_EXTRA = 0.05
PHASES = ("decide_ms", "pipeline_ms", "upstream_ms", "choose_ms", "cancel_ms", "downstream_ms")
PartitionFn = Callable[[Iterable[Any]], Iterable[Any]]


@dataclass
class KmnRun:
    """What ran: the blocks read, the outputs kept, where tasks were expected, the result, and where time went.

    `chosen` are the blocks whose tasks ran (M with extra tasks), `used` the K
    whose outputs make the result, `cancelled` the chosen ones with no output
    when the rest was cancelled. `timings` holds the phases that ran (ms, keys
    from `PHASES`): `decide_ms`, then `pipeline_ms` (single pipeline) or
    `upstream_ms` (launch to the K-th output), `choose_ms` (K-th output to the
    final choice, straggler wait included), `cancel_ms`, `downstream_ms`.
    """

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
    cancelled: tuple[int, ...] = ()
    decision: Decision | None = None
    task_ids: dict[int, int] = field(default_factory=dict)  # used block -> the Spark task id that produced it
    timings: dict[str, float] = field(default_factory=dict)
    design: Design | None = None  # the classes and counts behind `used`, for `spark_sched.sampling.estimate`
    task_times: tuple[TaskTime, ...] = ()  # upstream tasks' seconds in `fn`; cancelled ones as at least so long

    @property
    def local_expected(self) -> int:
        return sum(1 for host in self.placement.values() if host is not None)

    @property
    def extra_tasks(self) -> bool:
        return self.decision is not None and self.decision.extra


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


def any_k_of_n(
    source: Any,
    k: int,
    fn: PartitionFn,
    *,
    sampling: Any = "uniform",
    downstream: Callable[[RDD], Any] | None = None,
    extra: float = DEFAULT_EXTRA,
    extra_tasks: ExtraTasks | str = "auto",
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
    `Block`s. Without `downstream` the result is the list `runJob` returns over
    the K blocks kept (partial results of any K blocks); with it, `fn` is the
    upstream stage and the result is `downstream(rdd_of_K_outputs)`. `extra`
    sizes M = ceil(K(1 + extra)); `extra_tasks` ("auto", "always", "never")
    says whether the M run (auto: when they fit free local slots and can pay).
    The job tags `<tag>` (default `spark-sched-kmn-<id>`), `spark-sched-blocks-<ids>`
    (`upstream`/`outputs` for the two stages) and `spark-sched-seed-<seed>` record
    the decision; the same seed repeats it. `min_per_class` (2 for an estimate
    with an interval) makes the choice read that many blocks of every locality
    class, so `run.design` supports an unbiased estimate
    (`spark_sched.sampling.estimate`).
    """
    rule = resolve_rule(sampling)
    extra = check_extra(extra)
    policy = resolve_extra_tasks(extra_tasks)
    per_class = check_min_per_class(min_per_class)
    for given in (source, spark):  # a Connect DataFrame has no RDD; a Connect session no SparkContext
        refuse_on_connect(given, "any_k_of_n")
    src = as_source(source)
    spark = _session(spark)
    started = time.monotonic()
    blocks = src.blocks()
    check_k(k, len(blocks))
    rule.quotas(blocks, k)
    snap = snapshot(spark, topology, racks)
    tag = tag or new_tag()
    rdd = src.to_rdd(spark.sparkContext)  # type: ignore[attr-defined]
    history = (rdd.context.applicationId, fn_key(fn))
    plan = _plan(blocks, k, rule, snap, extra, seed, policy, per_class, downstream is not None, history)
    decide_ms = (time.monotonic() - started) * 1000
    if not plan.decision.extra:
        run = _single(rdd, k, fn, downstream, plan, rule, tag, seed)
    else:
        bound = straggler or StragglerBound()
        run = _extra(rdd, blocks, k, fn, downstream, plan, rule, snap, tag, seed, bound, per_class)
    TASK_TIMES.record(*history, run.task_times)
    run.timings = {"decide_ms": decide_ms, **run.timings}
    return run


@dataclass(frozen=True)
class Plan:
    """The decision and the input choices it rests on (the M choice only when extra tasks were considered).

    `upstream_rule` is what the M upstream blocks must meet, `output_rule` what
    the K outputs kept among them must meet (the request's rule, or with
    `min_per_class` the K-block choice's count of every locality class).
    """

    decision: Decision
    k_choice: InputChoice
    m_choice: InputChoice | None
    upstream_rule: SamplingRule
    output_rule: SamplingRule


def _expected_outputs(blocks: Sequence[Block], choice: InputChoice, snap: ClusterSnapshot) -> list[Output]:
    """The K-block choice's outputs where they would sit: the expected host, else the first replica's."""
    by_id = {b.id: b for b in blocks}
    out = []
    for block_id in choice.chosen:
        block = by_id[block_id]
        host = choice.placement.get(block_id) or (block.hosts[0] if block.hosts else "")
        out.append(Output(block_id, snap.rack(host), block.size, host, block.stratum))
    return out


def _plan(
    blocks: list[Block],
    k: int,
    rule: SamplingRule,
    snap: ClusterSnapshot,
    extra: float,
    seed: int,
    policy: ExtraTasks,
    per_class: int,
    has_downstream: bool,
    history: tuple[str, str],
) -> Plan:
    """Choose K; if M > K could run, choose M too and decide on the figures (partials gain no transfer)."""
    k_choice = choose_input(blocks, k, snap, rule, seed, per_class)
    first, m, last = upstream_rule(rule, blocks, k, extra, k_choice.design if per_class else None)
    if m <= k or policy.when == "never":
        return Plan(policy.decide(k, m, 0, 0.0, 0.0), k_choice, None, first, last)
    share = reducer_share(snap.racks)
    gain = (
        transfer_gain_s(_expected_outputs(blocks, k_choice, snap), share, snap.uplink_bits) if has_downstream else 0.0
    )
    hedge = hedge_gain_s(TASK_TIMES.get(*history), k, m)
    m_choice = choose_input(blocks, m, snap, first, seed)
    decision = policy.decide(k, m, m_choice.local, gain, OVERHEADS.estimate(history[0]), hedge)
    return Plan(decision, k_choice, m_choice, first, last)


def _single(
    rdd: RDD,
    k: int,
    fn: PartitionFn,
    downstream: Callable[[RDD], Any] | None,
    plan: Plan,
    rule: SamplingRule,
    tag: str,
    seed: int,
) -> KmnRun:
    """The K blocks as one pipeline: runJob over them, or `downstream` over them (one job, Spark's own stages)."""
    choice = plan.k_choice
    ids = list(choice.chosen)
    sc = rdd.context
    seconds = sc.accumulator({}, SecondsParam())
    started = time.monotonic()
    with job_scope(sc, tags=decision_tags(tag, "blocks", ids, seed)):
        if downstream is None:
            result = sc.runJob(rdd, timed(fn, seconds), partitions=ids)
        else:
            result = downstream(prune(rdd, ids).mapPartitions(timed(fn, seconds)))
    pipeline_ms = (time.monotonic() - started) * 1000
    return KmnRun(
        tag,
        result,
        tuple(ids),
        tuple(ids),
        choice.placement,
        choice.decision_ms,
        seed,
        rule.name,
        decision=plan.decision,
        timings={"pipeline_ms": pipeline_ms},
        design=choice.design,
        task_times=tuple(TaskTime(v) for v in seconds.value.values()),
    )


def _extra(
    rdd: RDD,
    blocks: list[Block],
    k: int,
    fn: PartitionFn,
    downstream: Callable[[RDD], Any] | None,
    plan: Plan,
    rule: SamplingRule,
    snap: ClusterSnapshot,
    tag: str,
    seed: int,
    straggler: StragglerBound,
    per_class: int,
) -> KmnRun:
    """One job of M upstream tasks; the first K kept (rack-balanced, straggler bound), the rest cancelled by tag."""
    choice = plan.m_choice
    assert choice is not None
    ids = list(choice.chosen)
    by_id = {b.id: b for b in blocks}
    share = reducer_share(snap.racks)
    tags = decision_tags(tag, "upstream", ids, seed)
    handle = cut_handle(rdd.context, f"{tag}-up")
    if downstream is None:  # partial results: the outputs themselves reach the driver
        up, partitions, block_of = rdd, ids, {i: by_id[i] for i in ids}
        job = Completions(up, partitions, fn, tags, f"{tag}-up", keep_outputs=True, cut_by=handle)
    else:  # outputs stay cached where they ran; downstream reads the kept ones (a cut one's part is never read)
        up = prune(rdd, ids).mapPartitions(cut_input(fn, handle)).persist(StorageLevel.MEMORY_ONLY)
        partitions, block_of = list(range(len(ids))), {p: by_id[i] for p, i in enumerate(ids)}
        job = Completions(up, partitions, None, tags, f"{tag}-up", keep_outputs=False, cut_by=handle)
    timings: dict[str, float] = {}
    cancelled_at = time.monotonic()
    try:
        job.start()
        setting = OutputSetting(block_of, choice.placement, snap, share, plan.output_rule)
        kept = keep_k(job, k, setting, straggler)
        job.cancel()
        job.join()
        cancelled_at = time.monotonic()
        timings = {
            "upstream_ms": (kept.kth_at - job.started) * 1000,
            "choose_ms": (kept.chosen_at - kept.kth_at) * 1000,
            "cancel_ms": (cancelled_at - kept.chosen_at) * 1000,
        }
        OVERHEADS.record(rdd.context.applicationId, cancelled_at - kept.kth_at)
        result = _kept_result(up, kept, ids, downstream, tag, seed, timings)
    finally:
        job.cancel()
        job.join()
        if downstream is not None:
            up.unpersist(blocking=False)
    used = sorted(o.id for o in kept.best)
    key = {p: b.id for p, b in block_of.items()}
    finished = {key[c.partition] for c in kept.done}
    cut = TaskTime(cancelled_at - job.started, finished=False)  # ran at least this long (all M start together)
    times = [TaskTime(c.seconds) for c in kept.done] + [cut] * (len(ids) - len(finished))
    return KmnRun(
        tag,
        result,
        tuple(ids),
        tuple(used),
        choice.placement,
        choice.decision_ms,
        seed,
        rule.name,
        expected_skew=skew(link_loads(kept.best, share)),
        waited_ms=timings["choose_ms"],
        cancelled=tuple(sorted(set(ids) - finished)),
        decision=plan.decision,
        task_ids={key[c.partition]: c.task_id for c in kept.done if key[c.partition] in set(used)},
        timings=timings,
        design=used_design(rule, blocks, used, per_class),
        task_times=tuple(times),
    )


def _kept_result(
    up: RDD,
    kept: Kept,
    ids: list[int],
    downstream: Callable[[RDD], Any] | None,
    tag: str,
    seed: int,
    timings: dict[str, float],
) -> Any:
    """Partials: the kept outputs in block order, as runJob would list them. Else `downstream` over the kept K."""
    used = sorted(o.id for o in kept.best)
    if downstream is None:
        outputs = {c.partition: c.output for c in kept.done}
        return [record for block in used for record in outputs[block]]
    started = time.monotonic()
    with job_scope(up.context, tags=decision_tags(tag, "outputs", used, seed)):
        result = downstream(prune(up, [ids.index(i) for i in used]))
    timings["downstream_ms"] = (time.monotonic() - started) * 1000
    return result
