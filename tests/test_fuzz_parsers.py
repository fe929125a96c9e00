"""Every parser of user input, fuzzed: it returns, or refuses with the toolkit's one-line error -- never anything else.

Each parser gets at least 2,000 generated inputs (`EXAMPLES`), derandomized so a
CI run is repeatable, with no per-example deadline (the machine is shared) and
the whole file bounded at about a minute. Inputs are built to reach the checks,
not only the syntax error: TOML pool trees with random names, keys and values of
every type; XML pool files with random elements, attributes, text and DTDs;
settings, topology and cluster-state documents of any shape; Spark listener
events of any shape. What "accepted" must mean is checked too: an accepted pool
file renders to XML that reads back to the same Spark pools.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spark_sched.cluster import LocalCluster
from spark_sched.config import check_master, parse_settings
from spark_sched.errors import SparkSchedError
from spark_sched.locality import locality_conf
from spark_sched.measure import eventlog
from spark_sched.pools.flatten import flatten
from spark_sched.pools.load import parse_pools
from spark_sched.pools.model import Problem
from spark_sched.pools.toml_io import dump_toml
from spark_sched.pools.xml_io import render_xml
from spark_sched.tomlread import TomlError, loads
from spark_sched.topology import parse_topology

# 2,000 in CI (the default); SPARK_SCHED_FUZZ_EXAMPLES changes it for a longer hunt or a quick look.
EXAMPLES = int(os.environ.get("SPARK_SCHED_FUZZ_EXAMPLES", "2000"))
fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)

# -- building blocks -------------------------------------------------------------------------------------------------
NAMES = st.one_of(
    st.sampled_from(["etl", "alice", "bob", "default", "weight", "mode", "minShare", "a b", " etl", "", "\u202e"]),
    st.text(max_size=4),
)
SCALARS = st.one_of(
    st.integers(-(2**40), 2**40),
    st.sampled_from([0, 1, 2**31 - 1, 2**31, -1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.sampled_from(["FAIR", "FIFO", "fair", " FIFO ", "LIFO", "", "1", "2"]),
    st.text(max_size=8),
)
# JSON-like values two levels deep: enough to put a list where a table belongs, cheap enough for 2,000 runs.
LEAVES = st.none() | st.booleans() | st.integers(-(2**33), 2**33) | st.floats(allow_nan=False) | st.text(max_size=6)
JSONISH = st.one_of(
    LEAVES, st.lists(LEAVES, max_size=2), st.dictionaries(st.text(max_size=4), LEAVES | st.lists(LEAVES), max_size=2)
)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    return json.dumps(value)  # a TOML basic string: JSON's escapes are TOML's


def _one_line(error: SparkSchedError) -> None:
    text = str(error)
    assert text and "\n" not in text, f"not one line: {text!r}"


def _problems_are_lines(problems: list[Problem], source: str) -> None:
    for problem in problems:
        text = str(problem)
        assert "\n" not in text and text.startswith(f"{source}: "), repr(text)


def _accepted_round_trips(tree: Any, source: str) -> None:
    """An accepted tree renders to XML that Spark-reads back to the same leaves, and to TOML that reads back equal."""
    flat = flatten(tree)
    back, problems = parse_pools(render_xml(flat, source), "rendered.xml", "xml")
    assert not [p for p in problems if not p.warning], problems
    assert [(p.name, p.weight, p.min_share, p.mode) for p in back.pools] == [
        (leaf.name, leaf.weight, leaf.min_share, leaf.mode) for leaf in flat.leaves
    ]
    again, problems = parse_pools(dump_toml(tree), "dumped.toml", "toml")
    assert not [p for p in problems if not p.warning], problems
    assert again.same_pools(tree)


# -- pool files ------------------------------------------------------------------------------------------------------
# Strategies are built once, at import: building them inside a draw costs more than the parsers themselves.
TOML_TABLES = st.lists(
    st.tuples(
        st.lists(NAMES, min_size=1, max_size=3),
        st.lists(st.tuples(st.sampled_from(["mode", "weight", "minShare"]) | NAMES, SCALARS), max_size=2),
    ),
    max_size=3,
)


def _toml_text(stray: list[tuple[str, Any]], tables: list[tuple[list[str], list[tuple[str, Any]]]]) -> str:
    """`[pools.a.b]` tables with keys and values of any type, after any stray top-level keys."""
    lines = [f"{json.dumps(key)} = {_toml_value(value)}" for key, value in stray]
    for path, items in tables:
        lines.append("[pools." + ".".join(json.dumps(part) for part in path) + "]")
        lines += [f"{json.dumps(key)} = {_toml_value(value)}" for key, value in items]
    return "\n".join(lines) + "\n"


toml_pool_files = st.builds(_toml_text, st.lists(st.tuples(NAMES, SCALARS), max_size=1), TOML_TABLES)

XML_PROLOGS = [
    "",
    '<?xml version="1.0" encoding="UTF-8"?>\n',
    '<!DOCTYPE allocations [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n',
    '<!DOCTYPE allocations [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n',
    '<!DOCTYPE allocations SYSTEM "http://127.0.0.1:9/x.dtd">\n',
]
XML_POOL = st.tuples(
    st.none() | NAMES,  # name attribute (None: missing)
    st.none() | SCALARS,  # a stray weight attribute
    st.lists(st.tuples(st.sampled_from(["schedulingMode", "weight", "minShare", "pool", "priority"]), SCALARS),
             max_size=2),
)


def _xml_text(prolog: str, root: str, pools: list[tuple[Any, Any, list[tuple[str, Any]]]], tail: str) -> str:
    """`<allocations>` with pools, child elements, attributes, text, nesting, and sometimes a DTD or a torn end."""
    parts = []
    for name, stray, children in pools:
        attrs = ("" if name is None else f" name={quoteattr(name)}") + (
            "" if stray is None else f" weight={quoteattr(str(stray))}"
        )
        body = "".join(f"<{tag}>{escape(str(value))}</{tag}>" for tag, value in children)
        parts.append(f"<pool{attrs}>{body}</pool>")
    return f"{prolog}<{root}>{''.join(parts)}{tail}</{root}>"


xml_pool_files = st.builds(
    _xml_text,
    st.sampled_from(XML_PROLOGS),
    st.sampled_from(["allocations", "allocations", "pools"]),
    st.lists(XML_POOL, max_size=3),
    st.sampled_from(["", "", "", "<pool", "&b;", "&x;", "</allocations>"]),
)


@fuzz
@given(toml_pool_files)
def test_fuzz_pool_toml(text: str) -> None:
    tree, problems = parse_pools(text, "pools.toml", "toml")
    _problems_are_lines(problems, "pools.toml")
    if not problems:
        _accepted_round_trips(tree, "pools.toml")


@fuzz
@given(xml_pool_files)
def test_fuzz_pool_xml(text: str) -> None:
    tree, problems = parse_pools(text, "pools.xml", "xml")
    _problems_are_lines(problems, "pools.xml")
    if "<!DOCTYPE" in text:
        assert problems, "a DTD is always refused, so no entity is ever expanded or fetched"
    if not problems:
        _accepted_round_trips(tree, "pools.xml")


# -- settings, topology, master, locality ------------------------------------------------------------------------------
SETTINGS_KEYS = {
    "app": ["name", "master"],
    "paths": ["state_dir", "event_log_dir"],
    "measure": ["source", "sparkmeasure_jar"],
    "pools": ["file"],
    "locality": ["wait"],
    "access": ["ui_kill_enabled", "acls_enable", "admin_acls", "modify_acls", "view_acls"],
    "spark": ["spark.ui.port", "spark.executor.memory"],
}
SETTING_VALUES = st.one_of(
    SCALARS,
    JSONISH,
    st.lists(st.sampled_from(["alice", "*", "a,b", "", "ops team"]), max_size=3),
    st.sampled_from(["local[2]", "spark://127.0.0.1:7077", "yarn", "bogus", "3s", "auto", "sparkmeasure"]),
)


settings_documents = st.fixed_dictionaries(
    {},
    optional={
        section: SCALARS | st.fixed_dictionaries({}, optional={key: SETTING_VALUES for key in keys})
        for section, keys in {**SETTINGS_KEYS, "aap": ["name"]}.items()
    },
)


@fuzz
@given(settings_documents)
def test_fuzz_settings(doc: dict[str, Any]) -> None:
    try:
        parse_settings(doc, "spark-sched.toml")
    except SparkSchedError as error:
        _one_line(error)
        assert str(error).startswith("spark-sched.toml: ")


@fuzz
@given(
    st.dictionaries(
        st.sampled_from(["racks", "hosts", "links", "rack"]),
        st.one_of(
            SCALARS,
            st.dictionaries(st.sampled_from(["host_rate", "rack_uplink_rate", "127.0.0.2", "x"]), SCALARS | JSONISH),
        ),
    )
)
def test_fuzz_topology(doc: dict[str, Any]) -> None:
    try:
        topology = parse_topology(doc, "topology.toml")
    except SparkSchedError as error:
        _one_line(error)
        return
    assert 1 <= topology.racks <= 1000
    assert [topology.rack_of(f"127.0.0.{i + 2}", i, 3) for i in range(3)]


@fuzz
@given(st.text(max_size=60) | st.sampled_from(["local[2]", "spark://h:1", "local-cluster[2,1,512]", "auto:2s", "3s"]))
def test_fuzz_free_text(text: str) -> None:
    """Text of any kind into each parser that takes a string: pool files of both kinds, TOML, master, locality wait."""
    for fmt in ("toml", "xml"):
        _problems_are_lines(parse_pools(text, f"pools.{fmt}", fmt)[1], f"pools.{fmt}")
    try:
        loads(text)
    except TomlError as error:
        assert "\n" not in str(error)
    for check in (lambda: check_master(text, "--master"), lambda: locality_conf(text, (3, 2), "spark-sched.toml")):
        try:
            check()
        except SparkSchedError as error:
            _one_line(error)


# -- files the toolkit wrote itself (state, event logs): read back after damage --------------------------------------
@pytest.fixture(scope="module")
def scratch() -> Any:
    shm = Path("/dev/shm")  # memory, where there is one: a file per example on a busy disk costs more than the parse
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as d:
        yield Path(d)


@fuzz
@given(doc=JSONISH, cut=st.integers(0, 200))
def test_fuzz_cluster_state(doc: Any, cut: int, scratch: Path) -> None:
    cluster = LocalCluster(scratch / "cluster")
    cluster.state_dir.mkdir(exist_ok=True)
    text = json.dumps(doc)
    cluster.state_file.write_text(text[: cut or None])
    try:
        cluster.check_state()
    except SparkSchedError as error:
        _one_line(error)
        assert cluster.read_state() is None
    else:
        assert cluster.read_state() is not None


LISTENER_EVENTS = ["ApplicationStart", "ApplicationEnd", "JobStart", "JobEnd", "StageSubmitted", "StageCompleted",
                   "TaskEnd", "LogStart"]


EVENT_FIELDS = ["Job ID", "Stage ID", "Stage Info", "Task Info", "Task Metrics", "Stage Infos", "Properties",
                "Timestamp", "Job Result", "Task End Reason", "Submission Time"]
EVENT_VALUES = st.one_of(
    JSONISH,
    st.integers(0, 5),
    st.fixed_dictionaries({"Task ID": st.integers(0, 3), "Stage ID": st.integers(0, 3), "Launch Time": SCALARS}),
)
EVENTS = st.fixed_dictionaries(
    {"Event": st.sampled_from(["SparkListener" + name for name in LISTENER_EVENTS])},
    optional=dict.fromkeys(EVENT_FIELDS, EVENT_VALUES),
)


def _log_text(events: list[Any], cut: int) -> str:
    """Lines of JSON shaped like listener events; `cut` > 0 tears the text there, as a crash mid-write would."""
    text = "\n".join(json.dumps(event) for event in events)
    return text[:cut] if cut else text


# Events with the right names and fields of any type, now and then a line that is JSON but no object.
event_logs = st.builds(_log_text, st.lists(EVENTS | JSONISH, max_size=4), st.integers(0, 400))


@fuzz
@given(text=event_logs)
def test_fuzz_event_log(text: str, scratch: Path) -> None:
    path = scratch / "events"
    path.write_text(text)
    try:
        eventlog.load(path)
    except SparkSchedError as error:
        _one_line(error)
