"""What a pool file adds to an application's Spark conf: FAIR mode and the rendered allocation file.

The XML is written into the state directory under a name made from its content,
so applications configured from different pool files at the same time never
overwrite each other's file, and the same file is never rendered twice.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from spark_sched.pools.flatten import flatten
from spark_sched.pools.load import load_pools
from spark_sched.pools.xml_io import render_xml

MODE_KEY = "spark.scheduler.mode"
FILE_KEY = "spark.scheduler.allocation.file"
POOL_PROPERTY = "spark.scheduler.pool"


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
    return {MODE_KEY: "FAIR", FILE_KEY: str(render_into(path, state_dir))}
