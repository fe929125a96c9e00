"""Per class, a discounted Thompson-sampling bandit over compositions, rewarded by measured job time.

Why hand-rolled (about 100 lines on numpy/scipy): the maintained libraries
checked on PyPI do not fit. MABWiser's Thompson sampling takes binary rewards
only, has no discounting and keeps state as pickles; bayesianbandits has
forgetting but pulls in scikit-learn and a compiled extension, keeps state as
pickled estimators (the state here must be JSON an operator can read), and its
per-call overhead does not fit a 1 ms decision budget.

Model. The cost of a job is x = log(job ms) (a job 2x slower costs the same
anywhere on the scale; noise is roughly multiplicative). Each arm keeps
discounted sums n, s, ss of x (Discounted Thompson Sampling, Raj & Kalyani
2017): before every update of a class, all its arms' sums are multiplied by
`discount`, so an arm not run for a while grows uncertain again and is
re-tried, which is what a drifting workload needs. The posterior of an arm's
mean is Normal(s/n, var/(n + K0)) with var shrunk toward V0 (K0 pseudo
observations), a Normal-Gamma posterior with its variance plugged in.

Decisions:
* a class with no observation runs its prior (cold start is the operator's choice, never a coin toss);
* otherwise draw one sample per arm (an untried arm: around the class's mean, wide) and run the lowest;
* HIGH work runs the greedy arm (lowest posterior mean) except within a budget: at most `high_explore`
  of its decisions so far may explore, and only an arm that is untried or whose pessimistic (90% upper)
  predicted latency is within `high_latency_target_ms`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy.stats import norm

K0 = 1.0  # pseudo observations behind the prior variance
V0 = 0.25  # prior variance of log(job ms): about +-65% noise, so one early outlier is not taken as the truth
UNTRIED_SD = 0.7  # spread of an untried arm's draw around the class's mean (log units: about 2x)
UPPER_Z = float(norm.ppf(0.90))  # pessimistic bound used to keep HIGH exploration safe
CREDIBLE_Z = float(norm.ppf(0.95))  # 90% two-sided interval shown by `composer show`


@dataclass
class Arm:
    """Discounted sufficient statistics of log(job ms) for one composition in one class."""

    n: float = 0.0
    s: float = 0.0
    ss: float = 0.0
    pulls: int = 0

    @property
    def tried(self) -> bool:
        return self.n > 1e-9

    @property
    def mean(self) -> float:
        return self.s / self.n

    @property
    def var(self) -> float:
        """Shrunk variance of one job's log time."""
        spread = max(0.0, self.ss - self.n * self.mean**2)
        return (spread + K0 * V0) / (self.n + K0)

    @property
    def sd_of_mean(self) -> float:
        return math.sqrt(self.var / (self.n + K0))

    def upper(self) -> float:
        """Pessimistic log time of the next job: predictive mean + z * predictive sd."""
        return self.mean + UPPER_Z * math.sqrt(self.var + self.var / (self.n + K0))

    def discount(self, factor: float) -> None:
        self.n, self.s, self.ss = self.n * factor, self.s * factor, self.ss * factor

    def add(self, x: float) -> None:
        self.n += 1.0
        self.s += x
        self.ss += x * x
        self.pulls += 1


@dataclass
class ClassState:
    """One workload class: its arms, how many decisions were made and how many explored."""

    priority: str
    arms: dict[str, Arm] = field(default_factory=dict)
    decisions: int = 0
    explorations: int = 0
    last: str = ""

    def arm(self, name: str) -> Arm:
        return self.arms.setdefault(name, Arm())

    def tried(self, names: list[str]) -> list[str]:
        return [a for a in names if a in self.arms and self.arms[a].tried]

    def greedy(self, names: list[str]) -> str | None:
        """The arm with the lowest posterior mean among those tried (None when nothing is tried)."""
        tried = self.tried(names)
        return min(tried, key=lambda a: self.arms[a].mean) if tried else None

    def to_json(self) -> dict[str, Any]:
        return {"priority": self.priority, "decisions": self.decisions, "explorations": self.explorations,
                "last": self.last, "arms": {k: asdict(v) for k, v in self.arms.items()}}

    @staticmethod
    def from_json(data: dict[str, Any]) -> ClassState:
        arms = {str(k): Arm(float(v["n"]), float(v["s"]), float(v["ss"]), int(v["pulls"]))
                for k, v in data["arms"].items()}
        return ClassState(str(data["priority"]), arms, int(data["decisions"]), int(data["explorations"]),
                          str(data.get("last", "")))


