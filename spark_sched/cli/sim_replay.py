"""`spark-sched sim replay EVENTLOG`: an application replayed as recorded, then under other settings."""

from __future__ import annotations

import click


@click.command()
@click.argument("eventlog")
def replay(eventlog: str) -> None:
    """Replay EVENTLOG as recorded and under the given settings (predicted against recorded)."""
    raise click.UsageError("not built yet")
