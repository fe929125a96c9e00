"""Real event logs of several Spark versions: `report` and `locality` give Spark's own counts and totals.

The corpus is `tests/data/eventlogs/<spark version>/<log>`, each log with `<log>.expected.json`
beside it (format: that directory's README.md). The expected values come from `fold` here: a
few lines over the log's JSON lines that share no code with the toolkit's reader, so a
reader bug cannot agree with itself. Each log is checked three ways: the expected file still
says what the fold finds; `report --json --csv` gives the same counts and totals; and the
report's stage totals equal the totals Spark wrote into each stage's completion
(`accumulables.check`). `locality advise/report --json` must parse strictly and name only
settings of that Spark. With no log in the corpus, the checks are skipped.

Write a log's expected file with `python tests/test_eventlog_corpus.py LOG [LOG ...]`.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zstandard
from cli_run import run_cli, strict_json

CORPUS = Path(__file__).resolve().parent / "data" / "eventlogs"
EXPECTED_SUFFIX = ".expected.json"
NS_FIELDS = frozenset({"Executor CPU Time", "Executor Deserialize CPU Time",
                       "Shuffle Write Metrics/Shuffle Write Time"})
# Spark's task metric fields (a group and its field joined by "/") the fold sums.
FIELDS = (
    "Executor Run Time", "Executor CPU Time", "Executor Deserialize Time", "Executor Deserialize CPU Time",
    "Result Serialization Time", "JVM GC Time", "Memory Bytes Spilled", "Disk Bytes Spilled", "Peak Execution Memory",
    "Input Metrics/Bytes Read", "Input Metrics/Records Read", "Output Metrics/Bytes Written",
    "Output Metrics/Records Written", "Shuffle Read Metrics/Fetch Wait Time", "Shuffle Read Metrics/Total Records Read",
    "Shuffle Read Metrics/Local Bytes Read", "Shuffle Read Metrics/Remote Bytes Read",
    "Shuffle Write Metrics/Shuffle Write Time", "Shuffle Write Metrics/Shuffle Bytes Written",
    "Shuffle Write Metrics/Shuffle Records Written",
)
# The report's names for them (sparkMeasure's): the link between Spark's fields and the report.
REPORT_NAMES = {
    "Executor Run Time": "executorRunTime", "Executor CPU Time": "executorCpuTime",
    "Executor Deserialize Time": "executorDeserializeTime",
    "Executor Deserialize CPU Time": "executorDeserializeCpuTime",
    "Result Serialization Time": "resultSerializationTime", "JVM GC Time": "jvmGCTime",
    "Memory Bytes Spilled": "memoryBytesSpilled", "Disk Bytes Spilled": "diskBytesSpilled",
    "Peak Execution Memory": "peakExecutionMemory", "Input Metrics/Bytes Read": "bytesRead",
    "Input Metrics/Records Read": "recordsRead", "Output Metrics/Bytes Written": "bytesWritten",
    "Output Metrics/Records Written": "recordsWritten", "Shuffle Read Metrics/Fetch Wait Time": "shuffleFetchWaitTime",
    "Shuffle Read Metrics/Total Records Read": "shuffleRecordsRead",
    "Shuffle Read Metrics/Local Bytes Read": "shuffleLocalBytesRead",
    "Shuffle Read Metrics/Remote Bytes Read": "shuffleRemoteBytesRead",
    "Shuffle Write Metrics/Shuffle Write Time": "shuffleWriteTime",
    "Shuffle Write Metrics/Shuffle Bytes Written": "shuffleBytesWritten",
    "Shuffle Write Metrics/Shuffle Records Written": "shuffleRecordsWritten",
}
RESET = "spark.locality.wait.legacyResetOnTaskLaunch"


# ---- the fold: the log's JSON lines, read here ------------------------------------------------------------------


def _files(log: Path) -> list[Path]:
    if log.is_file():
        return [log]
    numbered = [(int(m.group(1)), p) for p in log.iterdir() if (m := re.match(r"^events_(\d+)_", p.name))]
    return [p for _, p in sorted(numbered)]


def _lines(log: Path) -> Iterator[str]:
    for path in _files(log):
        raw = path.read_bytes()
        if path.name.removesuffix(".inprogress").endswith((".zstd", ".zst")):
            with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw), read_across_frames=True) as reader:
                raw = reader.read()
        yield from raw.decode("utf-8").splitlines()


def _events(log: Path) -> Iterator[dict[str, Any]]:
    for line in _lines(log):
        try:
            event = json.loads(line)
        except json.JSONDecodeError:  # the torn last line of a log still being written
            continue
        if isinstance(event, dict):
            yield event


def _value(metrics: dict[str, Any], field: str) -> int | None:
    data: Any = metrics
    for key in field.split("/"):
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return int(data)


def _status(event: dict[str, Any]) -> str:
    reason = (event.get("Task End Reason") or {}).get("Reason")
    return "SUCCESS" if reason == "Success" else "KILLED" if reason == "TaskKilled" else "FAILED"


def fold(log: Path) -> dict[str, Any]:
    """What the log holds, counted from its JSON lines: the expected file's content."""
    version, jobs, attempts = None, set(), set()
    tasks = {"SUCCESS": 0, "FAILED": 0, "KILLED": 0}
    successful: dict[str, int | None] = dict.fromkeys(FIELDS)
    stages: dict[str, dict[str, int]] = {}
    for event in _events(log):
        kind = event.get("Event")
        if kind == "SparkListenerLogStart":
            version = event.get("Spark Version")
        elif kind == "SparkListenerJobStart":
            jobs.add(event["Job ID"])
        elif kind == "SparkListenerStageSubmitted":
            attempts.add((event["Stage Info"]["Stage ID"], event["Stage Info"].get("Stage Attempt ID", 0)))
        elif kind == "SparkListenerTaskEnd":
            status, metrics = _status(event), event.get("Task Metrics") or {}
            tasks[status] += 1
            key = f"{event['Stage ID']}.{event.get('Stage Attempt ID', 0)}"
            stage = stages.setdefault(key, dict.fromkeys(FIELDS, 0))
            for field in FIELDS:
                value = _value(metrics, field)
                if value is None:
                    continue
                stage[field] += value
                if status == "SUCCESS":
                    successful[field] = (successful[field] or 0) + value
    return {"spark_version": version, "jobs": len(jobs), "stage_attempts": len(attempts), "tasks": tasks,
            "successful": successful, "stages": stages}


