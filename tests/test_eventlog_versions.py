"""Event logs of any Spark: the version carried through, settings only of that version, strict JSON, exact sums.

Spark-free: the logs are small ones built in the shapes Spark 1.x-4.x write them
(`eventlog_shapes`), and every command runs in-process through the `spark-sched` group.
"""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cli_run import run_cli, strict_json
from eventlog_shapes import APP_START, CPU_NS, Shape, Task, app_events, default_tasks, stage_totals, write_log

from spark_sched import sparkversions
from spark_sched.cli.jsonout import json_text
from spark_sched.locality.advise import Advice
from spark_sched.measure import accumulables, eventlog
from spark_sched.measure.frames import aggregate
from spark_sched.sparkversions import LEGACY_RESET

# Spark 1.2 kept its version beside the log (no LogStart) and posted no executor events in local mode.
SHAPES = {
    "1.2": Shape(None, executors=False),
    "1.4": Shape("1.4.0", executors=False),
    "2.0": Shape("2.0.2"),
    "2.1": Shape("2.1.0-SNAPSHOT"),
    "3.0": Shape("3.0.1"),
    "3.1": Shape("3.1.3"),
    "4.0": Shape("4.0.1"),
}
WITH_RESET = {"3.1", "4.0"}


def _log(tmp_path: Path, name: str, **kwargs: Any) -> Path:
    return write_log(tmp_path / name / "app-1", app_events(SHAPES[name], **kwargs))


# ---- the version ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "short"), [("2.1.0-SNAPSHOT", "2.1"), ("4.0.0-preview2", "4.0"), ("1.4.0", "1.4"),
                                             ("3.5", "3.5"), (" 3.1.1 ", "3.1")])
def test_versions_are_read_as_the_log_writes_them(text: str, short: str) -> None:
    version = sparkversions.parse(text)
    assert version is not None and version.short == short and str(version) == text.strip()


@pytest.mark.parametrize("text", ["", "unknown", "v3", None, 3.1])
def test_what_is_not_a_version_is_none(text: Any) -> None:
    assert sparkversions.parse(text) is None


def test_the_reset_setting_exists_from_3_1_only() -> None:
    conf = {"spark.locality.wait": "1s", LEGACY_RESET: "true"}
    assert sparkversions.settings_for(sparkversions.parse("3.1.0"), conf) == conf
    for old in ("3.0.3", "2.4.8", "1.6.0"):
        assert sparkversions.settings_for(sparkversions.parse(old), conf) == {"spark.locality.wait": "1s"}
    assert sparkversions.settings_for(None, conf) == {"spark.locality.wait": "1s"}, "unknown: not assumed"


def test_report_names_the_version(tmp_path: Path) -> None:
    text = run_cli("report", str(_log(tmp_path, "2.1")))
    assert "Spark version: 2.1.0-SNAPSHOT" in text
    document = strict_json(run_cli("report", str(_log(tmp_path, "2.1")), "--json"))
    assert document["sparkVersion"] == "2.1.0-SNAPSHOT"
    unknown = strict_json(run_cli("report", str(_log(tmp_path, "1.2")), "--json"))
    assert unknown["sparkVersion"] is None and "SparkListenerLogStart" in unknown["sparkVersion_reason"]
    assert "Spark version: not available (the log has no SparkListenerLogStart" in run_cli("report", str(_log(tmp_path,
                                                                                                       "1.2")))


# ---- settings that exist in the run's Spark ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_advice_names_only_settings_of_the_runs_spark(name: str, tmp_path: Path) -> None:
    log = _log(tmp_path, name)
    advice = strict_json(run_cli("locality", "advise", str(log), "--json"))
    text = run_cli("locality", "advise", str(log))
    conf_lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert advice["mode"] == "cost" and advice["spark_conf"]["spark.locality.wait.node"] != "0ms"
    if name in WITH_RESET:
        assert advice["spark_conf"][LEGACY_RESET] == "true" and f"{LEGACY_RESET}=true" in conf_lines
        assert advice["version_note"] == ""
    else:
        assert LEGACY_RESET not in advice["spark_conf"] and not any(LEGACY_RESET in line for line in conf_lines)
        assert "restarts the locality wait at every task launched at the level" in advice["version_note"]
        assert f"# note: {advice['version_note']}" in text
    recommended = strict_json(run_cli("locality", "recommend", "--from-eventlog", str(log), "--json"))
    assert (LEGACY_RESET in recommended["spark_conf"]) == (name in WITH_RESET)


