"""Priority classes: each bound to a FAIR pool, and the Spark job tags that carry priority, job id and attempt.

Neptune keeps priority as a job-local property; stock Spark's nearest handle is
the job tag (Spark >= 3.5), which `cancelJobsWithTag` can target and which
measurement sees on every job. Tags are thread-local, so every job the toolkit
runs goes through `tagged()` inside its own `pyspark.InheritableThread`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from spark_sched.errors import SettingsError
from spark_sched.jobscope import TAG_PREFIX, job_scope
from spark_sched.pools.conf import fair_conf as pools_fair_conf
from spark_sched.pools.conf import pools_xml, write_pools_xml
from spark_sched.pools.model import FAIR, Pool

if TYPE_CHECKING:
    from pyspark import SparkContext

POOLS_SOURCE = "spark_sched.priority classes"  # names the classes' pools in the rendered file's header
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class PriorityClass:
    """A priority level (1 is the most urgent) bound to a pool with its FAIR weight and minShare.

    A latency-sensitive pool needs a minShare, not just a weight: Spark's FAIR
    comparator ranks idle pools by runningTasks/weight, which ties at 0 and is
    then broken by name (REFERENCE.md, the tie-break trap).
    """

    name: str
    level: int
    pool: str
    weight: int = 1
    min_share: int = 0
    preemptible: bool = True

    def __post_init__(self) -> None:
        for field_name, value in (("name", self.name), ("pool", self.pool)):
            if not _NAME.match(value):
                raise SettingsError(f"priority class {field_name}", value, "letters, digits, '_', '.', '-'")
        if self.level < 1:
            raise SettingsError("priority class level", self.level, "an integer >= 1 (1 is the most urgent)")
        if self.weight < 1 or self.min_share < 0:
            shares = (self.weight, self.min_share)
            raise SettingsError("priority class weight/minShare", shares, "weight >= 1, minShare >= 0")

    def outranks(self, other: PriorityClass) -> bool:
        """True when this class may preempt `other` (strictly more urgent, and `other` is preemptible)."""
        return self.level < other.level and other.preemptible


HIGH = PriorityClass("high", 1, "high", weight=1000, min_share=64, preemptible=False)
LOW = PriorityClass("low", 2, "low", weight=1, min_share=0, preemptible=True)
DEFAULT_CLASSES: tuple[PriorityClass, ...] = (HIGH, LOW)


def priority_class(name: str, classes: Sequence[PriorityClass] = DEFAULT_CLASSES) -> PriorityClass:
    """Look a class up by name, refusing unknown names with the ones that exist."""
    for cls in classes:
        if cls.name == name:
            return cls
    raise SettingsError("priority", name, [c.name for c in classes])


@dataclass(frozen=True)
class JobTags:
    """The three tags every toolkit job carries: its priority, its logical job id and the attempt number."""

    priority: str
    job_id: str
    attempt: int

    @property
    def job_tag(self) -> str:
        """Tag shared by every attempt of a logical job (what the controller cancels)."""
        return f"{TAG_PREFIX}-job-{self.job_id}"

    def all(self) -> tuple[str, str, str]:
        return (
            f"{TAG_PREFIX}-priority-{self.priority}",
            self.job_tag,
            f"{TAG_PREFIX}-attempt-{self.job_id}-{self.attempt}",
        )

    @staticmethod
    def parse(tags: Sequence[str]) -> dict[str, str]:
        """Read priority / job / attempt back from a job's tags (as measurement reports them)."""
        out: dict[str, str] = {}
        for tag in tags:
            for key in ("priority", "job", "attempt"):
                prefix = f"{TAG_PREFIX}-{key}-"
                if tag.startswith(prefix):
                    out[key] = tag[len(prefix) :]
        return out


@contextmanager
def tagged(sc: SparkContext, cls: PriorityClass, job_id: str, attempt: int = 0) -> Iterator[JobTags]:
    """Run the enclosed Spark actions in `cls`'s pool with the priority / job / attempt tags (this thread only)."""
    tags = JobTags(cls.name, job_id, attempt)
    with job_scope(sc, pool=cls.pool, tags=tags.all()):
        yield tags


def pool_xml(classes: Sequence[PriorityClass] = DEFAULT_CLASSES) -> str:
    """fairscheduler.xml for the classes' pools (FAIR inside each pool), rendered by `spark_sched.pools`."""
    return pools_xml(_pools(classes), POOLS_SOURCE)


def write_pool_file(directory: str | Path, classes: Sequence[PriorityClass] = DEFAULT_CLASSES) -> Path:
    """Write the classes' pool file into `directory` and return its path (for spark.scheduler.allocation.file)."""
    return write_pools_xml(Path(directory) / "priority-pools.xml", _pools(classes), POOLS_SOURCE)


def fair_conf(pool_file: Path) -> dict[str, str]:
    """The Spark conf that turns FAIR mode on with the given pool file."""
    return pools_fair_conf(pool_file)


def _pools(classes: Sequence[PriorityClass]) -> list[Pool]:
    """One FAIR pool per pool name the classes use, with its class's weight and minShare."""
    return list({c.pool: Pool(c.pool, FAIR, c.weight, c.min_share) for c in classes}.values())
