"""Per class, a bandit over compositions that settles: it keeps what it runs until something is surely better.

Why hand-rolled (about 200 lines on numpy/scipy): the maintained libraries
checked on PyPI do not fit. MABWiser's Thompson sampling takes binary rewards
only and keeps state as pickles; bayesianbandits pulls in scikit-learn and a
compiled extension, keeps pickled estimators (the state here must be JSON an
operator can read), and its per-call overhead does not fit a 1 ms decision
budget. Neither settles: both keep sampling every arm for ever, which with a
handful of jobs per class and 2-5x noise between runs of one job costs more
than it learns.

Model. The cost of a job is x = log(job ms) (a job 2x slower costs the same
anywhere on the scale; noise is roughly multiplicative). Each arm keeps sums n,
s, ss of x; the posterior of its mean is Normal(s/n, var/n) with var, the
spread of its times, shrunk toward V0 (K0 pseudo observations): a
Normal-Gamma posterior with its variance plugged in.

Decisions, per class (each class runs one *incumbent* composition):
* a class with no observation runs its prior, which becomes its incumbent (cold start is the
  operator's choice, never a coin toss);
* switch: the incumbent is replaced only by an arm with at least MIN_EVIDENCE observations that
  is faster by the margin (`switch_margin`, e.g. 10%) with posterior probability of at least
  `switch_confidence`; an arm as good as the incumbent never displaces it;
* explore: an arm is a *challenger* while it could still win (posterior probability of being
  faster by the margin at least EXPLORE_FLOOR; an untried arm always could) and has had fewer
  than `explore_trials` jobs since the class last (re)started exploring; at most `explore_fraction`
  of the class's decisions explore (interleaved with the incumbent, so both are seen under the same
  load), and HIGH work explores only an arm that is untried or whose pessimistic (90% upper)
  latency is within its target;
* settled: no challenger left. From then on every job runs the incumbent (which still yields to an
  arm that is surely faster) and nothing is discounted, until a drift;
* drift: each arm's new times are checked against its own predictive distribution (a two-sided
  CUSUM of standardized residuals, each clipped so one outlier cannot trip it). When they leave it,
  every arm of the class keeps only `discount` of its evidence and the class explores again.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy.stats import norm

K0 = 2.0  # pseudo observations behind the prior variance
V0 = 0.25  # prior variance of log(job ms): about +-65% noise, so one early outlier is not taken as the truth
UNTRIED_SD = 0.7  # spread of an untried arm's mean around the incumbent's (log units: about 2x)
UPPER_Z = float(norm.ppf(0.90))  # pessimistic bound used to keep HIGH exploration safe
CREDIBLE_Z = float(norm.ppf(0.95))  # 90% two-sided interval shown by `composer show`
MIN_EVIDENCE = 3.0  # observations an arm needs before it may replace the incumbent
EXPLORE_FLOOR = 0.05  # an arm less likely than this to be faster by the margin is ruled out (not explored)
DRIFT_MIN_N = 4.0  # observations an arm needs before its new times are checked for drift
DRIFT_SLACK = 0.5  # CUSUM allowance, in predictive standard deviations
DRIFT_LIMIT = 5.0  # CUSUM alarm level (a false alarm about once in several hundred jobs of a stable arm)
DRIFT_CLIP = 3.0  # one residual moves a CUSUM by at most this, so a lone outlier is not a drift


@dataclass
class Arm:
    """Sufficient statistics of log(job ms) for one composition in one class, and its drift detector."""

    n: float = 0.0
    s: float = 0.0
    ss: float = 0.0
    pulls: int = 0
    trials: int = 0  # explorations of this arm since the class last (re)started exploring
    rise: float = 0.0  # CUSUM of residuals above the prediction (the arm got slower)
    fall: float = 0.0  # CUSUM of residuals below it (the arm got faster)

    @property
    def tried(self) -> bool:
        return self.n > 1e-9

    @property
    def mean(self) -> float:
        return self.s / self.n

    @property
    def var(self) -> float:
        """Variance of one job's log time: the observed spread (n - 1 degrees of freedom) shrunk toward V0."""
        spread = max(0.0, self.ss - self.n * self.mean**2)
        return (spread + K0 * V0) / (max(self.n - 1.0, 0.0) + K0)

    @property
    def sd_of_mean(self) -> float:
        return math.sqrt(self.var / self.n)

    @property
    def predictive_sd(self) -> float:
        """Standard deviation of the next job's log time."""
        return math.sqrt(self.var + self.var / self.n)

    def upper(self) -> float:
        """Pessimistic log time of the next job: predictive mean + z * predictive sd."""
        return self.mean + UPPER_Z * self.predictive_sd

    def discount(self, factor: float) -> None:
        self.n, self.s, self.ss = self.n * factor, self.s * factor, self.ss * factor

    def add(self, x: float) -> None:
        self.n += 1.0
        self.s += x
        self.ss += x * x
        self.pulls += 1

    def drifted(self, x: float) -> bool:
        """Feed the CUSUMs with x's standardized residual; True when x and the times before it left the prediction."""
        if self.n < DRIFT_MIN_N:
            return False
        z = max(-DRIFT_CLIP, min(DRIFT_CLIP, (x - self.mean) / self.predictive_sd))
        self.rise = max(0.0, self.rise + z - DRIFT_SLACK)
        self.fall = max(0.0, self.fall - z - DRIFT_SLACK)
        return max(self.rise, self.fall) > DRIFT_LIMIT


