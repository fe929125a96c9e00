"""Emergent scheduling: the composer's mixed workload, under each fixed composition and under the composer itself.

The mix is the composer bench's, drawn by `spark_sched.mixes`, the generator
the bench's `spark_sched.workloads.mixed` runs on Spark, so a seed gives the
model the bench's jobs: tiny jobs of 64-128 small files of ~5 ms, one
partition each; medium jobs of 6-10 records of ~300 ms; skewed jobs whose 3
heavy records (~1 s) sit in the last of 2 input partitions; a HIGH micro-batch
of 3 records of ~50 ms. The bench runs it on 3 slots (3 workers x 1 core) at
one batch job per `BENCH_BATCH_GAP_S` (1.6 s) and one micro-batch per
`BENCH_STREAM_PERIOD_S` (1 s); here the cluster has one slot per host and the
arrivals are that much faster, so every slot carries the bench's load. A job
becomes one stage whose tasks are the contiguous slices `parallelize` cuts,
each costing its records' time plus `TASK_OVERHEAD_S` (the per-task cost that
makes the tiny jobs' natural partitioning slow on the bench).

Compositions come from the toolkit's `conf/compositions.toml`, and what a
composition does to a job is asked of its own plugins: the granularity plugin's
`partitions(natural, slots)` with the cluster's slots, the pool plugin's pool
(`default` or a named pool; FAIR with the priority classes' pools, as the bench
runs). The bench gives the composer no controller, so the preemption point is a
no-op there and here; locality waits do not matter to `parallelize` input (no
preferred hosts); a composition with KMN sampling or another pool plugin is
left out and named in the report. The composer's public `Composer` needs a
SparkSession (its slots, the application's conf, job tags), so the model calls
what it is made of: `Classifier` for the class, `bandit.choose` /
`record_decision` / `update` per class with the profile file's learning rules,
and `Classifier.observe` with the task time a job used, as `Composer.record`
does. It warms up on a workload of its own seed first, as the bench's composer
does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spark_sched.composer import bandit
from spark_sched.composer.classify import Classifier, JobFeatures
from spark_sched.composer.plugins.pool import DefaultPool, NamedPool
from spark_sched.composer.plugins.sampling import NoSampling
from spark_sched.composer.profiles import Composition, Compositions, load_compositions, toolkit_compositions_file
from spark_sched.composer.state import ComposerState
from spark_sched.mixes import BENCH_BATCH_GAP_S, BENCH_STREAM_PERIOD_S, WORKLOAD_KINDS, Job, WorkloadParams, generate
from spark_sched.sim.cluster import SimCluster
from spark_sched.sim.controller import class_pools
from spark_sched.sim.scenarios.base import ScenarioReport
from spark_sched.sim.settings import SimSettings
from spark_sched.sim.simulator import JobRun, Simulation
from spark_sched.sim.workload import JobSpec, StageSpec, TaskSpec

BENCH_SLOTS = 3  # the composer bench's cluster: 3 workers x 1 core
TASK_OVERHEAD_S = 0.03  # launch, serialization and Python worker hand-off per task
SEED = 12


# -- the mix (spark_sched.mixes, the bench's own draws) -----------------------------------------------------------

def job_features(job: Job) -> JobFeatures:
    """What the composer is told of the job, as the bench's `Composer.job(**job.features)` tells it."""
    return JobFeatures(**job.features)


