"""Spark's own records after the fact: the event log, read once, the way the History Server reads it.

Spark 4 writes rolling, zstd-compressed logs by default:
`<dir>/eventlog_v2_<app>/events_1_<app>.zstd, events_2_<app>.zstd, ...`; older or
reconfigured applications write one file (`<app>`, `<app>.zstd`, `<app>.inprogress`).
Both layouts are accepted, compressed (zstd) or not.

A log is decoded once per report: `read(path, *scans)` feeds every event to
measurement's replay (`replay.RecordsScan`, the records every report stands on)
and to each scan the caller brings (the locality analysis is one), so a report
that needs several analyses still reads the file once. The reader knows no
analysis beyond the records: scans are small objects with `event(e)` and `result()`.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import zstandard

from spark_sched.measure.records import Records
from spark_sched.measure.replay import RecordsScan, task_record
from spark_sched.measure.rest import MeasureError

__all__ = ["EventLog", "Refusal", "Scan", "event_files", "load", "read", "read_events", "task_record"]

ROLLING_PREFIX = "eventlog_v2_"
_ROLLING_FILE = re.compile(r"^events_(\d+)_")
_SUPPORTED = ("uncompressed", "zstd")
_UNSUPPORTED_CODECS = (".lz4", ".lzf", ".snappy")

def _is_log_file(path: Path) -> bool:
    return path.is_file() and not path.name.startswith(".") and not path.name.startswith("appstatus_")


def _rolling_files(directory: Path) -> list[Path]:
    files = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _ROLLING_FILE.match(p.name)) and p.is_file()]
    return [p for _, p in sorted(files)]


def event_files(path: str | Path) -> list[Path]:
    """The files of one application's event log, in order, from a file, a rolling log dir or a dir of one log."""
    given = Path(path).expanduser()
    if given.is_file():
        return [given]
    if not given.is_dir():
        raise MeasureError(
            f"spark-sched report: EVENTLOG_PATH = '{given}' is not valid; allowed: an event log file or directory"
        )
    rolling = _rolling_files(given)
    if rolling:
        return rolling
    candidates = sorted(p for p in given.iterdir() if p.name.startswith(ROLLING_PREFIX) or _is_log_file(p))
    if len(candidates) == 1:
        return event_files(candidates[0])
    found = ", ".join(p.name for p in candidates) or "none"
    raise MeasureError(
        f"spark-sched report: EVENTLOG_PATH = '{given}' is not valid; allowed: one application's event log "
        f"(file or eventlog_v2_* directory); found: {found}"
    )


def _open_text(path: Path) -> io.TextIOBase:
    name = path.name.removesuffix(".inprogress")
    if name.endswith((".zstd", ".zst")):
        reader = zstandard.ZstdDecompressor().stream_reader(path.open("rb"), read_across_frames=True)
        return io.TextIOWrapper(reader, encoding="utf-8")
    if name.endswith(_UNSUPPORTED_CODECS):
        raise MeasureError(
            f"spark-sched report: {path}: compression = '{name.rsplit('.', 1)[1]}' is not valid; allowed: "
            f"{', '.join(_SUPPORTED)} (set spark.eventLog.compression.codec=zstd)"
        )
    return path.open(encoding="utf-8")


def read_events(files: Iterable[Path]) -> Iterator[dict[str, Any]]:
    """Every event of the log, in order; a torn last line of a log still being written is skipped."""
    for path in files:
        try:
            with _open_text(path) as text:
                for line in text:
                    if not line.strip():
                        continue
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError:
                        continue
        except (OSError, ValueError, zstandard.ZstdError) as exc:  # ValueError: also bytes that are not UTF-8
            raise MeasureError(f"spark-sched report: {path}: cannot be read as an event log ({exc})") from exc


class Scan(Protocol):
    """An analysis of one pass over a log: fed every event in order, asked for its `result()` after the last."""

    def event(self, e: dict[str, Any]) -> None:
        """Take one event; raising AttributeError, KeyError, TypeError or ValueError refuses it (see `Refusal`)."""

    def result(self) -> Any:
        """What the scan found, once the pass is over."""


# What a scan raises on a line that is JSON but not a Spark event as the listener writes it.
NOT_AN_EVENT = (AttributeError, KeyError, TypeError, ValueError)
EVENT_LINES = "the JSON lines Spark's event logging listener writes"


@dataclass(frozen=True)
class Refusal:
    """The first event a scan could not take: its number in the log, its `Event` name and why."""

    number: int
    kind: Any
    error: Exception

    @classmethod
    def of(cls, number: int, event: Any, error: Exception) -> Refusal:
        kind = event.get("Event", "?") if isinstance(event, dict) else type(event).__name__
        return cls(number, kind, error)

    def __str__(self) -> str:
        return (f"event {self.number} = {self.kind!r} is not valid ({type(self.error).__name__}: {self.error}); "
                f"allowed: {EVENT_LINES}")


@dataclass
class EventLog:
    """One pass over one application's log: the path as given, its files, its records, and the scans' refusals."""

    path: Path
    files: list[Path]
    records: Records
    refusals: list[tuple[Scan, Refusal]] = field(default_factory=list)

    def refusal(self, scan: Scan) -> Refusal | None:
        """Why `scan` stopped early (the first event it refused), or None when it saw the whole log."""
        return next((refusal for fed, refusal in self.refusals if fed is scan), None)


def _is_listener_event(event: Any) -> bool:
    name = event.get("Event") if isinstance(event, dict) else None
    return isinstance(name, str) and name.startswith("SparkListener")


def _feed(live: list[Scan], number: int, event: Any, refusals: list[tuple[Scan, Refusal]]) -> list[Scan]:
    """Give `event` to every scan still fed; the scans that refuse it leave the pass, their refusal kept."""
    still = []
    for scan in live:
        try:
            scan.event(event)
        except NOT_AN_EVENT as exc:
            refusals.append((scan, Refusal.of(number, event, exc)))
        else:
            still.append(scan)
    return still


def read(path: str | Path, *scans: Scan) -> EventLog:
    """Read one application's log once, feeding every event to measurement's replay and to each of `scans`.

    The replay refusing an event ends the pass with one MeasureError naming the event: without
    records no report stands. A scan refusing one is fed no further and its refusal is kept
    (`EventLog.refusal`), so its analysis can say why it is not available while the records stand.
    A file in which no line is a Spark listener event is not an event log, and is refused.
    """
    replay, live = RecordsScan(), list(scans)
    refusals: list[tuple[Scan, Refusal]] = []
    files = event_files(path)
    spark_events = 0
    for number, event in enumerate(read_events(files), 1):
        try:
            replay.event(event)
        except NOT_AN_EVENT as exc:
            raise MeasureError(f"spark-sched report: {path}: {Refusal.of(number, event, exc)}") from exc
        spark_events += _is_listener_event(event)
        live = _feed(live, number, event, refusals)
    if not spark_events:
        raise MeasureError(f"spark-sched report: {path} is not a Spark event log: no line in it is a Spark listener "
                           "event; allowed: the log Spark writes with spark.eventLog.enabled=true")
    return EventLog(Path(path), files, replay.result(), refusals)


def load(path: str | Path) -> Records:
    """One application's records from its event log (file, rolling directory, or a directory holding one log)."""
    return read(path).records