def test_old_spark_says_what_it_does_instead(tmp_path: Path) -> None:
    note = strict_json(run_cli("locality", "advise", str(_log(tmp_path, "2.1")), "--json"))["version_note"]
    assert note.startswith(f"Spark 2.1 has no {LEGACY_RESET} (it came in Spark 3.1)")
    unknown = strict_json(run_cli("locality", "advise", str(_log(tmp_path, "1.2")), "--json"))["version_note"]
    assert "does not name its Spark" in unknown and f"on Spark 3.1 or later also set {LEGACY_RESET}=true" in unknown


@pytest.mark.parametrize("name", ["1.4", "2.1", "3.0"])
def test_report_does_not_blame_a_setting_old_spark_lacks(name: str, tmp_path: Path) -> None:
    text = run_cli("report", str(_log(tmp_path, name)))
    assert "legacyResetOnTaskLaunch=false" not in text
    assert f"Note: Spark {name} has no {LEGACY_RESET} (it came in Spark 3.1)" in text


def test_report_keeps_its_note_for_spark_3_1_and_later(tmp_path: Path) -> None:
    assert "kept Spark's default timer reset (legacyResetOnTaskLaunch=false)" in run_cli("report", str(_log(tmp_path,
                                                                                                        "4.0")))


def test_the_model_replays_old_spark_with_its_own_timer_reset(tmp_path: Path) -> None:
    from spark_sched.sim.trace import load_trace

    old, new = load_trace(_log(tmp_path, "2.1")), load_trace(_log(tmp_path, "4.0"))
    assert old.settings.reset_on_launch and any("replayed with the legacy reset" in n for n in old.notes)
    assert not new.settings.reset_on_launch
    assert not load_trace(_log(tmp_path, "1.2")).settings.reset_on_launch, "an unnamed Spark is not guessed"


# ---- figures an older log cannot give ----------------------------------------------------------------------------


def test_a_metric_old_spark_did_not_record_is_not_available(tmp_path: Path) -> None:
    log = _log(tmp_path, "2.0")
    text = run_cli("report", str(log))
    assert ("executorCpuTime => not available (Spark 2.0 does not record Executor CPU Time; Spark records it since "
            "2.1)") in text
    document = strict_json(run_cli("report", str(log), "--json"))["aggregate"]
    assert document["executorCpuTime"] is None and document["executorCpuTime_reason"].startswith("Spark 2.0 does")
    assert document["shuffleRemoteBytesReadToDisk"] is None, "Remote Bytes Read To Disk came in 2.3"
    assert document["executorRunTime"] == sum(t.run_ms for t in default_tasks())
    run_cli("report", str(log), "--csv", str(tmp_path / "csv"))
    with (tmp_path / "csv" / "tasks.csv").open() as f:
        assert {row["executorCpuTime"] for row in csv.DictReader(f)} == {""}


def test_peak_memory_of_spark_2_comes_from_the_task_accumulables(tmp_path: Path) -> None:
    records = eventlog.load(_log(tmp_path, "2.1"))
    assert "peakExecutionMemory" not in records.unrecorded
    assert aggregate(records)["peakExecutionMemory"] == sum(t.peak for t in default_tasks())


def test_spark_1_groups_written_only_for_io_that_happened(tmp_path: Path) -> None:
    """Spark 1.x writes "Shuffle Read Metrics" only for tasks that read a shuffle: none is 0, not unknown."""
    records = eventlog.load(_log(tmp_path, "1.4"))
    assert "shuffleRemoteBytesRead" not in records.unrecorded and "recordsRead" not in records.unrecorded
    assert set(records.unrecorded) == {"executorCpuTime", "executorDeserializeCpuTime", "peakExecutionMemory"}
    agg = aggregate(records)
    assert agg["shuffleRemoteBytesRead"] == 0 and agg["recordsRead"] == 80


# ---- slots without executor events -------------------------------------------------------------------------------


def test_slots_are_inferred_from_what_ran_at_once(tmp_path: Path) -> None:
    log = _log(tmp_path, "1.2")  # 8 tasks launched together on two hosts, no executor events
    advice = strict_json(run_cli("locality", "advise", str(log), "--json"))
    assert advice["slots"] == 8 and advice["slots_inferred"] is True
    assert "S=8 slots (inferred: the most tasks running at once)" in run_cli("locality", "advise", str(log))
    assert "S=8 slots (inferred" in run_cli("report", str(log))
    counted = strict_json(run_cli("locality", "advise", str(_log(tmp_path, "2.1")), "--json"))
    assert counted["slots"] == 4 and counted["slots_inferred"] is False  # two executors of 2 cores


