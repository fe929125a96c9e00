"""The composer: its bandit's decisions on seeded synthetic job times (no Spark: it settles on the faster
composition and stops exploring, keeps the prior without separation, explores again after a drift, bounds
HIGH exploration), and on real Spark: it learns the known best composition, remembers it across restarts,
starts an unseen class on its prior, refuses bad compositions and corrupt state in one line, and bounds
exploration on HIGH work."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from spark_sched.cli.main import cli
from spark_sched.composer import (
    ComposerState,
    ComposerStateError,
    CompositionError,
    Learning,
    bandit,
    composer,
    load_compositions,
    load_state,
    parse_compositions,
    save_state,
)
from spark_sched.composer.state import state_path
from spark_sched.priority import PriorityController
from spark_sched.priority.classes import fair_conf, write_pool_file
from spark_sched.workloads.mixed import _sleep_each as _sleep  # importable on executors

TWO_ARMS = """
[profiles.one]
granularity = { plugin = "fixed", partitions = 1 }

[profiles.two]
granularity = { plugin = "fixed", partitions = 2 }

[priors]
default = "one"

[learning]
discount = 0.95
"""


# -- the bandit's decisions on synthetic job times (no Spark) ---------------------------------------------------

SEEDS = range(20)
DEFAULTS = Learning()  # the shipped learning settings' defaults


def _simulate(means: dict[str, float], sigma: float, jobs: int, seed: int, prior: str, priority: str = "low",
              drift_at: int | None = None, drift: dict[str, float] | None = None,
              learning: Learning = DEFAULTS) -> tuple[bandit.ClassState, list[tuple[str, bool, bool]]]:
    """One class run for `jobs` jobs: each arm's time is its mean times lognormal noise (sd `sigma` of log ms).

    From job `drift_at` on, `drift` replaces some arms' means. Returns the class and, per job, (arm, explored,
    drift detected on its result).
    """
    rng, noise = np.random.default_rng(seed), np.random.default_rng(seed + 1000)
    state, arms, rules = bandit.ClassState(priority), list(means), learning.rules(priority)
    log = []
    for job in range(jobs):
        now = {**means, **(drift or {})} if drift_at is not None and job >= drift_at else means
        choice = bandit.choose(state, arms, prior, rules, rng)
        bandit.record_decision(state, choice)
        drifted = bandit.update(state, choice.arm, now[choice.arm] * math.exp(noise.normal(0.0, sigma)),
                                learning.discount)
        log.append((choice.arm, choice.explored, drifted))
    return state, log


@pytest.mark.parametrize(("sigma", "least"), [(0.3, 16), (0.5, 13)])
def test_bandit_settles_on_the_faster_arm_and_stops_exploring(sigma: float, least: int) -> None:
    """Two compositions 1.5x apart, 2-5x lognormal noise between runs, the prior on the slower one."""
    runs = [_simulate({"slow": 1500.0, "fast": 1000.0}, sigma, 40, seed, "slow") for seed in SEEDS]
    on_fast = sum(state.incumbent == "fast" for state, _ in runs)
    assert on_fast >= least, on_fast
    for state, log in runs:
        assert state.settled and state.settled_at is not None and state.settled_at <= 30, state.to_json()
        assert not any(explored for _, explored, _ in log[state.settled_at:])  # settled: no more exploring
        assert state.explorations <= 2 * DEFAULTS.explore_trials
        if state.drifts == 0:  # nothing drifted: nothing was discounted
            assert all(arm.n == arm.pulls for arm in state.arms.values())


@pytest.mark.parametrize("sigma", [0.3, 0.5])
def test_bandit_keeps_the_prior_without_separation(sigma: float) -> None:
    runs = [_simulate({"prior": 1000.0, "other": 1000.0}, sigma, 40, seed, "prior") for seed in SEEDS]
    kept = sum(state.incumbent == "prior" and state.switches == 0 for state, _ in runs)
    assert kept >= 15, kept
    assert all(state.settled for state, _ in runs)
    assert all(state.arms["other"].trials <= DEFAULTS.explore_trials for state, _ in runs)


def test_bandit_explores_again_after_a_drift() -> None:
    """Settled on the faster arm; from job 30 that arm runs 4x slower: it notices, explores, moves, settles."""
    for seed in SEEDS:
        state, log = _simulate({"a": 1000.0, "b": 1500.0}, 0.4, 60, seed, "a", drift_at=30, drift={"a": 4000.0})
        detected = [job for job, (_, _, drifted) in enumerate(log) if drifted and job >= 30]
        assert detected and detected[0] <= 36, (seed, detected)
        assert any(arm == "b" for arm, _, _ in log[detected[0]:detected[0] + 4])  # explored again at once
        assert state.incumbent == "b" and state.settled and state.drifts >= 1, (seed, state.to_json())
        assert state.settled_at is not None and state.settled_at > detected[0]


def test_bandit_high_class_explores_within_its_budget() -> None:
    learning = Learning(high_explore=0.05, high_latency_target_ms=5000.0)
    for seed in range(5):
        state, log = _simulate({"first": 1000.0, "second": 800.0, "third": 900.0}, 0.4, 100, seed, "first",
                               priority="high", learning=learning)
        explored = np.cumsum([explored for _, explored, _ in log])
        assert all(e <= math.floor(0.05 * (i + 1)) for i, e in enumerate(explored)), seed
        assert state.explorations >= 1  # the budget is used, not zero


def test_settling_is_in_the_state_file_and_composer_show(tmp_path: Path) -> None:
    state, _ = _simulate({"slow": 1500.0, "fast": 1000.0}, 0.3, 40, 0, "slow")
    exploring, _ = _simulate({"slow": 1500.0, "fast": 1000.0}, 0.3, 3, 0, "slow")
    file = save_state(ComposerState({"low/batch/settled": state, "low/batch/new": exploring}), tmp_path / "s.json")
    saved = json.loads(file.read_text())["classes"]
    assert saved["low/batch/settled"]["settled"] is True
    assert saved["low/batch/settled"]["settled_at"] == state.settled_at
    assert saved["low/batch/new"]["settled"] is False and saved["low/batch/new"]["settled_at"] is None
    assert load_state(file).classes["low/batch/settled"].to_json() == state.to_json()
    shown = CliRunner().invoke(cli, ["composer", "show", str(file), "--json"])
    assert shown.exit_code == 0, shown.output
    rows = {r["class"]: r for r in json.loads(shown.output)["classes"]}
    assert rows["low/batch/settled"]["settled"] and rows["low/batch/settled"]["chosen"] == state.incumbent
    assert not rows["low/batch/new"]["settled"]
    table = CliRunner().invoke(cli, ["composer", "show", str(file)])
    assert f"job {state.settled_at}" in table.output and "exploring" in table.output, table.output


# -- on real Spark ---------------------------------------------------------------------------------------------


def _write(tmp_path: Path, text: str, name: str = "compositions.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _run_job(comp, records: int = 4, cost: float = 0.3, **features):  # type: ignore[no-untyped-def]
    """One real Spark job of `records` sleeping records, cut as the chosen composition says."""
    with comp.job(partitions=records, name=features.pop("name", "sleepy"), **features) as job:
        job.sc.parallelize([cost] * records, job.partitions()).map(_sleep).collect()
    return job


def test_bandit_converges_on_known_best_arm_and_survives_restart(spark, tmp_path: Path) -> None:
    """Two partitions on local[2] halve a 4-record job; the prior (one partition) is the wrong arm to start on."""
    profiles = _write(tmp_path, TWO_ARMS)
    state_dir = tmp_path / "state"
    spark.sparkContext.parallelize([0.01] * 2, 2).map(_sleep).collect()  # both Python workers up before timing
    with composer(spark, profiles, state_dir=state_dir, seed=3) as comp:
        jobs = [_run_job(comp) for _ in range(12)]
    chosen = [j.composition for j in jobs]
    assert chosen[0] == "one"  # cold start: the prior
    assert chosen[-6:].count("two") >= 4, [(j.composition, round(j.job_ms or 0)) for j in jobs]
    job_class = jobs[-1].job_class
    cls = comp.state.classes[job_class]
    assert cls.greedy(["one", "two"]) == "two"
    assert cls.arms["two"].mean < cls.arms["one"].mean

    # a restart: a new composer on the same state directory knows the class and its winner
    saved = load_state(state_path(state_dir))
    assert saved.classes[job_class].arms["two"].pulls == cls.arms["two"].pulls
    with composer(spark, profiles, state_dir=state_dir, seed=4) as again:
        job = _run_job(again)
    assert job.job_class == job_class
    assert again.state.classes[job_class].decisions == cls.decisions + 1
    assert again.state.classes[job_class].greedy(["one", "two"]) == "two"

    shown = CliRunner().invoke(cli, ["composer", "show", str(state_dir), "--json"])
    assert shown.exit_code == 0, shown.output
    row = next(r for r in json.loads(shown.output)["classes"] if r["class"] == job_class)
    assert row["chosen"] == "two" and row["arms"][0]["p_best"] >= 0.5
    table = CliRunner().invoke(cli, ["composer", "show", str(state_dir)])
    assert table.exit_code == 0 and "two" in table.output and job_class.split("/")[0] in table.output


def test_unseen_class_gets_the_prior(spark, tmp_path: Path) -> None:
    profiles = _write(tmp_path, TWO_ARMS.replace('default = "one"', 'default = "two"\nhigh = "one"'))
    with composer(spark, profiles, state_dir=tmp_path / "state", seed=1) as comp:
        for _ in range(3):
            _run_job(comp, records=2, cost=0.02, name="known")
        seen = set(comp.state.classes)
        fresh = _run_job(comp, records=40, cost=0.001, name="never-seen-before")  # other partition bucket
        high = _run_job(comp, records=2, cost=0.01, priority="high", kind="stream", name="tick")
    assert fresh.job_class not in seen and fresh.decision.prior and fresh.composition == "two"
    assert high.job_class not in seen and high.decision.prior and high.composition == "one"


@pytest.mark.parametrize(
    ("text", "key", "choices"),
    [
        ('[profiles.a]\ngranularity = "finest"\n', "profiles.a.granularity", "aqe, fixed, natural, per_slot"),
        ('[profiles.a]\ngranularity = { plugin = "per_slot", factor = 0 }\n', "profiles.a.granularity.factor",
         "a number > 0"),
        ('[profiles.a]\nscheduler = "none"\n', "profiles.a.scheduler", "pool, preemption, sampling"),
        ('[profiles.a]\npreemption = "evict"\n', "profiles.a.preemption", "kill, lb, none, requeue"),
        ('[profiles.a]\ngranularity = "natural"\n[priors]\ndefault = "b"\n', "priors.default", "a"),
        ('[profiles.a]\n[learning]\ndiscount = 1.5\n', "learning.discount", "(0, 1]"),
        ('[profiles.a]\n[learning]\nswitch_margin = 0.9\n', "learning.switch_margin", "a number >= 1"),
        ('[profiles.a]\n[learning]\nexplore_trials = 2.5\n', "learning.explore_trials", "an integer >= 0"),
    ],
)
def test_bad_composition_is_one_clear_error(tmp_path: Path, text: str, key: str, choices: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(CompositionError) as caught:
        load_compositions(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {key} = ") and choices in message


def test_shipped_compositions_are_valid() -> None:
    loaded = load_compositions(Path(__file__).resolve().parents[1] / "conf" / "compositions.toml")
    assert loaded.prior("high", "stream") == "stream_first" and "stream_first" not in loaded.arms("low")
    assert parse_compositions({"profiles": {"x": {}}}, "inline").profiles["x"].plugin("pool").name == "default"


def test_corrupt_state_is_refused_and_kept_aside(spark, tmp_path: Path) -> None:
    profiles = _write(tmp_path, TWO_ARMS)
    state_file = state_path(tmp_path / "state")
    state_file.parent.mkdir(parents=True)
    state_file.write_text('{"version": 1, "classes": {"x": ')
    shown = CliRunner().invoke(cli, ["composer", "show", str(state_file)])
    assert shown.exit_code == 2 and shown.output.count("\n") == 1 and "corrupt" in shown.output
    assert state_file.exists()  # `show` is read-only
    with pytest.raises(ComposerStateError) as caught:
        composer(spark, profiles, state_dir=tmp_path / "state")
    assert "\n" not in str(caught.value) and "kept aside" in str(caught.value)
    aside = list(state_file.parent.glob("state.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text() == '{"version": 1, "classes": {"x": '
    assert not state_file.exists()  # not silently replaced by a fresh state


HIGH_ARMS = """
[profiles.slow]
applies_to = ["high"]
pool = { plugin = "named", pool = "high" }
granularity = { plugin = "fixed", partitions = 1 }

