"""Bench `kmn`: does choosing K of N beat a pre-selected sample? (shaped testbed)

One Spark application on the shaped testbed (4 workers x 4 slots, two racks,
rack uplinks slower than host links) caches N blocks, one copy each
(MEMORY_ONLY). Before every run a background job pins tasks to one host of
each rack (another host each repetition), holding half the slots, so about
half the blocks have no free local slot, as on a busy cluster. (With two
copies a random draw of 6 blocks found a free local copy of each in most
repetitions, and the choice did not matter.) Each variant then computes the same
approximate aggregate over K blocks (upstream: read a block, compute, emit a
partial aggregate; downstream: a shuffle and a reduce), with Spark's default
locality wait:

- `full_scan`: `rdd.sample(K/N)` over all N blocks (reads everything);
- `random_k`: a uniform K pre-selected at random (the paper's baseline);
- `kmn_input`: `any_k_of_n(..., extra=0)`: the K blocks local to free slots now;
- `kmn_full`: `any_k_of_n(..., extra=0.05)`: M = ceil(K * 1.05) upstream tasks
  when the decision before launching says they fit the free local slots and
  can save more (transfer, and the hedge against the slowest of K) than they
  cost, else the single pipeline of K;
- `kmn_extra_10`, `kmn_extra_20`: the same with extra 0.10 and 0.20 (the sweep;
  extra 0 is `kmn_input`, 0.05 is `kmn_full`).

Upstream tasks compute row by row (one block in eight straggles: its rows take 3x), so
an extra task that is cut stops at its next row.
K = 6 of N = 32, so M = 7 fits the 8 slots the background leaves free. Before
the first repetition, two KMN runs of the same job give the application the
task times its hedge estimate starts from (as a user's earlier jobs would).
Metrics: job_ms (wall), bytes_read (input bytes of all tasks), local_fraction
(PROCESS/NODE_LOCAL share of the input tasks), task_ms and extra_task_ms (task
time of upstream tasks whose output was not used: killed or unpicked),
cross_rack_bytes and cross_rack_skew (the rack uplinks' kernel counters, each
direction: most loaded / least loaded), extra_task_share (extra_task_ms /
task_ms), decision_ms, extra_tasks (1 when the run launched M > K upstream
tasks), hedge_ms (the expected gain of keeping the first K of M) and the
run's phase times (decide_ms, then pipeline_ms, or upstream_ms, choose_ms,
cancel_ms and downstream_ms): where a job's time went, and
straggling_blocks_run / straggling_blocks_used (stragglers among the blocks
read and among the K used: the luck of a draw). Setup also
times the chooser alone at N = 10,000 blocks, 1,000 hosts, 3 replicas, one
decision at a time.

Spark's default is `random_k` (a sample chosen before the job, read with
Spark's default locality wait) and `full_scan` (`rdd.sample` over everything).

Targets, judged by the harness on paired per-repetition values (a variant's
run over its baseline's run in the same repetition; the median, its 95%
bootstrap interval and a verdict met / missed / inconclusive):
kmn_full.job_ms / random_k.job_ms <= 0.5; kmn_full.job_ms / kmn_input.job_ms
<= 1.0 (extra tasks never cost more than they save); kmn_input.bytes_read and
kmn_full.bytes_read over K/N of full_scan.bytes_read <= 1.05;
kmn_input.local_fraction >= 0.95;
kmn_full.extra_task_share <= (M - K) / M (the extra tasks take no more than
their share of the tasks: cancelled before they overrun); kmn_full.cross_rack_skew /
random_k.cross_rack_skew <= 1.0; and the chooser's per-decision time at
scale <= 50 ms (judged on the decisions timed in setup).
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from spark_sched.bench.application import ALL_EXECUTORS_FIRST, BenchApplication
from spark_sched.bench.base import BenchContext, TargetSpec
from spark_sched.bench.experiments._common import absolute, paired, ratio
from spark_sched.errors import SparkSchedError
from spark_sched.locality import local_fraction
from spark_sched.plots import figure
from spark_sched.testbed import cross_rack_bytes, require_tools
from spark_sched.topology import Topology

WORKERS, CORES, RACKS = 4, 4, 2
BG_TAG = "kmn-bench-background"
EXTRAS = {"kmn_input": 0.0, "kmn_full": 0.05, "kmn_extra_10": 0.10, "kmn_extra_20": 0.20}
SLOT_TIMEOUT_S = 90.0
WARMUP_RUNS = 2  # KMN runs before the first repetition: the application's first task times, as a user's would have
TARGET_CHOOSER_MS = 50.0
CHOOSER = "chooser.decision_ms (N=10,000, 1,000 hosts, 3 replicas)"


def _params(quick: bool) -> dict[str, Any]:
    return {
        "workers": WORKERS, "cores_per_worker": CORES, "racks": RACKS,
        "host_rate": "1gbit", "rack_uplink_rate": "100mbit",
        "blocks_n": 32, "k": 6, "replication": 1, "warmup_runs": WARMUP_RUNS,
        "block_mb": 2 if quick else 4, "rows_per_block": 32,
        "task_seconds": 0.6 if quick else 1.0, "straggler_every": 8, "straggler_factor": 3.0,
        "output_kb_per_task": 1024, "reducers": 4,
        "background_hosts_per_rack": 1, "locality_wait": "3s (Spark's default)",
    }


# -- the workload (shipped to executors by reference: this module is importable there) -------------------


def make_block(i: int, rows: int, row_bytes: int) -> list[tuple[int, bytes]]:
    rng = np.random.default_rng(i)
    return [(i, rng.bytes(row_bytes)) for _ in range(rows)]


def upstream_fn(params: dict[str, Any]) -> Any:
    """Read a block row by row, computing as it goes (a sleep per row; stragglers' rows slower), emit partials."""
    per_row = params["task_seconds"] / params["rows_per_block"]
    reducers, blob = params["reducers"], params["output_kb_per_task"] * 1024 // params["reducers"]
    every, factor = params["straggler_every"], params["straggler_factor"]

    def upstream(rows: Iterable[tuple[int, bytes]]) -> Iterator[tuple[int, tuple[int, int, bytes]]]:
        count = total = 0
        for row_block, payload in rows:
            count, total = count + 1, total + payload[0]
            time.sleep(per_row * (factor if row_block % every == 0 else 1.0))
        for r in range(reducers):
            yield (r, (count, total, bytes(blob) if count else b""))

    return upstream


def _straggling(blocks: Iterable[int], params: dict[str, Any]) -> float:
    """How many of these blocks are stragglers, so a run's time can be read against the stragglers it drew."""
    return float(sum(1 for b in blocks if b % params["straggler_every"] == 0))


def merge(a: tuple[int, int, bytes], b: tuple[int, int, bytes]) -> tuple[int, int, bytes]:
    return (a[0] + b[0], a[1] + b[1], b"")


def downstream_fn(reducers: int) -> Any:
    def downstream(rdd: Any) -> list[tuple[int, tuple[int, int, bytes]]]:
        return sorted(rdd.reduceByKey(merge, reducers).collect())

    return downstream


def _hold(stop: str) -> Any:
    def hold(items: Iterable[Any]) -> list[int]:  # a background task: holds its slot until the stop file appears
        import os

        deadline = time.monotonic() + 600
        while not os.path.exists(stop) and time.monotonic() < deadline:
            time.sleep(0.05)
        return [0]

    return hold


def skew_of(links: list[dict[str, Any]]) -> float:
    """Most loaded rack uplink direction over the least loaded (bytes from the kernel counters)."""
    values = [float(row[d]) for row in links if row["kind"] == "rack_uplink" for d in ("sent", "received")]
    return max(values) / max(1.0, min(values)) if values else float("nan")


# -- the experiment ---------------------------------------------------------------------------------------


class KmnExperiment:
    name = "kmn"
    description = "Does choosing K of N blocks (KMN) beat a pre-selected sample? (shaped testbed)"
    variants = ("full_scan", "random_k", "kmn_input", "kmn_full", "kmn_extra_10", "kmn_extra_20")

    def __init__(self) -> None:
        self.app: BenchApplication | None = None
        self.spark: Any = None
        self.data: Any = None
        self.racks: dict[str, str] = {}
        self.topology: Topology | None = None
        self.runs: dict[str, list[dict[str, float]]] = {}
        self.chooser_ms: tuple[float, ...] = ()

    def setup(self, ctx: BenchContext) -> None:
        params = _params(ctx.quick)
        ctx.params.update(params)
        ctx.params["chooser_scale_check"] = self._time_chooser(5 if ctx.quick else 9)
        require_tools()
        self.topology = Topology(racks=RACKS, host_rate=params["host_rate"],
                                 rack_uplink_rate=params["rack_uplink_rate"], source="bench kmn")
        self.app = BenchApplication(ctx, "kmn", WORKERS, CORES, memory="1500m", topology=self.topology, shaped=True)
        self.racks = self.app.racks
        ctx.cluster.update({"master": self.app.master, "shaped": True, "workers": self.app.hosts()})
        self._start_app(self.app, params)

    def _time_chooser(self, decisions: int) -> dict[str, Any]:
        """The chooser alone at scale, one decision per call (a fresh snapshot each): every decision's wall ms."""
        from spark_sched.sampling.scale import scale_check

        each = [scale_check(decisions=1, seed=d) for d in range(decisions)]
        self.chooser_ms = tuple(r.median_ms for r in each)
        cpu = [r.cpu_median_ms for r in each]
        return {"n": each[0].n, "hosts": each[0].hosts, "replicas": each[0].replicas, "k": each[0].k,
                "decisions": decisions, "median_ms": float(np.median(self.chooser_ms)),
                "max_ms": max(self.chooser_ms), "cpu_median_ms": float(np.median(cpu)),
                "local": float(each[-1].local), "decision_ms": list(self.chooser_ms)}

    def _start_app(self, app: BenchApplication, params: dict[str, Any]) -> None:
        from pyspark import StorageLevel

        conf = {"spark.executor.memory": "1g", "spark.cores.max": str(WORKERS * CORES), **ALL_EXECUTORS_FIRST}
        self.spark = app.start_session(conf, wait_executors=False)
        sc = self.spark.sparkContext
        rows, n = params["rows_per_block"], params["blocks_n"]
        row_bytes = params["block_mb"] * (1 << 20) // rows

        def block(i: int) -> list[tuple[int, bytes]]:
            time.sleep(0.3)  # caching waves finish together: an even spread of blocks over executors
            return make_block(i, rows, row_bytes)

        copies = StorageLevel(False, True, False, False, params["replication"])  # MEMORY_ONLY, that many copies
        self.data = sc.parallelize(range(n), n).flatMap(block).persist(copies)
        self.data.count()
        self._warm_up(params)

    def _warm_up(self, params: dict[str, Any]) -> None:
        """KMN runs of the bench's job before any repetition: the task times the hedge gain is estimated from."""
        from spark_sched.sampling import any_k_of_n

        up, down = upstream_fn(params), downstream_fn(params["reducers"])
        for seed in range(WARMUP_RUNS):
            any_k_of_n(self.data, params["k"], up, downstream=down, extra_tasks="never", spark=self.spark,
                       seed=seed, topology=self.topology, racks=self.racks)

    # -- one run ------------------------------------------------------------------------------------------

    def _busy_hosts(self, repetition: int) -> list[str]:
        """One host per rack, a different one each repetition.

        Where the blocks were cached is fixed for the whole run, and the random
        draw of a repetition is fixed by its seed; with the same busy hosts in
        every repetition, whether `random_k`'s draw lands on them would be one
        coin for the whole run. Rotating them makes it a coin per repetition.
        """
        by_rack: dict[str, list[str]] = {}
        for host, rack in sorted(self.racks.items()):
            by_rack.setdefault(rack, []).append(host)
        return [hosts[repetition % len(hosts)] for _, hosts in sorted(by_rack.items())]

    def _start_background(self, stop: Path, repetition: int) -> threading.Thread:
        """Pin CORES tasks to one host per rack (Spark's own placement preference) and wait until they run."""
        from pyspark import InheritableThread

        from spark_sched.sampling.snapshot import snapshot
        from spark_sched.sampling.spark_rdd import placed_strings

        sc = self.spark.sparkContext
        busy = self._busy_hosts(repetition)
        pins = placed_strings(sc, [(f"bg-{h}-{j}", [h]) for h in busy for j in range(CORES)])

        def run() -> None:
            sc.addJobTag(BG_TAG)
            with contextlib.suppress(Exception):  # cancelled at teardown
                sc.runJob(pins, _hold(str(stop)))

        thread = InheritableThread(target=run, daemon=True)
        thread.start()
        deadline = time.monotonic() + SLOT_TIMEOUT_S
        while time.monotonic() < deadline:
            free = snapshot(self.spark, self.topology, self.racks).free
            if all(free.get(h, 1) == 0 for h in busy):
                return thread
            time.sleep(0.1)
        raise SparkSchedError("bench kmn: the background tasks did not take their hosts' slots in time")

    def _wait_idle(self) -> None:
        from spark_sched.sampling.snapshot import snapshot

        deadline = time.monotonic() + SLOT_TIMEOUT_S
        while time.monotonic() < deadline:
            if sum(snapshot(self.spark, self.topology, self.racks).free.values()) == WORKERS * CORES:
                return
            time.sleep(0.1)

    def _variant(self, variant: str, repetition: int, params: dict[str, Any]) -> tuple[dict[str, float], Any]:
        """Run one variant's job; returns (extra metrics, the KmnRun or None)."""
        from spark_sched.sampling import any_k_of_n
        from spark_sched.sampling.spark_rdd import prune

        k, n, seed = params["k"], params["blocks_n"], 1000 + repetition
        up, down = upstream_fn(params), downstream_fn(params["reducers"])
        sc = self.spark.sparkContext
        if variant == "full_scan":
            sc.addJobTag(f"kmn-bench-{variant}")
            down(self.data.sample(False, k / n, seed).mapPartitions(up))
            sc.removeJobTag(f"kmn-bench-{variant}")
            return {}, None
        if variant == "random_k":
            chosen = sorted(int(i) for i in np.random.default_rng(seed).choice(n, k, replace=False))
            sc.addJobTag(f"kmn-bench-{variant}")
            down(prune(self.data, chosen).mapPartitions(up))
            sc.removeJobTag(f"kmn-bench-{variant}")
            return {"straggling_blocks_run": _straggling(chosen, params)}, None
        run = any_k_of_n(self.data, k, up, downstream=down, extra=EXTRAS[variant], spark=self.spark,
                         seed=seed, topology=self.topology, racks=self.racks)
        hedge_ms = run.decision.hedge_s * 1000 if run.decision is not None else 0.0
        return {"decision_ms": run.decision_ms, "upstream_tasks": float(len(run.chosen)),
                "extra_tasks": float(run.extra_tasks), "hedge_ms": hedge_ms, "waited_ms": run.waited_ms,
                "straggling_blocks_run": _straggling(run.chosen, params),
                "straggling_blocks_used": _straggling(run.used, params), **run.timings}, run

    def run(self, variant: str, repetition: int, ctx: BenchContext) -> dict[str, float]:
        from spark_sched.measure import measure

        assert self.app is not None
        stop = self.app.state_dir / f"stop-{variant}-{repetition}"
        background = self._start_background(stop, repetition)
        try:
            with self.app.traffic() as traffic, measure(self.spark) as m:
                started = time.perf_counter()
                extra, kmn_run = self._variant(variant, repetition, dict(ctx.params))
                job_ms = (time.perf_counter() - started) * 1000
        finally:
            stop.touch()
            background.join(60)
            self._wait_idle()
        metrics = self._metrics(m.tasks(), kmn_run, traffic.links)
        metrics.update(job_ms=job_ms, **extra)
        self.runs.setdefault(variant, []).append(metrics)
        return metrics

    @staticmethod
    def _metrics(tasks: Any, kmn_run: Any, links: list[dict[str, Any]]) -> dict[str, float]:
        mine = tasks[~tasks["jobTags"].map(lambda tags: BG_TAG in tags).astype(bool)]
        inputs = mine[(mine["bytesRead"] > 0) & (mine["status"] == "SUCCESS")]
        task_ms = float(mine["taskDuration"].sum())
        extra_ms = 0.0
        if kmn_run is not None and kmn_run.extra_tasks:  # the one upstream job's tasks whose output was not kept
            upstream = mine[mine["jobTags"].map(lambda tags: f"{kmn_run.tag}-up" in tags).astype(bool)]
            unused = upstream[~upstream["taskId"].isin(list(kmn_run.task_ids.values()))]
            extra_ms = float(unused["taskDuration"].sum()) if len(unused) else 0.0
        return {
            "bytes_read": float(mine["bytesRead"].sum()),
            "local_fraction": local_fraction(inputs),
            "task_ms": task_ms,
            "extra_task_ms": extra_ms,
            "extra_task_share": extra_ms / task_ms if task_ms else math.nan,
            "cross_rack_bytes": float(cross_rack_bytes(links)),
            "cross_rack_skew": skew_of(links),
        }

    # -- summary ------------------------------------------------------------------------------------------

    def targets(self, variants: dict[str, dict[str, float]], ctx: BenchContext) -> list[TargetSpec]:
        k_over_n = ctx.params.get("k", 1) / ctx.params.get("blocks_n", 1)  # both set in setup
        k = ctx.params.get("k", 1)
        m = math.ceil(k * (1 + EXTRAS["kmn_full"]))
        return [
            paired("kmn_full", "job_ms", "<=", 0.5, "random_k"),
            paired("kmn_full", "job_ms", "<=", 1.0, "kmn_input"),
            paired("kmn_input", "bytes_read", "<=", 1.05, "full_scan", scale=k_over_n,
                   name="kmn_input.bytes_read / ((K/N) full_scan.bytes_read)"),
            paired("kmn_full", "bytes_read", "<=", 1.05, "full_scan", scale=k_over_n,
                   name="kmn_full.bytes_read / ((K/N) full_scan.bytes_read)"),
            absolute("kmn_input", "local_fraction", ">=", 0.95),
            absolute("kmn_full", "extra_task_share", "<=", round((m - k) / m, 3)),
            paired("kmn_full", "cross_rack_skew", "<=", 1.0, "random_k"),
            TargetSpec(CHOOSER, "<=", TARGET_CHOOSER_MS, samples=self.chooser_ms),
        ]

    def summarize(self, variants: dict[str, dict[str, float]], ctx: BenchContext) -> dict[str, float]:
        p = ctx.params
        ratios = {
            "kmn_full_vs_random_k_job_ms": ratio(variants, "kmn_full", "random_k", "job_ms"),
            "kmn_input_vs_random_k_job_ms": ratio(variants, "kmn_input", "random_k", "job_ms"),
            "kmn_full_vs_kmn_input_job_ms": ratio(variants, "kmn_full", "kmn_input", "job_ms"),
            "kmn_input_bytes_read_vs_k_over_n_full_scan": ratio(variants, "kmn_input", "full_scan", "bytes_read")
            / (p["k"] / p["blocks_n"]),
            "kmn_full_extra_task_share": ratio(variants, "kmn_full", "kmn_full", "extra_task_ms", "task_ms"),
            "kmn_full_vs_random_k_cross_rack_skew": ratio(variants, "kmn_full", "random_k", "cross_rack_skew"),
        }
        self._plot_sweep(variants, ctx)
        return ratios

    def _plot_sweep(self, variants: dict[str, dict[str, float]], ctx: BenchContext) -> None:
        """job_ms against extra (median, min-max whiskers), random_k's median as the line to beat."""
        xs, meds, lows, highs = [], [], [], []
        for variant, extra in EXTRAS.items():
            values = [r["job_ms"] for r in self.runs.get(variant, [])]
            if values:
                xs.append(extra * 100)
                meds.append(variants[variant]["job_ms"])
                lows.append(meds[-1] - min(values))
                highs.append(max(values) - meds[-1])
        ctx.params["extra_sweep_job_ms"] = {f"{x:g}%": m for x, m in zip(xs, meds, strict=True)}
        with figure(ctx.out_dir / "kmn-extra.png", figsize=(5.5, 3.6)) as (_, ax):
            ax.errorbar(xs, meds, yerr=[lows, highs], marker="o", capsize=4, label="KMN (input + intermediate)")
            ax.axhline(variants["random_k"]["job_ms"], color="#c44e52", linestyle="--", label="random_k (median)")
            ax.axhline(variants["full_scan"]["job_ms"], color="#8c8c8c", linestyle=":", label="full_scan (median)")
            ax.set(xlabel="extra upstream tasks (% of K)", ylabel="job time (ms)", ylim=(0, None),
                   title=f"kmn: job time vs extra resources (K={ctx.params['k']}, N={ctx.params['blocks_n']})")
            ax.legend(fontsize=8)

    def teardown(self, ctx: BenchContext) -> None:
        app, self.app, self.spark = self.app, None, None
        if app is not None:
            app.stop()


EXPERIMENT = KmnExperiment()
