"""`with pool("alice"):` run this thread's jobs in a pool the application really has.

Spark creates any pool a job names, silently and with default settings, so a
typo gives a job its own weight-1 pool. `pool()` first reads the pools the
application loaded (its `spark.scheduler.allocation.file`, read the way Spark
reads it, plus Spark's own `default`) and raises for any other name.

The pool is a SparkContext local property: it holds for the current thread and
for `pyspark.InheritableThread`s created inside the block (they copy the
creating thread's properties); a plain `threading.Thread` does not inherit it.
The previous pool is restored on exit.

On a Spark Connect session (no SparkContext, no thread-local properties) the
pool is the session conf `spark.scheduler.pool`, which Spark copies into the
local properties of every job the session runs: it holds for the whole Connect
session inside the block, not for one thread. The pools are checked against the
server's allocation file when the client can read it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from spark_sched.connect import active_connect_session, is_connect
from spark_sched.pools.conf import FILE_KEY, MODE_KEY, POOL_PROPERTY
from spark_sched.pools.model import DEFAULT_POOL, FAIR, PoolError
from spark_sched.pools.xml_io import spark_pool_names

if TYPE_CHECKING:
    from pyspark import SparkContext
    from pyspark.sql import SparkSession


def spark_context(spark: SparkSession | SparkContext | None) -> SparkContext:
    """The SparkContext of `spark`, or the active one when None (a PoolError when none is running)."""
    from pyspark import SparkContext

    if spark is None:
        active = SparkContext._active_spark_context
        if active is None:
            raise PoolError("no active SparkContext; start a session first (configure(builder, pools=...))")
        return active
    return spark if isinstance(spark, SparkContext) else spark.sparkContext


def _local_path(location: str) -> Path | None:
    """A local path for `path` or `file:` URIs; None for other file systems."""
    parsed = urlparse(location)
    if parsed.scheme in ("", "file"):
        return Path(unquote(parsed.path) if parsed.scheme else location)
    return None


@functools.lru_cache(maxsize=32)
def _names_in(path: str, mtime_ns: int) -> tuple[str, ...]:
    return tuple(spark_pool_names(Path(path).read_text(encoding="utf-8")))


def loaded_pools(spark: SparkSession | SparkContext | None = None) -> list[str]:
    """The pools a job may name in this application: its allocation file's pools and `default`."""
    return _pools_in_conf(spark_context(spark).getConf().get)


def _pools_in_conf(get: Any, remote: bool = False) -> list[str]:
    """The pools the conf `get(key)` names; for a Connect server (`remote`), [] when its file is not readable here."""
    mode = (get(MODE_KEY) or "FIFO").strip().upper()
    if mode != FAIR:
        raise PoolError(
            f"{MODE_KEY} = {mode!r} is not valid for pools; allowed: FAIR (configure(builder, pools=FILE) sets it)"
        )
    location = get(FILE_KEY)
    if not location:
        return [DEFAULT_POOL]
    path = _local_path(location)
    if remote and (path is None or not path.is_file()):
        return []
    if path is None or not path.is_file():
        raise PoolError(f"{FILE_KEY} = {location!r} is not valid for pools; allowed: a readable local file")
    names = list(_names_in(str(path), os.stat(path).st_mtime_ns))
    return names if DEFAULT_POOL in names else [*names, DEFAULT_POOL]


@contextmanager
def pool(name: str, spark: SparkSession | SparkContext | None = None) -> Iterator[str]:
    """Run the jobs this thread (and the InheritableThreads it starts) submits inside the block in pool `name`.

    Raises PoolError when the application did not load a pool of that name, instead
    of letting Spark create it; `spark` defaults to the active SparkContext.
    """
    session = _connect_session(spark)
    if session is not None:
        with _connect_pool(session, name):
            yield name
        return
    sc = spark_context(spark)
    _check(name, loaded_pools(sc))
    with local_property(sc, POOL_PROPERTY, name):
        yield name


def _check(name: str, names: list[str]) -> None:
    if names and name not in names:
        raise PoolError(f"pool = {name!r} is not in the loaded pool configuration; allowed: {', '.join(names)}")


def _connect_session(spark: Any) -> Any:
    """The Connect session the pool is for: the one given, or with none given and no classic context, the active one."""
    if is_connect(spark):
        return spark
    from pyspark import SparkContext

    if spark is None and SparkContext._active_spark_context is None:
        return active_connect_session()
    return None


@contextmanager
def _connect_pool(session: Any, name: str) -> Iterator[None]:
    """The Connect session's `spark.scheduler.pool` conf inside the block, the previous value (or none) after it."""
    _check(name, _pools_in_conf(lambda key: session.conf.get(key, None), remote=True))
    previous = session.conf.get(POOL_PROPERTY, None)
    session.conf.set(POOL_PROPERTY, name)
    try:
        yield
    finally:
        if previous is None:
            session.conf.unset(POOL_PROPERTY)
        else:
            session.conf.set(POOL_PROPERTY, previous)


@contextmanager
def local_property(sc: SparkContext, key: str, value: str | None) -> Iterator[None]:
    """Set a SparkContext local property for this thread inside the block (None removes it); restore it on exit."""
    previous = sc.getLocalProperty(key)
    _set_local(sc, key, value)
    try:
        yield
    finally:
        _set_local(sc, key, previous)


def _set_local(sc: SparkContext, key: str, value: str | None) -> None:
    """Spark removes a local property set to null; pyspark's signature admits only text, so None goes to the JVM."""
    if value is not None:
        sc.setLocalProperty(key, value)
    elif sc._jsc is not None:
        sc._jsc.setLocalProperty(key, None)
