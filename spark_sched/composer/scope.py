"""The composer at run time: classify a job, choose its composition, apply the plugins, learn from the result.

```python
with composer(spark, profiles="conf/compositions.toml") as comp:
    with comp.job(kind="batch", partitions=24, name="daily-agg") as job:   # a context ...
        sc.parallelize(rows, job.partitions()).map(work).collect()

    @comp.job(priority="high", kind="stream", partitions=3, name="tick")   # ... or a decorator
    def tick(job):
        return job.spark.range(100).count()
```

The reward is the job's measured completion time (wall time of the block; for
a stream's micro-batch that is its latency). Jobs carry the tags
`spark-sched-class-<class>` and `spark-sched-composition-<name>` (the grammar of
`spark_sched.jobscope`), so `spark_sched.measure` reports latency per class
(`tag_prefix("class")`) and per composition.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from spark_sched.composer import bandit
from spark_sched.composer.classify import Classifier, JobFeatures
from spark_sched.composer.errors import CompositionError
from spark_sched.composer.jobstats import JobStats, stats_for_tag
from spark_sched.composer.kmn import kmn_function
from spark_sched.composer.points import Controller, PluginContext
from spark_sched.composer.profiles import Composition, Compositions, load_compositions
from spark_sched.composer.state import ComposerState, load_state, save_state, state_path
from spark_sched.connect import refuse_on_connect
from spark_sched.jobscope import job_scope, scope_tag

if TYPE_CHECKING:
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

DECISION_SAMPLES = 10_000
_ids = itertools.count()


@dataclass(frozen=True)
class Decision:
    """What the composer chose for one job, and how long choosing took."""

    job_class: str
    composition: Composition
    explored: bool
    prior: bool
    decision_ms: float


@dataclass
class JobContext:
    """What a job body sees: the session to use, the chosen composition's answers, and what it measured."""

    composer: Composer
    features: JobFeatures
    decision: Decision
    tag: str
    spark: SparkSession
    controller: Controller | None = None
    job_ms: float | None = None
    stats: JobStats | None = None

    @property
    def sc(self) -> SparkContext:
        return self.spark.sparkContext

    @property
    def high(self) -> bool:
        return self.features.priority == "high"

    @property
    def composition(self) -> str:
        return self.decision.composition.name

    @property
    def job_class(self) -> str:
        return self.decision.job_class

    def partitions(self, natural: int | None = None) -> int:
        """The partition count to use: the granularity plugin's answer for this job's natural count."""
        base = natural if natural is not None else self.features.partitions
        if base is None:
            raise CompositionError("partitions", None, "a natural partition count (job(partitions=N) or here)",
                                   "JobContext.partitions()")
        return int(self.decision.composition.granularity.partitions(int(base), self.composer.slots))

    @property
    def extra(self) -> float:
        """KMN's `extra` under this composition (0 unless the `sampling` point chose `kmn`)."""
        return float(self.decision.composition.sampling.extra())

    def any_k_of_n(self, source: Any, k: int, fn: Any, **kwargs: Any) -> Any:
        """`spark_sched.any_k_of_n(source, k, fn, extra=<this composition's>, spark=<this job's>, ...)`.

        One clear error (SamplingUnavailable) where `spark_sched.sampling` cannot be imported.
        """
        kwargs.setdefault("extra", self.extra)
        kwargs.setdefault("spark", self.spark)
        return kmn_function()(source, k, fn, **kwargs)


