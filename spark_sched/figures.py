"""A figure that can be missing: its value, or null with the reason beside it; never NaN.

NaN is not JSON (strict parsers refuse it) and "nan" in a report tells a reader
nothing. A figure the data cannot give is written as null in JSON, with
`<key>_reason` beside it, and as "not available (<reason>)" (or "-" in a table) in text.
"""

from __future__ import annotations

import math
from typing import Any

REASON_SUFFIX = "_reason"


def missing(value: Any) -> bool:
    """None, NaN or an infinity: a figure with no value."""
    if value is None:
        return True
    return isinstance(value, float) and not math.isfinite(value)


def json_figure(key: str, value: Any, reason: str) -> dict[str, Any]:
    """`{key: value}`, or `{key: None, key_reason: reason}` when the value is missing."""
    if missing(value):
        return {key: None, key + REASON_SUFFIX: reason}
    return {key: value}


def text_figure(value: Any, spec: str, reason: str) -> str:
    """The value formatted with `spec`, or "not available (reason)"."""
    return f"not available ({reason})" if missing(value) else format(value, spec)


def cell(value: Any, spec: str, width: int = 0) -> str:
    """A table cell: the value formatted with `spec`, or "-" when missing, right-aligned to `width`."""
    text = "-" if missing(value) else format(value, spec)
    return text.rjust(width)