def slices(costs: tuple[float, ...], partitions: int) -> list[float]:
    """Each partition's work as `parallelize` cuts a list: contiguous slices [i*n//p, (i+1)*n//p)."""
    n = len(costs)
    return [sum(costs[i * n // partitions:(i + 1) * n // partitions]) for i in range(partitions)]


# -- compositions in the model ------------------------------------------------------------------------------------

def pool_of(composition: Composition) -> str | None:
    """The pool a composition's pool plugin puts a job in (None: a plugin the model cannot ask)."""
    if isinstance(composition.pool, NamedPool):
        return str(composition.pool.values["pool"])
    if isinstance(composition.pool, DefaultPool):
        return "default"
    return None


def expressible(composition: Composition) -> bool:
    """Whether the model can run the composition (its pool plugin is known, no KMN surplus to draw)."""
    return pool_of(composition) is not None and isinstance(composition.sampling, NoSampling)


def job_spec(job_id: int, job: Job, composition: Composition | None, slots: int, now: float) -> JobSpec:
    """The job as Spark runs it under `composition` (None: Spark's default, the input's partitions, pool default)."""
    parts = job.natural if composition is None else composition.granularity.partitions(job.natural, slots)
    pool = "default" if composition is None else pool_of(composition) or "default"
    tasks = [TaskSpec(w + TASK_OVERHEAD_S) for w in slices(job.costs, max(1, int(parts)))]
    return JobSpec(job_id, now, [StageSpec(0, tasks)], pool=pool, kind=job.kind)


# -- the composer in the model ------------------------------------------------------------------------------------

@dataclass
class Learner:
    """The composer's decision and learning parts, with its state: classify, choose by bandit, learn from job time."""

    compositions: Compositions
    rng: np.random.Generator
    state: ComposerState = field(default_factory=ComposerState)
    explored: int = 0

    def __post_init__(self) -> None:
        self.classifier = Classifier(self.state.history)

    def decide(self, features: JobFeatures) -> tuple[str, str]:
        """(class, composition) for the next job, as `Composer._choose` decides it."""
        job_class = self.classifier.classify(features)
        state = self.state.classes.setdefault(job_class, bandit.ClassState(features.priority))
        arms = [a for a in self.compositions.arms(features.priority) if expressible(self.compositions.profiles[a])]
        prior = self.compositions.prior(features.priority, features.kind)
        rules = self.compositions.learning.rules(features.priority)
        choice = bandit.choose(state, arms, prior if prior in arms else arms[0], rules, self.rng)
        bandit.record_decision(state, choice)
        self.explored += int(choice.explored)
        return job_class, choice.arm

    def record(self, features: JobFeatures, job_class: str, arm: str, job_ms: float, run_ms: float,
               tasks: int) -> None:
        """`Composer.record`: the task history first, then the class's arm."""
        self.classifier.observe(features, run_ms, tasks)
        state = self.state.classes.setdefault(job_class, bandit.ClassState(features.priority))
        bandit.update(state, arm, job_ms, self.compositions.learning.discount)

    def settled(self) -> int:
        return sum(1 for c in self.state.classes.values() if c.settled)


Chooser = Callable[[Job], Composition | None]


@dataclass
class _Submitted:
    job: Job
    composition: str = ""
    job_class: str = ""


class MixRunner:
    """Submits each job at its arrival under the composition chosen then, and feeds the learner its end."""

    def __init__(self, sim: Simulation, jobs: list[Job], choose: Chooser | None, learner: Learner | None,
                 slots: int) -> None:
        self.sim, self.jobs, self.choose, self.learner, self.slots = sim, jobs, choose, learner, slots
        self.submitted: dict[int, _Submitted] = {}
        for job_id, job in enumerate(jobs):
            sim.at(job.at, lambda i=job_id, j=job: self._arrive(i, j))

    def _arrive(self, job_id: int, job: Job) -> None:
        entry = self.submitted[job_id] = _Submitted(job)
        composition: Composition | None = None
        if self.learner is not None:
            entry.job_class, entry.composition = self.learner.decide(job_features(job))
            composition = self.learner.compositions.profiles[entry.composition]
        elif self.choose is not None:
            composition = self.choose(job)
            entry.composition = composition.name if composition else "spark_default"
        self.sim.submit(job_spec(job_id, job, composition, self.slots, self.sim.events.now))

    def job_arrived(self, sim: Simulation, job: JobRun) -> None:
        return None

    def job_ended(self, sim: Simulation, job: JobRun) -> None:
        entry = self.submitted[job.job_id]
        if self.learner is None or job.outcome.status != "SUCCEEDED":
            return
        run_ms = 1000.0 * sum(t.compute_s for s in job.spec.stages for t in s.tasks)
        self.learner.record(job_features(entry.job), entry.job_class, entry.composition, 1000.0 * job.outcome.duration,
                            run_ms, job.spec.task_count)


def run_mix(jobs: list[Job], cluster: SimCluster, seed: int, choose: Chooser | None = None,
            learner: Learner | None = None) -> list[tuple[Job, float, str]]:
    """Run the mix; per job (in arrival order): the job, its time (s), the composition it ran under."""
    sim = Simulation(cluster, SimSettings(mode="FAIR", pools=class_pools()), seed)
    runner = MixRunner(sim, jobs, choose, learner, cluster.total_slots)
    sim.hooks.append(runner)
    result = sim.run()
    times = {j.job_id: j.duration for j in result.jobs}
    return [(job, times.get(i, math.nan), runner.submitted[i].composition) for i, job in enumerate(jobs)]


# -- the scenario -------------------------------------------------------------------------------------------------

def fixed(compositions: Compositions, name: str) -> Chooser:
    """Every job under `name`; a job of a priority it does not apply to runs its class's prior (the bench's rule)."""
    def choose(job: Job) -> Composition:
        known = job_features(job)
        profile = compositions.profiles[name]
        if known.priority in profile.applies_to:
            return profile
        return compositions.profiles[compositions.prior(known.priority, known.kind)]
    return choose


def _row(outcomes: list[tuple[Job, float, str]]) -> dict[str, float]:
    row: dict[str, float] = {}
    for kind in WORKLOAD_KINDS:
        times = np.array([t for j, t, _ in outcomes if j.kind == kind])
        row[f"job_s_{kind}"] = float(times.mean()) if len(times) else math.nan
    all_times = np.array([t for _, t, _ in outcomes])
    row["total_job_s"] = float(all_times.sum())
    stream = np.array([t for j, t, _ in outcomes if j.kind == "stream"])
    row["stream_p99_s"] = float(np.percentile(stream, 99)) if len(stream) else math.nan
    return row


def load_profiles(path: Path | None = None) -> Compositions:
    return load_compositions(path or toolkit_compositions_file())


@dataclass(frozen=True)
class ComposerScenario:
    name: str = "composer"
    description: str = ("Emergent scheduling: the composer bench's mix (tiny, medium, skewed batch + HIGH stream) "
                        "under each fixed composition, Spark's default and the composer's bandit")

    def run(self, hosts: int, seed: int, quick: bool, out: Path | None) -> ScenarioReport:
        compositions = load_profiles()
        cluster = SimCluster.uniform(hosts, 1, max(1, hosts // 10))
        scale = cluster.total_slots / BENCH_SLOTS
        gap, period = BENCH_BATCH_GAP_S / scale, BENCH_STREAM_PERIOD_S / scale
        jobs = generate(seed, WorkloadParams(4.0 if quick else 10.0, gap, period))
        names = [n for n, c in compositions.profiles.items() if expressible(c)]
        results: dict[str, list[tuple[Job, float, str]]] = {}
        for name in names:
            results[f"fixed_{name}"] = run_mix(jobs, cluster, seed, fixed(compositions, name))
        results["spark_default"] = run_mix(jobs, cluster, seed, lambda job: None)
        learner = Learner(compositions, np.random.default_rng(SEED))
        warm = generate(seed * 1000 + 1, WorkloadParams(0.0, gap, period, min_per_kind=8 if quick else 14))
        run_mix(warm, cluster, seed, learner=learner)
        explored_before = learner.explored
        results["composer"] = run_mix(jobs, cluster, seed, learner=learner)
        rows = {variant: _row(outcomes) for variant, outcomes in results.items()}
        best = min((f"fixed_{n}" for n in names), key=lambda v: rows[v]["total_job_s"])
        _regret(rows, results, [f"fixed_{n}" for n in names], best)
        rows["composer"]["explored_jobs"] = float(learner.explored - explored_before)
        rows["composer"]["settled_classes"] = float(learner.settled())
        rows["composer"]["classes"] = float(len(learner.state.classes))
        params: dict[str, Any] = {
            "slots": cluster.total_slots, "batch_gap_s": gap, "stream_period_s": period,
            "task_overhead_s": TASK_OVERHEAD_S, "jobs": len(jobs), "best_fixed": best,
            "left_out": sorted(set(compositions.profiles) - set(names)),
            "warmup_jobs": len(warm), "compositions": toolkit_compositions_file().name,
            "composer_choices": _choices(results["composer"]),
        }
        report = ScenarioReport(self.name, hosts, seed, params, rows, _comparison(rows, best))
        if out is not None:
            report.plots.append(str(_plot_regret(results, rows, [f"fixed_{n}" for n in names],
                                                 out / "composer-regret.png")))
        return report


def _best_per_kind(rows: dict[str, dict[str, float]], fixed_variants: list[str]) -> dict[str, str]:
    return {kind: min(fixed_variants, key=lambda v: rows[v][f"job_s_{kind}"]) for kind in WORKLOAD_KINDS}


def _regret(rows: dict[str, dict[str, float]], results: dict[str, list[tuple[Job, float, str]]],
            fixed_variants: list[str], best: str) -> None:
    """Regret of the composer: total vs the best fixed composition, and per class vs that class's best fixed one."""
    mine = rows["composer"]
    mine["regret_vs_best_fixed_s"] = mine["total_job_s"] - rows[best]["total_job_s"]
    for kind, variant in _best_per_kind(rows, fixed_variants).items():
        paired = zip(results["composer"], results[variant], strict=True)
        mine[f"regret_s_{kind}"] = float(sum(a[1] - b[1] for a, b in paired if a[0].kind == kind))


def _choices(outcomes: list[tuple[Job, float, str]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for job, _, name in outcomes:
        per = out.setdefault(job.kind, {})
        per[name] = per.get(name, 0) + 1
    return out


def _comparison(rows: dict[str, dict[str, float]], best: str) -> list[dict[str, str]]:
    mine, default = rows["composer"], rows["spark_default"]
    return [
        {"figure": "composer total job time vs the best fixed composition and Spark's default",
         "paper": "a scheduler composed at run time from building blocks learns the composition that suits the "
                  "workload (emergent scheduling); the composer bench's targets: <= 1.10x the best fixed, "
                  "<= 1/1.5 of Spark's default",
         "model": f"{mine['total_job_s'] / rows[best]['total_job_s']:.2f}x {best}, "
                  f"{mine['total_job_s'] / default['total_job_s']:.2f}x spark_default; "
                  f"best fixed {rows[best]['total_job_s'] / default['total_job_s']:.2f}x spark_default",
         "note": "per_slot granularity is asked with the model's slots, so one wave means as many tasks as the "
                 "cluster has slots; each task pays TASK_OVERHEAD_S, which the tiny jobs' natural partitioning "
                 "pays ~100 times"},
    ]


def _plot_regret(results: dict[str, list[tuple[Job, float, str]]], rows: dict[str, dict[str, float]],
                 fixed_variants: list[str], path: Path) -> Path:
    from spark_sched.plots import figure

    with figure(path, figsize=(6.4, 3.6)) as (_, ax):
        for kind, variant in _best_per_kind(rows, fixed_variants).items():
            pairs = [(a[1] - b[1]) for a, b in zip(results["composer"], results[variant], strict=True)
                     if a[0].kind == kind]
            ax.plot(np.arange(1, len(pairs) + 1), np.cumsum(pairs), label=f"{kind} (vs {variant})")
        ax.axhline(0.0, color="grey", linewidth=0.6)
        ax.set_xlabel("jobs of the class run under the composer")
        ax.set_ylabel("cumulative regret (s)")
        ax.set_title("composer vs the best fixed composition per class (model)", fontsize=10)
        ax.legend(fontsize=8)
    return path


SCENARIO = ComposerScenario()
