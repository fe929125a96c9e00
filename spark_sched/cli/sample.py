"""`spark-sched sample plan`: the KMN input chooser on a synthetic cluster (no Spark): what it picks, how fast."""

from __future__ import annotations

import math

import click

from spark_sched.sampling import SamplingError, choose_input, resolve_rule
from spark_sched.sampling.scale import synthetic


def _rule(text: str) -> object:
    """"uniform", or stratum counts "s0=2,s1=1" (blocks of a synthetic cluster are in strata s0, s1, ...)."""
    if "=" not in text:
        return resolve_rule(text)
    counts: dict[str, int] = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        try:
            counts[name.strip()] = int(value)
        except ValueError:
            raise SamplingError("--sampling", text, "uniform, or stratum counts such as s0=2,s1=1") from None
    return resolve_rule(counts)


def _a_number(value: float) -> float:
    """click's FloatRange lets NaN through (every comparison with it is false)."""
    if math.isnan(value):
        raise click.BadParameter(f"{value!r} is not valid; allowed: 0.0 to 1.0")
    return value


@click.group()
def sample() -> None:
    """KMN: choose any K of N input blocks for the cluster as it is now."""


@sample.command()
@click.option("--n", "n", type=click.IntRange(0, 100_000), default=100, show_default=True, help="Blocks (N).")
@click.option("--k", "k", type=int, default=10, show_default=True, help="Blocks to choose (K).")
@click.option("--hosts", type=click.IntRange(1, 10_000), default=10, show_default=True)
@click.option("--replicas", type=int, default=3, show_default=True)
@click.option("--slots", type=int, default=2, show_default=True, help="Task slots per host.")
@click.option("--busy", type=click.FloatRange(0.0, 1.0), default=0.5, show_default=True, help="Share of slots taken.",
              callback=lambda ctx, param, value: _a_number(value))
@click.option("--strata", type=int, default=1, show_default=True, help="Blocks i belong to stratum s(i mod strata).")
@click.option("--sampling", default="uniform", show_default=True, help="uniform, or counts like s0=2,s1=1.")
@click.option("--seed", type=int, default=0, show_default=True)
def plan(n: int, k: int, hosts: int, replicas: int, slots: int, busy: float, strata: int, sampling: str,
         seed: int) -> None:
    """Choose K of N blocks on a synthetic cluster; print the choice, its locality and the decision time."""
    rule = _rule(sampling)
    if hosts < 1 or not 1 <= replicas <= hosts:
        raise SamplingError("--replicas", replicas, f"1 to --hosts ({hosts}), with --hosts >= 1")
    if n < 0 or strata < 1:
        raise SamplingError("--n/--strata", (n, strata), "--n >= 0 and --strata >= 1")
    blocks, snap = synthetic(n, hosts, replicas, slots=slots, busy=busy, strata=strata, seed=seed)
    choice = choose_input(blocks, k, snap, rule, seed=seed)  # type: ignore[arg-type]
    shown = ", ".join(map(str, choice.chosen[:20])) + (" ..." if len(choice.chosen) > 20 else "")
    click.echo(f"chose {len(choice.chosen)} of {n} blocks: {shown}")
    click.echo(f"local now: {choice.local} of {k} (free slots {sum(snap.free.values())} on {hosts} hosts)")
    click.echo(f"decision: {choice.decision_ms:.1f} ms")
