"""`spark-sched report EVENTLOG_PATH [--json] [--tag-prefix P] [--csv DIR]`: the measurement report, offline."""

from __future__ import annotations

from pathlib import Path

import click

from spark_sched.measure import eventlog
from spark_sched.measure.report import json_text, text_report, write_csv


@click.command()
@click.argument("eventlog_path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the aggregates as JSON instead of text.")
@click.option("--tag-prefix", default=None, help="Also give job latency p50/p95/p99 per job tag with this prefix.")
@click.option(
    "--csv", "csv_dir", type=click.Path(path_type=Path), default=None, help="Also write tasks/stages/jobs CSV here."
)
def report(eventlog_path: Path, as_json: bool, tag_prefix: str | None, csv_dir: Path | None) -> None:
    """Aggregates of an application's event log (file or directory), as the History Server would show them."""
    records = eventlog.load(eventlog_path)
    if csv_dir is not None:
        write_csv(records, csv_dir)
    click.echo(json_text(records, tag_prefix) if as_json else text_report(records, tag_prefix), nl=False)
