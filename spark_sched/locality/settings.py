"""The `locality` setting: "" | "auto" | "auto:<task duration>" | "<duration>" | a LocalityWait, as Spark conf."""

from __future__ import annotations

import re

from spark_sched.errors import SettingsError
from spark_sched.locality.recommend import Recommendation, recommend_locality_wait
from spark_sched.locality.waits import LocalityWait

AUTO = "auto"
DEFAULT_AUTO_TASK_SECONDS = 1.0
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)?$")


def parse_duration(text: str) -> float | None:
    """Seconds of "1.5s", "300ms" or "2" (seconds); None when it is not a duration."""
    match = _DURATION.match(text.strip())
    if not match:
        return None
    value = float(match.group(1))
    return value / 1000 if match.group(2) == "ms" else value


def auto_wait(nodes: int, slots_per_node: int, task_seconds: float = DEFAULT_AUTO_TASK_SECONDS,
              target: float = 0.95) -> Recommendation:
    """What `locality = "auto"` means: the target model for one wave over data cached once (R = 1, N = S).

    No miss cost is known before a run, so "auto" uses the target mode; `spark-sched
    locality advise` chooses by cost from a run's event log.
    """
    tasks = nodes * slots_per_node
    return recommend_locality_wait(nodes, slots_per_node, 1, tasks, task_seconds, target)


def locality_conf(value: str | LocalityWait | Recommendation, cluster: tuple[int, int] | None,
                  source: str = "configure() keyword") -> dict[str, str]:
    """Spark conf for a `locality` setting.

    "" leaves Spark's waits alone; "3s"/"500ms"/"0" sets every level; a LocalityWait
    or Recommendation sets its levels; "auto" (or "auto:<task duration>", default 1 s)
    asks the model with `cluster` = (nodes, slots per node) of the master in use.
    """
    if isinstance(value, Recommendation):
        return value.wait.spark_conf()
    if isinstance(value, LocalityWait):
        return value.spark_conf()
    text = str(value).strip()
    if not text:
        return {}
    allowed = '"", "auto", "auto:<task duration>", a duration such as "3s" or "500ms", or a LocalityWait'
    if text == AUTO or text.startswith(AUTO + ":"):
        task = parse_duration(text[len(AUTO) + 1:]) if ":" in text else DEFAULT_AUTO_TASK_SECONDS
        if task is None or task <= 0:
            raise SettingsError("locality.wait", value, allowed, source)
        if cluster is None:
            raise SettingsError("locality.wait", value, "a duration or a LocalityWait (\"auto\" needs local[N] "
                                "or a spark-sched cluster to know nodes and slots)", source)
        return auto_wait(cluster[0], cluster[1], task).wait.spark_conf()
    seconds = parse_duration(text)
    if seconds is None:
        raise SettingsError("locality.wait", value, allowed, source)
    return LocalityWait(seconds, seconds, seconds).spark_conf()
