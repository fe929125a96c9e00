"""Property tests of KMN's choices (no Spark): exactly K, valid under the rule, as local as the best subset,
and an intermediate choice never more skewed than the paper's round-robin."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from spark_sched.sampling import (
    Block,
    ClusterSnapshot,
    Output,
    Predicate,
    SamplingError,
    Stratified,
    Uniform,
    choose_input,
    choose_outputs,
    resolve_rule,
    round_robin,
)
from spark_sched.sampling.intermediate import link_loads, skew
from spark_sched.sampling.straggler import StragglerBound
from spark_sched.sampling.tags import compact, decision_tags, expand, ids_from_tags

HOSTS = ("h1", "h2", "h3", "h4")
RACKS = {"h1": "r1", "h2": "r1", "h3": "r2", "h4": "r2"}


@st.composite
def cluster_cases(draw: st.DrawFn, max_n: int = 7) -> tuple[list[Block], ClusterSnapshot, int]:
    n = draw(st.integers(1, max_n))
    blocks = []
    for i in range(n):
        hosts = draw(st.lists(st.sampled_from(HOSTS), min_size=0, max_size=2, unique=True))
        blocks.append(Block(i, tuple(hosts), stratum=draw(st.sampled_from("ab"))))
    free = {h: draw(st.integers(0, 2)) for h in HOSTS}
    k = draw(st.integers(1, n))
    return blocks, ClusterSnapshot(free, RACKS), k


def local_slots(blocks: list[Block], snap: ClusterSnapshot) -> int:
    """Oracle: the most blocks of `blocks` that can start at once on free slots of hosts holding them."""
    slots = [h for h in sorted(snap.free) for _ in range(snap.free[h])]
    if not blocks or not slots:
        return 0
    rows, cols = [], []
    for i, b in enumerate(blocks):
        for j, h in enumerate(slots):
            if h in b.hosts:
                rows.append(i)
                cols.append(j)
    graph = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(blocks), len(slots)))
    return int((maximum_bipartite_matching(graph, perm_type="column") >= 0).sum())


def best_local(blocks: list[Block], k: int, snap: ClusterSnapshot, rule: object) -> int:
    subsets = (list(c) for c in itertools.combinations(blocks, k))
    return max((local_slots(s, snap) for s in subsets if rule.accepts(s)), default=-1)  # type: ignore[attr-defined]


def placement_is_real(choice_placement: dict[int, str | None], blocks: list[Block], snap: ClusterSnapshot) -> bool:
    by_id = {b.id: b for b in blocks}
    used: dict[str, int] = {}
    for block_id, host in choice_placement.items():
        if host is None:
            continue
        if host not in by_id[block_id].hosts:
            return False
        used[host] = used.get(host, 0) + 1
    return all(n <= snap.free[h] for h, n in used.items())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster_cases(), st.integers(0, 3))
def test_uniform_choice_is_k_blocks_as_local_as_the_best_subset(case: tuple, seed: int) -> None:
    blocks, snap, k = case
    choice = choose_input(blocks, k, snap, Uniform(), seed=seed)
    assert len(choice.chosen) == k == len(set(choice.chosen))
    assert set(choice.chosen) <= {b.id for b in blocks}
    assert placement_is_real(choice.placement, blocks, snap)
    assert choice.local == best_local(blocks, k, snap, Uniform())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster_cases(), st.data())
def test_stratified_choice_meets_every_count_and_is_as_local_as_the_best(case: tuple, data: st.DataObject) -> None:
    blocks, snap, _ = case
    have = {s: sum(1 for b in blocks if b.stratum == s) for s in "ab"}
    counts = {s: data.draw(st.integers(0, have[s])) for s in "ab" if have[s]}
    k = sum(counts.values())
    if k == 0:
        return
    rule = Stratified(counts)
    choice = choose_input(blocks, k, snap, rule)
    chosen = [b for b in blocks if b.id in choice.chosen]
    assert len(chosen) == k and rule.accepts(chosen)
    assert placement_is_real(choice.placement, blocks, snap)
    assert choice.local == best_local(blocks, k, snap, rule)


@settings(max_examples=80, deadline=None)
@given(cluster_cases(), st.integers(0, 2))
def test_callable_rule_is_never_violated(case: tuple, parity: int) -> None:
    blocks, snap, k = case

    def rule(chosen: list[Block]) -> bool:  # the ids must not all share one parity when parity == 2
        return parity == 2 or sum(b.id for b in chosen) % 2 == parity

    feasible = any(rule(list(c)) for c in itertools.combinations(blocks, k))
    if not feasible:
        with pytest.raises(SamplingError):
            choose_input(blocks, k, snap, Predicate(rule))
        return
    choice = choose_input(blocks, k, snap, Predicate(rule))
    chosen = [b for b in blocks if b.id in choice.chosen]
    assert len(chosen) == k and rule(chosen)


def test_ties_spread_over_hosts_and_racks() -> None:
    # every block on every host: any K are local; a balanced choice uses each rack (and host) equally
    blocks = [Block(i, HOSTS) for i in range(16)]
    snap = ClusterSnapshot({h: 2 for h in HOSTS}, RACKS)
    choice = choose_input(blocks, 4, snap, seed=3)
    assert sorted(choice.placement.values()) == sorted(HOSTS)  # type: ignore[type-var]


def test_the_seed_repeats_a_choice_and_changes_ties() -> None:
    blocks = [Block(i, ("h1",)) for i in range(20)]
    snap = ClusterSnapshot({"h1": 2}, RACKS)
    first = choose_input(blocks, 2, snap, seed=7)
    assert choose_input(blocks, 2, snap, seed=7).chosen == first.chosen
    assert {choose_input(blocks, 2, snap, seed=s).chosen for s in range(6)} != {first.chosen}


@st.composite
def output_cases(draw: st.DrawFn) -> tuple[list[Output], int, dict[str, float]]:
    racks = ["r1", "r2", "r3"][: draw(st.integers(2, 3))]
    m = draw(st.integers(1, 8))
    outputs = [Output(i, draw(st.sampled_from(racks)), draw(st.integers(1, 5)) * 100) for i in range(m)]
    share = {r: 1 / len(racks) for r in racks}
    return outputs, draw(st.integers(1, m)), share


@settings(max_examples=200, deadline=None)
@given(output_cases())
def test_skew_choice_is_k_outputs_no_worse_than_round_robin(case: tuple) -> None:
    outputs, k, share = case
    chosen = choose_outputs(outputs, k, share)
    assert len(chosen) == k == len({o.id for o in chosen})
    rr = round_robin(outputs, k, {None: k}, lambda o: None)
    assert skew(link_loads(chosen, share)) <= skew(link_loads(rr, share)) + 1e-9


@settings(max_examples=100, deadline=None)
@given(output_cases())
def test_skew_choice_matches_exhaustive_search_when_small(case: tuple) -> None:
    outputs, k, share = case
    chosen = choose_outputs(outputs, k, share)
    best = min(skew(link_loads(list(c), share)) for c in itertools.combinations(outputs, k))
    assert math.isclose(skew(link_loads(chosen, share)), best) or skew(link_loads(chosen, share)) == best


def test_round_robin_alternates_racks_in_finish_order() -> None:
    outputs = [Output(0, "r1", 1), Output(1, "r1", 1), Output(2, "r1", 1), Output(3, "r2", 1), Output(4, "r2", 1)]
    assert [o.id for o in round_robin(outputs, 4, {None: 4}, lambda o: None)] == [0, 3, 1, 4]
    share = {"r1": 0.5, "r2": 0.5}
    assert skew(link_loads(outputs[:3], share)) == math.inf  # all on one rack: the other rack's uplink idles one way
    assert skew(link_loads([outputs[0], outputs[3]], share)) == 1.0


def test_straggler_bound_waits_only_while_the_gain_exceeds_the_delay() -> None:
    bound = StragglerBound()
    assert bound.keep_waiting(waited_s=0.1, best_now_s=2.0, ideal_s=1.0, running=1)
    assert not bound.keep_waiting(waited_s=1.2, best_now_s=2.0, ideal_s=1.0, running=1)
    assert not bound.keep_waiting(waited_s=0.0, best_now_s=1.0, ideal_s=1.0, running=3)  # already ideal
    assert not bound.keep_waiting(waited_s=0.0, best_now_s=9.0, ideal_s=1.0, running=0)  # nothing left to wait for


@given(st.sets(st.integers(0, 200), max_size=40))
def test_tags_record_ids_exactly(ids: set[int]) -> None:
    assert expand(compact(ids)) == sorted(ids)
    tags = decision_tags("kmn-x", "blocks", ids, 5)
    assert all("," not in t for t in tags)
    assert ids_from_tags(tags) == sorted(ids)


@pytest.mark.parametrize(
    ("k", "sampling", "blocks", "field"),
    [
        (5, "uniform", [Block(i) for i in range(3)], "k"),
        (0, "uniform", [Block(i) for i in range(3)], "k"),
        (-1, "uniform", [Block(i) for i in range(3)], "k"),
        (1, "uniform", [], "source"),
        (3, {"a": 2, "b": 1}, [Block(0, stratum="a"), Block(1, stratum="b"), Block(2, stratum="b")], "stratum 'a'"),
        (3, {"a": 1, "b": 1}, [Block(i, stratum="a") for i in range(3)], "stratified counts"),
    ],
)
def test_bad_requests_get_one_clear_error(k: int, sampling: object, blocks: list[Block], field: str) -> None:
    with pytest.raises(SamplingError) as err:
        choose_input(blocks, k, ClusterSnapshot({"h1": 1}, RACKS), resolve_rule(sampling))
    message = str(err.value)
    assert field in message and "allowed:" in message and "\n" not in message


def test_unknown_sampling_name_lists_the_choices() -> None:
    with pytest.raises(SamplingError, match="sampling = 'stratifed' is not valid; allowed: 'uniform'"):
        resolve_rule("stratifed")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--n", "10", "--k", "11"], "k = 11"),
        (["--n", "10", "--k", "0"], "k = 0"),
        (["--n", "0", "--k", "1"], "source = 'no blocks'"),
        (["--n", "10", "--k", "3", "--strata", "2", "--sampling", "s0=3,s1=0,s2=0"], "stratum = 's2'"),
        (["--n", "10", "--k", "3", "--sampling", "sometimes"], "sampling = 'sometimes'"),
    ],
)
def test_cli_refuses_bad_requests_in_one_line_with_exit_2(args: list[str], needle: str) -> None:
    from click.testing import CliRunner

    from spark_sched.cli.main import cli

    result = CliRunner().invoke(cli, ["sample", "plan", *args])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in result.output


def test_cli_plan_chooses_k_local_blocks() -> None:
    from click.testing import CliRunner

    from spark_sched.cli.main import cli

    result = CliRunner().invoke(cli, ["sample", "plan", "--n", "200", "--k", "5", "--hosts", "20"])
    assert result.exit_code == 0, result.output
    assert "chose 5 of 200 blocks" in result.output and "local now: 5 of 5" in result.output