@dataclass
class ClassState:
    """One workload class: its arms, the composition it runs, and how far its exploring has got."""

    priority: str
    arms: dict[str, Arm] = field(default_factory=dict)
    decisions: int = 0
    explorations: int = 0
    last: str = ""
    incumbent: str = ""  # the composition the class runs when it does not explore
    switches: int = 0  # times the incumbent was replaced by a surely faster arm
    drifts: int = 0  # times its times drifted and it started exploring again
    round_decisions: int = 0  # decisions since the class last (re)started exploring
    round_explorations: int = 0
    settled_at: int | None = None  # the decision at which it stopped exploring (None: still exploring)

    @property
    def settled(self) -> bool:
        return self.settled_at is not None

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
                "last": self.last, "incumbent": self.incumbent, "switches": self.switches, "drifts": self.drifts,
                "round_decisions": self.round_decisions, "round_explorations": self.round_explorations,
                "settled": self.settled, "settled_at": self.settled_at,
                "arms": {k: asdict(v) for k, v in self.arms.items()}}

    @staticmethod
    def from_json(data: dict[str, Any]) -> ClassState:
        """Read a class; a version-1 state (no incumbent, no rounds) reads as a class still exploring."""
        arms = {str(k): Arm(float(v["n"]), float(v["s"]), float(v["ss"]), int(v["pulls"]), int(v.get("trials", 0)),
                            float(v.get("rise", 0.0)), float(v.get("fall", 0.0)))
                for k, v in data["arms"].items()}
        settled_at = data.get("settled_at")
        return ClassState(str(data["priority"]), arms, int(data["decisions"]), int(data["explorations"]),
                          str(data.get("last", "")), str(data.get("incumbent", "")), int(data.get("switches", 0)),
                          int(data.get("drifts", 0)), int(data.get("round_decisions", 0)),
                          int(data.get("round_explorations", 0)), None if settled_at is None else int(settled_at))


@dataclass(frozen=True)
class Rules:
    """How a class of one priority explores and when it switches (from `[learning]`)."""

    explore_fraction: float = 0.5
    explore_trials: int = 8
    switch_margin: float = 1.1
    switch_confidence: float = 0.9
    latency_target_ms: float | None = None  # HIGH work: never explore an arm estimated to miss it


@dataclass(frozen=True)
class Choice:
    """A decision: the arm to run, whether it explores, and the class's incumbent and settledness after it."""

    arm: str
    explored: bool
    prior: bool
    incumbent: str = ""
    settled: bool = False


