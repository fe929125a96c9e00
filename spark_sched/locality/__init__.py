"""Locality waits: the delay-scheduling model, a cost-aware choice, and advice from a run's event log.

- `model`: locality after D skipped offers, W = D*T/S (Zaharia et al., EuroSys 2010).
- `cost`: the skips (or one wait for many stages) that minimise expected job time,
  with the cost of a miss measured, not assumed.
- `placement`: the stage time a wait gives on an uneven placement (a hot host).
- `recommend`: one recommendation, by cost or by a locality target (and a placement, when known).
- `achieved` / `stages` / `history`: what a run achieved, from a task frame or an event log.
- `advise`: `spark-sched locality advise EVENTLOG`; `check`: achieved vs predicted per stage.
- `waits` / `settings`: Spark's conf for waits, and the `locality` setting.
"""

from spark_sched.locality.achieved import (
    LEVELS,
    LOCAL_LEVELS,
    achieved_locality,
    inputs_from_tasks,
    local_fraction,
    miss_penalty,
)
from spark_sched.locality.advise import Advice, advise, advise_eventlog
from spark_sched.locality.cost import StageShape, cost_aware_skips, cost_aware_wait, stage_seconds
from spark_sched.locality.model import (
    MAX_SKIPS,
    expected_locality,
    predicted_locality,
    skips_for,
    skips_for_wait,
    wait_for_skips,
)
from spark_sched.locality.placement import placed_stage_seconds
from spark_sched.locality.recommend import Recommendation, recommend_locality_wait
from spark_sched.locality.settings import AUTO, auto_wait, locality_conf, parse_duration
from spark_sched.locality.waits import RESET_KEY, LocalityError, LocalityWait

__all__ = [
    "AUTO",
    "LEVELS",
    "LOCAL_LEVELS",
    "MAX_SKIPS",
    "RESET_KEY",
    "Advice",
    "LocalityError",
    "LocalityWait",
    "Recommendation",
    "StageShape",
    "achieved_locality",
    "advise",
    "advise_eventlog",
    "auto_wait",
    "cost_aware_skips",
    "cost_aware_wait",
    "expected_locality",
    "inputs_from_tasks",
    "local_fraction",
    "locality_conf",
    "miss_penalty",
    "parse_duration",
    "placed_stage_seconds",
    "predicted_locality",
    "recommend_locality_wait",
    "skips_for",
    "skips_for_wait",
    "stage_seconds",
    "wait_for_skips",
]
