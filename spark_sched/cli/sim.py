"""`spark-sched sim`: what-if answers from the scheduling model (`replay` an event log, `run` a scenario)."""

from __future__ import annotations

import click

from spark_sched.cli.sim_replay import replay
from spark_sched.cli.sim_run import run


@click.group()
def sim() -> None:
    """Simulate Spark's scheduler: replay an application's event log, or run a scenario at any scale."""


sim.add_command(replay)
sim.add_command(run)