def p_faster(state: ClassState, arm: str, than: str, margin: float) -> float:
    """Posterior probability that `arm`'s mean job time is below `than`'s divided by `margin`."""
    base = state.arms[than]
    other = state.arms.get(arm)
    if other is None or not other.tried:
        mean, sd = base.mean, UNTRIED_SD
    else:
        mean, sd = other.mean, other.sd_of_mean
    gap = base.mean - math.log(margin) - mean
    return _normal_cdf(gap / math.hypot(sd, base.sd_of_mean))


def _normal_cdf(z: float) -> float:
    """Standard normal CDF through math.erf: scipy's costs tens of microseconds a call, too much per decision."""
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def choose(state: ClassState, arms: list[str], prior: str, rules: Rules, rng: np.random.Generator) -> Choice:
    """Pick the composition for the next job of this class (see the module docstring). Does not change `state`."""
    if not state.tried(arms):
        return Choice(prior, False, True, prior, False)
    incumbent = _incumbent(state, arms, rules)
    challengers = [] if state.settled else _challengers(state, arms, incumbent, rules)
    if not challengers:
        return Choice(incumbent, False, False, incumbent, True)
    if state.round_explorations + 1 > rules.explore_fraction * (state.round_decisions + 1):
        return Choice(incumbent, False, False, incumbent, False)
    trials = {a: state.arms[a].trials if a in state.arms else 0 for a in challengers}
    least_seen = [a for a in challengers if trials[a] == min(trials.values())]
    return Choice(str(rng.choice(least_seen)), True, False, incumbent, False)


def _incumbent(state: ClassState, arms: list[str], rules: Rules) -> str:
    """The class's incumbent, replaced by the fastest arm that is surely faster by the margin."""
    incumbent = state.incumbent
    if incumbent not in arms or not state.arms.get(incumbent, Arm()).tried:
        incumbent = state.greedy(arms) or arms[0]
    better = [a for a in state.tried(arms) if a != incumbent and state.arms[a].n >= MIN_EVIDENCE
              and p_faster(state, a, incumbent, rules.switch_margin) >= rules.switch_confidence]
    return min(better, key=lambda a: state.arms[a].mean) if better else incumbent


def _challengers(state: ClassState, arms: list[str], incumbent: str, rules: Rules) -> list[str]:
    """Arms still worth a job: not yet given their trials, could still be faster by the margin, safe for HIGH."""
    out = []
    for name in arms:
        arm = state.arms.get(name)
        if name == incumbent or (arm is not None and arm.trials >= rules.explore_trials):
            continue
        if arm is not None and arm.tried:
            if p_faster(state, name, incumbent, rules.switch_margin) < EXPLORE_FLOOR:
                continue
            if rules.latency_target_ms is not None and arm.upper() > math.log(rules.latency_target_ms):
                continue
        out.append(name)
    return out


def record_decision(state: ClassState, choice: Choice) -> None:
    """Apply a decision: count it, move the incumbent, mark when the class settled."""
    state.decisions += 1
    state.round_decisions += 1
    state.explorations += int(choice.explored)
    state.round_explorations += int(choice.explored)
    if choice.explored:
        state.arm(choice.arm).trials += 1
    if state.incumbent and choice.incumbent != state.incumbent:
        state.switches += 1
    state.incumbent = choice.incumbent
    state.last = choice.arm
    if choice.settled and state.settled_at is None:
        state.settled_at = state.decisions
    elif not choice.settled:
        state.settled_at = None


def update(state: ClassState, arm: str, job_ms: float, discount: float) -> bool:
    """Add this job's log time to its arm; on drift, first keep `discount` of every arm's evidence and explore again.

    Returns True when the job's arm drifted.
    """
    x = math.log(max(job_ms, 1.0))
    stats = state.arm(arm)
    drifted = stats.drifted(x)
    if drifted:
        for other in state.arms.values():
            other.discount(discount)
            other.trials, other.rise, other.fall = 0, 0.0, 0.0
        state.drifts += 1
        state.round_decisions = state.round_explorations = 0
        state.settled_at = None
    stats.add(x)
    return drifted


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
                     "n": arm.n, "pulls": arm.pulls, "trials": arm.trials, "p_best": float(wins[i])})
    return sorted(rows, key=lambda r: r["estimate_ms"])
