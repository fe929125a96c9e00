"""A job's scope: one tag grammar every mechanism writes and reads, and `job_scope` setting and restoring it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyspark.sql import SparkSession

from spark_sched.errors import SettingsError
from spark_sched.jobscope import (
    DESCRIPTION_PROPERTY,
    TAG_KEYS,
    job_scope,
    parse_tag,
    parse_tags,
    scope_tag,
    tag_prefix,
)
from spark_sched.pools.conf import POOL_PROPERTY
from spark_sched.priority import JobTags
from spark_sched.registry import RegistryError


@given(st.sampled_from(TAG_KEYS.names()), st.text(min_size=0, max_size=30).filter(lambda v: "," not in v))
def test_every_tag_reads_back_as_its_key_and_value(key: str, value: str) -> None:
    tag = scope_tag(key, value)
    assert tag == f"spark-sched-{key}-{value}" and tag.startswith(tag_prefix(key))
    assert parse_tag(tag) == (key, value)


def test_priority_tags_are_in_the_grammar() -> None:
    tags = JobTags("low", "job-7", 2).all()
    assert tags == (scope_tag("priority", "low"), scope_tag("job", "job-7"), scope_tag("attempt", "job-7-2"))
    assert parse_tags(tags) == JobTags.parse(tags) == {"priority": "low", "job": "job-7", "attempt": "job-7-2"}


def test_other_tags_are_left_alone_and_bad_ones_refused() -> None:
    assert parse_tags(["mine", "spark-sched-nokey-x", "kmn-legacy:blocks=1", scope_tag("class", "a/b")]) == {
        "class": "a/b"
    }
    with pytest.raises(RegistryError, match="job tag key = 'nokey' is not valid; allowed: priority, job"):
        scope_tag("nokey", "x")
    with pytest.raises(SettingsError, match="text without commas"):
        scope_tag("composition", "a,b")


def test_job_scope_sets_and_restores_pool_tags_and_description(spark: SparkSession) -> None:
    sc = spark.sparkContext
    tag = scope_tag("cjob", "scope-test")
    pool_before, description_before = sc.getLocalProperty(POOL_PROPERTY), sc.getLocalProperty(DESCRIPTION_PROPERTY)
    with job_scope(spark, pool="outer"):
        with job_scope(sc, pool=None, tags=[tag], description="scoped"):
            assert sc.getLocalProperty(POOL_PROPERTY) is None
            assert sc.getLocalProperty(DESCRIPTION_PROPERTY) == "scoped"
            assert tag in sc.getJobTags()
            sc.parallelize(range(4), 2).count()
        assert sc.getLocalProperty(POOL_PROPERTY) == "outer"
        assert sc.getLocalProperty(DESCRIPTION_PROPERTY) == description_before
        assert tag not in sc.getJobTags()
    assert sc.getLocalProperty(POOL_PROPERTY) == pool_before
    assert len(sc._jsc.sc().statusTracker().getJobIdsForTag(tag)) == 1
