"""Job tags that record a sampling decision, so a run can be audited (which blocks) and repeated (which seed).

The tags are in the toolkit's one grammar (`spark_sched.jobscope`): a run is
`spark-sched-kmn-<id>`, its decision `spark-sched-blocks-<ids>` (or `upstream`,
`outputs`) and `spark-sched-seed-<seed>`, all on the same jobs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from spark_sched.jobscope import parse_tags, scope_tag

RUN_KEY = "kmn"


def new_tag() -> str:
    """A fresh run tag, `spark-sched-kmn-<8 hex digits>`."""
    return scope_tag(RUN_KEY, uuid.uuid4().hex[:8])


def compact(ids: Iterable[int]) -> str:
    """Sorted ids as runs: [0, 1, 2, 5, 7, 8] -> "0-2.5.7-8" (Spark tags may not contain commas)."""
    runs: list[list[int]] = []  # [first, last] of each run of consecutive ids
    for i in sorted(set(int(i) for i in ids)):
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ".".join(str(first) if first == last else f"{first}-{last}" for first, last in runs)


def expand(text: str) -> list[int]:
    """The inverse of `compact`."""
    out: list[int] = []
    for run in filter(None, text.split(".")):
        lo, _, hi = run.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def decision_tags(tag: str, kind: str, ids: Iterable[int], seed: int) -> list[str]:
    """The run's `tag`, `spark-sched-<kind>-<ids>` and `spark-sched-seed-<seed>`: what a job ran on, from its tags.

    `kind` is `blocks` (input stage), `upstream` or `outputs` (the two stages of KMN's intermediate choice).
    """
    return [tag, scope_tag(kind, compact(ids)), scope_tag("seed", seed)]


def ids_from_tags(tags: Iterable[str], kind: str = "blocks") -> list[int]:
    """The block (or output) ids a job's tags recorded."""
    return expand(parse_tags(tags).get(kind, ""))
