"""`locality` point: Spark's locality wait. Spark reads it once per application, so this is an application choice.

`spark_conf()` is what `Composition.application_conf()` hands to the session
builder; at run time the composer only offers compositions whose wait matches
the running application's (`matches`).
"""

from __future__ import annotations

from spark_sched.composer.points import LocalityPlugin, Param
from spark_sched.locality import LocalityWait

SPARK_DEFAULT_WAIT_S = 3.0


class Locality(LocalityPlugin):
    """A wait in seconds, the same at every level; Spark's default unless a subclass says otherwise."""

    def wait_s(self) -> float:
        return SPARK_DEFAULT_WAIT_S

    def spark_conf(self) -> dict[str, str]:
        return {}

    def matches(self, app_conf: dict[str, str]) -> bool:
        """True when the application runs with this wait (node level, where delay scheduling matters)."""
        raw = app_conf.get("spark.locality.wait.node") or app_conf.get("spark.locality.wait") or "3s"
        return abs(_seconds(raw) - self.wait_s()) < 1e-3


class DefaultWait(Locality):
    """Spark's default, 3 s per level."""


class Wait(Locality):
    """The same wait of `seconds` at every level (0: take any free slot at once)."""

    params = {"seconds": Param(float, "seconds >= 0", lambda v: v >= 0, 0.0)}

    def wait_s(self) -> float:
        return float(self.values["seconds"])

    def spark_conf(self) -> dict[str, str]:
        s = self.wait_s()
        return LocalityWait(process=s, node=s, rack=s).spark_conf()


def _seconds(raw: str) -> float:
    """Spark's time strings ("3s", "100ms", "0") in seconds."""
    text = raw.strip().lower()
    for suffix, scale in (("ms", 0.001), ("s", 1.0), ("min", 60.0), ("m", 60.0)):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * scale
    return float(text) / 1000.0 if text else SPARK_DEFAULT_WAIT_S