def test_inferred_slots_count_overlap_not_tasks(tmp_path: Path) -> None:
    """Tasks one after another on one slot: 1 slot, however many tasks."""
    tasks = [Task(i, "host1", "NODE_LOCAL", APP_START + 100 + 500 * i, 400) for i in range(6)]
    log = _log(tmp_path, "1.2", tasks=tasks)
    assert strict_json(run_cli("locality", "advise", str(log), "--json"))["slots"] == 1


# ---- strict JSON, and no "nan" in text ---------------------------------------------------------------------------


def _no_located_stage() -> list[list[Task]]:
    return [[Task(i, f"host{i % 2 + 1}", "PROCESS_LOCAL", APP_START + 100, 300) for i in range(4)]]


def _cached_without_preferences() -> list[list[Task]]:
    first = [Task(i, f"host{i % 2 + 1}", "PROCESS_LOCAL", APP_START + 100, 300) for i in range(4)]
    second = [Task(10 + i, f"host{i % 2 + 1}", "NO_PREF", APP_START + 2000, 300) for i in range(4)]
    return [first, second]


CASES = {
    "located": lambda s: app_events(s),
    "no-located-stage": lambda s: app_events(s, stages=_no_located_stage()),
    "cached-no-preference": lambda s: app_events(s, stages=_cached_without_preferences(), cached=True),
    "no-miss": lambda s: app_events(s, tasks=[t for t in default_tasks() if t.locality != "ANY"]),
}
COMMANDS = {
    "report": ["report", "{log}", "--json"],
    "report-tags": ["report", "{log}", "--json", "--tag-prefix", "x"],
    "advise": ["locality", "advise", "{log}", "--json"],
    "advise-target": ["locality", "advise", "{log}", "--json", "--target", "0.9"],
    "locality-report": ["locality", "report", "{log}", "--json"],
    "recommend": ["locality", "recommend", "--from-eventlog", "{log}", "--json"],
    "sim-replay": ["sim", "replay", "{log}", "--json", "--seeds", "1"],
}


