"""`spark-sched`: one group; each capability registers its subcommands from its own module.

Errors the toolkit raises on purpose (SparkSchedError) are printed as one line
on stderr with exit code 2 -- never a traceback.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click

from spark_sched.cli.bench import bench
from spark_sched.cli.cluster import cluster
from spark_sched.cli.composer import composer
from spark_sched.cli.connect import connect
from spark_sched.cli.jobs import demo, submit
from spark_sched.cli.locality import locality
from spark_sched.cli.measure import measure
from spark_sched.cli.pools import pools
from spark_sched.cli.report import report
from spark_sched.cli.sample import sample
from spark_sched.cli.sim import sim
from spark_sched.errors import SparkSchedError

EXIT_USAGE = 2


class ToolkitGroup(click.Group):
    """A click group that turns SparkSchedError, and click's own usage errors, into one line and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SparkSchedError as exc:
            click.echo(f"spark-sched: error: {exc}", err=True)
            sys.exit(EXIT_USAGE)
        except click.ClickException as exc:  # a bad option or argument: click names it, its value and the choices
            _usage_exit(exc, ctx)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        """The top-level options' errors (`spark-sched --bogus`) as one line too."""
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            _usage_exit(exc, None)


# A group called without a command shows its help (click 8.2+ raises this for it): kept as click shows it.
_HELP_ONLY: tuple[type[Exception], ...] = tuple(
    cls for cls in (getattr(click.exceptions, "NoArgsIsHelpError", None),) if cls is not None
)


def _usage_exit(exc: click.ClickException, ctx: click.Context | None) -> NoReturn:
    """One line naming the command, the option, its value and what is allowed; exit 2."""
    if isinstance(exc, _HELP_ONLY):
        raise exc
    own = exc.ctx if isinstance(exc, click.UsageError) else None
    where = (own or ctx).command_path if (own or ctx) else "spark-sched"
    message = " ".join(exc.format_message().split())
    click.echo(f"spark-sched: error: {where}: {message} (see `{where} --help`)", err=True)
    sys.exit(EXIT_USAGE)


@click.group(cls=ToolkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="spark-sched")
def cli() -> None:
    """Make Spark's scheduler do what the scheduling research showed it should."""


cli.add_command(bench)
cli.add_command(cluster)
cli.add_command(composer)
cli.add_command(connect)
cli.add_command(demo)
cli.add_command(locality)
cli.add_command(measure)
cli.add_command(report)
cli.add_command(sample)
cli.add_command(sim)
cli.add_command(pools)
cli.add_command(submit)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
