"""Fair-scheduler pools: a readable, nested pool file <-> Spark's fairscheduler.xml, checked strictly.

```python
from spark_sched.pools import load_pools, flatten, render_xml, pool

tree = load_pools("conf/pools.toml")          # PoolError lists every problem
print(flatten(tree).shares())                  # {'alice': 0.25, 'bob': 0.25, 'carol': 0.5}
xml = render_xml(flatten(tree), "conf/pools.toml")
with pool("alice"):                            # raises for a pool the app did not load
    df.count()
```
"""

from spark_sched.pools.conf import POOL_PROPERTY, fair_conf, pool_conf, pools_xml, render_into, write_pools_xml
from spark_sched.pools.context import loaded_pools, local_property, pool
from spark_sched.pools.flatten import Flattened, LeafPool, flatten, leaf_shares
from spark_sched.pools.load import check_pools, load_flattened, load_pools, parse_pools
from spark_sched.pools.model import Pool, PoolError, PoolTree, Problem
from spark_sched.pools.toml_io import dump_toml
from spark_sched.pools.xml_io import render_xml

__all__ = [
    "POOL_PROPERTY",
    "Flattened",
    "LeafPool",
    "Pool",
    "PoolError",
    "PoolTree",
    "Problem",
    "check_pools",
    "dump_toml",
    "fair_conf",
    "flatten",
    "leaf_shares",
    "load_flattened",
    "load_pools",
    "loaded_pools",
    "local_property",
    "parse_pools",
    "pool",
    "pool_conf",
    "pools_xml",
    "render_into",
    "render_xml",
    "write_pools_xml",
]
