"""Running the `spark-sched` CLI in-process and reading its `--json` strictly: shared by the event-log tests."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner

from spark_sched.cli.main import cli


def run_cli(*args: str) -> str:
    """The command's output; an exception from inside the toolkit or a non-zero exit fails the test."""
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{args}: {result.exception!r}") from result.exception
    assert result.exit_code == 0, result.output
    return result.output


def strict_json(text: str) -> Any:
    """Parse as RFC 8259 JSON: NaN, Infinity and -Infinity are refused, as strict parsers refuse them."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)
