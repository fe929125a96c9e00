"""The scheduler settings a simulation runs under: mode, pools, locality waits, and Spark's timings.

Pools come from the toolkit's own pool files (the flattened hierarchy Spark gets)
and waits are the toolkit's `LocalityWait`, so a what-if runs the very values the
toolkit would give Spark.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from spark_sched.errors import SettingsError
from spark_sched.locality.waits import LocalityWait
from spark_sched.pools.load import load_flattened

MODES = ("FIFO", "FAIR")


@dataclass(frozen=True)
class PoolSpec:
    """One Spark pool as the FAIR comparator sees it."""

    name: str
    mode: str = "FIFO"
    weight: int = 1
    min_share: int = 0


@dataclass(frozen=True)
class SimSettings:
    """Spark's scheduler settings in the model.

    `rack_levels`: Spark knows racks (YARN) so RACK_LOCAL is a level; standalone and
    Kubernetes do not. `revive_s` is `spark.scheduler.revive.interval` (offers of
    every free slot); `kill_s` the time from a cancel to the slot coming free.
    """

    mode: str = "FIFO"
    pools: tuple[PoolSpec, ...] = ()
    waits: LocalityWait = field(default_factory=LocalityWait)
    rack_levels: bool = False
    revive_s: float = 1.0
    kill_s: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise SettingsError("spark.scheduler.mode", self.mode, MODES)
        if not self.revive_s > 0:
            raise SettingsError("revive_s", self.revive_s, "seconds > 0")
        if not self.kill_s >= 0:
            raise SettingsError("kill_s", self.kill_s, "seconds >= 0")

    @property
    def reset_on_launch(self) -> bool:
        """Spark 3.1+ default: the wait restarts only after a round of offers with no rejection."""
        return bool(self.waits.reset_on_launch)

    def with_pool_file(self, path: str | os.PathLike[str]) -> SimSettings:
        """FAIR with the pools a toolkit pool file (TOML or XML) gives Spark after flattening."""
        leaves = load_flattened(path).leaves
        return replace(self, mode="FAIR",
                       pools=tuple(PoolSpec(p.name, p.mode, p.weight, p.min_share) for p in leaves))
