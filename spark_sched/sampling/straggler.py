"""Straggler bound: after the K-th upstream output, keep waiting only while waiting can still pay.

The paper's delay-based rule: a better choice among more outputs can at best
bring the downstream transfer down to that of a perfectly balanced choice, so
the gain still possible is (transfer time of the best choice now) - (ideal
transfer time). Once the time already waited since the K-th output exceeds it,
more waiting cannot pay back; stop, and cancel the upstream tasks still running.
`pick_outputs` gives the two times for the outputs finished so far.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from spark_sched.sampling.intermediate import Output, choose_outputs, ideal_seconds, link_loads, transfer_seconds
from spark_sched.sampling.rules import SamplingRule


@dataclass(frozen=True)
class StragglerBound:
    """`keep_waiting(waited, best_now, ideal)`: all times in seconds."""

    min_gain_s: float = 0.0  # ignore gains below this (finish events are coalesced anyway)

    def keep_waiting(self, waited_s: float, best_now_s: float, ideal_s: float, running: int) -> bool:
        if running <= 0:
            return False
        gain = best_now_s - ideal_s
        return gain > self.min_gain_s and waited_s < gain


@dataclass(frozen=True)
class OutputPick:
    """The best K outputs finished so far, their downstream transfer time and a perfectly balanced one's."""

    chosen: list[Output]
    transfer_s: float
    ideal_s: float


def pick_outputs(outputs: Sequence[Output], k: int, share: Mapping[str, float], rule: SamplingRule,
                 uplink_bits: float) -> OutputPick:
    """The K finished outputs the rule allows with the least cross-rack skew, and what waiting could still gain."""
    chosen = choose_outputs(outputs, k, share, rule)
    transfer = transfer_seconds(link_loads(chosen, share), uplink_bits)
    return OutputPick(chosen, transfer, ideal_seconds(sum(o.size for o in chosen), share, uplink_bits))
