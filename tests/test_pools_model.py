"""Pool files without Spark: round trips on generated trees, the flattening rule, and the XML reader."""

from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from spark_sched.pools import Pool, PoolTree, dump_toml, flatten, leaf_shares, parse_pools, render_xml
from spark_sched.pools.flatten import WEIGHT_LIMIT, leaf_min_shares, split_min_share
from spark_sched.pools.model import DEFAULT_POOL, FAIR, MODES
from spark_sched.pools.shares import TaskSpan, contention_window, max_error, measured_shares
from spark_sched.pools.toml_io import FIELD_KEYS
from spark_sched.pools.validate import valid_name
from spark_sched.pools.xml_io import spark_pool_names

# Names with everything XML and TOML must escape: quotes, ampersands, angle brackets, backslashes, non-ASCII.
NAME = st.text(
    alphabet=st.one_of(st.sampled_from("&<>\"'\\ -_.#[]=ÄΩ漢"), st.characters(codec="utf-8")),
    min_size=1,
    max_size=10,
).filter(valid_name)


@st.composite
def shapes(draw: st.DrawFn, depth: int = 1) -> list:
    """A forest shape: each node is the list of its children's shapes."""
    count = draw(st.integers(1, 3 if depth > 1 else 4))
    return [draw(shapes(depth + 1)) if depth < 3 and draw(st.booleans()) else [] for _ in range(count)]


def _count(shape: list) -> int:
    return sum(1 + _count(child) for child in shape)


@st.composite
def pool_trees(draw: st.DrawFn) -> PoolTree:
    """Valid trees up to three levels deep, names unique across the tree."""
    shape = draw(shapes())
    names = iter(draw(st.lists(NAME, min_size=_count(shape), max_size=_count(shape), unique=True)))

    def build(children_shapes: list, depth: int = 1) -> tuple[Pool, ...]:
        pools = []
        for child in children_shapes:
            name = next(names)
            children = build(child, depth + 1)
            if (children and name == DEFAULT_POOL) or (depth > 1 and name in FIELD_KEYS):
                name = f"not-{len(name)}"
            mode = FAIR if children else draw(st.sampled_from(MODES))
            weight, min_share = draw(st.integers(1, 40)), draw(st.integers(0, 6))
            pools.append(Pool(name, mode, weight, min_share, children))
        return tuple(pools)

    tree = PoolTree(build(shape), "generated.toml")
    names_used = [p.name for _, p in tree.walk()]
    assume(len(set(names_used)) == len(names_used))  # a rename above may collide
    return tree


@settings(max_examples=150, deadline=None)
@given(pool_trees())
def test_toml_round_trip_keeps_the_tree(tree: PoolTree) -> None:
    parsed, problems = parse_pools(dump_toml(tree, "generated"), "round.toml", "toml")
    assert problems == []
    assert parsed.same_pools(tree)


@settings(max_examples=150, deadline=None)
@given(pool_trees())
def test_xml_round_trip_gives_the_flattened_tree(tree: PoolTree) -> None:
    flat = flatten(tree)
    xml = render_xml(flat, "generated.toml")
    assert xml == render_xml(flatten(tree), "generated.toml")  # deterministic
    parsed, problems = parse_pools(xml, "round.xml", "xml")
    assert problems == []
    assert parsed.same_pools(flat.as_tree())
    assert spark_pool_names(xml) == tree.leaf_names()  # what Spark's `xml \\ "pool"` sees


@settings(max_examples=150, deadline=None)
@given(pool_trees())
def test_flattening_keeps_shares_and_min_shares(tree: PoolTree) -> None:
    shares = leaf_shares(tree)
    assert sum(shares.values()) == 1
    flat = flatten(tree)
    total_weight = sum(leaf.weight for leaf in flat.leaves)
    for leaf in flat.leaves:
        assert 1 <= leaf.weight <= max(WEIGHT_LIMIT, 40)
        if flat.exact:
            assert Fraction(leaf.weight, total_weight) == leaf.share
        else:
            assert abs(leaf.weight / total_weight - float(leaf.share)) <= flat.max_error
    assert flat.min_share_total() == sum(p.min_share for _, p in tree.walk())


