"""Bench `locality`: does a wait chosen from the cost of a miss beat no wait and Spark's 3 s default?

On the shaped testbed (3 workers x 2 cores, two racks, tc-shaped links, so a
non-local read of a cached block costs real time) an iterative job reads data
cached across the executors several times while a background job in its own
FAIR pool keeps about half the slots busy with short tasks. Variants:

- `wait_0`: never wait for a local slot; `wait_3s`: Spark's untouched default (3 s, default timer reset);
- `target_095`: the delay-scheduling model's wait for 0.95 locality (the old mode);
- `recommended`: the cost-aware wait (`recommend_locality_wait(..., miss_seconds=P)`),
  with M, L, N, T and the miss cost P measured in a pilot application run with wait 0;
- `advised`: what `spark-sched locality advise` makes of that pilot's event log.

A loopback scenario runs the same workload on the plain local cluster, where a
miss costs next to nothing: `loopback_wait_0` and `loopback_recommended` (from
its own pilot: the first run, with wait 0, of the scenario's application). Each
scenario runs its variants in one application (see `_locality_app`) whose wait is
switched between runs, so the variants share executors and cached blocks.

Metrics: job_ms (the iterations, wall clock), local_fraction (PROCESS_LOCAL +
NODE_LOCAL share of the iterations' tasks), remote_bytes, cross_rack_bytes (the
rack uplinks' kernel counters), miss_ms (measured extra time of a non-local task),
wait_s, predicted_local_fraction (the model's, from the pilot's inputs) and
local_fraction_gap (|predicted - measured| local fraction of the run).

Targets, judged by the harness on paired per-repetition values (a variant's run
over its baseline's run in the same repetition; the median, its 95% bootstrap
interval and a verdict met / missed / inconclusive): recommended.job_ms /
wait_0.job_ms <= 0.8; recommended.job_ms / wait_3s.job_ms <= 1.0;
recommended.local_fraction >= 0.95; recommended.local_fraction_gap <= 0.05;
loopback_recommended.job_ms / loopback_wait_0.job_ms <= 1.05.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

from spark_sched.bench.application import BenchApplication
from spark_sched.bench.base import BenchContext, TargetSpec
from spark_sched.bench.experiments._common import absolute, paired, ratio
from spark_sched.bench.experiments._locality_client import AppProcess
from spark_sched.bench.experiments._locality_plot import plot
from spark_sched.locality import LocalityWait, advise_eventlog, predicted_locality, recommend_locality_wait
from spark_sched.testbed import require_tools
from spark_sched.topology import Topology

WORKERS, CORES, RACKS = 3, 2, 2
REPLICATION = 1  # Spark caches one copy of each block (MEMORY_ONLY)
SHAPED = ("wait_0", "wait_3s", "target_095", "recommended", "advised")
LOOPBACK = ("loopback_wait_0", "loopback_recommended")
FIXED = {"wait_0": LocalityWait(0.0, 0.0, 0.0), "wait_3s": LocalityWait(3.0, 3.0, 3.0)}


def _params(quick: bool) -> dict[str, Any]:
    return {
        "workers": WORKERS,
        "cores_per_worker": CORES,
        "racks": RACKS,
        "host_rate": "1gbit",
        "rack_uplink_rate": "100mbit",
        "partitions": 12,
        "partition_mb": 8 if quick else 16,
        "iterations": 3 if quick else 5,
        "task_seconds": 0.3,
        "background_tasks": 12,
        "background_task_seconds": 0.25,
        "target": 0.95,
    }


class Scenario:
    """A cluster, the pilot run's model inputs, and the application the variants run in (its own process)."""

    def __init__(self, name: str, bench: BenchApplication) -> None:
        self.name, self.bench, self.cluster = name, bench, bench.cluster
        self.state_dir, self.master = str(bench.state_dir), bench.master
        self.app: AppProcess | None = None
        self.inputs: dict[str, Any] = {}
        self.pilot_log = ""

    def pilot(self, params: dict[str, Any], separate: bool) -> dict[str, Any]:
        """A first run of the workload with wait 0: the model's inputs, and (`separate`) a finished event log.

        `separate`: the pilot is its own application, stopped before the variants start,
        so its event log is a finished previous run's (what `advise` is for). Otherwise
        it is the first run of the variants' application (one JVM start fewer).
        """
        app = AppProcess(self.master, self.state_dir, params,
                         f"{self.name}-pilot" if separate else f"{self.name}-variants", FIXED["wait_0"])
        if not separate:
            self.app = app  # stopped with the scenario, also if the pilot run fails
        try:
            result = app.run(FIXED["wait_0"])
        finally:
            if separate:
                app.stop()
        self.pilot_log = app.ready["eventlog"] if separate else ""
        self.inputs = {**result["model_inputs"], "replication": REPLICATION}
        return result

    def start(self, params: dict[str, Any]) -> None:
        if self.app is None:
            self.app = AppProcess(self.master, self.state_dir, params, f"{self.name}-variants", FIXED["wait_3s"])

    def stop(self) -> None:
        """Stop the application, then the cluster and its state directory (also when the application fails to)."""
        try:
            if self.app is not None:
                self.app.stop()
        finally:
            self.bench.stop()


