"""KMN on real Spark: local[2] for the API and its errors, the 3-host local cluster for where tasks really ran."""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from helpers import holds_within
from pyspark import InheritableThread, StorageLevel, cloudpickle
from pyspark.sql import SparkSession

from spark_sched import SamplingError, any_k_of_n, configure, load_settings
from spark_sched.cluster import ClusterState, LocalCluster
from spark_sched.jobscope import scope_tag, tag_prefix
from spark_sched.measure import measure
from spark_sched.measure.rest import next_job_id
from spark_sched.sampling import CachedBlocks, HostFiles, snapshot, write_host_files
from spark_sched.sampling.estimate import ratio_interval
from spark_sched.sampling.tags import compact, decision_tags, ids_from_tags

HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")




def _summer() -> Callable[[Iterator[int]], list[int]]:
    def total(rows: Iterator[int]) -> list[int]:  # nested: cloudpickle ships it by value (workers lack tests/)
        return [sum(rows)]

    return total


_sum = _summer()


# -- local[2] ----------------------------------------------------------------------


def _jobs_tagged(spark: SparkSession, tag: str) -> list[int]:
    """Job ids carrying `tag`, from Spark's status tracker (in the driver's JVM)."""
    ids = spark.sparkContext._jsc.sc().statusTracker().getJobIdsForTag(tag)
    return [int(i) for i in ids]


def test_input_stage_runs_only_the_chosen_partitions_and_tags_them(spark: SparkSession) -> None:
    data = spark.sparkContext.parallelize(range(100), 10).persist(StorageLevel.MEMORY_ONLY)
    data.count()
    try:
        run = any_k_of_n(data, 3, _sum, spark=spark, seed=4)
        assert len(run.chosen) == 3
        assert run.result == [sum(range(10 * p, 10 * p + 10)) for p in run.chosen]
        jobs = _jobs_tagged(spark, run.tag)
        assert len(jobs) == 1 and run.tag.startswith(tag_prefix("kmn"))
        decision = decision_tags(run.tag, "blocks", run.chosen, 4)
        assert decision[1:] == [f"spark-sched-blocks-{compact(run.chosen)}", "spark-sched-seed-4"]
        assert all(set(jobs) <= set(_jobs_tagged(spark, tag)) for tag in decision[1:])  # the run's job carries them
        assert ids_from_tags(decision) == list(run.chosen)
        again = any_k_of_n(data, 3, _sum, spark=spark, seed=4)
        assert again.chosen == run.chosen  # the recorded seed repeats the choice
    finally:
        data.unpersist()


def test_stratified_sampling_over_a_cached_dataframe(spark: SparkSession) -> None:
    df = spark.range(0, 800, 1, 8).cache()
    df.count()
    try:
        source = CachedBlocks(df, strata=lambda i: "low" if i < 4 else "high")
        run = any_k_of_n(source, 3, lambda rows: [min(r.id for r in rows)], sampling={"low": 1, "high": 2},
                         spark=spark)
        assert sum(1 for p in run.chosen if p < 4) == 1 and len(run.chosen) == 3
        assert sorted(run.result) == [p * 100 for p in run.chosen]
    finally:
        df.unpersist()


def test_host_files_source_reads_only_the_chosen_blocks(spark: SparkSession, tmp_path: Path) -> None:
    host = snapshot(spark).free  # local mode: one host, the driver's
    files = write_host_files(tmp_path, list(host), 6, 1, lambda i: bytes([i]) * (i + 1))
    run = any_k_of_n(files, 2, lambda recs: [(i, len(b)) for i, b in recs], spark=spark)
    assert sorted(run.result) == [(i, i + 1) for i in run.chosen]
    assert all(h is not None for h in run.placement.values())
    assert isinstance(files, HostFiles) and len(files.blocks()) == 6


BAD_REQUESTS = [(7, "uniform", "k = 7"), (0, "uniform", "k = 0"), (2, "sometimes", "sampling = 'sometimes'"),
                (2, {"odd": 5, "even": -3}, "stratum")]


def test_bad_requests_fail_before_anything_runs(spark: SparkSession) -> None:
    data = spark.sparkContext.parallelize(range(6), 6).cache()
    data.count()
    try:
        source = CachedBlocks(data, strata=lambda i: "odd" if i % 2 else "even")
        before = next_job_id(spark)
        assert before is not None
        for k, sampling, needle in BAD_REQUESTS:
            with pytest.raises(SamplingError, match=needle):
                any_k_of_n(source, k, _sum, sampling=sampling, spark=spark)
        assert next_job_id(spark) == before  # no job was submitted
    finally:
        data.unpersist()


def test_empty_source_is_refused(spark: SparkSession) -> None:
    with pytest.raises(SamplingError, match="source = 'no blocks'"):
        any_k_of_n(spark.sparkContext.emptyRDD(), 1, _sum, spark=spark)


