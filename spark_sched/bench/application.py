"""A bench's own local cluster and application: started in `setup`, stopped in `teardown`, once for all.

Every experiment needs the same things: a state directory, a local standalone
cluster (unless `--master` names one), an application configured by the
toolkit on it, and, at the end, all of it stopped and removed even when a run
failed. The FAIR benches (priority, controller_load, composer, pools) add the
priority classes' pools; the placement benches (kmn, locality) add a topology
(hosts dealt into racks) and the shaped testbed, whose links' kernel counters
say what crossed a rack uplink while a run ran (`link_traffic`). Here is that once.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spark_sched.bench.executors import wait_for_executors

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark_sched.bench.base import BenchContext
    from spark_sched.cluster import LocalCluster
    from spark_sched.priority.classes import PriorityClass
    from spark_sched.topology import Topology

EXECUTOR_TIMEOUT_S = 180.0
# Spark holds the application's start until every executor registered (at most 120 s), so data the
# bench caches first spreads over all of them.
ALL_EXECUTORS_FIRST = {
    "spark.scheduler.minRegisteredResourcesRatio": "1.0",
    "spark.scheduler.maxRegisteredResourcesWaitingTime": "120s",
}


def bench_builder(
    master: str, state_dir: str | Path, app_name: str, conf: Mapping[str, str], **overrides: Any
) -> SparkSession.Builder:
    """`configure()` for a bench's application on `master`, with `conf` over it (the bench's own keys win).

    A module function, not a method: a bench's driver may run in a process of its own
    (`_locality_app`), which knows the cluster by its master URL and state directory only.
    """
    from pyspark.sql import SparkSession

    from spark_sched.session import configure

    forget_launch_conf()
    builder = configure(SparkSession.builder, master=master, state_dir=state_dir, app_name=app_name, **overrides)
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder


def forget_launch_conf() -> None:
    """Drop the conf an earlier, stopped application of this process left in the JVM's system properties.

    PySpark launches the driver JVM with the first application's conf as `--conf`
    options, which become system properties, and every later `SparkConf` loads
    them: under `bench all`, the next experiment would inherit the previous one's
    pool file (removed with its state dir) and scheduling mode. A bench process
    is launched by the CLI, never by spark-submit, so no user conf lives there.
    """
    from pyspark import SparkContext

    from spark_sched.session import under_spark_submit

    jvm = SparkContext._jvm
    if jvm is None or SparkContext._active_spark_context is not None or under_spark_submit():
        return
    system = jvm.System
    for key in list(system.getProperties().stringPropertyNames()):
        if str(key).startswith("spark.") and not str(key).startswith("spark.submit."):
            system.clearProperty(key)


@dataclass
class LinkTraffic:
    """What the shaped testbed's links carried while a block ran: each link's counters, after minus before."""

    links: list[dict[str, Any]] = field(default_factory=list)
    counted: bool = False  # False on a cluster that is not shaped: there is nothing to count

    def cross_rack_bytes(self) -> float:
        """Bytes over any rack uplink, both directions (NaN when nothing was counted)."""
        from spark_sched.testbed import cross_rack_bytes

        return float(cross_rack_bytes(self.links)) if self.counted else math.nan


@contextmanager
def link_traffic(cluster_dir: str | Path) -> Iterator[LinkTraffic]:
    """Count what the links of the cluster in `cluster_dir` carry during the block (filled in when it ends)."""
    from spark_sched.testbed import Testbed, is_shaped, link_delta

    traffic = LinkTraffic()
    testbed = Testbed(Path(cluster_dir)) if is_shaped(cluster_dir) else None
    before = testbed.links() if testbed is not None else []
    yield traffic
    if testbed is not None:
        traffic.links, traffic.counted = link_delta(before, testbed.links()), True


class BenchApplication:
    """State dir + cluster (+ one session); `stop()` undoes all of it, each part even if another fails.

    `topology` places the workers in racks with its link rates, and `shaped` starts them on the
    shaped testbed (tc-shaped links, counted by `traffic()`); either means the bench's own
    cluster, whatever `--master` says. Without a topology the cluster is recorded in
    `ctx.cluster` (workers, cores, master); with one the experiment records what it reports
    of the placement (`hosts()`).
    """

    def __init__(
        self, ctx: BenchContext, name: str, workers: int, cores: int, *, memory: str = "1g",
        topology: Topology | None = None, shaped: bool = False,
    ) -> None:
        self.name = name
        self.state_dir = Path(tempfile.mkdtemp(prefix=f"spark-sched-bench-{name.replace('_', '-')}-"))
        self.cluster: LocalCluster | None = None
        self.spark: SparkSession | None = None
        self.racks: dict[str, str] = {}  # worker host -> rack, in worker order
        own = shaped or topology is not None or not ctx.master
        self.workers = workers if own else 1
        master = ctx.master
        try:
            if own:
                master = self._start_cluster(workers, cores, memory, topology, shaped)
                if topology is None:
                    ctx.cluster.update({"workers": workers, "cores_per_worker": cores})
        except BaseException:
            self.stop()
            raise
        self.master: str = master or ""
        if topology is None:
            ctx.cluster["master"] = master

    def _start_cluster(self, workers: int, cores: int, memory: str, topology: Topology | None, shaped: bool) -> str:
        from spark_sched.cluster import LocalCluster

        if shaped:
            from spark_sched.testbed import ShapedCluster

            self.cluster = ShapedCluster(self.state_dir / "cluster")
        else:
            self.cluster = LocalCluster(self.state_dir / "cluster")
        state = self.cluster.up(workers=workers, cores=cores, memory=memory, topology=topology)
        self.racks = {w.host: w.rack for w in state.workers}
        return state.master

    def hosts(self) -> list[dict[str, str]]:
        """Each worker's host and rack, in worker order, as a bench's JSON records them."""
        return [{"host": host, "rack": rack} for host, rack in self.racks.items()]

    def traffic(self) -> AbstractContextManager[LinkTraffic]:
        """`with app.traffic() as t:` what this cluster's links carried during the block (`link_traffic`)."""
        return link_traffic(self.state_dir / "cluster")

    def start_session(
        self, conf: Mapping[str, str] | None = None, *, wait_executors: bool = True, **overrides: Any
    ) -> SparkSession:
        """The bench's application (`bench-<name>`) on this cluster, `conf` over the settings' conf.

        `wait_executors`: return once every executor registered (`self.slots` set); False when
        the conf makes Spark itself wait (ALL_EXECUTORS_FIRST). `overrides` go to `configure()`.
        """
        app_name = f"bench-{self.name.replace('_', '-')}"
        self.spark = bench_builder(self.master, self.state_dir, app_name, conf or {}, **overrides).getOrCreate()
        self.spark.sparkContext.setLogLevel("ERROR")
        if wait_executors:
            self.slots = wait_for_executors(self.spark, self.workers, EXECUTOR_TIMEOUT_S, self.name)
        return self.spark

    def start_fair_session(
        self, classes: Sequence[PriorityClass] | None = None, conf: Mapping[str, str] | None = None
    ) -> SparkSession:
        """The FAIR application (pools of `classes`, default the toolkit's HIGH/LOW), its executors registered."""
        from spark_sched.priority.classes import DEFAULT_CLASSES, fair_conf, write_pool_file

        fair = fair_conf(write_pool_file(self.state_dir, classes or DEFAULT_CLASSES))
        return self.start_session({**fair, "spark.executor.memory": "512m", **(conf or {})})

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
