"""`sim_scale`: how far does the scheduling model scale, and does a task cost more on a bigger cluster?

Each run simulates the synthetic workload (spark_sched/sim/synthetic.py: Poisson
arrivals at 70% load, 10 tasks per job on average, 3 replicas per block, the
default 3 s locality wait) in a fresh Python process, so its CPU time and peak
memory are its own: one core, as Python runs one. Variants `hosts_N` simulate
100,000 tasks (20,000 with --quick) on N hosts x 8 slots, N = 10 .. 1,000, for
the curve of CPU microseconds per simulated task; each run simulates its workload
3 times and keeps the fastest, with the slowest beside it (synthetic.py says why).
`full_1000` simulates 1,000,000 tasks in about 100,000 jobs on 1,000 hosts x 8
slots (200,000 with --quick), once.

No variant is Spark's default: what is measured is the model itself.

Targets, judged on the per-repetition values: full_1000.cpu_s <= 60 and
full_1000.peak_rss_mb <= 2048 (workload built and simulated, in one process);
hosts_1000.us_per_task / hosts_10.us_per_task <= 1.5 in the same repetition (a
cost per task that grew with the host count would give ~100 here).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from spark_sched.bench.base import BenchContext, TargetSpec
from spark_sched.bench.experiments._common import absolute, paired, ratio
from spark_sched.plots import figure

CURVE = (10, 30, 100, 300, 1_000)
CURVE_SIMULATIONS = 3  # per curve run; the fastest is its figure
FULL_HOSTS = 1_000
TARGET_CPU_S = 60.0
TARGET_RSS_MB = 2048.0
TARGET_GROWTH = 1.5


class SimScale:
    name = "sim_scale"
    description = ("The scheduling model's cost: CPU us per simulated task on 10-1,000 hosts, and 1,000,000 tasks "
                   "on 1,000 hosts x 8 slots (targets <= 60 s, <= 2 GB, per-task cost growth <= 1.5x)")
    variants = (*(f"hosts_{n}" for n in CURVE), "full_1000")

    def setup(self, ctx: BenchContext) -> None:
        ctx.params.update({
            "curve_tasks": 20_000 if ctx.quick else 100_000,
            "full_tasks": 200_000 if ctx.quick else 1_000_000,
            "slots_per_host": 8, "workload": "spark_sched/sim/synthetic.py", "process": "one per run",
            "curve_simulations_per_run": CURVE_SIMULATIONS,
        })
        ctx.cluster.update({"kind": "simulated", "hosts": list(CURVE)})

    def run(self, variant: str, repetition: int, ctx: BenchContext) -> dict[str, float]:
        full = variant == "full_1000"
        hosts = FULL_HOSTS if full else int(variant.split("_")[1])
        tasks = ctx.params["full_tasks" if full else "curve_tasks"]
        return run_model(hosts, int(tasks), 1 if full else CURVE_SIMULATIONS)

    def targets(self, variants: dict[str, dict[str, float]], ctx: BenchContext) -> list[TargetSpec]:
        return [
            absolute("full_1000", "cpu_s", "<=", TARGET_CPU_S),
            absolute("full_1000", "peak_rss_mb", "<=", TARGET_RSS_MB),
            paired("hosts_1000", "us_per_task", "<=", TARGET_GROWTH, "hosts_10"),
        ]

    def summarize(self, variants: dict[str, dict[str, float]], ctx: BenchContext) -> dict[str, float]:
        plot_curve(variants, ctx.out_dir / "sim_scale-curve.png")
        return {"us_per_task_1000_vs_10": ratio(variants, "hosts_1000", "hosts_10", "us_per_task"),
                "us_per_task_100_vs_10": ratio(variants, "hosts_100", "hosts_10", "us_per_task"),
                "slowest_us_per_task_1000_vs_10": ratio(variants, "hosts_1000", "hosts_10", "us_per_task_slowest")}

    def teardown(self, ctx: BenchContext) -> None:
        return None


def run_model(hosts: int, tasks: int, times: int = 1) -> dict[str, float]:
    """One workload simulated `times` times in its own interpreter; its figures as it printed them."""
    done = subprocess.run([sys.executable, "-m", "spark_sched.sim.synthetic", str(hosts), str(tasks), str(times)],
                          capture_output=True, text=True, check=True, timeout=1800)
    return {k: float(v) for k, v in json.loads(done.stdout).items()}


def plot_curve(variants: dict[str, dict[str, float]], path: Path) -> Path:
    """CPU microseconds per simulated task against the host count (log x)."""
    rows = sorted((v for k, v in variants.items() if k != "full_1000"), key=lambda v: v["hosts"])
    with figure(path, figsize=(6, 3.6)) as (_, ax):
        hosts, each = [v["hosts"] for v in rows], f"each run's {CURVE_SIMULATIONS}"
        ax.plot(hosts, [v["us_per_task"] for v in rows], "o-", label=f"fastest of {each} (median over runs)")
        if all("us_per_task_slowest" in v for v in rows):
            ax.plot(hosts, [v["us_per_task_slowest"] for v in rows], "x--", label=f"slowest of {each}")
        ax.set_xscale("log")
        ax.set_ylim(bottom=0)
        ax.set_xlabel("hosts (8 slots each)")
        ax.set_ylabel("CPU us per simulated task")
        ax.set_title("Scheduling model: cost per task vs cluster size")
        ax.legend(fontsize=8)
    return path


EXPERIMENT = SimScale()
