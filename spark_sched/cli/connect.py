"""`spark-sched connect conf`: the toolkit's settings as a Spark Connect server's command line."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from spark_sched.cli.jobs import settings_option
from spark_sched.cli.jsonout import echo_json
from spark_sched.config import load_settings
from spark_sched.connect import table


@click.group()
def connect() -> None:
    """Spark Connect: the server's conf from the settings, and what works on a Connect session."""


@connect.command("conf")
@settings_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object of Spark conf instead of --conf flags.")
def conf_cmd(settings: Path | None, as_json: bool) -> None:
    """Print the settings' Spark conf (FAIR pools, locality waits, event log) for start-connect-server.sh.

    A Connect client cannot set the scheduler's settings; the server reads them when it starts:
    `$SPARK_HOME/sbin/start-connect-server.sh $(spark-sched connect conf)`.
    """
    from spark_sched.session import connect_server_conf

    conf = connect_server_conf(load_settings(settings))
    conf.pop("spark.master", None)  # the server's own --master
    if as_json:
        echo_json(dict(sorted(conf.items())), indent=2)
        return
    click.echo(" ".join(f"--conf {shlex.quote(f'{k}={v}')}" for k, v in sorted(conf.items())))


@connect.command("support")
def support_cmd() -> None:
    """Print which public functions work on a Spark Connect session, and how (Markdown)."""
    click.echo(table())
