"""The unified application's variants: which policy each runs and which pools its HIGH and LOW classes use.

All variants' pools live in one pool file (`UNIFIED_CLASSES`), so every variant
runs in the same application on the same warm executors.
"""

from __future__ import annotations

from spark_sched.priority.classes import HIGH, LOW, PriorityClass

VARIANTS = ("isolated", "fifo", "fair", "fair_minshare", "kill", "requeue", "lb", "suspend")
POLICY_OF = {"isolated": "none", "fifo": "none", "fair": "none", "fair_minshare": "none", "kill": "kill",
             "requeue": "requeue", "lb": "lb", "suspend": "suspend"}
OVERSUBSCRIBED = frozenset({"suspend"})  # variants that need more task slots than cores

# Pools for every variant in one file, so all variants share one application.
FIFO_HIGH = PriorityClass("high", 1, "default", preemptible=False)
FIFO_LOW = PriorityClass("low", 2, "default")
FAIR_HIGH = PriorityClass("high", 1, "high_weighted", weight=1000, min_share=0, preemptible=False)
UNIFIED_CLASSES = (HIGH, LOW, FAIR_HIGH)


def classes_for(variant: str) -> tuple[PriorityClass, PriorityClass]:
    """HIGH and LOW classes of a variant: one FIFO pool, FAIR by weight only, or the minShare pools.

    `fair_minshare` is what a careful Spark user configures without a controller:
    the stream's pool at weight 1000 with a minShare (the controller's pools, no preemption).
    """
    if variant == "fifo":
        return FIFO_HIGH, FIFO_LOW
    if variant == "fair":
        return FAIR_HIGH, LOW
    return HIGH, LOW

