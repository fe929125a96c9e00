"""`with measure(spark) as m:` -- the stages and tasks of the jobs run in the block, in sparkMeasure's names.

Spark's own records (REST API while the app runs) are always read, because
sparkMeasure keeps only successful tasks and no end reason. Where the session
asked for sparkMeasure (`configure(..., measure="sparkmeasure")`) and its jar
loads, sparkMeasure measures the same window alongside (`m.sparkmeasure`); where
the jar is missing, one line says so and Spark's records carry on alone.

    with measure(spark) as m:
        df.groupBy("k").count().collect()
    m.tasks()       # one row per task attempt: status, killReason, taskLocality, host, pool, jobTags, ...
    m.aggregate()   # sparkMeasure's aggregate names + numKilledTasks, wastedTaskTime, localityFraction
    print(m.report())
"""

from __future__ import annotations

import sys
import time
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from spark_sched.connect import refuse_on_connect
from spark_sched.measure import frames, report, rest
from spark_sched.measure.records import Records
from spark_sched.measure.rest import MeasureError
from spark_sched.measure.schema import AGGREGATE_NAMES
from spark_sched.measure.sparkmeasure import SOURCE_CONF, SparkMeasure, drain_listeners, load_into_driver, say_missing

if TYPE_CHECKING:
    from types import TracebackType

    from pyspark.sql import SparkSession

SOURCES = ("spark", "sparkmeasure")
_sources_seen: set[str] = set()
DEFAULT_SETTLE_TIMEOUT_S = 60.0

__all__ = ["MeasureError", "Measurement", "measure", "sources_seen"]