@dataclass(frozen=True)
class Choice:
    """A decision: the arm, and whether it explored (differs from the greedy arm) or followed the prior."""

    arm: str
    explored: bool
    prior: bool


@dataclass(frozen=True)
class HighBound:
    """How far HIGH work may explore."""

    fraction: float
    latency_target_ms: float


def choose(state: ClassState, arms: list[str], prior: str, rng: np.random.Generator,
           high: HighBound | None = None) -> Choice:
    """Pick the composition for the next job of this class (see the module docstring)."""
    greedy = state.greedy(arms)
    if greedy is None:
        return Choice(prior, False, True)
    pick = _thompson(state, arms, rng)
    if pick == greedy:
        return Choice(greedy, False, False)
    if high is not None and not _may_explore_high(state, pick, high):
        return Choice(greedy, False, False)
    return Choice(pick, True, False)


def _thompson(state: ClassState, arms: list[str], rng: np.random.Generator) -> str:
    tried = state.tried(arms)
    centre = float(np.mean([state.arms[a].mean for a in tried]))
    means = np.array([state.arms[a].mean if a in tried else centre for a in arms])
    sds = np.array([state.arms[a].sd_of_mean if a in tried else UNTRIED_SD for a in arms])
    return arms[int(np.argmin(rng.normal(means, sds)))]


def _may_explore_high(state: ClassState, arm: str, bound: HighBound) -> bool:
    """Within budget (explorations + 1 <= fraction * (decisions + 1)) and not known to risk the target."""
    if state.explorations + 1 > bound.fraction * (state.decisions + 1):
        return False
    stats = state.arms.get(arm)
    return stats is None or not stats.tried or stats.upper() <= math.log(bound.latency_target_ms)


def record_decision(state: ClassState, choice: Choice) -> None:
    state.decisions += 1
    state.explorations += int(choice.explored)
    state.last = choice.arm


def update(state: ClassState, arm: str, job_ms: float, discount: float) -> None:
    """Discount every arm of the class, then add this job's log time to its arm."""
    for stats in state.arms.values():
        stats.discount(discount)
    state.arm(arm).add(math.log(max(job_ms, 1.0)))


def summary(state: ClassState, arms: list[str], rng: np.random.Generator, draws: int = 2000) -> list[dict[str, Any]]:
    """Per arm: estimated job ms (median), its 90% credible interval, effective n, P(best) from posterior draws."""
    tried = state.tried(arms)
    if not tried:
        return []
    means = np.array([state.arms[a].mean for a in tried])
    sds = np.array([state.arms[a].sd_of_mean for a in tried])
    samples = rng.normal(means, sds, size=(draws, len(tried)))
    wins = np.bincount(np.argmin(samples, axis=1), minlength=len(tried)) / draws
    rows = []
    for i, name in enumerate(tried):
        arm = state.arms[name]
        rows.append({"composition": name, "estimate_ms": math.exp(arm.mean),
                     "low_ms": math.exp(arm.mean - CREDIBLE_Z * arm.sd_of_mean),
                     "high_ms": math.exp(arm.mean + CREDIBLE_Z * arm.sd_of_mean),
                     "n": arm.n, "pulls": arm.pulls, "p_best": float(wins[i])})
    return sorted(rows, key=lambda r: r["estimate_ms"])
