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
from spark_sched.sampling.intermediate import Output, choose_outputs, ideal_seconds, link_loads, transfer_seconds
from spark_sched.sampling.rules import SamplingRule
from spark_sched.sampling.snapshot import ClusterSnapshot
from spark_sched.sampling.straggler import StragglerBound


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


def _choose(outputs: list[Output], k: int, share: Mapping[str, float], rule: SamplingRule) -> list[Output] | None:
    try:
        return choose_outputs(outputs, k, share, rule)
    except SamplingError:  # the finished outputs cannot meet the rule yet (a stratum short): wait for more
        return None


def keep_k(
    job: Completions,
    k: int,
    block_of: Mapping[int, Block],
    placement: Mapping[int, str | None],
    snap: ClusterSnapshot,
    share: Mapping[str, float],
    rule: SamplingRule,
    bound: StragglerBound,
) -> Kept:
    """Wait for K completions, then for more only while the straggler bound allows; the K outputs to keep."""
    kth_at: float | None = None
    deadline: float | None = None
    want = k
    while True:
        done = job.wait(want, deadline)
        running = job.running()
        best = None
        if len(done) >= k:
            kth_at = kth_at or done[k - 1].finished
            best = _choose(as_outputs(done, block_of, placement, snap), k, share, rule)
        if best is not None:
            now_s = transfer_seconds(link_loads(best, share), snap.uplink_bits)
            ideal_s = ideal_seconds(sum(o.size for o in best), share, snap.uplink_bits)
            assert kth_at is not None
            if not bound.keep_waiting(time.monotonic() - kth_at, now_s, ideal_s, running):
                return Kept(best, done, kth_at, time.monotonic())
            deadline = kth_at + (now_s - ideal_s)
        elif running == 0:
            raise SamplingError(
                "upstream tasks",
                f"{len(done)} of {len(job.partitions)} finished",
                f"at least {k} finishing under the rule; the job said: {job.error or 'nothing'}",
            )
        want = max(k, len(done) + 1)