class Measurement:
    """One measurement window over a live SparkSession (sparkMeasure's begin/end/report ergonomics)."""

    def __init__(
        self, spark: SparkSession, source: str | None = None, settle_timeout_s: float = DEFAULT_SETTLE_TIMEOUT_S
    ) -> None:
        refuse_on_connect(spark, "measure")
        self.spark = spark
        self.settle_timeout_s = settle_timeout_s
        self.client = rest.RestClient.for_session(spark)
        self.asked = source or spark.sparkContext.getConf().get(SOURCE_CONF, "spark")
        if self.asked not in SOURCES:
            raise MeasureError(f"measure(): source = {self.asked!r} is not valid; allowed: {', '.join(SOURCES)}")
        self.sparkmeasure: SparkMeasure | None = None
        self.sparkmeasure_aggregate: dict[str, Any] = {}
        self.sparkmeasure_task_aggregate: dict[str, Any] = {}
        self.sparkmeasure_text = ""
        self._records: Records | None = None
        self._first_job: int | None = None
        self._started = 0.0

    @property
    def sources(self) -> tuple[str, ...]:
        """Which sources measured this window: always "spark", plus "sparkmeasure" where its jar loaded."""
        return ("spark", "sparkmeasure") if self.sparkmeasure else ("spark",)

    def _job_counter(self) -> int:
        counter = rest.next_job_id(self.spark)
        if counter is not None:
            return counter
        return 1 + max((int(j["jobId"]) for j in self.client.jobs()), default=-1)

    def begin(self) -> Measurement:
        """Start the window: jobs submitted from now on are measured."""
        if self.asked == "sparkmeasure" and self.sparkmeasure is None:
            if load_into_driver(self.spark):
                self.sparkmeasure = SparkMeasure(self.spark)
            else:
                say_missing(self.spark)
        self._records = None
        self._first_job = self._job_counter()
        self._started = time.time()
        if self.sparkmeasure:
            self.sparkmeasure.begin()
        return self

    def end(self) -> Measurement:
        """Close the window and read Spark's records once its jobs' tasks have all ended (or the deadline passed)."""
        if self._first_job is None:
            raise MeasureError("measure(): end() called before begin()")
        window_ms = int((time.time() - self._started) * 1000)
        last_job = self._job_counter()
        if self.sparkmeasure:
            self.sparkmeasure.end()
        running = rest.active_jobs(self.spark, range(self._first_job, last_job))
        records = rest.collect(self.client, self._first_job, last_job, self.settle_timeout_s, running)
        records.window_ms = window_ms
        records.source = "+".join(self.sources)
        _sources_seen.update(self.sources)
        records.app_id = self.spark.sparkContext.applicationId
        records.spark_version = str(self.spark.version)
        self._records = records
        if self.sparkmeasure:
            drain_listeners(self.spark)
            self.sparkmeasure_aggregate = {k: _plain(v) for k, v in self.sparkmeasure.aggregate().items()}
            self.sparkmeasure_task_aggregate = {k: _plain(v) for k, v in self.sparkmeasure.task_aggregate().items()}
            self.sparkmeasure_text = self.sparkmeasure.report()
            self.sparkmeasure.close()
        return self

    def __enter__(self) -> Measurement:
        return self.begin()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.end()
        except MeasureError:
            if exc is None:
                raise

    @property
    def records(self) -> Records:
        if self._records is None:
            raise MeasureError("measure(): results are read after the window ends (leave the `with` block first)")
        return self._records

    def tasks(self) -> pd.DataFrame:
        """One row per task attempt (SUCCESS, KILLED, FAILED) with sparkMeasure's task metric names."""
        return frames.tasks_frame(self.records)

    def stages(self) -> pd.DataFrame:
        """One row per stage attempt that ran, with sparkMeasure's stage metric names."""
        return frames.stages_frame(self.records)

    def jobs(self) -> pd.DataFrame:
        """One row per job of the window: status, submission/completion time, duration (ms), tags."""
        return frames.jobs_frame(self.records)

    def aggregate(self) -> dict[str, Any]:
        """sparkMeasure's aggregate names, plus numKilledTasks, numFailedTasks, wastedTaskTime, localityFraction.

        Where sparkMeasure measured the window, its own StageMetrics numbers are returned for its
        names; the additions (which it does not keep) come from Spark's records either way.
        `aggregate_sources()` says which figure came from where.
        """
        ours = frames.aggregate(self.records)
        if not self.sparkmeasure_aggregate:
            return ours
        theirs = {n: self.sparkmeasure_aggregate[n] for n in AGGREGATE_NAMES if n in self.sparkmeasure_aggregate}
        return {**ours, **theirs}

    def aggregate_sources(self) -> dict[str, str]:
        """For every figure of `aggregate()`, the source it came from: "sparkmeasure" or "spark"."""
        return {name: "sparkmeasure" if name in self.sparkmeasure_aggregate and name in AGGREGATE_NAMES else "spark"
                for name in self.aggregate()}

    def sparkmeasure_report(self) -> str:
        """sparkMeasure's own report text for this window ("" where sparkMeasure did not measure it)."""
        return self.sparkmeasure_text

    def latency(self, tag_prefix: str = "") -> dict[str, dict[str, float]]:
        """Job latency p50/p95/p99 (ms) per job tag starting with `tag_prefix`, grouped by the tag's rest."""
        return frames.latency_percentiles(self.records, tag_prefix)

    def report(self, tag_prefix: str | None = None) -> str:
        """Text in sparkMeasure's style; with `tag_prefix`, job latency percentiles per tag too."""
        return report.text_report(self.records, tag_prefix)

    def print_report(self, tag_prefix: str | None = None) -> None:
        print(self.report(tag_prefix))

    def to_json(self, tag_prefix: str | None = None) -> dict[str, Any]:
        return report.json_report(self.records, tag_prefix)

    def save_csv(self, directory: str | Path) -> list[Path]:
        """Write tasks.csv, stages.csv and jobs.csv into `directory`."""
        return report.write_csv(self.records, directory)


def sources_seen(reset: bool = False) -> list[str]:
    """The sources that measured any window this process closed since the last reset (benches report it)."""
    seen = sorted(_sources_seen)
    if reset:
        _sources_seen.clear()
    return seen


def _plain(value: Any) -> Any:
    """A py4j number as a Python int (sparkMeasure's aggregates are Java longs)."""
    return int(value) if isinstance(value, (int, float)) or hasattr(value, "longValue") else value


def measure(
    spark: SparkSession, source: str | None = None, settle_timeout_s: float = DEFAULT_SETTLE_TIMEOUT_S
) -> Measurement:
    """A measurement window over `spark`; use it as a context manager (or call begin()/end()).

    `source` is "spark" (Spark's records only) or "sparkmeasure" (also sparkMeasure, where
    its jar loads); by default, what the session was configured with.
    """
    return Measurement(spark, source, settle_timeout_s)


class _CallableModule(types.ModuleType):
    """Lets `spark_sched.measure(spark)` work as written, beside `from spark_sched.measure import measure`."""

    def __call__(
        self, spark: SparkSession, source: str | None = None, settle_timeout_s: float = DEFAULT_SETTLE_TIMEOUT_S
    ) -> Measurement:
        return measure(spark, source, settle_timeout_s)


sys.modules[__name__].__class__ = _CallableModule
