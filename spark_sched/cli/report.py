"""`spark-sched report EVENTLOG_PATH [--json] [--tag-prefix P] [--csv DIR]`: the measurement report, offline."""

from __future__ import annotations

from pathlib import Path

import click

from spark_sched.cli.jsonout import echo_json
from spark_sched.locality.check import report_section
from spark_sched.locality.history import LocalityScan
from spark_sched.measure import eventlog
from spark_sched.measure.report import json_report, text_report, write_csv


@click.command()
@click.argument("eventlog_path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the aggregates as JSON instead of text.")
@click.option("--tag-prefix", default=None, help="Also give job latency p50/p95/p99 per job tag with this prefix.")
@click.option(
    "--csv", "csv_dir", type=click.Path(path_type=Path), default=None, help="Also write tasks/stages/jobs CSV here."
)
def report(eventlog_path: Path, as_json: bool, tag_prefix: str | None, csv_dir: Path | None) -> None:
    """Aggregates of an application's event log (file or directory), as the History Server would show them."""
    locality = LocalityScan()  # achieved vs predicted locality per stage, from the same one read of the log
    log = eventlog.read(eventlog_path, locality)
    records = log.records
    if csv_dir is not None:
        write_csv(records, csv_dir)
    locality_lines, locality_rows = report_section(log, locality)
    if as_json:
        echo_json({**json_report(records, tag_prefix), "localityCheck": locality_rows}, indent=2)
        return
    click.echo(text_report(records, tag_prefix) + "\n" + "\n".join(locality_lines) + "\n", nl=False)
