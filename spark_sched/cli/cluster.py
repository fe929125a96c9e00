"""`spark-sched cluster up|status|down`: the local standalone cluster."""

from __future__ import annotations

import json
from pathlib import Path

import click

from spark_sched.cluster import LocalCluster
from spark_sched.config import default_state_dir
from spark_sched.topology import load_topology

state_dir_option = click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where the cluster keeps pids, logs and its secret (default: per user).",
)


def _cluster(state_dir: Path | None) -> LocalCluster:
    return LocalCluster(state_dir or default_state_dir() / "cluster")


@click.group()
def cluster() -> None:
    """A real Spark standalone cluster on this machine, one loopback host per worker."""


@cluster.command()
@click.option("--workers", default=3, show_default=True, help="Number of workers (hosts 127.0.0.2, .3, ...).")
@click.option("--cores", default=1, show_default=True, help="Cores per worker.")
@click.option("--memory", default="1g", show_default=True, help="Memory per worker.")
@click.option("--topology", type=click.Path(path_type=Path), default=None, help="Host-to-rack map (TOML).")
@state_dir_option
def up(workers: int, cores: int, memory: str, topology: Path | None, state_dir: Path | None) -> None:
    """Start master and workers; returns when every worker has registered."""
    local = _cluster(state_dir)
    state = local.up(workers=workers, cores=cores, memory=memory, topology=load_topology(topology))
    click.echo(state.master)


@cluster.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@state_dir_option
def status(as_json: bool, state_dir: Path | None) -> None:
    """Master URL and each worker's host, rack, pid and liveness."""
    info = _cluster(state_dir).status()
    if as_json:
        click.echo(json.dumps({"master": info["master"], "workers": info["workers"]}))
        return
    if not info["running"]:
        click.echo("no cluster running")
        return
    click.echo(f"master  {info['master']}")
    for w in info["workers"]:  # type: ignore[attr-defined]
        click.echo(f"worker  {w['host']:<12} rack {w['rack']:<4} pid {w['pid']:<8} {'alive' if w['alive'] else 'DOWN'}")


@cluster.command()
@state_dir_option
def down(state_dir: Path | None) -> None:
    """Stop exactly the processes `up` started (idempotent)."""
    stopped = _cluster(state_dir).down()
    click.echo(f"stopped {len(stopped)} process group(s)" if stopped else "nothing running")
