"""The composer's mixed workload as data: which jobs arrive when, with what per-record costs (seeded; no Spark).

The composer bench runs these jobs on Spark (`spark_sched.workloads.mixed`)
and the scheduling model runs them in its simulator
(`spark_sched.sim.scenarios.composer`). Both draw them here, so one seed gives
both the same jobs, and the model cannot drift from the bench it stands for;
this module sits below both in the package's layers, so neither imports the
other to get them.

Four kinds of job, each a list of per-record sleep costs (s), each a shape
Spark users meet:

* `tiny`   -- a lookup over many small files: 64-128 records (256 KB files) of ~5 ms, one natural
  partition per record (Spark makes a partition per small file);
* `medium` -- 6-10 records of ~300 ms, one per natural partition;
* `skewed` -- an aggregation over 9-12 keys, 3 of which hold most of the work: 6-9 light records
  (~100 ms) then 3 heavy ones (~1 s) in the 2 partitions the input comes in;
* `stream` -- a HIGH micro-batch of 3 records of ~50 ms every `stream_period_s`.

Sizes and costs are jittered per job and batch jobs arrive as a Poisson
process, so no two jobs are the same; their kinds are dealt in shuffled rounds
of three, so a short run is not, by chance, mostly one kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

WORKLOAD_KINDS = ("tiny", "medium", "skewed", "stream")
BATCH_KINDS = WORKLOAD_KINDS[:3]
RECORD_BYTES = 1 << 20  # nominal input per record, for the classifier's input-size bucket
SMALL_FILE_BYTES = 256 << 10  # a tiny job's records are small files
BENCH_BATCH_GAP_S = 1.6  # the composer bench's mean gap between batch arrivals
BENCH_STREAM_PERIOD_S = 1.0  # the composer bench's micro-batch period
STREAM_OFFSET_S = 0.5  # the first micro-batch arrives this long after the start


@dataclass(frozen=True)
class Job:
    """One job of the workload: when it arrives (s from the start), its kind, its records' costs (s).

    `natural` is the partition count the job's input comes in: what Spark runs
    the job with when nothing chooses otherwise.
    """

    at: float
    kind: str
    costs: tuple[float, ...]
    natural: int

    @property
    def work_ms(self) -> float:
        """The job's total record cost (ms): its work, whatever the partitioning."""
        return 1000.0 * sum(self.costs)

    @property
    def features(self) -> dict[str, Any]:
        """What the composer is told of the job before it runs (`Composer.job` keywords, `JobFeatures` fields)."""
        high = self.kind == "stream"
        return {"priority": "high" if high else "low", "kind": "stream" if high else "batch",
                "input_bytes": len(self.costs) * (SMALL_FILE_BYTES if self.kind == "tiny" else RECORD_BYTES),
                "partitions": self.natural, "name": self.kind}


@dataclass(frozen=True)
class WorkloadParams:
    """How long the workload runs and how often its jobs arrive."""

    seconds: float = 20.0
    batch_gap_s: float = 1.3
    stream_period_s: float = BENCH_STREAM_PERIOD_S
    min_per_kind: int = 0  # generate until every kind has at least this many jobs (the composer's warm-up)


def generate(seed: int, params: WorkloadParams) -> list[Job]:
    """The seeded job sequence, by arrival: batch jobs at Poisson arrivals, the stream at a fixed period.

    The draws come from one generator in a fixed order (every batch job, then
    every micro-batch), so a seed names one sequence wherever it is drawn.
    """
    rng = np.random.default_rng(seed)
    jobs = _batches(rng, params)
    end = max((j.at for j in jobs), default=0.0)
    jobs += _stream(rng, params, max(end, params.seconds), jobs)
    return sorted(jobs, key=lambda j: j.at)


def _batches(rng: np.random.Generator, params: WorkloadParams) -> list[Job]:
    """Batch jobs until `params.seconds` have passed and every batch kind has `min_per_kind` jobs."""
    jobs: list[Job] = []
    t = 0.0
    deck: list[str] = []  # batch kinds are dealt in shuffled rounds, so every run holds them in near-equal numbers
    while t < params.seconds or _short(jobs, params.min_per_kind, BATCH_KINDS):
        t += float(rng.exponential(params.batch_gap_s))
        deck = deck or [str(k) for k in rng.permutation(BATCH_KINDS)]
        jobs.append(_batch(t, deck.pop(), rng))
    return jobs


def _stream(rng: np.random.Generator, params: WorkloadParams, end: float, batches: list[Job]) -> list[Job]:
    """Micro-batches every `stream_period_s` until `end`, and until the stream has `min_per_kind` of them."""
    jobs: list[Job] = []
    k = 0
    while k * params.stream_period_s < end or _short(batches + jobs, params.min_per_kind, ("stream",)):
        costs = tuple(float(c) for c in rng.uniform(0.04, 0.06, 3))
        jobs.append(Job(k * params.stream_period_s + STREAM_OFFSET_S, "stream", costs, 3))
        k += 1
    return jobs


def _short(jobs: list[Job], minimum: int, kinds: tuple[str, ...]) -> bool:
    """Whether some kind of `kinds` has fewer than `minimum` jobs in `jobs`."""
    return any(sum(1 for j in jobs if j.kind == kind) < minimum for kind in kinds)


def _batch(at: float, kind: str, rng: np.random.Generator) -> Job:
    """One batch job of `kind` arriving at `at`, its size and costs drawn from `rng`."""
    if kind == "tiny":
        n = int(rng.integers(64, 129))
        return Job(at, kind, tuple(float(c) for c in rng.uniform(0.004, 0.006, n)), n)
    if kind == "medium":
        n = int(rng.integers(6, 11))
        return Job(at, kind, tuple(float(c) for c in rng.uniform(0.25, 0.35, n)), n)
    light = [float(c) for c in rng.uniform(0.08, 0.12, int(rng.integers(6, 10)))]
    heavy = [float(c) for c in rng.uniform(0.8, 1.2, 3)]
    return Job(at, kind, tuple(light + heavy), 2)
