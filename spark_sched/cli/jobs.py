"""`spark-sched demo` and `spark-sched submit`: run bundled jobs through spark-submit."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from spark_sched.config import check_master, load_settings
from spark_sched.submit import submit as submit_job

DEMO_JOB = "unified_stream_batch"
# Without and with the priority controller, side by side (the quickstart job stays: `spark-sched submit quickstart`).
DEMO_VARIANTS = "fair,requeue,suspend"

settings_option = click.option(
    "--settings", type=click.Path(path_type=Path), default=None, help="Settings file (default conf/spark-sched.toml)."
)


@click.command()
@click.option("--master", default=None, help="Spark master (default: the settings' master, local[2]).")
@click.option("--seconds", type=click.FloatRange(min=5), default=40.0, show_default=True, help="Run time per variant.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Where plots and figures go.")
@settings_option
def demo(master: str | None, seconds: float, out: Path | None, settings: Path | None) -> None:
    """Run the unified stream/batch application without and with the priority controller; print and plot it."""
    if master is not None:
        check_master(master, "spark-sched demo", "--master")
    args = ["--variants", DEMO_VARIANTS, "--seconds", str(seconds)]
    if out is not None:
        args += ["--out", str(out.resolve())]
    sys.exit(submit_job(DEMO_JOB, load_settings(settings), args, master=master))


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("job")
@click.option("--master", default=None, help="Spark master URL (e.g. the local cluster's spark://127.0.0.1:PORT).")
@settings_option
@click.argument("job_args", nargs=-1, type=click.UNPROCESSED)
def submit(job: str, master: str | None, settings: Path | None, job_args: tuple[str, ...]) -> None:
    """Run JOB (a bundled job's name or a path) with spark-submit; its exit code is ours."""
    if master is not None:
        check_master(master, "spark-sched submit", "--master")
    sys.exit(submit_job(job, load_settings(settings), list(job_args), master=master))
