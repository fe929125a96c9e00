"""Reports in sparkMeasure's style (text), and as JSON and CSV, from one set of records.

Each names the Spark that wrote the records. A figure the records cannot give (a
metric that Spark did not record) reads "not available (why)" in text and null with
`<name>_reason` beside it in JSON; a time the records lack is an empty CSV cell, not
0 (which a spreadsheet shows as 1970).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from spark_sched.figures import REASON_SUFFIX, json_figure
from spark_sched.measure.frames import aggregate, jobs_frame, latency_percentiles, stages_frame, tasks_frame
from spark_sched.measure.records import Records
from spark_sched.measure.schema import AGGREGATE_NAMES
from spark_sched.sparkversions import UNKNOWN_REASON, not_recorded, parse

# Epoch-ms columns of the CSV tables; 0 means the source had no such time.
TIME_COLUMNS = ("submissionTime", "completionTime", "launchTime", "finishTime")
# Durations and the two times each is the difference of: without both times there is no duration.
SPAN_COLUMNS = {"stageDuration": ("submissionTime", "completionTime"),
                "taskDuration": ("launchTime", "finishTime"),
                "duration": ("submissionTime", "completionTime")}


def _duration(ms: int) -> str:
    """Durations as sparkMeasure prints them (after Spark's UIUtils.formatDuration)."""
    if ms < 100:
        return f"{ms} ms"
    seconds = ms / 1000
    if seconds < 1:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    if minutes < 60:
        return f"{minutes:.1f} min" if minutes < 10 else f"{minutes:.0f} min"
    return f"{minutes / 60:.1f} h"


def _bytes(n: int) -> str:
    """Byte counts as sparkMeasure prints them (a unit once the value reaches two of it)."""
    for power, unit in ((4, "TB"), (3, "GB"), (2, "MB"), (1, "KB")):
        if n >= 2 * 1024**power:
            return f"{n / 1024**power:.1f} {unit}"
    return f"{n} Bytes"


def _line(name: str, value: int | None, reason: str = "") -> str:
    """`name => value (human units)`, units chosen from the name the way sparkMeasure chooses them."""
    if value is None:
        return f"{name} => not available ({reason})"
    lowered = name.lower()
    if "time" in lowered or "duration" in lowered:
        return f"{name} => {value} ({_duration(value)})"
    if "bytes" in lowered or "size" in lowered:
        return f"{name} => {value} ({_bytes(value)})"
    return f"{name} => {value}"


def version_reason(records: Records) -> str:
    """Why the records name no Spark version."""
    return UNKNOWN_REASON if records.source == "eventlog" else f"source {records.source!r} does not name it"


def unrecorded_reasons(records: Records) -> dict[str, str]:
    """Each metric the records' Spark did not record -> why it has no value ("Spark 2.0 does not record ...")."""
    version = parse(records.spark_version)
    return {name: not_recorded(version, what) for name, what in records.unrecorded.items()}


def text_report(records: Records, tag_prefix: str | None = None) -> str:
    """sparkMeasure's "Aggregated Spark stage metrics" block, then wasted work, locality and job latency."""
    agg, reasons = aggregate(records), unrecorded_reasons(records)
    lines = [f"Source: {records.source}" + (f" (application {records.app_id})" if records.app_id else "")]
    version = records.spark_version or f"not available ({version_reason(records)})"
    lines.append(f"Spark version: {version}")
    lines.append(f"Window (wall time) = {records.window_ms} ms ({_duration(records.window_ms)})")
    lines += [f"Note: {note}" for note in records.notes]
    lines += ["", "Aggregated Spark stage metrics:"]
    lines += [_line(name, agg[name], reasons.get(name, "")) for name in AGGREGATE_NAMES]
    lines += ["", "Work lost to killed and failed task attempts:"]
    lines += [_line(name, agg[name]) for name in ("numKilledTasks", "numFailedTasks", "wastedTaskTime")]
    lines += ["", "Locality of successful tasks:"]
    lines += [f"{level} => {share:.1%}" for level, share in agg["localityFraction"].items()]
    if tag_prefix is not None:
        lines += ["", f"Job latency by tag '{tag_prefix}*' (ms):"]
        groups = latency_percentiles(records, tag_prefix)
        if not groups:
            lines.append("(no ended jobs carry such a tag)")
        for group, stats in groups.items():
            lines.append(
                f"{group}: n={stats['count']:.0f} p50={stats['p50']:.0f} p95={stats['p95']:.0f} p99={stats['p99']:.0f}"
            )
    return "\n".join(lines) + "\n"


def json_report(records: Records, tag_prefix: str | None = None) -> dict[str, Any]:
    """The aggregate (and, given a prefix, job latency percentiles) as a JSON-ready dict."""
    result: dict[str, Any] = {"source": records.source, "windowTime": records.window_ms}
    result.update(json_figure("sparkVersion", records.spark_version or None, version_reason(records)))
    result["aggregate"] = _with_reasons(aggregate(records), unrecorded_reasons(records))
    if records.app_id:
        result["application"] = records.app_id
    if records.notes:
        result["notes"] = list(records.notes)
    if tag_prefix is not None:
        result["latency"] = {"tagPrefix": tag_prefix, "groups": latency_percentiles(records, tag_prefix)}
    return result


def _with_reasons(agg: dict[str, Any], reasons: dict[str, str]) -> dict[str, Any]:
    """The aggregate with `<name>_reason` right after each figure that has no value."""
    out: dict[str, Any] = {}
    for name, value in agg.items():
        out[name] = value
        if value is None and name in reasons:
            out[name + REASON_SUFFIX] = reasons[name]
    return out


def json_text(records: Records, tag_prefix: str | None = None) -> str:
    return json.dumps(json_report(records, tag_prefix), indent=2, sort_keys=False, allow_nan=False) + "\n"


def blank_missing_times(frame: pd.DataFrame) -> pd.DataFrame:
    """Times the source lacks (0) and durations without both their times, as empty cells (nullable integers)."""
    for column, (start, end) in SPAN_COLUMNS.items():
        if {column, start, end} <= set(frame.columns):
            known = (frame[start] > 0) & (frame[end] > 0)
            frame[column] = pd.to_numeric(frame[column], errors="coerce").where(known).astype("Int64")
    for column in TIME_COLUMNS:
        if column in frame:
            values = pd.to_numeric(frame[column], errors="coerce")
            frame[column] = values.where(values > 0).astype("Int64")
    return frame


def write_csv(records: Records, directory: str | Path) -> list[Path]:
    """tasks.csv, stages.csv and jobs.csv in `directory` (tuples of tags and stage ids joined by ';').

    Times the records lack, and metrics their Spark did not record, are empty cells.
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    tables = {"tasks": tasks_frame(records), "stages": stages_frame(records), "jobs": jobs_frame(records)}
    for name, frame in tables.items():
        for column in ("jobTags", "stageIds"):
            if column in frame:
                frame[column] = frame[column].map(lambda v: ";".join(str(x) for x in v))
        blank_missing_times(frame)
        path = out / f"{name}.csv"
        frame.to_csv(path, index=False)
        paths.append(path)
    return paths
