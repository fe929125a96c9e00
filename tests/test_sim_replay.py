"""`spark-sched sim replay` on an event log real Spark wrote: counts, the model's error as recorded, a what-if.

The log comes from a small PySpark application (this module run as a script:
local[2], FAIR with two pools, a cached RDD read again so tasks run
PROCESS_LOCAL from the cache, a shuffle whose map stage a second job skips, a
long batch job beside short tagged interactive jobs). It runs once per session
in its own process under the machine's Spark lock, which stops Spark when it
exits; the checks then read its log. The counts are taken by reading the
log's JSON lines here, independently of the toolkit's reader.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import zstandard
from click.testing import CliRunner

from spark_sched.cli.main import cli
from spark_sched.sim.replay import replay
from spark_sched.sim.trace import load_trace

REPO = Path(__file__).resolve().parent.parent
APP_TIMEOUT_S = 300  # the application itself takes about 25 s
# As recorded, each job's predicted time comes from its own tasks' recorded durations; the model leaves out the
# driver's own latency (submission to first launch, between stages, last task to job end): tens of ms in local
# mode, on jobs of 0.25 s and more. A median error above 15 % means the model lost or added real time.
ERROR_BOUND = 0.15


# ---- the application (run as a script) ---------------------------------------------------------------------------
def _sleeping(seconds: float) -> Any:
    def task(x: Any) -> Any:
        import time as clock

        clock.sleep(seconds)
        return x

    return task


def run_app(out: Path) -> None:
    """Several jobs in two FAIR pools with a cache and a shuffle; Spark is stopped before returning."""
    from pyspark import InheritableThread
    from pyspark.sql import SparkSession

    from spark_sched import configure, load_settings
    from spark_sched.pools.context import pool

    pools = out / "pools.toml"
    pools.write_text('[pools.batch]\nmode = "FIFO"\n\n[pools.interactive]\nmode = "FAIR"\n', encoding="utf-8")
    spark = configure(SparkSession.builder, load_settings(), master="local[2]", app_name="sim-replay-test",
                      state_dir=out / "state", pools=str(pools)).getOrCreate()
    try:
        sc = spark.sparkContext
        sc.setLogLevel("WARN")
        sc.parallelize(range(8), 8).map(_sleeping(0.05)).count()
        cached = sc.parallelize(range(16), 8).map(_sleeping(0.1)).cache()
        cached.count()
        cached.map(lambda x: x + 1).sum()  # reads the cache: PROCESS_LOCAL
        pairs = cached.map(lambda x: (x % 4, x)).reduceByKey(lambda a, b: a + b, 4)
        pairs.collect()
        pairs.mapValues(_sleeping(0.05)).collect()  # its map stage is skipped: the shuffle output is reused

        def batch() -> None:
            with pool("batch"):
                sc.parallelize(range(24), 24).map(_sleeping(0.25)).count()

        def interactive() -> None:
            with pool("interactive"):
                sc.addJobTag("interactive")
                for _ in range(3):
                    time.sleep(0.4)
                    sc.parallelize(range(2), 2).map(_sleeping(0.1)).count()

        threads = [InheritableThread(target=batch), InheritableThread(target=interactive)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        spark.stop()


# ---- the log --------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def spark_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The application's event log (its eventlog_v2_* directory), written by a run of this file as a script."""
    out = tmp_path_factory.mktemp("sim-replay")
    command = [sys.executable, str(Path(__file__).resolve()), str(out)]
    proc = subprocess.Popen(command, cwd=REPO, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = proc.communicate(timeout=APP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the group this test started: Python and its JVM
        proc.communicate()
        pytest.fail(f"the application did not finish within {APP_TIMEOUT_S} s")
    assert proc.returncode == 0, output[-3000:]
    logs = sorted((out / "state" / "events").glob("eventlog_v2_*"))
    assert len(logs) == 1, logs
    return logs[0]


def raw_events(log: Path) -> list[dict[str, Any]]:
    """Every JSON line of a rolling log directory, decompressed here (zstd or plain), in file order."""
    files = sorted(log.glob("events_*"), key=lambda p: int(p.name.split("_")[1]))
    events = []
    for path in files:
        data = path.read_bytes()
        if path.name.endswith(".zstd"):
            data = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True).read()
        events += [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
    return events


def _of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["Event"] == f"SparkListener{kind}"]


def _write(path: Path, events: list[dict[str, Any]], torn: str = "") -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events) + torn, encoding="utf-8")
    return path


def _cli(*args: str) -> Any:
    return CliRunner().invoke(cli, ["sim", "replay", *args])


# ---- checks ---------------------------------------------------------------------------------------------------------
def test_counts_equal_what_the_log_has(spark_log: Path) -> None:
    events = raw_events(spark_log)
    trace = load_trace(spark_log)
    submitted = {e["Stage Info"]["Stage ID"] for e in _of(events, "StageSubmitted")}
    listed = {s["Stage ID"] for e in _of(events, "JobStart") for s in e["Stage Infos"]}
    succeeded = {(e["Stage ID"], e["Task Info"]["Index"]) for e in _of(events, "TaskEnd")
                 if e["Task End Reason"]["Reason"] == "Success"}
    assert listed - submitted, "the application skips a stage: the log lists one it never submits"
    assert len(trace.jobs) == len(_of(events, "JobStart"))
    assert trace.stage_count == len(submitted)
    assert trace.task_count == len(succeeded)
    assert {s.stage_id for j in trace.jobs for s in j.stages} == submitted
    executor = _of(events, "ExecutorAdded")[0]["Executor Info"]
    assert trace.cluster.hosts == (executor["Host"],) and trace.cluster.slots == executor["Total Cores"]
    assert trace.settings.mode == "FAIR" and {p.name for p in trace.settings.pools} == {"batch", "interactive"}
    pools = {j.job_id: j.pool for j in trace.jobs}
    for e in _of(events, "JobStart"):
        assert pools[e["Job ID"]] == (e["Properties"].get("spark.scheduler.pool") or "default")
    cached = [t for j in trace.jobs for s in j.stages for t in s.tasks if t.cached]
    assert cached and all(t.preferred == (executor["Host"],) for t in cached)


