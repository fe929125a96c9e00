"""Before launching: run M > K upstream tasks, or the single pipeline of K?

Extra upstream tasks pay only when two things hold. They must fit: every one of
the M tasks has a free slot on a host holding its block now (otherwise the
extra ones queue behind the K and the job waits for them or reads remotely).
And they must be able to win more than they cost. They win twice: choosing
among M outputs can save at most the downstream transfer of the K-block
choice's outputs (where they would sit) minus that of a perfectly balanced
choice, and keeping the first K of M to finish saves the expected wait for the
slowest of K (`hedge`, from this application's task times). The cost is what
extra-task runs measurably spent on choosing, waiting and cancelling in this
application (a prior until one has been measured). When either fails,
the K blocks run as one pipeline, as Spark would run them.
"""

from __future__ import annotations

import statistics
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from spark_sched.sampling.errors import SamplingError
from spark_sched.sampling.intermediate import Output, ideal_seconds, link_loads, transfer_seconds

WHEN = ("auto", "always", "never")
PRIOR_OVERHEAD_S = 0.2  # choose + wait + cancel of an extra-task run, until this application has measured one
KEEP_MEASURED = 5  # the overhead is the median of this many most recent extra-task runs


@dataclass(frozen=True)
class Decision:
    """What was decided and on which figures (kept in `KmnRun.decision`)."""

    extra: bool
    reason: str
    k: int
    m: int
    local: int = 0  # of the M tasks, how many have a free slot on a host holding their block
    gain_s: float = 0.0  # the most choosing among M outputs could save on the downstream transfer
    hedge_s: float = 0.0  # expected time saved by keeping the first K of M to finish (task times seen so far)
    overhead_s: float = 0.0  # measured cost of an extra-task run (choose, wait, cancel)

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


def transfer_gain_s(expected: Sequence[Output], share: Mapping[str, float], uplink_bits: float) -> float:
    """Transfer time of the outputs where the K-block choice would leave them, minus a balanced choice's (>= 0)."""
    if not expected:
        return 0.0
    now = transfer_seconds(link_loads(expected, share), uplink_bits)
    return max(0.0, now - ideal_seconds(sum(o.size for o in expected), share, uplink_bits))


class OverheadLog:
    """Measured seconds extra-task runs spent beyond the single pipeline's work, per application."""

    def __init__(self) -> None:
        self._runs: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def record(self, app: str, seconds: float) -> None:
        with self._lock:
            self._runs.setdefault(app, deque(maxlen=KEEP_MEASURED)).append(max(0.0, seconds))

    def estimate(self, app: str) -> float:
        with self._lock:
            runs = list(self._runs.get(app, ()))
        return statistics.median(runs) if runs else PRIOR_OVERHEAD_S


OVERHEADS = OverheadLog()


@dataclass(frozen=True)
class ExtraTasks:
    """When to run M > K upstream tasks: "auto" (only when they fit and can pay), "always", "never"."""

    when: str = "auto"

    def __post_init__(self) -> None:
        if self.when not in WHEN:
            raise SamplingError("extra_tasks", self.when, " / ".join(WHEN))

    def decide(
        self, k: int, m: int, local: int, gain_s: float, overhead_s: float, hedge_s: float = 0.0
    ) -> Decision:
        """Extra tasks or the single pipeline, from M's free local slots, the possible gains and the overhead."""
        figures = {"k": k, "m": m, "local": local, "gain_s": gain_s, "overhead_s": overhead_s, "hedge_s": hedge_s}
        if m <= k:
            return Decision(False, "M = K: nothing to choose among", **figures)
        if self.when != "auto":
            return Decision(self.when == "always", f"extra_tasks = {self.when!r}", **figures)
        if local < m:
            return Decision(False, f"M = {m} does not fit: {local} free local slots", **figures)
        gains = f"gain {gain_s * 1000:.0f} ms + hedge {hedge_s * 1000:.0f} ms"
        if gain_s + hedge_s <= overhead_s:
            return Decision(False, f"{gains} <= overhead {overhead_s * 1000:.0f} ms", **figures)
        return Decision(True, f"M fits and {gains} > overhead {overhead_s * 1000:.0f} ms", **figures)


def resolve_extra_tasks(value: object) -> ExtraTasks:
    """An `ExtraTasks`, or one of its names ("auto", "always", "never")."""
    if isinstance(value, ExtraTasks):
        return value
    if isinstance(value, str):
        return ExtraTasks(value)
    raise SamplingError("extra_tasks", value, " / ".join(WHEN) + " or ExtraTasks(...)")
