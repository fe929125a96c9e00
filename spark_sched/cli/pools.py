"""`spark-sched pools render|check|show`: pool files (TOML tree or Spark XML) checked, converted, explained.

Problems are printed one per line on stderr (file, pool, field, value, what is
allowed) and the command exits 2; `check` exits 0 when the file is valid, even
with warnings.
"""

from __future__ import annotations

import os
import re
import sys
from fractions import Fraction
from pathlib import Path

import click

from spark_sched.cli.jsonout import echo_json
from spark_sched.cluster import LocalCluster
from spark_sched.config import load_settings
from spark_sched.files import write_atomically
from spark_sched.pools.flatten import Flattened, flatten, leaf_shares
from spark_sched.pools.load import check_pools
from spark_sched.pools.model import PoolTree, Problem
from spark_sched.pools.toml_io import dump_toml
from spark_sched.pools.xml_io import render_xml

EXIT_INVALID = 2
_LOCAL = re.compile(r"local(?:\[(\*|\d+)(?:,\s*\d+)?\])?")
_LOCAL_CLUSTER = re.compile(r"local-cluster\[\s*(\d+)\s*,\s*(\d+)\s*,\s*\d+\s*\]")


def master_cores(master: str, state_dir: str | os.PathLike[str] | None = None) -> int | None:
    """Task slots a master URL stands for: local[N], local-cluster[n,c,m], or the toolkit's own local cluster."""
    if match := _LOCAL.fullmatch(master):
        count = match.group(1) or "1"
        return (os.cpu_count() or 1) if count == "*" else int(count)
    if match := _LOCAL_CLUSTER.fullmatch(master):
        return int(match.group(1)) * int(match.group(2))
    if state_dir is not None:
        state = LocalCluster(Path(state_dir) / "cluster").read_state()
        if state is not None and state.master == master:
            return len(state.workers) * state.cores
    return None


def _cores(cores: int | None, master: str | None) -> int | None:
    if cores is not None:
        return cores
    settings = load_settings()
    return master_cores(master or settings.master, settings.state_dir)


def _load_or_exit(file: Path, cores: int | None = None) -> tuple[PoolTree, list[Problem]]:
    """The checked tree and its warnings; every error on stderr and exit 2 otherwise."""
    tree, problems = check_pools(file, cores)
    for problem in problems:
        click.echo(str(problem), err=True)
    if any(not p.warning for p in problems):
        sys.exit(EXIT_INVALID)
    return tree, problems


pool_file = click.argument("file", type=click.Path(path_type=Path))
cores_option = click.option(
    "--cores", type=click.IntRange(min=1), default=None, help="Cluster cores to check minShares against."
)
master_option = click.option("--master", default=None, help="Take the cores from this master (default: settings').")


@click.group()
def pools() -> None:
    """Fair-scheduler pools: a nested TOML pool file <-> Spark's fairscheduler.xml."""


@pools.command()
@pool_file
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="Write here, not to stdout.")
@click.option(
    "--to", "fmt", type=click.Choice(["xml", "toml"]), default="xml", show_default=True, help="Output format."
)
def render(file: Path, output: Path | None, fmt: str) -> None:
    """Spark's XML for FILE (hierarchy flattened), or FILE as a TOML pool file (--to toml)."""
    tree, _ = _load_or_exit(file)
    if fmt == "xml":
        text = render_xml(flatten(tree), str(file))
    else:
        text = dump_toml(tree, f"Converted by spark-sched from {file}.")
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomically(output, text, "spark-sched pools render: --output")
        click.echo(f"wrote {output}")


@pools.command()
@pool_file
@cores_option
@master_option
def check(file: Path, cores: int | None, master: str | None) -> None:
    """Exit 0 when FILE is valid; else one line per problem on stderr and exit 2."""
    tree, _ = _load_or_exit(file, _cores(cores, master))
    names = tree.leaf_names()
    click.echo(f"{file}: ok, {len(names)} Spark pools: {', '.join(names)}")


def _percent(share: Fraction | float) -> str:
    return f"{float(share) * 100:6.2f}%"


def _table(tree: PoolTree, flat: Flattened) -> list[str]:
    shares = leaf_shares(tree)
    leaves = {leaf.path: leaf for leaf in flat.leaves}
    width = max(len("  " * (len(path) - 1) + pool.name) for path, pool in tree.walk()) + 2
    lines = [f"{'pool':<{width}} mode  weight minShare   share  -> Spark pool (weight, minShare)"]
    for path, pool in tree.walk():
        share = sum((s for p, s in shares.items() if p[: len(path)] == path), Fraction(0))
        label = "  " * (len(path) - 1) + pool.name
        row = f"{label:<{width}} {pool.mode:<5} {pool.weight:>6} {pool.min_share:>8} {_percent(share)}"
        if path in leaves:
            row += f"  -> {leaves[path].name} ({leaves[path].weight}, {leaves[path].min_share})"
        lines.append(row)
    return lines


@pools.command()
@pool_file
@click.option("--json", "as_json", is_flag=True, help='{"leaves": {name: share}} with shares summing to 1.')
@cores_option
@master_option
def show(file: Path, as_json: bool, cores: int | None, master: str | None) -> None:
    """The tree with each pool's share of the cluster and the Spark pool each leaf becomes."""
    tree, _ = _load_or_exit(file, _cores(cores, master))
    flat = flatten(tree)
    if as_json:
        spark = {p.name: {"mode": p.mode, "weight": p.weight, "minShare": p.min_share} for p in flat.leaves}
        echo_json({"leaves": flat.shares(), "spark_pools": spark, "max_error": flat.max_error})
        return
    for line in _table(tree, flat):
        click.echo(line)
    exactness = "exactly" if flat.exact else f"to within {flat.max_error:.2g}"
    click.echo(f"Spark weights give these shares {exactness}; jobs without a pool run in Spark's 'default' pool.")
