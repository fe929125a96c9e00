"""`spark-sched sim run SCENARIO --hosts N`: a paper's experiment at the scale asked for."""

from __future__ import annotations

import click


@click.command()
@click.argument("scenario")
def run(scenario: str) -> None:
    """Run SCENARIO on a simulated cluster."""
    raise click.UsageError("not built yet")
