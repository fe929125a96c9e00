"""Of M running upstream tasks, the K outputs to keep: rack-balanced, waiting for more only while it can pay.

From the K-th completion on, every finish event re-runs the intermediate
chooser over the outputs finished so far (the least cross-rack skew, valid
under the rule). The straggler bound then says whether a later output could
still pay for the wait; the driver sleeps until the next completion or until
the bound's deadline, whichever comes first.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from spark_sched.sampling.blocks import Block
from spark_sched.sampling.completions import Completion, Completions
from spark_sched.sampling.errors import SamplingError
from spark_sched.sampling.extra import can_meet
from spark_sched.sampling.intermediate import Output
from spark_sched.sampling.rules import SamplingRule
from spark_sched.sampling.snapshot import ClusterSnapshot
from spark_sched.sampling.straggler import OutputPick, StragglerBound, pick_outputs


@dataclass(frozen=True)
class Kept:
    """The K outputs kept, every completion seen, and when the K-th arrived and the choice was final."""

    best: list[Output]
    done: list[Completion]
    kth_at: float
    chosen_at: float


def as_outputs(
    done: Sequence[Completion],
    block_of: Mapping[int, Block],
    placement: Mapping[int, str | None],
    snap: ClusterSnapshot,
) -> list[Output]:
    """Completions (finish order) as outputs: block id, the rack of the host that ran it, bytes, stratum."""
    out = []
    for c in done:
        block = block_of[c.partition]
        host = c.host if c.host in snap.racks else (placement.get(block.id) or "")
        out.append(Output(block.id, snap.rack(host), max(1, c.size), host, block.stratum))
    return out


@dataclass(frozen=True)
class OutputSetting:
    """What the finished outputs are judged by: their blocks, where they were expected, the racks, the rule."""

    block_of: Mapping[int, Block]  # partition of the upstream job -> its block
    placement: Mapping[int, str | None]
    snap: ClusterSnapshot
    share: Mapping[str, float]  # each rack's share of the downstream reducers
    rule: SamplingRule


def _pick(done: Sequence[Completion], k: int, setting: OutputSetting) -> OutputPick | None:
    """The best K finished outputs, or None while they cannot meet the rule (a stratum or class still short)."""
    s = setting
    if not can_meet(s.rule, [s.block_of[c.partition] for c in done], k):
        return None
    outputs = as_outputs(done, s.block_of, s.placement, s.snap)
    return pick_outputs(outputs, k, s.share, s.rule, s.snap.uplink_bits)


def _met_at(done: Sequence[Completion], k: int, block_of: Mapping[int, Block], rule: SamplingRule) -> float:
    """When the finished outputs first could meet the rule: the K-th finish, later if a stratum was short."""
    blocks = [block_of[c.partition] for c in done]
    first = next(i for i in range(k, len(done) + 1) if can_meet(rule, blocks[:i], k))
    return done[first - 1].finished


def keep_k(job: Completions, k: int, setting: OutputSetting, bound: StragglerBound) -> Kept:
    """Wait for K completions, then for more only while the straggler bound allows; the K outputs to keep."""
    kth_at: float | None = None
    deadline: float | None = None
    want = k
    while True:
        done = job.wait(want, deadline)
        running = job.running()
        pick = _pick(done, k, setting)
        if pick is not None:
            kth_at = kth_at or _met_at(done, k, setting.block_of, setting.rule)
            if not bound.keep_waiting(time.monotonic() - kth_at, pick.transfer_s, pick.ideal_s, running):
                return Kept(pick.chosen, done, kth_at, time.monotonic())
            deadline = kth_at + (pick.transfer_s - pick.ideal_s)
        elif running == 0:
            raise SamplingError(
                "upstream tasks",
                f"{len(done)} of {len(job.partitions)} finished",
                f"at least {k} finishing under the rule; the job said: {job.error or 'nothing'}",
            )
        want = max(k, len(done) + 1)