[profiles.quick]
applies_to = ["high"]
pool = { plugin = "named", pool = "high" }
preemption = "kill"
granularity = { plugin = "fixed", partitions = 2 }

[profiles.quick_default_pool]
applies_to = ["high"]
granularity = { plugin = "fixed", partitions = 2 }

[priors]
high = "quick"

[learning]
high_explore = 0.1
high_latency_target_ms = 250
"""


def test_high_exploration_stays_within_its_bound(make_spark, tmp_path: Path) -> None:
    spark = make_spark(spark_conf=fair_conf(write_pool_file(tmp_path / "pools")))
    profiles = _write(tmp_path, HIGH_ARMS)
    controller = PriorityController(spark, "requeue").start()
    try:
        with composer(spark, profiles, state_dir=tmp_path / "state", controller=controller, seed=5) as comp:
            explorations = 0
            seen_pools: set[str | None] = set()
            for decisions in range(1, 21):
                with comp.job(priority="high", kind="stream", partitions=4, name="tick") as job:
                    seen_pools.add(job.sc.getLocalProperty("spark.scheduler.pool"))
                    policy = controller.policy.name
                    before = comp.state.classes[job.job_class].arms.get(job.composition)
                    if job.decision.explored:  # only an untried arm, or one not known to risk the target
                        assert before is None or not before.tried or before.upper() <= math.log(250), before
                    job.sc.parallelize([0.06] * 4, job.partitions()).map(_sleep).collect()
                assert policy == ("kill" if job.composition == "quick" else "none")  # each composition names its policy
                explorations += int(job.decision.explored)
                assert explorations <= math.floor(0.1 * decisions), (explorations, decisions)
            high = [c for c in comp.state.classes.values() if c.priority == "high"]
    finally:
        controller.stop()
    assert controller.policy.name == "requeue"  # restored after every HIGH job
    # the bound holds per class (a loaded machine can move the job to another task-duration class mid-test)
    assert sum(c.explorations for c in high) == explorations <= 2
    assert all(c.explorations <= math.floor(0.1 * c.decisions) for c in high)
    assert "high" in seen_pools


KMN_ARMS = """
[profiles.plain]
sampling = "none"

