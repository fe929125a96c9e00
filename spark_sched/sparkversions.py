"""Which Spark wrote an event log, and what that Spark has: one place for the facts that differ by version.

Users point the toolkit at logs from whatever Spark they run, so advice must not name
a setting the run's Spark does not have, and a report must not turn a metric that
Spark did not record into a zero. A log names its Spark in its first event
(`SparkListenerLogStart`, "Spark Version", written since Spark 1.3; before, Spark kept
the version in a file beside the log, so a log without it is "unknown", never guessed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

LOG_START = "SparkListenerLogStart"
LEGACY_RESET = "spark.locality.wait.legacyResetOnTaskLaunch"

# Settings not every Spark has: the first (major, minor) that has each.
SETTING_SINCE: dict[str, tuple[int, int]] = {
    LEGACY_RESET: (3, 1),  # SPARK-18886; before it, Spark restarted the wait at every launch at the level
}

# Task metrics that came in later, by the field name the event log gives them: the first (major, minor) with each.
METRIC_SINCE: dict[str, tuple[int, int]] = {
    "Executor CPU Time": (2, 1),
    "Executor Deserialize CPU Time": (2, 1),
    "Remote Bytes Read To Disk": (2, 3),
}

# Spark 2.x keeps a task's peak execution memory only among its accumulables (Task Info), leaving zeros out;
# its Task Metrics carry it since 3.0 (SPARK-29273).
TASK_ACCUMULABLES_SINCE = (2, 0)

UNKNOWN_REASON = f"the log has no {LOG_START} event, where Spark names itself; Spark writes it first since 1.3"

_VERSION = re.compile(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class SparkVersion:
    """A Spark release as a log names it: "2.1.0-SNAPSHOT" is 2.1, "4.0.0-preview2" is 4.0."""

    major: int
    minor: int
    text: str

    @property
    def short(self) -> str:
        return f"{self.major}.{self.minor}"

    def at_least(self, since: tuple[int, int]) -> bool:
        return (self.major, self.minor) >= since

    def __str__(self) -> str:
        return self.text


def parse(text: Any) -> SparkVersion | None:
    """The version in a log's "Spark Version" field; None for anything that is not "<major>.<minor>[...]"."""
    if not isinstance(text, str):
        return None
    match = _VERSION.match(text)
    if match is None:
        return None
    return SparkVersion(int(match.group(1)), int(match.group(2)), text.strip())


def log_version(event: Any) -> str | None:
    """The "Spark Version" text of a `SparkListenerLogStart` event; None for any other event."""
    if isinstance(event, dict) and event.get("Event") == LOG_START:
        value = event.get("Spark Version")
        return value if isinstance(value, str) else ""
    return None


def named(version: SparkVersion | None) -> str:
    """"Spark 2.1", or what to call a Spark the log does not name."""
    return f"Spark {version.short}" if version else "the Spark that wrote this log"


def has_setting(version: SparkVersion | None, key: str) -> bool:
    """Whether the run's Spark has the setting `key`; a setting that came in late is not assumed when unknown."""
    since = SETTING_SINCE.get(key)
    if since is None:
        return True
    return version is not None and version.at_least(since)


def settings_for(version: SparkVersion | None, conf: dict[str, str]) -> dict[str, str]:
    """`conf` without the settings the run's Spark does not have."""
    return {key: value for key, value in conf.items() if has_setting(version, key)}


def not_recorded(version: SparkVersion | None, what: str) -> str:
    """Why a metric has no value: the run's Spark did not record it (and since when Spark does, when known)."""
    since = METRIC_SINCE.get(what)
    later = f"; Spark records it since {since[0]}.{since[1]}" if since else ""
    return f"{named(version)} does not record {what}{later}"


def timer_reset_note(version: SparkVersion | None) -> str:
    """How the run's Spark restarts the locality wait, where that differs from setting the reset key; "" for 3.1+."""
    if version is not None and version.at_least(SETTING_SINCE[LEGACY_RESET]):
        return ""
    legacy = "restarts the locality wait at every task launched at the level, as the model assumes"
    if version is not None:
        return f"{named(version)} has no {LEGACY_RESET} (it came in Spark 3.1): it {legacy}"
    return (f"the log does not name its Spark (no {LOG_START} event: a Spark before 1.3, or a log without its "
            f"start); Spark before 3.1 {legacy}; on Spark 3.1 or later also set {LEGACY_RESET}=true")
