"""Rendered pool files on real Spark: Spark's own parser reads them as meant, jobs run in the pools, pool() checks."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from pyspark import InheritableThread
from pyspark.sql import SparkSession
from test_pools_model import pool_trees

from spark_sched import configure, load_settings
from spark_sched.measure import measure
from spark_sched.pools import PoolError, flatten, loaded_pools, pool, render_xml
from spark_sched.pools.conf import FILE_KEY, POOL_PROPERTY

TRICKY_TOML = """
[pools.etl]
minShare = 1
[pools.etl.alice]
[pools.etl."a&b <c>"]
mode = "FAIR"
[pools.adhoc]
weight = 2
[pools.adhoc."q\\"uote's"]
weight = 3
[pools.adhoc."Ω 漢"]
"""
TRICKY_LEAVES = ["alice", "a&b <c>", "q\"uote's", "Ω 漢"]
USER_XML = """<?xml version="1.0"?>
<allocations>
  <pool name="production"><schedulingMode>FAIR</schedulingMode><weight>3</weight><minShare>1</minShare></pool>
  <pool name="test"><weight>1</weight></pool>
</allocations>
"""


def _spark_pools(spark: SparkSession, path: Path) -> dict[str, tuple[int, int, str]]:
    """The pools Spark's own FairSchedulableBuilder builds from `path`: name -> (weight, minShare, mode)."""
    jsc = spark.sparkContext._jsc.sc()
    scheduler = spark.sparkContext._jvm.org.apache.spark.scheduler
    fair = getattr(scheduler, "SchedulingMode$").__getattr__("MODULE$").FAIR()
    root = scheduler.Pool("", fair, 0, 0)
    jsc.conf().set(FILE_KEY, str(path))
    try:
        scheduler.FairSchedulableBuilder(root, jsc).buildPools()
    finally:
        jsc.conf().remove(FILE_KEY)
    found, queue = {}, root.schedulableQueue().iterator()
    while queue.hasNext():
        p = queue.next()
        found[p.name()] = (p.weight(), p.minShare(), p.schedulingMode().toString())
    return found


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=pool_trees())
def test_spark_reads_every_rendered_file_as_meant(spark: SparkSession, tree) -> None:
    flat = flatten(tree)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fairscheduler.xml"
        path.write_text(render_xml(flat, "generated.toml"), encoding="utf-8")
        found = _spark_pools(spark, path)
    expected = {leaf.name: (leaf.weight, leaf.min_share, leaf.mode) for leaf in flat.leaves}
    found_default = found.pop("default", None)
    if "default" in expected:
        assert found_default == expected["default"]
    else:
        assert found_default == (1, 0, "FIFO")  # Spark's own default pool
        found["default"] = found_default
        expected["default"] = found_default
    assert found == expected


def test_pool_in_a_fifo_application_raises(spark: SparkSession) -> None:
    message = "spark.scheduler.mode = 'FIFO' is not valid for pools; allowed: FAIR"
    with pytest.raises(PoolError, match=message), pool("default", spark):
        pass


def _job(spark: SparkSession) -> None:
    spark.sparkContext.parallelize(range(4), 2).count()


def _run_in_pools(spark: SparkSession, leaves: list[str]) -> list[str]:
    """Jobs in each pool, with nesting and an inheriting thread; the pools Spark recorded, by stage."""
    with measure(spark) as m:
        with pool(leaves[0]):
            _job(spark)
            thread = InheritableThread(target=_job, args=(spark,))
            thread.start()
            thread.join()
            with pool(leaves[1]):
                _job(spark)
            _job(spark)
        _job(spark)
        for name in leaves:
            with pool(name):
                _job(spark)
    return list(m.stages().sort_values("stageId")["pool"])


def test_session_from_a_nested_toml_runs_jobs_in_its_pools(make_spark, tmp_path: Path) -> None:
    pools_file = tmp_path / "pools.toml"
    pools_file.write_text(TRICKY_TOML, encoding="utf-8")
    spark = make_spark(pools=str(pools_file))
    conf = spark.sparkContext.getConf()
    assert conf.get("spark.scheduler.mode") == "FAIR"
    assert Path(conf.get(FILE_KEY)).is_file()
    assert loaded_pools(spark) == [*TRICKY_LEAVES, "default"]
    sc = spark.sparkContext._jsc.sc()
    live = {name: sc.getPoolForName(name).get() for name in TRICKY_LEAVES}
    assert {n: (p.weight(), p.minShare()) for n, p in live.items()} == {
        "alice": (1, 1),
        "a&b <c>": (1, 0),
        "q\"uote's": (3, 0),
        "Ω 漢": (1, 0),
    }
    recorded = _run_in_pools(spark, TRICKY_LEAVES)
    a, b = TRICKY_LEAVES[:2]
    assert recorded == [a, a, b, a, "default", *TRICKY_LEAVES]


def test_pool_refuses_names_the_application_did_not_load(make_spark, tmp_path: Path) -> None:
    user_xml = tmp_path / "fairscheduler.xml"
    user_xml.write_text(USER_XML, encoding="utf-8")
    spark = make_spark(pools=str(user_xml))
    sc = spark.sparkContext
    assert loaded_pools(spark) == ["production", "test", "default"]
    for bad in ("nope", "Production", "etl"):
        message = f"pool = '{bad}' is not in the loaded pool configuration; allowed: production, test, default"
        with pytest.raises(PoolError, match=message), pool(bad):
            pass
    assert sc.getLocalProperty(POOL_PROPERTY) is None
    with pool("production"):
        assert sc.getLocalProperty(POOL_PROPERTY) == "production"
        with pytest.raises(PoolError), pool("nope"):
            pass
        assert sc.getLocalProperty(POOL_PROPERTY) == "production"
        with pool("test"):
            assert sc.getLocalProperty(POOL_PROPERTY) == "test"
        assert sc.getLocalProperty(POOL_PROPERTY) == "production"
    assert sc.getLocalProperty(POOL_PROPERTY) is None
    assert sc._jsc.sc().getPoolForName("production").get().weight() == 3
    recorded = _run_in_pools(spark, ["production", "test"])
    assert recorded == ["production", "production", "test", "production", "default", "production", "test"]


def test_configure_refuses_a_bad_pool_file_before_spark_starts(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[pools.alice]\nweight = 0\n", encoding="utf-8")
    with pytest.raises(PoolError, match=r"bad.toml: pool 'alice': weight = 0 is not valid"):
        configure(SparkSession.builder, load_settings(), pools=str(bad), state_dir=tmp_path)
