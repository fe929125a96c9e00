"""The bench harness: interleaved repetitions, medians and spread, teardown on failure, JSON/MD/PNG, the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from spark_sched.bench import registry
from spark_sched.bench.base import BenchContext, TargetSpec
from spark_sched.bench.harness import run_experiment
from spark_sched.bench.output import write_all
from spark_sched.cli.main import cli

DESIGN_KEYS = {"experiment", "spark", "cluster", "params", "variants", "ratios", "targets"}


class Sorting:
    """A small real experiment (no Spark): sort a list forwards or backwards; metrics are counts we can check."""

    name = "sorting"
    description = "sorted() on ascending vs descending input"
    variants = ("ascending", "descending")

    def __init__(self, fail_at: int | None = None) -> None:
        self.calls: list[tuple[str, int]] = []
        self.torn_down = False
        self.fail_at = fail_at

    def setup(self, ctx: BenchContext) -> None:
        ctx.params["size"] = 1000

    def run(self, variant: str, repetition: int, ctx: BenchContext) -> dict[str, float]:
        if self.fail_at is not None and len(self.calls) == self.fail_at:
            raise RuntimeError("boom")
        self.calls.append((variant, repetition))
        data = list(range(ctx.params["size"] * (repetition + 1)))
        if variant == "descending":
            data.reverse()
        ordered = sorted(data)
        inversions_fixed = sum(1 for a, b in zip(data, ordered, strict=True) if a != b)
        return {"elements": float(len(ordered)), "moved": float(inversions_fixed), "missing": math.nan}

    def targets(self, variants: dict[str, dict[str, float]], ctx: BenchContext) -> list[TargetSpec]:
        return [TargetSpec("same_size", "<=", 1.0, "descending", "elements", baseline="ascending")]

    def summarize(self, variants: dict[str, dict[str, float]], ctx: BenchContext) -> dict[str, float]:
        return {"descending_over_ascending": variants["descending"]["elements"] / variants["ascending"]["elements"]}

    def teardown(self, ctx: BenchContext) -> None:
        self.torn_down = True


def test_repetitions_interleave_and_give_medians_and_spread(tmp_path: Path) -> None:
    experiment = Sorting()
    ctx = BenchContext(out_dir=tmp_path, repetitions=1)  # raised to the minimum of 3
    result = run_experiment(experiment, ctx)
    first, second = ("ascending", "descending"), ("descending", "ascending")  # who goes first rotates
    assert experiment.calls == [(v, r) for r, order in enumerate((first, second, first)) for v in order]
    assert experiment.torn_down and result.repetitions == 3
    assert result.variants["ascending"]["elements"] == 2000  # sizes 1000, 2000, 3000
    assert result.spread["descending"]["elements"] == {"min": 1000, "max": 3000, "n": 3}
    assert result.variants["ascending"]["moved"] == 0 and result.variants["descending"]["moved"] > 0
    assert "missing" not in result.variants["ascending"]  # NaN-only metrics have no median, not a bogus one
    assert result.ratios == {"descending_over_ascending": 1.0} and result.targets["same_size"].met
    assert result.stopped == "every target decided" and len(result.machine["load_before"]) == 6


def test_teardown_runs_when_a_repetition_fails(tmp_path: Path) -> None:
    experiment = Sorting(fail_at=3)
    with pytest.raises(RuntimeError, match="boom"):
        run_experiment(experiment, BenchContext(out_dir=tmp_path))
    assert experiment.torn_down and experiment.calls == [("ascending", 0), ("descending", 0), ("descending", 1)]


def test_outputs_are_valid_json_markdown_and_png(tmp_path: Path) -> None:
    result = run_experiment(Sorting(), BenchContext(out_dir=tmp_path, repetitions=4))
    paths = write_all(result, tmp_path / "out")
    assert [p.name for p in paths] == ["sorting.json", "sorting.md", "sorting.png"]
    data = json.loads(paths[0].read_text())
    assert set(data) >= DESIGN_KEYS and data["experiment"] == "sorting"
    assert data["targets"]["same_size"] == {"value": 1.0, "ci95": [1.0, 1.0], "worst": 1.0, "n": 4,
                                            "target": "<= 1", "verdict": "met", "met": True}
    assert data["machine"]["run_order"][:2] == [["ascending", 0], ["descending", 0]]
    assert data["variants"]["descending"]["elements"] == 2500 and len(data["runs"]["ascending"]) == 4
    assert data["runs"]["ascending"][0]["missing"] is None  # NaN written as null: strict JSON
    markdown = paths[1].read_text()
    assert "| variant | elements | moved |" in markdown and "same_size" in markdown and "met" in markdown
    assert paths[2].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and paths[2].stat().st_size > 5000


def test_registry_finds_the_overhead_experiment() -> None:
    entries = registry.discover()
    assert entries["overhead"].experiment is not None
    assert tuple(entries["overhead"].experiment.variants) == ("bare", "measured", "sparkmeasure")
    with pytest.raises(registry.ExperimentError, match="'nope' is not valid; allowed: .*overhead"):
        registry.get("nope")


def test_cli_lists_runs_and_refuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["bench", "--list"])
    assert listed.exit_code == 0 and "overhead" in listed.output and "bare, measured, sparkmeasure" in listed.output
    unknown = runner.invoke(cli, ["bench", "nope"])
    assert unknown.exit_code == 2 and unknown.output.count("\n") == 1 and "overhead" in unknown.output
    assert runner.invoke(cli, ["bench"]).exit_code == 2
    monkeypatch.setattr(registry, "get", lambda name: Sorting())  # run the CLI's whole path on a Spark-free one
    monkeypatch.setenv("SPARK_SCHED_MEASURE", "spark")  # the CLI would set it for this process: keep it scoped
    ran = runner.invoke(cli, ["bench", "sorting", "--out", str(tmp_path / "cli"), "--quiet-timeout", "0"])
    assert ran.exit_code == 0, ran.output
    assert "same_size" in ran.output and "met" in ran.output
    assert json.loads((tmp_path / "cli" / "sorting.json").read_text())["repetitions"] == 3


def test_priority_switches_application_twice_per_repetition() -> None:
    """`suspend` runs in an application of its own: its variants come last, so a repetition switches only twice."""
    from spark_sched.bench.experiments.priority import EXPERIMENT
    from spark_sched.workloads.unified.variants import OVERSUBSCRIBED

    needs = [v.removeprefix("loaded-") in OVERSUBSCRIBED for v in EXPERIMENT.variants]
    switches = sum(a != b for a, b in zip(needs, needs[1:] + needs[:1], strict=True))
    assert any(needs) and switches == 2