def test_as_recorded_the_median_job_time_error_is_small(spark_log: Path) -> None:
    events = raw_events(spark_log)
    ends = {e["Job ID"]: e["Completion Time"] for e in _of(events, "JobEnd")}
    recorded = {e["Job ID"]: (ends[e["Job ID"]] - e["Submission Time"]) / 1000 for e in _of(events, "JobStart")}
    comparison = replay(load_trace(spark_log), seeds=3)
    predicted = {row["job"]: row["predicted_s"] for row in comparison.jobs}
    assert predicted.keys() == recorded.keys()
    errors = sorted(abs(predicted[j] - recorded[j]) / recorded[j] for j in recorded)
    measured = statistics.median(errors)
    print(f"\nmedian abs job-time error as recorded: {measured:.2%} over {len(errors)} jobs "
          f"(max {errors[-1]:.2%}); recorded median {comparison.recorded['median_s']:.3f}s, "
          f"predicted {comparison.predicted['median_s']:.3f}s")
    assert math.isclose(comparison.median_abs_error, measured, rel_tol=1e-9)
    assert measured <= ERROR_BOUND
    assert abs(comparison.predicted["locality"] - comparison.recorded["locality"]) <= 0.05


def test_fifo_makes_the_interactive_pool_wait_behind_the_batch(spark_log: Path) -> None:
    fifo = _cli(str(spark_log), "--mode", "FIFO", "--seeds", "3", "--json")
    assert fifo.exit_code == 0, fifo.output
    figures = json.loads(fifo.stdout)["whatif"]["figures"]
    interactive, batch = figures["pool:interactive"]["median_s"], figures["pool:batch"]["median_s"]
    assert interactive["change"] > 0 and interactive["beyond_uncertainty"], interactive
    assert batch["change"] <= 0, batch  # under FIFO the batch job no longer shares its slots
    assert figures["tag:interactive"]["median_s"]["change"] == interactive["change"]
    same = json.loads(_cli(str(spark_log), "--mode", "FAIR", "--seeds", "3", "--json").stdout)
    assert all(f["change"] == 0 for group in same["whatif"]["figures"].values() for f in group.values())


def test_text_report_shows_recorded_predicted_and_the_whatif(spark_log: Path) -> None:
    result = _cli(str(spark_log), "--locality-wait", "0", "--no-legacy-reset", "--seeds", "2")
    assert result.exit_code == 0, result.output
    for fragment in ("job time median", "job time p99", "locality", "median abs error", "what-if mode FAIR",
                     "waits 0/0/0s", "pool:interactive"):
        assert fragment in result.stdout


def test_json_is_strict(spark_log: Path, tmp_path: Path) -> None:
    events = raw_events(spark_log)
    cut = next(i for i, e in enumerate(events) if e["Event"] == "SparkListenerJobEnd" and e["Job ID"] == 6)
    partial = _write(tmp_path / "local-partial", events[:cut], torn='{"Event": "SparkListenerTaskEnd", "Sta')
    result = _cli(str(partial), "--json", "--seeds", "1")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"{name} in the JSON"))
    assert any("last jobs may be partial" in note for note in doc["notes"])
    unfinished = {e["Job ID"] for e in _of(events[:cut], "JobStart")} - {e["Job ID"] for e in _of(events[:cut],
                                                                                                    "JobEnd")}
    assert unfinished and doc["error"]["compared_jobs"] == doc["counts"]["jobs"] - len(unfinished)


def test_without_executor_events_slots_are_inferred(spark_log: Path, tmp_path: Path) -> None:
    events = raw_events(spark_log)
    cores = _of(events, "ExecutorAdded")[0]["Executor Info"]["Total Cores"]
    bare = _write(tmp_path / "local-bare", [e for e in events if e["Event"] != "SparkListenerExecutorAdded"])
    trace = load_trace(bare)
    assert trace.cluster.slots == cores and any("inferred" in note for note in trace.notes)


@pytest.mark.parametrize("case", ["foreign-json", "binary", "empty", "two-logs", "no-jobs"])
def test_bad_files_are_refused_in_one_line(case: str, spark_log: Path, tmp_path: Path) -> None:
    target = tmp_path / case
    if case == "foreign-json":
        target.write_text('{"level": "INFO", "msg": "started"}\n{"level": "WARN", "msg": "slow"}\n')
    elif case == "binary":
        target.write_bytes(bytes(range(256)) * 8)
    elif case == "empty":
        target.write_bytes(b"")
    elif case == "two-logs":
        target.mkdir()
        for name in ("eventlog_v2_local-1", "eventlog_v2_local-2"):
            shutil.copytree(spark_log, target / name)
    else:
        events = raw_events(spark_log)
        _write(target, [e for e in events if not e["Event"].startswith(("SparkListenerJob", "SparkListenerStage",
                                                                        "SparkListenerTask"))])
    result = _cli(str(target))
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert str(target) in lines[0] and "allowed:" in lines[0] and "Traceback" not in result.output


if __name__ == "__main__":
    run_app(Path(sys.argv[1]))