@dataclass
class Composer(contextlib.ContextDecorator):
    """Per workload class, choose a composition and learn which wins (see `spark_sched.composer`)."""

    spark: SparkSession
    compositions: Compositions
    state_file: Path
    controller: Controller | None = None
    seed: int | None = None
    learn: bool = True
    state: ComposerState = field(default_factory=ComposerState)
    decision_ms: deque[float] = field(default_factory=lambda: deque(maxlen=DECISION_SAMPLES))
    decision_wall_ms: deque[float] = field(default_factory=lambda: deque(maxlen=DECISION_SAMPLES))

    def __post_init__(self) -> None:
        self.state = load_state(self.state_file)
        self.classifier = Classifier(self.state.history)
        self.rng = np.random.default_rng(self.seed)
        self.slots = int(self.spark.sparkContext.defaultParallelism)
        self._lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._sessions: dict[str, SparkSession] = {}
        self._arms = self._applicable_arms()

    # -- choosing --------------------------------------------------------------------------------------------

    def _applicable_arms(self) -> dict[str, list[str]]:
        """Arms per priority, less compositions whose application-level choices this application does not run."""
        app_conf = dict(self.spark.sparkContext.getConf().getAll())
        out: dict[str, list[str]] = {}
        for priority in ("high", "low"):
            out[priority] = [
                name for name in self.compositions.arms(priority)
                if self.compositions.profiles[name].locality.matches(app_conf)
            ]
        return out

    def decide(self, features: JobFeatures, force: str | None = None) -> Decision:
        """Classify the job and choose its composition, timed.

        `decision_ms` keeps the thread's CPU time (the composer's own work, what a quiet machine would
        see); `decision_wall_ms` keeps wall time, which on a loaded machine adds waiting for a core.
        """
        start, cpu = time.perf_counter(), time.thread_time()
        with self._lock:
            job_class = self.classifier.classify(features)
            if force is not None:
                if force not in self.compositions.profiles:
                    raise CompositionError("composition", force, sorted(self.compositions.profiles), "job(force=)")
                choice = bandit.Choice(force, False, False)
            else:
                choice = self._choose(job_class, features)
            elapsed = (time.perf_counter() - start) * 1000.0
            self.decision_ms.append((time.thread_time() - cpu) * 1000.0)
            self.decision_wall_ms.append(elapsed)
        return Decision(job_class, self.compositions.profiles[choice.arm], choice.explored, choice.prior, elapsed)

    def _choose(self, job_class: str, features: JobFeatures) -> bandit.Choice:
        state = self.state.classes.get(job_class)
        if state is None:
            state = self.state.classes[job_class] = bandit.ClassState(features.priority)
        arms = self._arms[features.priority] or self.compositions.arms(features.priority)
        prior = self.compositions.prior(features.priority, features.kind)
        rules = self.compositions.learning.rules(features.priority)
        choice = bandit.choose(state, arms, prior if prior in arms else arms[0], rules, self.rng)
        bandit.record_decision(state, choice)
        return choice

    # -- learning --------------------------------------------------------------------------------------------

    def record(self, ctx: JobContext) -> None:
        """Learn from a finished job: its time rewards its composition; its task time updates the history."""
        if ctx.job_ms is None:
            return
        with self._lock:
            if ctx.stats is not None:
                self.classifier.observe(ctx.features, ctx.stats.run_ms, ctx.stats.tasks)
            if self.learn:
                state = self.state.classes.setdefault(ctx.job_class, bandit.ClassState(ctx.features.priority))
                bandit.update(state, ctx.composition, ctx.job_ms, self.compositions.learning.discount)
        self.save()

    def save(self) -> Path:
        """Write the state file: a snapshot taken under the decision lock, written outside it (decisions stay fast)."""
        with self._lock:
            snapshot = ComposerState.from_json(self.state.to_json())
        with self._save_lock:
            return save_state(snapshot, self.state_file)

    # -- running jobs ----------------------------------------------------------------------------------------

    def session_for(self, composition: Composition) -> SparkSession:
        """The session a job should build DataFrames from: a child session when the composition sets SQL conf."""
        conf = composition.granularity.sql_conf()
        if not conf:
            return self.spark
        with self._lock:
            session = self._sessions.get(composition.name)
            if session is None:
                session = self.spark.newSession()
                for key, value in conf.items():
                    session.conf.set(key, value)
                self._sessions[composition.name] = session
        return session

    def job(self, priority: str = "low", kind: str = "batch", *, input_bytes: int | None = None,
            partitions: int | None = None, name: str | None = None, force: str | None = None) -> JobScope:
        """A scope for one job: a context manager yielding its JobContext, or a decorator passing it first."""
        features = JobFeatures(priority, kind, input_bytes, partitions, name)
        return JobScope(self, features, force)

    def decision_p99_ms(self, wall: bool = False) -> float:
        """p99 of the decisions' CPU time (or wall time), in ms."""
        samples = self.decision_wall_ms if wall else self.decision_ms
        return float(np.percentile(np.array(samples), 99)) if samples else 0.0

    def __enter__(self) -> Composer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.save()


class JobScope:
    """Apply one decision around a job and report the job's time back to the composer."""

    def __init__(self, composer: Composer, features: JobFeatures, force: str | None) -> None:
        self.composer = composer
        self.features = features
        self.force = force
        self._stack: ExitStack | None = None
        self._ctx: JobContext | None = None
        self._start = 0.0

    def __enter__(self) -> JobContext:
        comp = self.composer
        decision = comp.decide(self.features, self.force)
        tag = scope_tag("cjob", f"{os.getpid()}-{next(_ids)}")
        ctx = JobContext(comp, self.features, decision, tag, comp.session_for(decision.composition),
                         comp.controller)
        tags = (scope_tag("class", decision.job_class), scope_tag("composition", decision.composition.name), tag)
        facts = PluginContext(ctx.spark, self.features, decision.job_class, decision.composition.name, tags,
                              comp.slots, comp.controller)
        stack = ExitStack()
        try:
            stack.enter_context(job_scope(ctx.sc, tags=tags))
            for plugin in decision.composition.job_plugins():
                stack.enter_context(plugin.enter(facts))
        except BaseException:
            stack.close()
            raise
        self._stack, self._ctx = stack, ctx
        self._start = time.perf_counter()
        return ctx

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        assert self._stack is not None and self._ctx is not None
        ctx = self._ctx
        ctx.job_ms = (time.perf_counter() - self._start) * 1000.0
        self._stack.close()
        if exc_type is None:
            ctx.stats = stats_for_tag(ctx.sc, ctx.tag)
            self.composer.record(ctx)
        else:
            ctx.job_ms = None  # a failed job teaches nothing about its composition's speed

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Decorator form: every call of `fn` is one job; `fn` gets the JobContext as its first argument."""

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            scope = JobScope(self.composer, self.features, self.force)
            with scope as ctx:
                return fn(ctx, *args, **kwargs)

        return wrapper




def composer(spark: SparkSession, profiles: str | os.PathLike[str] | Compositions | None = None, *,
             state_dir: str | os.PathLike[str] | None = None, controller: Controller | None = None,
             seed: int | None = None, learn: bool = True) -> Composer:
    """Choose and learn, per workload class, the composition each job runs under.

    `profiles`: a composition file (default `conf/compositions.toml`) or loaded Compositions.
    `state_dir`: where `composer/state.json` lives (default: the toolkit's state directory).
    `controller`: a running PriorityController for the `preemption` point to steer.
    Use as `with composer(spark) as comp:` or as a decorator (`@composer(spark)` saves state when the call ends).
    """
    from spark_sched.config import load_settings

    refuse_on_connect(spark, "composer")
    loaded = profiles if isinstance(profiles, Compositions) else load_compositions(profiles)
    directory = Path(state_dir) if state_dir is not None else load_settings().state_dir
    return Composer(spark, loaded, state_path(directory), controller=controller, seed=seed, learn=learn)