def test_hierarchy_shares_and_weights() -> None:
    tree = PoolTree(
        (
            Pool("etl", FAIR, 1, 2, (Pool("alice"), Pool("bob"))),
            Pool("adhoc", FAIR, 1, 0, (Pool("carol"),)),
        )
    )
    flat = flatten(tree)
    assert [(p.name, p.weight, p.min_share) for p in flat.leaves] == [("alice", 1, 1), ("bob", 1, 1), ("carol", 2, 0)]
    assert flat.shares() == {"alice": 0.25, "bob": 0.25, "carol": 0.5}
    assert flat.exact and flat.max_error == 0.0


def test_flat_file_keeps_its_weights() -> None:
    flat = flatten(PoolTree((Pool("a", weight=4), Pool("b", weight=2))))
    assert [p.weight for p in flat.leaves] == [4, 2]


def test_min_share_split_by_weight_largest_remainder() -> None:
    assert split_min_share(5, [1, 1, 1]) == [2, 2, 1]
    assert split_min_share(3, [2, 1]) == [2, 1]
    assert split_min_share(0, [3, 4]) == [0, 0]
    tree = PoolTree((Pool("p", FAIR, 1, 3, (Pool("x", weight=2, min_share=1), Pool("y"))),))
    assert leaf_min_shares(tree) == {("p", "x"): 3, ("p", "y"): 1}


def test_weights_beyond_the_limit_are_rounded_and_the_error_reported() -> None:
    # Sibling weights summing to 999983 and 999979 (both prime): the exact common denominator is ~2e12.
    tree = PoolTree(
        (
            Pool("p", FAIR, 1, 0, (Pool("a", weight=1), Pool("b", weight=999982))),
            Pool("q", FAIR, 1, 0, (Pool("c", weight=1), Pool("d", weight=999978))),
        )
    )
    flat = flatten(tree)
    assert math.lcm(*(leaf.share.denominator for leaf in flat.leaves)) > WEIGHT_LIMIT
    assert not flat.exact
    assert 0 < flat.max_error < 1e-5
    assert all(1 <= leaf.weight <= WEIGHT_LIMIT for leaf in flat.leaves)


def test_reads_a_users_fairscheduler_xml() -> None:
    xml = """<?xml version="1.0"?>
<allocations>
  <pool name="production">
    <schedulingMode> fair </schedulingMode>
    <weight>2</weight>
    <minShare>3</minShare>
  </pool>
  <pool name="test"><weight> 1 </weight></pool>
</allocations>"""
    tree, problems = parse_pools(xml, "fairscheduler.xml", "xml")
    assert problems == []
    assert tree.pools == (Pool("production", "FAIR", 2, 3), Pool("test", "FIFO", 1, 0))


def test_measured_shares_over_the_contention_window() -> None:
    spans = [
        TaskSpan("a", 0, 1000),
        TaskSpan("a", 0, 1000),
        TaskSpan("b", 500, 1500),
        TaskSpan("a", 1000, 2000),
        TaskSpan("b", 1500, 2500),
    ]
    start, end = contention_window({"a": 0, "b": 400}, spans)
    assert (start, end) == (500, 1000)  # b's first launch at 500 .. a's last launch at 1000
    assert measured_shares(spans, start, end, ["a", "b"]) == {"a": 2 / 3, "b": 1 / 3}
    assert measured_shares(spans, 0, 0, ["a", "c"]) == {"a": 0.0, "c": 0.0, "b": 0.0}
    starved = contention_window({"a": 0, "c": 10}, [TaskSpan("a", 0, 50), TaskSpan("a", 40, 90)])
    assert starved == (10, 40)  # c never ran: the window runs from its submission to a's last launch
    late = [TaskSpan("a", 0, 50), TaskSpan("a", 40, 90), TaskSpan("c", 90, 140)]
    assert contention_window({"a": 0, "c": 10}, late) == (10, 40)  # c ran only once a stopped launching
    assert max_error({"a": 1.0, "c": 0.0}, {"a": 0.5, "c": 0.5}) == 0.5


def test_bench_reference_shares_for_an_idle_sibling() -> None:
    from spark_sched.bench.experiments.pools import HIERARCHY, configured_shares, hierarchical_shares

    busy = ("alice", "carol")
    assert configured_shares(HIERARCHY, busy) == {"alice": 1 / 3, "carol": 2 / 3}  # what Spark's weights give
    assert hierarchical_shares(HIERARCHY, busy) == {"alice": 0.5, "carol": 0.5}  # what a nested scheduler gives
    everyone = ("alice", "bob", "carol")
    assert configured_shares(HIERARCHY, everyone) == hierarchical_shares(HIERARCHY, everyone)