def _job(name: str) -> ModuleType:
    """A bundled job as a module, shipped to Python workers by value (they cannot import jobs/)."""
    path = Path(__file__).resolve().parents[1] / "jobs" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"{name}_under_test", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[module.__name__] = module  # cloudpickle registers only imported modules
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    cloudpickle.register_pickle_by_value(module)
    return module


COVERAGE_RUNS = 60  # the Spark-free tests run the same chooser and estimator over 2,000 seeds


class _Located:
    """CachedBlocks whose locations are read once: the cache stays put between the runs of one test."""

    def __init__(self, source: CachedBlocks) -> None:
        self.source, self.located = source, source.blocks()

    def blocks(self) -> list:
        return self.located

    def to_rdd(self, sc: object = None) -> object:
        return self.source.to_rdd(sc)


def _block_rows(rows: int) -> Callable[[int], list[float]]:
    def values(i: int) -> list[float]:  # nested: cloudpickle ships it by value
        import random

        rng = random.Random(i)
        return [i + rng.gauss(0, 2) for _ in range(rows)]  # sorted data: block i's values centre on i

    return values


def test_interval_over_kmn_s_choices_covers_the_known_mean(spark: SparkSession) -> None:
    # 24 blocks of sorted values, 6 "night" ones (the smallest) and 18 "day"; K = 10 as 5 night, 5 day: the
    # night blocks are read at 5/6, the day ones at 5/18, so an interval that ignores the design misses
    # (it covered 76% of 2,000 seeds of the same choice against 95% here, Spark-free)
    values = _block_rows(50)
    data = spark.sparkContext.parallelize(range(24), 24).flatMap(values).persist(StorageLevel.MEMORY_ONLY)
    data.count()
    truth = sum(sum(values(i)) for i in range(24)) / (24 * 50)
    try:
        source = _Located(CachedBlocks(data, strata=lambda i: "night" if i < 6 else "day"))
        assert all(b.hosts for b in source.blocks())
        covered = 0
        for seed in range(COVERAGE_RUNS):
            run = any_k_of_n(source, 10, lambda rows: [(sum(rows), 50)], sampling={"night": 5, "day": 5},
                             spark=spark, seed=seed, min_per_class=2)
            sums = dict(zip(run.chosen, run.result, strict=True))  # runJob returns the partitions' results in order
            assert all(abs(sums[i][0] - sum(values(i))) < 1e-6 for i in run.chosen)
            interval = ratio_interval(run.design, {i: s for i, (s, _) in sums.items()},
                                      {i: n for i, (_, n) in sums.items()})
            covered += interval.covers(truth)
        # 95% of 60 is 57 (3 misses expected, 9 or more: p < 0.005): at least 52; design-blind covers about 46
        assert covered >= 52, f"{covered} of {COVERAGE_RUNS} intervals covered the known mean {truth:.3f}"
    finally:
        data.unpersist()


def test_strata_with_extra_upstream_tasks_wait_for_every_stratum(spark: SparkSession, capsys: pytest.CaptureFixture
                                                                  ) -> None:
    # night blocks finish at once and day blocks late: 6 outputs are done before day has its 3
    data = spark.sparkContext.parallelize(range(24), 24).persist(StorageLevel.MEMORY_ONLY)
    data.count()

    def upstream(rows: Iterator[int]) -> Iterator[tuple[int, int]]:
        rows = list(rows)
        time.sleep(0.0 if rows[0] < 6 else 0.6)
        yield (rows[0], rows[0])

    try:
        source = CachedBlocks(data, strata=lambda i: "night" if i < 6 else "day")
        run = any_k_of_n(source, 6, upstream, sampling={"night": 3, "day": 3}, spark=spark, extra=0.05,
                         extra_tasks="always", downstream=lambda r: r.collect())
        assert len(run.chosen) == 8 and sum(1 for i in run.chosen if i < 6) == 4
        assert sorted(run.used) == sorted(i for i, _ in run.result)
        assert sum(1 for i in run.used if i < 6) == 3 and sum(1 for i in run.used if i >= 6) == 3
    finally:
        data.unpersist()
    job = _job("sampling_query")  # the reported command's settings, through the job itself
    args = job.parse(["--blocks", "24", "--k", "6", "--sampling", "stratified", "--extra", "0.05", "--extra-tasks",
                      "always", "--rows", "200"])
    job.check(args)
    assert job.run(spark, args) == 0
    out = capsys.readouterr().out
    assert "outputs used" in out and out.count(" +- ") == 4, out


# -- the 3-host local cluster ------------------------------------------------------


@pytest.fixture(scope="module")
def cluster_spark(local_cluster_3: tuple[LocalCluster, ClusterState], cluster_dir: Path) -> Iterator[SparkSession]:
    _, state = local_cluster_3
    active = SparkSession.getActiveSession()
    if active is not None:  # getOrCreate would hand back the suite's local session
        active.stop()
    builder = configure(SparkSession.builder, load_settings(), master=state.master, state_dir=cluster_dir,
                        app_name="sampling-cluster")
    builder = builder.config("spark.scheduler.minRegisteredResourcesRatio", "1.0")
    session = builder.config("spark.scheduler.maxRegisteredResourcesWaitingTime", "60s").getOrCreate()
    try:
        yield session
    finally:
        session.stop()


