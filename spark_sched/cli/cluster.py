"""`spark-sched cluster up|status|down`: the local standalone cluster."""

from __future__ import annotations

from pathlib import Path

import click

from spark_sched.cli.jsonout import echo_json
from spark_sched.cluster import LocalCluster
from spark_sched.config import default_state_dir
from spark_sched.testbed import ShapedCluster, cross_rack_bytes, is_shaped, require_tools
from spark_sched.topology import load_topology

state_dir_option = click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where the cluster keeps pids, logs and its secret (default: per user).",
)


def _cluster(state_dir: Path | None, shaped: bool = False) -> LocalCluster:
    """The cluster of that state dir; the shaped kind when asked for or when one was started there."""
    path = state_dir or default_state_dir() / "cluster"
    return ShapedCluster(path) if shaped or is_shaped(path) else LocalCluster(path)


@click.group()
def cluster() -> None:
    """A real Spark standalone cluster on this machine, one loopback host per worker."""


@cluster.command()
@click.option("--workers", default=3, show_default=True, help="Number of workers (hosts 127.0.0.2, .3, ...).")
@click.option("--cores", default=1, show_default=True, help="Cores per worker.")
@click.option("--memory", default="1g", show_default=True, help="Memory per worker.")
@click.option("--topology", type=click.Path(path_type=Path), default=None, help="Host-to-rack map (TOML).")
@click.option(
    "--shaped",
    is_flag=True,
    help="Each worker in its own network namespace behind tc-shaped host links and rack uplinks (root, iproute2).",
)
@state_dir_option
def up(workers: int, cores: int, memory: str, topology: Path | None, shaped: bool, state_dir: Path | None) -> None:
    """Start master and workers; returns when every worker has registered."""
    if shaped:
        require_tools()
    local = _cluster(state_dir, shaped)
    state = local.up(workers=workers, cores=cores, memory=memory, topology=load_topology(topology))
    click.echo(state.master)


@cluster.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@state_dir_option
def status(as_json: bool, state_dir: Path | None) -> None:
    """Master URL and each worker's host, rack, pid and liveness."""
    info = _cluster(state_dir).status()
    if as_json:
        echo_json({"master": info["master"], "workers": info["workers"]})
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


@cluster.command("restart-worker")
@click.argument("host")
@state_dir_option
def restart_worker(host: str, state_dir: Path | None) -> None:
    """Start HOST's worker again (e.g. after it crashed or was killed); returns once it has registered."""
    worker = _cluster(state_dir).restart_worker(host)
    click.echo(f"worker  {worker.host:<12} rack {worker.rack:<4} pid {worker.pid:<8} alive")


@cluster.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@state_dir_option
def links(as_json: bool, state_dir: Path | None) -> None:
    """Bytes sent and received on each host link and rack uplink of the shaped testbed (kernel counters)."""
    local = _cluster(state_dir)
    rows = local.links() if isinstance(local, ShapedCluster) else []
    if as_json:
        echo_json({"links": rows, "cross_rack_bytes": cross_rack_bytes(rows)})
        return
    if not rows:
        click.echo("no shaped testbed running (start one with `spark-sched cluster up --shaped`)")
        return
    click.echo(f"{'kind':<12} {'name':<16} {'rack':<5} {'rate':<8} {'sent':>14} {'received':>14}")
    for row in rows:
        rack = row.get("rack", row["name"] if row["kind"] == "rack_uplink" else "")
        click.echo(
            f"{row['kind']:<12} {row['name']:<16} {rack:<5} {row['rate']:<8} {row['sent']:>14} {row['received']:>14}"
        )
    click.echo(f"cross-rack bytes (all uplinks, both ways): {cross_rack_bytes(rows)}")
