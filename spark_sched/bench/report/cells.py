"""The report's small pieces: numbers written compactly, table cells that stay one line, a result's sections.

Shared by the Markdown page and the plots, so a figure reads the same in both.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from spark_sched.errors import printable

NA = "n/a"
Result = Mapping[str, Any]


def as_number(value: Any) -> float | None:
    """`value` as a finite float, or None when it is missing, null, NaN or not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def fmt(value: Any) -> str:
    """A number compactly: 3 significant digits below 100, whole with thousands separators from 100; else "n/a"."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    number = as_number(value)
    if number is None:
        return NA if value is None or isinstance(value, (int, float)) else cell(str(value))
    if number == 0:
        return "0"
    if abs(number) >= 100:
        return f"{number:,.0f}"
    return f"{number:.3g}"


def interval(low: Any, high: Any) -> str:
    """`low to high`: words, not a dash or a comma, so negative numbers and thousands separators stay readable."""
    if as_number(low) is None and as_number(high) is None:
        return NA
    return f"{fmt(low)} to {fmt(high)}"


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped."""
    return " ".join(printable(text).split()).replace("|", "\\|")


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def section_of(result: Result, key: str) -> Mapping[str, Any]:
    """A section of the result, `{}` when an older file (or a null) does not have it."""
    value = result.get(key)
    return value if isinstance(value, Mapping) else {}


def metric_names(result: Result) -> list[str]:
    """Every metric any variant has, in first-seen order (variants may lack a metric another has)."""
    names: list[str] = []
    for metrics in section_of(result, "variants").values():
        names.extend(m for m in metrics if m not in names)
    return names