def _spread_cache(sc: object, partitions: int) -> object:
    def block(i: int) -> list[int]:
        time.sleep(0.3)  # caching waves finish together: blocks spread over the three executors
        return list(range(i * 10, i * 10 + 10))

    data = sc.parallelize(range(partitions), partitions).flatMap(block)  # type: ignore[attr-defined]
    data.persist(StorageLevel.MEMORY_ONLY).count()
    return data


def _ran(m: object, tag: str) -> dict[int, str]:
    """partitionId -> host of the successful tasks of the jobs tagged `tag`, from Spark's own task records."""
    tasks = m.tasks()  # type: ignore[attr-defined]
    mine = tasks[tasks["jobTags"].map(lambda tags: tag in tags) & (tasks["status"] == "SUCCESS")]
    out = {}
    for (stage, attempt), group in mine.groupby(["stageId", "stageAttemptId"]):
        raw = {int(t["taskId"]): t for t in m.client.tasks(int(stage), int(attempt))}  # type: ignore[attr-defined]
        for task_id, host in zip(group["taskId"], group["host"], strict=True):
            out[int(raw[int(task_id)]["partitionId"])] = str(host)
    return out


@pytest.mark.cluster
def test_chosen_partitions_run_on_the_expected_hosts_avoiding_a_busy_one(
    cluster_spark: SparkSession, tmp_path: Path
) -> None:
    sc = cluster_spark.sparkContext
    assert holds_within(lambda: len(snapshot(cluster_spark).free) == 3, 60), "three executors did not register"
    data = _spread_cache(sc, 12)
    blocks = CachedBlocks(data).blocks()
    assert {h for b in blocks for h in b.hosts} == set(HOSTS)
    busy = blocks[0].hosts[0]
    stop = tmp_path / "stop"

    def hold(rows: object) -> list[int]:  # holds its slot until told to stop (cooperatively, by a file)
        deadline = time.monotonic() + 120
        while not os.path.exists(stop) and time.monotonic() < deadline:
            time.sleep(0.05)
        return [0]

    background = InheritableThread(target=lambda: sc.runJob(data, hold, partitions=[0]), daemon=True)
    background.start()
    try:
        assert holds_within(lambda: snapshot(cluster_spark).free.get(busy) == 0, 60), "background task did not start"
        with measure(cluster_spark) as m:
            run = any_k_of_n(data, 2, _sum, spark=cluster_spark)
        ran = _ran(m, run.tag)
        assert sorted(ran) == list(run.chosen)  # exactly the chosen partitions ran
        assert ran == run.placement  # each on the host the choice expected
        assert busy not in ran.values() and len(set(ran.values())) == 2
    finally:
        stop.touch()
        background.join(60)
        data.unpersist()


@pytest.mark.cluster
def test_extra_upstream_tasks_are_cut_by_the_straggler_bound(cluster_spark: SparkSession) -> None:
    sc = cluster_spark.sparkContext
    data = _spread_cache(sc, 6)

    def upstream(rows: Iterator[int]) -> Iterator[tuple[int, int]]:
        rows = list(rows)
        time.sleep(30 if rows[0] == 0 else 0.2)  # block 0's task is the straggler, if chosen
        yield (0, sum(rows))

    with measure(cluster_spark) as m:
        # K = 4, M = ceil(4 * 1.5) = 6 = N: every block's upstream task runs, block 0's straggles
        run = any_k_of_n(data, 4, upstream, spark=cluster_spark, extra=0.5, extra_tasks="always",
                         downstream=lambda r: r.reduceByKey(lambda a, b: a + b).collect())
    assert run.chosen == (0, 1, 2, 3, 4, 5) and len(run.used) == 4 and 0 not in run.used
    assert 0 in run.cancelled  # cut by the bound, not waited for
    assert run.result == [(0, sum(sum(range(p * 10, p * 10 + 10)) for p in run.used))]
    tasks = m.tasks()
    upstream_tasks = tasks[tasks["jobTags"].map(lambda tags: f"{run.tag}-up" in tags)]
    assert (upstream_tasks["status"] == "SUCCESS").sum() >= 4
    killed = set(upstream_tasks[upstream_tasks["status"] == "KILLED"]["index"])  # partition index = block here
    assert 0 in killed and killed <= set(run.cancelled)  # a cancelled task may also end before its kill lands
    outputs_tag = scope_tag("outputs", compact(run.used))
    downstream = tasks[tasks["jobTags"].map(lambda tags: outputs_tag in tags)]
    assert len(downstream) > 0 and (downstream["status"] == "SUCCESS").all()
