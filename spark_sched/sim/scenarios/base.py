"""What a scenario is and what it reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass
class ScenarioReport:
    """One scenario run: a row of figures per variant, the paper's headline beside the model's, plots written.

    `rows`: variant name -> figures (job time mean/p50/p99 in seconds, locality fraction, ...).
    `comparison`: one entry per headline, {"figure", "paper", "model", "note"}: what the paper
    reported, what the model gives at this scale, and why they differ where they do.
    """

    scenario: str
    hosts: int
    seed: int
    params: dict[str, Any] = field(default_factory=dict)
    rows: dict[str, dict[str, float]] = field(default_factory=dict)
    comparison: list[dict[str, str]] = field(default_factory=list)
    plots: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "hosts": self.hosts, "seed": self.seed, "params": self.params,
                "rows": self.rows, "comparison": self.comparison, "plots": self.plots}


class Scenario(Protocol):
    """A paper's experiment for the model: `run` builds its workload and runs every variant on it."""

    name: str
    description: str

    def run(self, hosts: int, seed: int, quick: bool, out: Path | None) -> ScenarioReport:
        """Run every variant on `hosts` simulated hosts; write plots into `out` when given."""
        ...
