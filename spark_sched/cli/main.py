"""`spark-sched`: one group; each capability registers its subcommands from its own module.

Errors the toolkit raises on purpose (SparkSchedError) are printed as one line
on stderr with exit code 2 -- never a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from spark_sched.cli.bench import bench
from spark_sched.cli.cluster import cluster
from spark_sched.cli.jobs import demo, submit
from spark_sched.cli.locality import locality
from spark_sched.cli.pools import pools
from spark_sched.cli.report import report
from spark_sched.errors import SparkSchedError

EXIT_USAGE = 2


class ToolkitGroup(click.Group):
    """A click group that turns SparkSchedError into one line and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SparkSchedError as exc:
            click.echo(f"spark-sched: error: {exc}", err=True)
            sys.exit(EXIT_USAGE)


@click.group(cls=ToolkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="spark-sched")
def cli() -> None:
    """Make Spark's scheduler do what the scheduling research showed it should."""


cli.add_command(bench)
cli.add_command(cluster)
cli.add_command(demo)
cli.add_command(locality)
cli.add_command(report)
cli.add_command(pools)
cli.add_command(submit)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