# ---- the corpus ---------------------------------------------------------------------------------------------------


def corpus_logs(root: Path = CORPUS) -> list[Path]:
    """Every log under root/<version>/: files and eventlog_v2_* directories, not the expected files."""
    if not root.is_dir():
        return []
    return [entry for version in sorted(p for p in root.iterdir() if p.is_dir())
            for entry in sorted(version.iterdir())
            if not entry.name.endswith(EXPECTED_SUFFIX) and not entry.name.startswith(".")]


LOGS = corpus_logs()
PARAMS = [pytest.param(log, id=f"{log.parent.name}/{log.name}") for log in LOGS] or [
    pytest.param(None, marks=pytest.mark.skip(reason=f"no event logs in {CORPUS} yet (see its README.md)"))]


def expected_of(log: Path) -> dict[str, Any]:
    path = log.parent / (log.name + EXPECTED_SUFFIX)
    assert path.is_file(), f"{log} has no {path.name}: write it with `python {Path(__file__).name} {log}`"
    return json.loads(path.read_text())


def _in_ms(field: str, total: int) -> int:
    return total // 1_000_000 if field in NS_FIELDS else total


def _has_reset(version: str | None) -> bool:
    match = re.match(r"^(\d+)\.(\d+)", version or "")
    return bool(match) and (int(match.group(1)), int(match.group(2))) >= (3, 1)


@pytest.mark.parametrize("log", PARAMS)
def test_expected_file_is_what_the_log_holds(log: Path) -> None:
    assert fold(log) == expected_of(log)
    assert str(expected_of(log)["spark_version"]).startswith(log.parent.name), "the log sits under its Spark version"


@pytest.mark.parametrize("log", PARAMS)
def test_report_counts_and_totals_are_sparks_own(log: Path, tmp_path: Path) -> None:
    expected = expected_of(log)
    document = strict_json(run_cli("report", str(log), "--json", "--csv", str(tmp_path)))
    agg = document["aggregate"]
    assert document["sparkVersion"] == expected["spark_version"]
    assert agg["numStages"] == expected["stage_attempts"]
    assert (agg["numTasks"], agg["numFailedTasks"], agg["numKilledTasks"]) == tuple(
        expected["tasks"][s] for s in ("SUCCESS", "FAILED", "KILLED"))
    for field, total in expected["successful"].items():
        reported = agg[REPORT_NAMES[field]]
        if total is None:  # no task had the field: Spark did not record it
            assert reported is None and agg[REPORT_NAMES[field] + "_reason"], field
        else:
            assert reported == _in_ms(field, total), field
    with (tmp_path / "jobs.csv").open() as f:
        assert len(list(csv.DictReader(f))) == expected["jobs"]
    with (tmp_path / "stages.csv").open() as f:
        rows = {f"{r['stageId']}.{r['attemptId']}": r for r in csv.DictReader(f)}
    for key, totals in expected["stages"].items():
        assert key in rows, f"stage attempt {key} is not in stages.csv"
        for field, total in totals.items():
            cell = rows[key][REPORT_NAMES[field]]
            assert cell == "" or int(cell) == _in_ms(field, total), (key, field)
    for name in ("tasks.csv", "stages.csv", "jobs.csv"):
        with (tmp_path / name).open() as f:
            for row in csv.DictReader(f):
                assert all(row.get(c) != "0" for c in ("submissionTime", "completionTime", "launchTime", "finishTime"))


@pytest.mark.parametrize("log", PARAMS)
def test_stage_totals_equal_the_totals_spark_wrote(log: Path) -> None:
    from spark_sched.measure import accumulables

    unexplained = [str(d) for d in accumulables.check(log) if not d.explained]
    assert not unexplained, unexplained


@pytest.mark.parametrize("log", PARAMS)
def test_locality_is_strict_json_and_names_only_that_sparks_settings(log: Path) -> None:
    version = expected_of(log)["spark_version"]
    advice = strict_json(run_cli("locality", "advise", str(log), "--json"))
    assert advice["spark_version"] == version
    assert (RESET in advice["spark_conf"]) <= _has_reset(version)
    assert strict_json(run_cli("locality", "report", str(log), "--json"))["application"]["tasks"] == sum(
        expected_of(log)["tasks"].values())
    assert "Traceback" not in run_cli("locality", "advise", str(log))


def main(paths: list[str]) -> None:
    """Write `<log>.expected.json` beside each log given, from the fold."""
    for name in paths:
        log = Path(name)
        target = log.parent / (log.name + EXPECTED_SUFFIX)
        target.write_text(json.dumps(fold(log), indent=2) + "\n")
        print(target)


if __name__ == "__main__":
    main(sys.argv[1:])
