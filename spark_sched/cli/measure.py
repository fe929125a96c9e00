"""`spark-sched measure build-jar | jar`: build sparkMeasure's jar here, and say which jar measurement will use."""

from __future__ import annotations

from pathlib import Path

import click

from spark_sched.config import load_settings
from spark_sched.measure.jar import build_jar, cache_dirs, resolve


@click.group()
def measure() -> None:
    """sparkMeasure's jar: build it from its sources with pyspark's own Scala, or show which one is used."""


@measure.command("build-jar")
@click.option("--source", "source", required=True, type=click.Path(path_type=Path),
              help="sparkMeasure's source folder (its .scala files, directly or in src/).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Where to write the jar (default: <state_dir>/jars, where measurement looks for it).")
def build_jar_command(source: Path, out_dir: Path | None) -> None:
    """Compile sparkMeasure with the running pyspark's Scala compiler; print the jar's path."""
    target = out_dir or cache_dirs(load_settings())[0]
    jar = build_jar(source, target)
    click.echo(str(jar))


@measure.command("jar")
def which_jar() -> None:
    """Which sparkMeasure jar `[measure] source = "sparkmeasure"` would use, and why."""
    click.echo(resolve(load_settings()).line())
