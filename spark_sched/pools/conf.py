"""What pools add to an application's Spark conf: FAIR mode, the rendered allocation file, the pool property.

Every fairscheduler.xml the toolkit writes is rendered here, from a pool file
(`render_into`) or from pool definitions made in code (`write_pool_file`, e.g.
the priority classes' pools). A pool file's XML is written into the state
directory under a name made from its content, so applications configured from
different pool files at the same time never overwrite each other's file, and
the same file is never rendered twice.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from spark_sched.pools.flatten import flatten
from spark_sched.pools.load import load_pools
from spark_sched.pools.model import Pool, PoolTree
from spark_sched.pools.xml_io import render_xml

MODE_KEY = "spark.scheduler.mode"
FILE_KEY = "spark.scheduler.allocation.file"
POOL_PROPERTY = "spark.scheduler.pool"  # the SparkContext local property naming a job's pool


def render_into(path: str | os.PathLike[str], state_dir: str | os.PathLike[str]) -> Path:
    """Check the pool file, render its XML to `<state_dir>/pools/fairscheduler-<hash>.xml`; return that path."""
    tree = load_pools(path)
    xml = render_xml(flatten(tree), str(path))
    digest = hashlib.sha256(xml.encode()).hexdigest()[:16]
    target = Path(state_dir) / "pools" / f"fairscheduler-{digest}.xml"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(xml, encoding="utf-8")
        tmp.replace(target)
    return target.resolve()


def pool_conf(path: str | os.PathLike[str], state_dir: str | os.PathLike[str]) -> dict[str, str]:
    """`spark.scheduler.mode=FAIR` and `spark.scheduler.allocation.file` for a pool file."""
    return fair_conf(render_into(path, state_dir))


def fair_conf(allocation_file: str | os.PathLike[str]) -> dict[str, str]:
    """The Spark conf that turns FAIR mode on with a rendered fairscheduler.xml."""
    return {MODE_KEY: "FAIR", FILE_KEY: str(allocation_file)}


def pools_xml(pools: Iterable[Pool], source: str) -> str:
    """fairscheduler.xml for pool definitions made in code; `source` names them in the file's header."""
    return render_xml(flatten(PoolTree(tuple(pools), source)), source)


def write_pools_xml(path: str | os.PathLike[str], pools: Iterable[Pool], source: str) -> Path:
    """Write `pools_xml(pools, source)` to `path` (directories made as needed) and return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(pools_xml(pools, source), encoding="utf-8")
    return target