class LocalityExperiment:
    name = "locality"
    description = "Cost-aware locality wait vs no wait, Spark's 3 s default and a 0.95 target (shaped + loopback)"
    variants = SHAPED + LOOPBACK

    def __init__(self) -> None:
        self.scenarios: dict[str, Scenario] = {}
        self.waits: dict[str, LocalityWait] = {}
        self.runs: dict[str, list[dict[str, float]]] = {}

    def setup(self, ctx: BenchContext) -> None:
        require_tools()
        params = _params(ctx.quick)
        ctx.params.update(params)
        self.runs = {v: [] for v in self.variants}
        topology = Topology(racks=RACKS, host_rate=params["host_rate"], rack_uplink_rate=params["rack_uplink_rate"],
                            source="bench locality")
        for name in ("shaped", "loopback"):
            bench = BenchApplication(ctx, f"locality-{name}", WORKERS, CORES, topology=topology,
                                     shaped=name == "shaped")
            scenario = self.scenarios[name] = Scenario(name, bench)
            ctx.cluster[name] = {"master": bench.master, "workers": bench.hosts()}
            pilot = scenario.pilot(params, separate=name == "shaped")
            ctx.params[f"{name}_pilot"] = {k: pilot[k] for k in ("job_ms", "local_fraction", "miss_ms", "misses")}
            ctx.params[f"{name}_model_inputs"] = scenario.inputs
            scenario.start(params)
        self._choose_waits(ctx, params)

    def _choose_waits(self, ctx: BenchContext, params: dict[str, Any]) -> None:
        """The model's waits from each scenario's pilot; `advised` from the shaped pilot's event log."""
        self.waits = dict(FIXED)
        self.waits["loopback_wait_0"] = FIXED["wait_0"]
        for name, prefix in (("shaped", ""), ("loopback", "loopback_")):
            inputs = dict(self.scenarios[name].inputs)
            miss = max(0.0, inputs.pop("miss_seconds") or 0.0)
            rec = recommend_locality_wait(**inputs, miss_seconds=miss)
            self.waits[f"{prefix}recommended"] = rec.wait
            ctx.params[f"{prefix}recommended"] = rec.to_json()
            if name == "shaped":
                target = recommend_locality_wait(**inputs, target=params["target"])
                self.waits["target_095"] = target.wait
                ctx.params["target_095"] = target.to_json()
                advice = advise_eventlog(self.scenarios[name].pilot_log)
                keep = ctx.out_dir / "locality-pilot-eventlog"  # for `spark-sched locality advise` by hand
                shutil.copytree(self.scenarios[name].pilot_log, keep / Path(self.scenarios[name].pilot_log).name,
                                dirs_exist_ok=True)
                self.waits["advised"] = advice.wait
                ctx.params["advised"] = {k: v for k, v in advice.to_json().items() if k != "stages"}

    def run(self, variant: str, repetition: int, ctx: BenchContext) -> dict[str, float]:
        scenario = self.scenarios["loopback" if variant.startswith("loopback") else "shaped"]
        wait = self.waits[variant]
        assert scenario.app is not None
        result = scenario.app.run(wait)
        inputs = {k: v for k, v in scenario.inputs.items() if k != "miss_seconds"}
        metrics = {k: float(v) for k, v in result.items() if k != "model_inputs"}
        metrics["wait_s"] = wait.process
        metrics["predicted_local_fraction"] = predicted_locality(wait.process, **inputs)
        metrics["local_fraction_gap"] = abs(metrics["predicted_local_fraction"] - metrics["local_fraction"])
        self.runs[variant].append(metrics)
        return metrics

    def targets(self, variants: dict[str, dict[str, float]], ctx: BenchContext) -> list[TargetSpec]:
        return [
            paired("recommended", "job_ms", "<=", 0.8, "wait_0"),
            paired("recommended", "job_ms", "<=", 1.0, "wait_3s"),
            absolute("recommended", "local_fraction", ">=", 0.95),
            absolute("recommended", "local_fraction_gap", "<=", 0.05),
            paired("loopback_recommended", "job_ms", "<=", 1.05, "loopback_wait_0"),
        ]

    def summarize(self, variants: dict[str, dict[str, float]], ctx: BenchContext) -> dict[str, float]:
        ratios = {f"{v}_vs_{base}_job_ms": ratio(variants, v, base, "job_ms")
                  for v in ("target_095", "recommended", "advised") for base in ("wait_0", "wait_3s")}
        ratios["wait_3s_vs_wait_0_job_ms"] = ratio(variants, "wait_3s", "wait_0", "job_ms")
        ratios["loopback_recommended_vs_loopback_wait_0_job_ms"] = ratio(
            variants, "loopback_recommended", "loopback_wait_0", "job_ms")
        ratios["recommended_predicted_minus_measured_local_fraction"] = abs(
            variants.get("recommended", {}).get("predicted_local_fraction", math.nan)
            - variants.get("recommended", {}).get("local_fraction", math.nan))
        inputs = {k: v for k, v in self.scenarios["shaped"].inputs.items() if k != "miss_seconds"}
        ctx.out_dir.mkdir(parents=True, exist_ok=True)
        plot(self.runs, inputs, ctx.out_dir / "locality-wait.png")
        return ratios

    def teardown(self, ctx: BenchContext) -> None:
        for scenario in self.scenarios.values():
            try:
                scenario.stop()
            except Exception:  # noqa: BLE001 - bring every cluster down even when one fails
                if scenario.cluster is not None:
                    scenario.cluster.down()
        self.scenarios = {}


EXPERIMENT = LocalityExperiment()
