"""A bench's own local cluster and FAIR application: started in `setup`, stopped in `teardown`, once for all.

The priority, controller_load, composer and pools experiments each need the
same things: a state directory, a local standalone cluster (unless `--master`
names one), a FAIR application with the toolkit's pools on it, and, at the
end, all of it stopped and removed even when a run failed. Here is that once.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from spark_sched.bench.executors import wait_for_executors

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_sched.bench.base import BenchContext
    from spark_sched.cluster import LocalCluster
    from spark_sched.priority.classes import PriorityClass

EXECUTOR_TIMEOUT_S = 180.0


class BenchApplication:
    """State dir + cluster (+ one FAIR session); `stop()` undoes all of it, each part even if another fails."""

    def __init__(self, ctx: BenchContext, name: str, workers: int, cores: int) -> None:
        from spark_sched.cluster import LocalCluster

        self.name = name
        self.state_dir = Path(tempfile.mkdtemp(prefix=f"spark-sched-bench-{name.replace('_', '-')}-"))
        self.cluster: LocalCluster | None = None
        self.spark: SparkSession | None = None
        self.workers = 1 if ctx.master else workers
        master = ctx.master
        try:
            if not master:
                self.cluster = LocalCluster(self.state_dir / "cluster")
                master = self.cluster.up(workers=workers, cores=cores, memory="1g").master
                ctx.cluster.update({"workers": workers, "cores_per_worker": cores})
        except BaseException:
            self.stop()
            raise
        self.master = master
        ctx.cluster["master"] = master

    def start_fair_session(
        self, classes: Sequence[PriorityClass] | None = None, conf: Mapping[str, str] | None = None
    ) -> SparkSession:
        """The FAIR application (pools of `classes`, default the toolkit's HIGH/LOW), its executors registered."""
        from pyspark.sql import SparkSession

        from spark_sched import configure, load_settings
        from spark_sched.priority.classes import DEFAULT_CLASSES, fair_conf, write_pool_file

        settings = load_settings()
        spark_conf = dict(settings.spark_conf)
        spark_conf.update(fair_conf(write_pool_file(self.state_dir, classes or DEFAULT_CLASSES)))
        spark_conf.update({"spark.executor.memory": "512m", **(conf or {})})
        builder = configure(SparkSession.builder, settings, master=self.master, state_dir=self.state_dir,
                            app_name=f"bench-{self.name.replace('_', '-')}", spark_conf=spark_conf)
        self.spark = builder.getOrCreate()
        self.spark.sparkContext.setLogLevel("ERROR")
        self.slots = wait_for_executors(self.spark, self.workers, EXECUTOR_TIMEOUT_S, self.name)
        return self.spark

    def stop(self) -> None:
        """Stop the session, bring the cluster down, remove the state dir; each step runs whatever failed before."""
        spark, cluster, self.spark, self.cluster = self.spark, self.cluster, None, None
        try:
            if spark is not None:
                spark.stop()
        finally:
            try:
                if cluster is not None:
                    cluster.down()
            finally:
                shutil.rmtree(self.state_dir, ignore_errors=True)
