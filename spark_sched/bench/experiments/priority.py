"""`priority`: does the controller keep stream latency near isolation without costing batch throughput?

The unified application (`spark_sched.priority.unified`: a YSB-like stream in
the HIGH pool, TPC-H Q1-like and Python feature-extraction jobs in the LOW
pool) runs once per variant on a local standalone cluster of 3 workers x 1
core (REFERENCE.md's setting), all variants in one application so they share
warm executors. Two scenarios, interleaved like the variants:

* quiet: the machine as it is;
* `loaded-*`: the same variant while one CPU-bound background process (a
  bounded busy loop, started and stopped by the bench, tracked by pid)
  competes with Spark for the 2 cores.

Variants: `isolated` (the stream alone), `fair` (FAIR pools, the stream's pool
at weight 1000, no minShare), `fair_minshare` (weight 1000 and a minShare: what
a careful Spark user configures), `lb` (the controller: Neptune's load-balancing
policy with the default `share` starvation guard) and `lb_count` (the same with
the previous `count` guard, P = 3; quiet scenario only, to keep the full run near 15 minutes).

Targets are judged on the WORST repetition of `lb`, each repetition compared
with the baseline's run in the same repetition (interleaved, so neighbours in
time), in both scenarios: stream p99 <= 1.25x isolated and <= 1/3 of fair;
batch jobs/min >= 0.95x fair; wasted <= 3% of useful LOW task time; reaction
p99 <= 250 ms. Every repetition's ratios are reported (min, median, max).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from typing import Any

from spark_sched.bench.application import BenchApplication
from spark_sched.bench.base import BenchContext, Target
from spark_sched.priority.guard import guard
from spark_sched.priority.unified import UnifiedParams, UnifiedResult, run_unified

BASE_VARIANTS = ("isolated", "fair", "fair_minshare", "lb")
REFERENCE = "lb_count"  # the previous guard, run in the quiet scenario only (the full run must fit ~15 min)
LOADED = "loaded-"
SCENARIOS = {"quiet": "", "loaded": LOADED}
JUDGED = "lb"
WORKERS, CORES = 3, 1
BURNER_SLACK_S = 120.0  # the background process ends itself this long after its run should have ended

# A bounded busy loop: exits by itself at its deadline even if the bench dies without stopping it.
_BURN = "import sys, time\nend = time.monotonic() + float(sys.argv[1])\nn = 0\nwhile time.monotonic() < end:\n" \
        "    n += sum(i * i for i in range(1000))\n"


class Burner:
    """One CPU-bound background process, started and stopped by pid (never by name)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Burner:
        self.proc = subprocess.Popen([sys.executable, "-c", _BURN, str(self.seconds)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        return self

    def __exit__(self, *exc: object) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class PriorityExperiment:
    name = "priority"
    description = (
        "Unified stream/batch app on 3x1-core workers, quiet and under a CPU-bound background process: isolated, "
        "FAIR (weight 1000), FAIR+minShare and the controller (lb, share guard; lb_count: previous guard); "
        "targets on the worst repetition"
    )
    variants = (*BASE_VARIANTS, REFERENCE, *(LOADED + v for v in BASE_VARIANTS))

    def __init__(self) -> None:
        self.app: BenchApplication | None = None
        self.spark: Any = None
        self.params = UnifiedParams()
        self.results: dict[str, list[UnifiedResult]] = {}

    def setup(self, ctx: BenchContext) -> None:
        from spark_sched.priority.unified import UNIFIED_CLASSES

        self.results = {}
        ctx.params["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
        self.app = BenchApplication(ctx, "priority", WORKERS, CORES)
        self.spark = self.app.start_fair_session(UNIFIED_CLASSES, {"spark.sql.shuffle.partitions": "3"})
        slots = self.app.slots
        self.params = UnifiedParams(seconds=8.0 if ctx.quick else 18.0, stream_slots=slots,
                                    q1_rows=1_000_000, in_flight=2)
        ctx.params.update({"seconds_per_run": self.params.seconds, "trigger_s": self.params.trigger_s,
                           "stream_slots": slots, "batch_in_flight": self.params.in_flight,
                           "guard": f"{guard(self.params.guard, **self.params.guard_options)} "
                                    f"(lb_count: count, P={self.params.max_preemptions})",
                           "background": "loaded-*: 1 CPU-bound python busy loop, pid-tracked, per run",
                           "latency": "event file written -> micro-batch output committed",
                           "judged": f"{JUDGED}, worst repetition, each vs the baseline of its repetition"})

    def run(self, variant: str, repetition: int, ctx: BenchContext) -> dict[str, float]:
        assert self.app is not None
        base = variant.removeprefix(LOADED)
        params = self.params
        if base == "lb_count":
            params = UnifiedParams(**{**vars(self.params), "guard": "count"})
        root = self.app.state_dir / "runs" / f"{variant}-{repetition}"
        policy_variant = "lb" if base == "lb_count" else base
        if variant.startswith(LOADED):
            with Burner(params.seconds + params.warmup_timeout_s + BURNER_SLACK_S):
                result = run_unified(self.spark, policy_variant, root, params)
        else:
            result = run_unified(self.spark, policy_variant, root, params)
        result.variant = variant
        self.results.setdefault(variant, []).append(result)
        metrics = result.metrics()
        metrics["load_average_1m"] = os.getloadavg()[0]
        return metrics

    # -- summary: every repetition, targets on the worst ------------------------------------------------------

    def _per_rep(self, variant: str, metric: str) -> list[float]:
        return [r.metrics()[metric] for r in self.results.get(variant, [])]

    def _ratios(self, top: str, bottom: str, metric: str) -> list[float]:
        """Per repetition: `top`'s metric over `bottom`'s in the same repetition."""
        pairs = zip(self._per_rep(top, metric), self._per_rep(bottom, metric), strict=False)
        return [a / b if b else float("nan") for a, b in pairs]

    def summarize(
        self, variants: dict[str, dict[str, float]], ctx: BenchContext
    ) -> tuple[dict[str, float], dict[str, Target]]:
        ratios: dict[str, float] = {}
        targets: dict[str, Target] = {}
        for scenario, prefix in SCENARIOS.items():
            per_rep: dict[str, list[float]] = {}
            for base in ("fair", "fair_minshare", "lb", "lb_count"):
                v = prefix + base
                per_rep[f"{base}_p99_vs_isolated"] = self._ratios(v, prefix + "isolated", "stream_p99_ms")
                per_rep[f"{base}_p99_vs_fair"] = self._ratios(v, prefix + "fair", "stream_p99_ms")
                per_rep[f"{base}_jobs_vs_fair"] = self._ratios(v, prefix + "fair", "batch_jobs_per_min")
                per_rep[f"{base}_idle_vs_fair"] = self._ratios(v, prefix + "fair", "idle_slot_s_while_pending")
                # the slot time the stream itself took: a stream kept at its trigger rate runs more micro-batches
                # (each with a fixed cost) than one FAIR delays and batches up, and that time is not LOW's
                per_rep[f"{base}_stream_slots_vs_fair"] = self._ratios(v, prefix + "fair", "stream_task_ms")
                per_rep[f"{base}_wasted_fraction"] = [
                    w / t if t else 0.0 for w, t in zip(self._per_rep(v, "wasted_task_ms"),
                                                        self._per_rep(v, "batch_task_ms"), strict=False)]
                per_rep[f"{base}_reaction_p99_ms"] = self._per_rep(v, "reaction_p99_ms")
            for name, values in per_rep.items():
                for i, value in enumerate(values):
                    ratios[f"{scenario}.{name}.rep{i + 1}"] = value
                if values:
                    ratios[f"{scenario}.{name}.median"] = statistics.median(values)
            targets.update(_targets(scenario, per_rep))
        ctx.params["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        self._plot(ctx)
        return ratios, targets

    def _plot(self, ctx: BenchContext) -> None:
        from spark_sched.priority.plots import plot_latency, plot_slots

        for scenario, prefix in SCENARIOS.items():
            mine = {v.removeprefix(prefix): runs for v, runs in self.results.items()
                    if runs and v.startswith(LOADED) == bool(prefix)}
            label = f"priority-{scenario}"
            plot_latency({v: [p for r in runs for p in r.latencies_ms] for v, runs in mine.items()}, ctx.out_dir,
                         prefix=f"{label}-latency", title=f"({scenario}, all repetitions)")
            plot_slots({v: runs[0] for v, runs in mine.items()}, ctx.out_dir / f"{label}-slots.png",
                       title=f"{scenario}, repetition 1")

    def teardown(self, ctx: BenchContext) -> None:
        app, self.app, self.spark = self.app, None, None
        if app is not None:
            app.stop()


def _worst(values: list[float], higher_is_better: bool = False) -> float:
    clean = [v for v in values if v == v]  # drop NaN
    if not clean:
        return float("nan")
    return min(clean) if higher_is_better else max(clean)


def _targets(scenario: str, per_rep: dict[str, list[float]]) -> dict[str, Target]:
    """The five targets for the judged variant, each on its worst repetition."""
    j = JUDGED
    bounds = {
        f"{j}_p99_vs_isolated": ("<= 1.25", 1.25),
        f"{j}_p99_vs_fair": ("<= 0.333", 1 / 3),
        f"{j}_wasted_fraction": ("<= 0.03", 0.03),
        f"{j}_reaction_p99_ms": ("<= 250", 250.0),
    }
    out = {}
    for name, (text, bound) in bounds.items():
        value = _worst(per_rep[name])
        out[f"{scenario}.{name}.worst"] = Target(value, text, value <= bound)
    jobs = _worst(per_rep[f"{j}_jobs_vs_fair"], higher_is_better=True)
    out[f"{scenario}.{j}_jobs_vs_fair.worst"] = Target(jobs, ">= 0.95", jobs >= 0.95)
    return out


EXPERIMENT = PriorityExperiment()
