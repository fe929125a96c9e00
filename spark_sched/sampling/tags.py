"""Job tags that record a sampling decision, so a run can be audited (which blocks) and repeated (which seed)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

PREFIX = "kmn"


def new_tag(prefix: str = PREFIX) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def compact(ids: Iterable[int]) -> str:
    """Sorted ids as runs: [0, 1, 2, 5, 7, 8] -> "0-2.5.7-8" (Spark tags may not contain commas)."""
    ordered = sorted(set(int(i) for i in ids))
    runs: list[str] = []
    start = prev = None
    for i in ordered:
        if start is None:
            start = prev = i
        elif i == prev + 1:
            prev = i
        else:
            runs.append(str(start) if start == prev else f"{start}-{prev}")
            start = prev = i
    if start is not None:
        runs.append(str(start) if start == prev else f"{start}-{prev}")
    return ".".join(runs)


def expand(text: str) -> list[int]:
    """The inverse of `compact`."""
    out: list[int] = []
    for run in filter(None, text.split(".")):
        lo, _, hi = run.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


def decision_tags(tag: str, kind: str, ids: Iterable[int], seed: int) -> list[str]:
    """`<tag>`, `<tag>:<kind>=<ids>` and `<tag>:seed=<seed>`: what a job ran on, readable from its tags."""
    return [tag, f"{tag}:{kind}={compact(ids)}", f"{tag}:seed={seed}"]


def ids_from_tags(tags: Iterable[str], kind: str = "blocks") -> list[int]:
    """The block (or output) ids a job's tags recorded."""
    for t in tags:
        head, sep, rest = t.partition(f":{kind}=")
        if sep and head:
            return expand(rest)
    return []
