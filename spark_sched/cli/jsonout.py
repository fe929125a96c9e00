"""Every `--json` of the CLI is written here, as strict JSON (RFC 8259) that any parser reads.

Python's `json` writes NaN and Infinity, which are not JSON: strict parsers refuse the
whole document. The commands give a figure they cannot compute as null with a reason
beside it (`spark_sched.figures`); this one writer then dumps with `allow_nan=False`,
after turning numpy numbers and tuples into the JSON numbers and arrays they are and
any non-finite number that slipped through into null, so the output is always valid.
"""

from __future__ import annotations

import json
import math
from typing import Any

import click


def plain(value: Any) -> Any:
    """`value` with only JSON's types: numpy scalars as Python numbers, tuples as lists, non-finite as None."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "item") and not isinstance(value, (int, float)):  # a numpy scalar
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value


def json_text(document: Any, indent: int | None = None) -> str:
    """The document as strict JSON text."""
    return json.dumps(plain(document), indent=indent, allow_nan=False)


def echo_json(document: Any, indent: int | None = None) -> None:
    """Print the document as strict JSON (what every `--json` of the CLI prints)."""
    click.echo(json_text(document, indent))
