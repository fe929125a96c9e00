"""A job's scope -- the pool it runs in, the tags it carries, its description -- and the one grammar of its tags.

Spark keeps all three per thread: the pool and the description are SparkContext
local properties, tags are job tags (Spark >= 3.5); a `pyspark.InheritableThread`
started inside the scope copies them. Every mechanism that labels or places a
job goes through `job_scope`, so a job's scope is set, and restored, one way.

Tags follow one grammar, `spark-sched-<key>-<value>`: `key` is one word from
`TAG_KEYS`, each owned by one mechanism (priority: `priority`, `job`, `attempt`;
composer: `class`, `composition`, `cjob`; sampling: `kmn`, `blocks`, `upstream`,
`outputs`, `seed`), and `value` is the rest of the tag, dashes included. So a
tag is read back without knowing who wrote it (`parse_tags`), and grouping jobs
by one key is a prefix (`tag_prefix("class")` for `measure`'s latency report).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from enum import Enum
from typing import TYPE_CHECKING

from spark_sched.errors import SettingsError
from spark_sched.pools.conf import POOL_PROPERTY
from spark_sched.pools.context import local_property, spark_context
from spark_sched.registry import Registry

if TYPE_CHECKING:
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

TAG_PREFIX = "spark-sched"
DESCRIPTION_PROPERTY = "spark.job.description"  # what SparkContext.setJobDescription sets; the UI shows it

TAG_KEYS: Registry[str] = Registry("job tag key")
for _key, _meaning in (
    ("priority", "priority: the job's priority class"),
    ("job", "priority: the logical job every attempt shares (what the controller cancels)"),
    ("attempt", "priority: one attempt of a logical job, `<job>-<n>`"),
    ("class", "composer: the workload class the job was put in"),
    ("composition", "composer: the composition the job ran under"),
    ("cjob", "composer: one job run under the composer, `<pid>-<n>` (its measured stats are read by it)"),
    ("kmn", "sampling: one any_k_of_n run"),
    ("blocks", "sampling: the input blocks a run read, as compact ids (`0-2.5`)"),
    ("upstream", "sampling: the blocks an upstream stage ran on"),
    ("outputs", "sampling: the upstream outputs fed downstream"),
    ("seed", "sampling: the seed that repeats a run's choice"),
):
    TAG_KEYS.add(_key, _meaning)


class Keep(Enum):
    """`job_scope(pool=KEEP)`: leave the thread's pool as it is (None would remove it: Spark's `default` pool)."""

    KEEP = "keep"


KEEP = Keep.KEEP


def scope_tag(key: str, value: object) -> str:
    """`spark-sched-<key>-<value>`; a key outside `TAG_KEYS` or a comma (Spark refuses it in a tag) is an error."""
    TAG_KEYS.get(key)
    text = str(value)
    if "," in text:
        raise SettingsError(f"job tag {key}", text, "text without commas")
    return f"{tag_prefix(key)}{text}"


def tag_prefix(key: str) -> str:
    """What every tag of `key` starts with, e.g. `spark-sched-class-` (group jobs by the rest)."""
    return f"{TAG_PREFIX}-{key}-"


def parse_tag(tag: str) -> tuple[str, str] | None:
    """`(key, value)` of a tag in the grammar; None for any other tag (a user's own, Spark's session tags)."""
    head = f"{TAG_PREFIX}-"
    if not tag.startswith(head):
        return None
    key, sep, value = tag[len(head) :].partition("-")
    return (key, value) if sep and key in TAG_KEYS else None


def parse_tags(tags: Iterable[str]) -> dict[str, str]:
    """Every key a job's tags carry, with its value (as `measure` reports a job's tags)."""
    return dict(pair for pair in map(parse_tag, tags) if pair is not None)


@contextmanager
def job_scope(
    spark: SparkSession | SparkContext | None = None,
    *,
    pool: str | None | Keep = KEEP,
    tags: Iterable[str] = (),
    description: str | None = None,
) -> Iterator[None]:
    """Run the jobs this thread submits inside the block in `pool`, with `tags` and `description`; restore on exit.

    `pool=None` removes the pool (Spark's `default`); the name is not checked here
    (`spark_sched.pools.pool` checks it against the pools the application loaded).
    `description=None` keeps the current one. `spark` defaults to the active SparkContext.
    """
    sc = spark_context(spark)
    applied = tuple(tags)
    with ExitStack() as stack:
        if not isinstance(pool, Keep):
            stack.enter_context(local_property(sc, POOL_PROPERTY, pool))
        if description is not None:
            stack.enter_context(local_property(sc, DESCRIPTION_PROPERTY, description))
        stack.enter_context(_tagged(sc, applied))
        yield


@contextmanager
def _tagged(sc: SparkContext, tags: tuple[str, ...]) -> Iterator[None]:
    for tag in tags:
        sc.addJobTag(tag)
    try:
        yield
    finally:
        for tag in tags:
            sc.removeJobTag(tag)
