"""Straggler bound: after the K-th upstream output, keep waiting only while waiting can still pay.

The paper's delay-based rule: a better choice among more outputs can at best
bring the downstream transfer down to that of a perfectly balanced choice, so
the gain still possible is (transfer time of the best choice now) - (ideal
transfer time). Once the time already waited since the K-th output exceeds it,
more waiting cannot pay back; stop, and cancel the upstream tasks still running.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StragglerBound:
    """`keep_waiting(waited, best_now, ideal)`: all times in seconds."""

    min_gain_s: float = 0.0  # ignore gains below this (finish events are coalesced anyway)

    def keep_waiting(self, waited_s: float, best_now_s: float, ideal_s: float, running: int) -> bool:
        if running <= 0:
            return False
        gain = best_now_s - ideal_s
        return gain > self.min_gain_s and waited_s < gain