[profiles.surplus]
sampling = { plugin = "kmn", extra = 0.5 }

[priors]
default = "plain"
"""


def _summer():  # type: ignore[no-untyped-def]
    def total(rows):  # type: ignore[no-untyped-def]  # nested: cloudpickle ships it by value
        return [sum(rows)]

    return total


def test_sampling_point_hands_its_extra_to_kmn(spark, tmp_path: Path) -> None:
    """KMN (issue 11) is wired in: `kmn` with extra 0.5 runs M = 3 upstream tasks for K = 2; `none` runs 2."""
    pytest.importorskip("spark_sched.sampling")
    from pyspark import StorageLevel

    data = spark.sparkContext.parallelize(range(100), 10).persist(StorageLevel.MEMORY_ONLY)
    data.count()
    profiles = _write(tmp_path, KMN_ARMS)
    try:
        with composer(spark, profiles, state_dir=tmp_path / "state", learn=False) as comp:
            runs = {}
            for name in ("plain", "surplus"):
                with comp.job(partitions=10, name="sample", force=name) as job:
                    # "always": local[2]'s two slots cannot fit M = 3, so KMN's own decision would run K = 2
                    kmn = job.any_k_of_n(data, 2, _summer(), downstream=lambda r: r.collect(), extra_tasks="always")
                    runs[name] = (job.extra, kmn)
    finally:
        data.unpersist()
    assert runs["plain"][0] == 0.0 and len(runs["plain"][1].chosen) == 2
    assert runs["surplus"][0] == 0.5 and len(runs["surplus"][1].chosen) == 3 and len(runs["surplus"][1].used) == 2