@pytest.mark.parametrize("shape", ["1.2", "2.1", "4.0"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_every_json_output_is_strict_and_text_has_no_nan(shape: str, case: str, tmp_path: Path) -> None:
    log = write_log(tmp_path / "app-1", CASES[case](SHAPES[shape]))
    for name, argv in COMMANDS.items():
        args = [a.replace("{log}", str(log)) for a in argv]
        document = strict_json(run_cli(*args))
        assert document, name
        text = run_cli(*[a for a in args if a != "--json"])
        assert not re.search(r"\bnan\b", text, re.IGNORECASE), (name, text)


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_missing_advice_figure_is_null_with_its_reason(case: str, tmp_path: Path) -> None:
    log = write_log(tmp_path / "app-1", CASES[case](SHAPES["4.0"]))
    advice = strict_json(run_cli("locality", "advise", str(log), "--json"))
    for key in Advice.__dataclass_fields__:
        if key in advice and advice[key] is None:
            assert advice[f"{key}_reason"], key
    for row in [*advice["stages"], *advice["achieved_vs_predicted"]]:
        for key, value in row.items():
            assert value is not None or row[f"{key}_reason"], (key, row)
    if case == "no-located-stage":
        assert advice["predicted_locality"] is None and advice["run_locality"] is None
        assert advice["predicted_locality_reason"] == "no stage read cached or located data"
    if case == "cached-no-preference":
        assert advice["achieved_vs_predicted"][0]["achieved"] is None
        assert "no task of the stage had a locality preference" in advice["achieved_vs_predicted"][0]["achieved_reason"]


def test_locality_report_without_preferences_is_null_with_a_reason(tmp_path: Path) -> None:
    log = write_log(tmp_path / "app-1", app_events(SHAPES["4.0"], stages=_cached_without_preferences(), cached=True))
    levels = strict_json(run_cli("locality", "report", str(log), "--json"))
    stage = next(row for row in levels["stages"] if row["stageId"] == 1)
    assert stage["local_fraction"] is None and "NO_PREF" in stage["local_fraction_reason"]
    assert "(-: no task had a locality preference" in run_cli("locality", "report", str(log))


def test_the_json_writer_is_strict() -> None:
    document = {"a": np.int64(3), "b": np.float64("nan"), "c": (1.5, math.inf), "d": np.bool_(True), 4: None}
    assert strict_json(json_text(document)) == {"a": 3, "b": None, "c": [1.5, None], "d": True, "4": None}


# ---- CSV: times the log lacks are empty ---------------------------------------------------------------------------


def test_csv_leaves_times_the_log_lacks_empty(tmp_path: Path) -> None:
    events = app_events(SHAPES["4.0"], ended=False)  # the job never ended: no completion time
    log = write_log(tmp_path / "app-1.inprogress", events)
    out = tmp_path / "csv"
    run_cli("report", str(log), "--csv", str(out))
    with (out / "jobs.csv").open() as f:
        job = next(csv.DictReader(f))
    assert job["submissionTime"] == str(APP_START + 50)
    assert job["completionTime"] == "" and job["duration"] == ""
    for name in ("tasks.csv", "stages.csv", "jobs.csv"):
        with (out / name).open() as f:
            for row in csv.DictReader(f):
                for column in ("submissionTime", "completionTime", "launchTime", "finishTime"):
                    assert row.get(column) != "0", (name, column)


def test_csv_leaves_a_stage_without_completion_empty(tmp_path: Path) -> None:
    events = [e for e in app_events(SHAPES["4.0"]) if e["Event"] != "SparkListenerStageCompleted"]
    out = tmp_path / "csv"
    run_cli("report", str(write_log(tmp_path / "app-1", events)), "--csv", str(out))
    with (out / "stages.csv").open() as f:
        stage = next(csv.DictReader(f))
    assert stage["submissionTime"] == str(APP_START + 60)
    assert stage["completionTime"] == "" and stage["stageDuration"] == ""


# ---- exact sums ----------------------------------------------------------------------------------------------------


def test_ns_metrics_are_summed_in_ns_and_converted_once(tmp_path: Path) -> None:
    tasks = [Task(i, "host1", "NODE_LOCAL", APP_START + 100, 5) for i in range(11)]  # 11 x 0.36 ms of CPU
    records = eventlog.load(_log(tmp_path, "4.0", tasks=tasks))
    cpu_ns = sum(CPU_NS + i for i in range(11))
    assert aggregate(records)["executorCpuTime"] == cpu_ns // 1_000_000 == 4  # floored per task it was 0
    assert records.stages[0]["executorCpuTime"] == 4 and records.stages[0]["executorCpuTimeNs"] == cpu_ns
    assert strict_json(run_cli("report", str(_log(tmp_path, "4.0", tasks=tasks)), "--json"))["aggregate"][
        "executorCpuTime"] == 4


@pytest.mark.parametrize("name", ["2.1", "3.0", "4.0"])
def test_stage_totals_equal_the_totals_spark_wrote(name: str, tmp_path: Path) -> None:
    assert accumulables.check(_log(tmp_path, name)) == []


def test_a_stage_total_off_from_sparks_own_is_listed(tmp_path: Path) -> None:
    events = app_events(SHAPES["4.0"])
    done = next(e for e in events if e["Event"] == "SparkListenerStageCompleted")
    cpu = next(a for a in done["Stage Info"]["Accumulables"] if a["Name"] == "internal.metrics.executorCpuTime")
    cpu["Value"] += 7
    [difference] = accumulables.check(write_log(tmp_path / "app-1", events))
    assert (difference.stage_id, difference.attempt_id, difference.metric) == (0, 0, "executorCpuTime")
    assert difference.spark - difference.ours == 7 and not difference.explained
    assert "stage 0.0 executorCpuTime" in str(difference) and "(ns)" in str(difference)


def test_a_task_ending_after_its_stage_explains_its_difference(tmp_path: Path) -> None:
    events = app_events(SHAPES["4.0"])
    late = next(e for e in events if e["Event"] == "SparkListenerTaskEnd")
    events.remove(late)
    done = next(e for e in events if e["Event"] == "SparkListenerStageCompleted")
    done["Stage Info"]["Accumulables"] = stage_totals([e for e in events if e["Event"] == "SparkListenerTaskEnd"])
    events.insert(events.index(done) + 1, late)  # Spark's totals had not seen it when the stage completed
    differences = accumulables.check(write_log(tmp_path / "app-1", events))
    assert differences and all(d.explained and d.late for d in differences)
    assert {d.metric for d in differences} >= {"executorRunTime", "executorCpuTime"}


def test_logs_before_spark_2_have_no_totals_to_compare(tmp_path: Path) -> None:
    assert accumulables.check(_log(tmp_path, "1.4")) == []
