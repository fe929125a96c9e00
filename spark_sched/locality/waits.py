"""Spark's three locality waits as one value object, and the Spark conf it stands for."""

from __future__ import annotations

import math
from dataclasses import dataclass

from spark_sched.errors import SparkSchedError
from spark_sched.sparkversions import LEGACY_RESET

RESET_KEY = LEGACY_RESET  # Spark 3.1 and later only (see `sparkversions`)
WAIT_KEYS = ("spark.locality.wait", "spark.locality.wait.process", "spark.locality.wait.node",
             "spark.locality.wait.rack")


class LocalityError(SparkSchedError):
    """A model input out of range, or an event log the advice cannot use (one line: what, value, allowed)."""


@dataclass(frozen=True)
class LocalityWait:
    """Spark's three locality waits, in seconds (`spark.locality.wait.process/node/rack`).

    `reset_on_launch`: restart the wait whenever a task launches locally, as delay
    scheduling counts skips (Spark's `spark.locality.wait.legacyResetOnTaskLaunch`).
    Since Spark 3.1 the timer restarts only after a round of offers with no rejection,
    so under load a short wait runs out for the whole rest of the task set; the
    model's W = D*T/S assumes the per-launch reset. None leaves Spark's default.
    """

    process: float = 3.0
    node: float = 3.0
    rack: float = 3.0
    reset_on_launch: bool | None = None

    def __post_init__(self) -> None:
        for level in ("process", "node", "rack"):
            value = getattr(self, level)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
                raise LocalityError(f"LocalityWait.{level} = {value!r} is not valid; allowed: seconds >= 0")

    def spark_conf(self) -> dict[str, str]:
        """The Spark conf for these waits (whole milliseconds; Spark reads "1234ms")."""
        conf = {
            "spark.locality.wait": ms(max(self.process, self.node, self.rack)),
            "spark.locality.wait.process": ms(self.process),
            "spark.locality.wait.node": ms(self.node),
            "spark.locality.wait.rack": ms(self.rack),
        }
        if self.reset_on_launch is not None:
            conf[RESET_KEY] = "true" if self.reset_on_launch else "false"
        return conf

    def at(self, level: str) -> float:
        """The wait of one level ("process", "node" or "rack")."""
        return float(getattr(self, level))


def ms(seconds: float) -> str:
    return f"{math.ceil(round(seconds * 1000, 6))}ms"


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def spark_seconds(text: str | None, default: float) -> float:
    """A Spark time conf value ("3s", "500ms", "2", "1min") in seconds; bare numbers are Spark's ms for waits."""
    if text is None or not str(text).strip():
        return default
    value = str(text).strip().lower()
    for unit in sorted(_UNITS, key=len, reverse=True):
        if value.endswith(unit) and value[: -len(unit)].replace(".", "", 1).isdigit():
            return float(value[: -len(unit)]) * _UNITS[unit]
    if value.replace(".", "", 1).isdigit():
        return float(value) / 1000  # spark.locality.wait without a unit is read as milliseconds
    return default


def waits_from_conf(conf: dict[str, str]) -> LocalityWait:
    """The waits a Spark conf sets (levels fall back to `spark.locality.wait`, default 3 s), as Spark reads them."""
    base = spark_seconds(conf.get("spark.locality.wait"), 3.0)
    reset = conf.get(RESET_KEY)
    return LocalityWait(
        spark_seconds(conf.get("spark.locality.wait.process"), base),
        spark_seconds(conf.get("spark.locality.wait.node"), base),
        spark_seconds(conf.get("spark.locality.wait.rack"), base),
        None if reset is None else reset.strip().lower() == "true",
    )
