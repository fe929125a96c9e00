"""Property tests of KMN's choices (no Spark): exactly K, valid under the rule, as local as the best subset,
and an intermediate choice never more skewed than the paper's round-robin."""

from __future__ import annotations

import functools
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


# -- the design behind a choice, and intervals that hold for it ----------------------------

from collections import Counter  # noqa: E402

from scipy import stats  # noqa: E402

from spark_sched.sampling.design import Design, design_of  # noqa: E402
from spark_sched.sampling.estimate import ratio_interval  # noqa: E402
from spark_sched.sampling.extra import can_meet, upstream_rule  # noqa: E402
from spark_sched.sampling.intermediate import EXACT_LIMIT  # noqa: E402
from spark_sched.sampling.rules import ClassCounts, check_request  # noqa: E402
from spark_sched.sampling.straggler import pick_outputs  # noqa: E402

COVERAGE_SEEDS = 2000  # binomial standard error at 95%: sqrt(.95 * .05 / 2000) = 0.49 points
LEVEL = 0.95


def sorted_cluster(n: int, hosts: int, free: int, strata: bool = False) -> tuple[list[Block], ClusterSnapshot]:
    """Blocks cached in order, host j holding the j-th run of n / hosts blocks; host 0 busy, the rest `free` slots.

    Sorted data then puts its smallest values on the busy host: a choice by locality alone skips them.
    """
    names = [f"h{j}" for j in range(hosts)]
    blocks = [Block(i, (names[i * hosts // n],), stratum=("a" if i % 3 else "b") if strata else None)
              for i in range(n)]
    return blocks, ClusterSnapshot({h: 0 if j == 0 else free for j, h in enumerate(names)}, {h: "r1" for h in names})


def population(kind: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-block (sum of a value, rows): equal blocks, sorted blocks, or blocks with skewed means (lognormal)."""
    rng = np.random.default_rng(11)
    means = {"uniform": 10 + rng.normal(0, 1, n), "sorted": np.sort(rng.normal(10, 3, n)),
             "skewed": rng.lognormal(2, 0.5, n)}[kind]
    rows = rng.integers(80, 121, n).astype(float)
    return means * rows, rows


RULES = {"uniform-rule": (Uniform(), 4), "strata": (Stratified({"a": 18, "b": 12}), 3)}  # rule, min_per_class


@functools.cache
def choices(rule_name: str) -> tuple[list[Block], list[object]]:
    """The real chooser's choices of K = 30 of 120 blocks over COVERAGE_SEEDS seeds (the data does not enter)."""
    rule, per_class = RULES[rule_name]
    blocks, snap = sorted_cluster(120, 4, 8, strata=isinstance(rule, Stratified))
    seeds = range(COVERAGE_SEEDS)
    return blocks, [choose_input(blocks, 30, snap, rule, seed=s, min_per_class=per_class) for s in seeds]


@pytest.mark.parametrize("kind", ["uniform", "sorted", "skewed"])
@pytest.mark.parametrize("rule_name", list(RULES))
def test_interval_covers_the_truth_at_its_level_over_the_chooser_s_own_choices(kind: str, rule_name: str) -> None:
    # 120 blocks on 4 hosts, the busy host's 30 blocks the smallest when sorted; K = 30, a floor per locality class
    blocks, made = choices(rule_name)
    y, x = population(kind, len(blocks))
    truth = y.sum() / x.sum()
    covered = [ratio_interval(c.design, {i: y[i] for i in c.chosen}, {i: x[i] for i in c.chosen}, LEVEL).covers(truth)
               for c in made]  # type: ignore[attr-defined]
    rate = float(np.mean(covered))
    assert abs(rate - LEVEL) <= 0.02, f"{kind}, {rule_name}: coverage {rate:.4f} over {len(made)} seeds"
    assert np.mean([c.local for c in made]) >= 22  # type: ignore[attr-defined]  # the floor's reads aside, local


def test_a_choice_by_locality_alone_biases_the_plain_interval_on_sorted_data() -> None:
    # what the floor and the weights fix: without them the busy host's blocks are never read
    blocks, snap = sorted_cluster(120, 4, 8)
    y, x = population("sorted", len(blocks))
    truth, covered = y.sum() / x.sum(), 0
    for seed in range(200):
        choice = choose_input(blocks, 24, snap, seed=seed)
        one_class = Design({"all": len(blocks)}, dict.fromkeys(choice.chosen, "all"))  # as a simple random sample
        covered += ratio_interval(one_class, {i: y[i] for i in choice.chosen}, {i: x[i] for i in choice.chosen}).covers(
            truth)
        assert not {b.id for b in blocks if b.hosts == ("h0",)} & set(choice.chosen)
        with pytest.raises(SamplingError, match="locality classes unread"):
            ratio_interval(choice.design, {i: y[i] for i in choice.chosen}, {i: x[i] for i in choice.chosen})
    assert covered / 200 < 0.5


def test_choice_is_uniform_within_each_locality_class() -> None:
    # 3 classes of unequal size and locality; every block of a class is taken about equally often
    blocks = [Block(i, ("h1",) if i < 6 else ("h2",) if i < 16 else ("h1", "h2")) for i in range(24)]
    snap = ClusterSnapshot({"h1": 2, "h2": 1}, RACKS)
    seen: Counter[int] = Counter()
    seeds = 3000
    for seed in range(seeds):
        choice = choose_input(blocks, 5, snap, seed=seed, min_per_class=1)
        seen.update(choice.chosen)
        assert choice.design is not None and not choice.design.missing()
    for members in (range(6), range(6, 16), range(16, 24)):
        counts = [seen[i] for i in members]
        assert stats.chisquare(counts).pvalue > 0.001, counts


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cluster_cases(max_n=9), st.integers(1, 2), st.integers(0, 3))
def test_floor_reads_every_class_and_keeps_the_rule(case: tuple, per_class: int, seed: int) -> None:
    blocks, snap, _ = case
    sizes = Counter((b.stratum, frozenset(b.hosts)) for b in blocks)
    need = Counter()
    for (stratum, _), size in sizes.items():
        need[stratum] += min(per_class, size)
    have = Counter(b.stratum for b in blocks)
    counts = {s: need[s] + (have[s] - need[s]) // 2 for s in have}
    rule = Stratified(counts)
    choice = choose_input(blocks, sum(counts.values()), snap, rule, seed=seed, min_per_class=per_class)
    chosen = [b for b in blocks if b.id in choice.chosen]
    assert rule.accepts(chosen) and placement_is_real(choice.placement, blocks, snap)
    got = choice.design.counts()  # type: ignore[union-attr]
    assert all(got[key] >= min(per_class, size) for key, size in choice.design.sizes.items())  # type: ignore[union-attr]


def test_floor_that_cannot_fit_is_refused_before_anything_runs() -> None:
    blocks, snap = sorted_cluster(24, 4, 2)
    with pytest.raises(SamplingError, match=r"k \(with min_per_class 2\) = 6 is not valid; allowed: at least 8"):
        choose_input(blocks, 6, snap, min_per_class=2)
    with pytest.raises(SamplingError, match="min_per_class = -1"):
        choose_input(blocks, 6, snap, min_per_class=-1)
    with pytest.raises(SamplingError, match="min_per_class = 2 is not valid; allowed: 0 with a callable"):
        choose_input(blocks, 6, snap, Predicate(lambda chosen: True), min_per_class=2)


# -- the intermediate stage's choices keep the rule -------------------------------------------


def day_night(n: int = 24) -> list[Block]:
    return [Block(i, ("h1",), stratum="night" if i % 24 < 6 else "day") for i in range(n)]


def test_extra_upstream_blocks_and_outputs_keep_stratum_counts() -> None:
    # the reported case: K = 6 as night 3 / day 3 with extra 0.05
    blocks, rule = day_night(), Stratified({"night": 3, "day": 3})
    first, m, last = upstream_rule(rule, blocks, 6, 0.05)
    upstream = choose_input(blocks, m, ClusterSnapshot({"h1": 2}, RACKS), first)
    picked = [b for b in blocks if b.id in upstream.chosen]
    assert Counter(b.stratum for b in picked) == {"night": 4, "day": 4}
    night = [b for b in picked if b.stratum == "night"]
    day = [b for b in picked if b.stratum == "day"]
    assert not can_meet(last, night + day[:2], 6)  # 6 finished, but only 2 of day: not yet
    assert can_meet(last, night + day[:3], 6)
    outputs = [Output(b.id, "r1", 100, "h1", b.stratum) for b in night + day[:3]]
    chosen = choose_outputs(outputs, 6, {"r1": 1.0}, last)
    assert Counter(o.stratum for o in chosen) == {"night": 3, "day": 3}


def test_with_a_floor_the_outputs_keep_every_class_count() -> None:
    blocks, snap = sorted_cluster(48, 4, 3, strata=True)
    rule = Stratified({"a": 10, "b": 8})
    base = choose_input(blocks, 18, snap, rule, min_per_class=2).design
    first, m, last = upstream_rule(rule, blocks, 18, 0.2, base)
    assert isinstance(first, ClassCounts) and m == 22 and sum(last.counts.values()) == 18  # type: ignore[attr-defined]
    upstream = choose_input(blocks, m, snap, first, seed=1)
    finished = [b for b in blocks if b.id in upstream.chosen]
    outputs = [Output(b.id, "r1", 100, b.hosts[0], b.stratum) for b in finished]
    chosen = choose_outputs(outputs, 18, {"r1": 1.0}, last)
    used = design_of(blocks, [o.id for o in chosen], {b.id: b.stratum for b in blocks}, 2)
    assert used.counts() == base.counts()  # type: ignore[union-attr]


def test_round_robin_branch_when_the_search_is_not_exhaustive() -> None:
    # M = 30, K = 20: C(30, 20) is far above the exhaustive limit, so the paper's round-robin decides
    assert math.comb(30, 20) > EXACT_LIMIT
    outputs = [Output(i, "r1" if i % 3 else "r2", 100 + i, stratum="night" if i < 10 else "day") for i in range(30)]
    rule = Stratified({"night": 6, "day": 14})
    chosen = choose_outputs(outputs, 20, {"r1": 0.5, "r2": 0.5}, rule)
    assert Counter(o.stratum for o in chosen) == {"night": 6, "day": 14}
    assert [o.id for o in chosen] == [o.id for o in round_robin(outputs, 20, rule.counts, lambda o: o.stratum)]
    racks = Counter(o.rack for o in chosen)
    assert racks["r2"] == 9  # r2 deals 3 nights before night's 6 are filled, then all 6 of its days


def test_straggler_the_bound_must_cut_and_one_worth_waiting_for() -> None:
    # K = 4 of M = 5 outputs of 100 MB on a 200 Mbit/s uplink: the first four sit in rack r1 (every byte its
    # reducers in r2 read crosses r1's uplink), the fifth, in r2, is the straggler.
    mb = 100_000_000
    first_four = [Output(i, "r1", mb, "a") for i in range(4)]
    straggler = Output(4, "r2", mb, "b")
    share, bits = {"r1": 0.5, "r2": 0.5}, 200e6
    now = pick_outputs(first_four, 4, share, Uniform(), bits)
    gain = now.transfer_s - now.ideal_s
    assert now.transfer_s == pytest.approx(8.0) and now.ideal_s == pytest.approx(4.0)
    bound = StragglerBound()

    def decide(straggler_after_s: float) -> tuple[float, list[int]]:
        """Simulated clock since the K-th output: poll as the runner does, until the bound says stop."""
        waited, step = 0.0, 0.05
        outputs = list(first_four)
        while True:
            if waited >= straggler_after_s and straggler not in outputs:
                outputs.append(straggler)
            pick = pick_outputs(outputs, 4, share, Uniform(), bits)
            running = 0 if straggler in outputs else 1
            if not bound.keep_waiting(waited, pick.transfer_s, pick.ideal_s, running):
                return waited, sorted(o.id for o in pick.chosen)
            waited += step

    cut_at, used = decide(30.0)  # the straggler would take 30 s: cut once the wait passes the 4 s gain
    assert gain == pytest.approx(4.0) and gain <= cut_at < gain + 0.1 and used == [0, 1, 2, 3]
    waited, used = decide(1.0)  # 1 s away: worth waiting for, and picked (one output per rack pair is better)
    assert waited == pytest.approx(1.0, abs=0.06) and 4 in used


def test_sampling_query_refuses_settings_that_cannot_work_before_spark_starts(capsys: pytest.CaptureFixture) -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "jobs" / "sampling_query.py"
    spec = importlib.util.spec_from_file_location("sampling_query_job", path)
    job = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(job)  # type: ignore[union-attr]
    from pyspark.sql import SparkSession

    before = SparkSession.getActiveSession()  # another test's session may be active: the job must not start one
    for argv, needle in [(["--k", "20", "--sampling", "stratified"], "stratum 'night' = 10"),
                         (["--k", "6", "--extra", "-0.5"], "extra = -0.5"),
                         (["--k", "3", "--sampling", "stratified", "--min-per-class", "2"],
                          "stratum 'night' (with min_per_class 2) = 1")]:
        assert job.main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0], err
    assert SparkSession.getActiveSession() is before
    check_request(day_night(), 6, {"night": 3, "day": 3}, 0.05, 2)  # the reported settings are valid
