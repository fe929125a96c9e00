"""The contract every experiment follows, so the harness can run any of them the same way.

An experiment is a small object (Spark's policies are comparators; ours are
one-method objects too): it names its variants, prepares shared resources once,
measures one repetition of one variant, and turns the medians into ratios and
targets. The harness (`spark_sched.bench.harness`) interleaves repetitions
and rotates which variant goes first (v1 v2 v3, v2 v3 v1, ...), so drift and a
warming JVM hit every variant alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class Target:
    """A figure the experiment promises: its value, the target as text ("<= 1.05") and whether it held."""

    value: float
    target: str
    met: bool

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "target": self.target, "met": self.met}


@dataclass
class BenchContext:
    """What the harness hands an experiment: where to write, how big to run, which master to use."""

    out_dir: Path
    quick: bool = False
    master: str | None = None
    repetitions: int = 3
    params: dict[str, Any] = field(default_factory=dict)
    cluster: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)


class Experiment(Protocol):
    """One benchmark question, answered by running its variants side by side."""

    name: str
    description: str
    variants: tuple[str, ...]

    def setup(self, ctx: BenchContext) -> None:
        """Start what all repetitions share (a session, a cluster); record params in ctx.params."""

    def run(self, variant: str, repetition: int, ctx: BenchContext) -> dict[str, float]:
        """Measure one repetition of one variant; return its metrics (numbers only)."""
        ...

    def summarize(
        self, variants: dict[str, dict[str, float]], ctx: BenchContext
    ) -> tuple[dict[str, float], dict[str, Target]]:
        """From per-variant medians, the ratios and targets the JSON reports."""
        ...

    def teardown(self, ctx: BenchContext) -> None:
        """Stop everything setup started, also after a failure."""
