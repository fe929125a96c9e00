"""The bench report: Markdown and plots rendered from bench JSON files (no Spark; the JSONs are written by hand)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from spark_sched.bench.report import (
    fill_pages,
    fmt,
    load_results,
    render_markdown,
    render_plots,
    stale_pages,
    write_report,
)
from spark_sched.errors import SparkSchedError

PNG = b"\x89PNG\r\n\x1a\n"


def new_shape() -> dict[str, Any]:
    """A result as the adaptive harness writes it: machine record, bootstrap intervals, verdicts, a null."""
    runs = [{"latency_ms": 1200.0 + 10 * r, "throughput": 50.0 + r, "failures": None} for r in range(5)]
    return {
        "experiment": "priority",
        "description": "urgent jobs | preempting batch jobs",
        "spark": "4.0.1",
        "cluster": {"workers": 2},
        "params": {"jobs": 40},
        "quick": False,
        "master": None,
        "started": "2026-11-27T16:00:00Z",
        "seconds": 812.5,
        "repetitions": 5,
        "max_repetitions": 7,
        "stopped": "maximum repetitions",
        "machine": {
            "commit": "0123456789abcdef0123456789abcdef01234567",
            "dirty": True,
            "cores": 2,
            "python": "3.11.2",
            "java": "17.0.13",
            "spark": "4.0.1",
            "load_before": [0.25, 1.5, None],
            "load_after": [0.5, 2.0, 0.75],
            "others_load": [0.1, 0.9, 0.3],
            "run_order": [["fair", 0], ["unified", 0]],
            "spark_jvms_at_start": 0,
            "quiet_wait_s": 3.0,
            "lock": "exclusive",
            "noisy": True,
            "noisy_reasons": ["load 2.0 after run 4", "another Spark JVM"],
            "wall_s": 812.5,
        },
        "variants": {
            "fair": {"latency_ms": 1234.5, "throughput": 52.0},
            "unified": {"latency_ms": 612.25, "throughput": 49.5, "p99_ms": 0.00123},
        },
        "spread": {
            "fair": {
                "latency_ms": {"min": 1200.0, "max": 1240.0, "n": 5},
                "throughput": {"min": 50, "max": 54, "n": 5},
            },
            "unified": {"latency_ms": {"min": 600.0, "max": 700.0, "n": 5}},
        },
        "runs": {"fair": runs, "unified": runs},
        "ratios": {"unified_over_fair": 0.496, "unknown": None},
        "targets": {
            "latency_halved": {"value": 0.496, "ci95": [0.45, 0.55], "worst": 0.6, "n": 5, "target": "<= 0.5",
                               "verdict": "inconclusive", "met": False},
            "throughput_kept": {"value": 0.95, "ci95": [0.9, 0.97], "worst": 0.88, "n": 5, "target": ">= 0.98",
                                "verdict": "missed", "met": False},
            "no_failures": {"value": 0, "ci95": [0, 0], "worst": 0, "n": 5, "target": "<= 0",
                            "verdict": "met", "met": True},
        },
        "measured_by": {"asked": "spark", "seen": ["spark"]},
    }


def old_shape() -> dict[str, Any]:
    """A result from before the machine record and the bootstrap: targets have only value, target, met."""
    return {
        "experiment": "kmn",
        "description": "K of N sampling",
        "spark": "4.0.0",
        "cluster": {},
        "params": {},
        "variants": {"full": {"seconds": 10.0}, "kmn": {"seconds": 7.5}},
        "ratios": {"kmn_over_full": 0.75},
        "targets": {"faster": {"value": 0.75, "target": "<= 0.8", "met": True}},
        "spread": {"full": {"seconds": {"min": 9.0, "max": 11.0, "n": 3}}},
        "repetitions": 3,
        "quick": True,
        "master": None,
        "started": "2025-01-02T03:04:05Z",
        "seconds": 120.0,
    }


def wide_shape() -> dict[str, Any]:
    """Many metrics, no targets: the variants table must split, the summary must still list the experiment."""
    metrics = {f"m{i}": float(i) for i in range(14)}
    return {"experiment": "controller_load", "variants": {"a": metrics, "b": dict(metrics)}, "repetitions": 3}


def test_pages_get_the_targets_table_of_the_json_between_their_markers(results_dir: Path, tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Page\n\n<!-- bench targets: priority -->\ntyped by hand\n<!-- end bench targets -->\n\nafter\n")
    assert stale_pages([page], [results_dir]) == [page]
    assert fill_pages([page], [results_dir]) == [page]
    text = page.read_text()
    assert "typed by hand" not in text and text.endswith("<!-- end bench targets -->\n\nafter\n")
    assert "| target | median | 95% interval | worst repetition | wanted | verdict |" in text
    assert "Source: `priority.json`" in text
    assert stale_pages([page], [results_dir]) == [] and fill_pages([page], [results_dir]) == []


def test_a_marker_naming_an_experiment_without_json_is_refused(results_dir: Path, tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    before = "<!-- bench targets: nosuch -->\n<!-- end bench targets -->\n"
    page.write_text(before)
    with pytest.raises(SparkSchedError, match=r"page.md: .*'nosuch'.*allowed: controller_load, kmn, priority"):
        fill_pages([page], [results_dir])
    assert page.read_text() == before


def test_the_documentation_pages_show_the_committed_targets() -> None:
    """A page's targets table is never typed: it must equal the rendering of docs/bench/results."""
    docs = Path(__file__).resolve().parents[1] / "docs"
    pages = sorted(docs.glob("*.md"))
    assert any("<!-- bench targets:" in p.read_text() for p in pages)
    assert stale_pages(pages, [docs / "bench" / "results"]) == [], (
        "run `spark-sched bench report docs/bench/results --out docs/bench --pages docs/<page>.md`")


def write(folder: Path, name: str, data: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(data, indent=2))
    return path


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "bench-out"
    write(folder, "priority.json", new_shape())
    write(folder, "kmn.json", old_shape())
    write(folder, "controller_load.json", wide_shape())
    write(folder, "composer-state.json", {"arms": [1, 2]})  # someone else's state: skipped in a directory
    for png in ("priority-quiet-latency-cdf.png", "kmn-extra.png", "kmnx.png", "controller_load-scaling.png"):
        (folder / png).write_bytes(PNG + b"stub")
    return folder


def rows_of(page: str, first_cell: str) -> list[list[str]]:
    """The table rows whose first cell is `first_cell`, as lists of cells."""
    rows = [line.strip("|").split(" | ") for line in page.splitlines() if line.startswith(f"| {first_cell}")]
    return [[cell.strip() for cell in row] for row in rows]


def test_summary_has_every_target_with_its_verdict_and_interval(results_dir: Path) -> None:
    results = load_results([results_dir])
    assert [r["experiment"] for r in results] == ["controller_load", "kmn", "priority"]
    page = render_markdown(results)
    assert page.startswith("# Bench results\n\nGenerated by `spark-sched bench report`")
    summary = page.split("## Summary")[1].split("\n## ")[0]
    assert "| experiment | target | median | 95% interval | worst repetition | wanted | verdict |" in summary
    assert "3 experiments, 4 targets: 1 met, 1 missed, 1 inconclusive, 1 met (median only)." in summary
    priority = rows_of(summary, "[priority](#priority)")
    assert priority == [
        ["[priority](#priority)", "latency_halved", "0.496", "0.45 to 0.55", "0.6", "<= 0.5", "inconclusive"],
        ["[priority](#priority)", "throughput_kept", "0.95", "0.9 to 0.97", "0.88", ">= 0.98", "missed"],
        ["[priority](#priority)", "no_failures", "0", "0 to 0", "0", "<= 0", "met"],
    ]
    assert rows_of(summary, "[kmn](#kmn)") == [
        ["[kmn](#kmn)", "faster", "0.75", "n/a", "n/a", "<= 0.8", "met (median only)"]
    ]
    assert rows_of(summary, "[controller_load](#controller_load)")[0][1] == "(no targets)"


def test_source_line_names_commit_noise_load_and_stop(results_dir: Path) -> None:
    page = render_markdown(load_results([results_dir]))
    lines = page.splitlines()
    new = lines[lines.index("## priority") + 2]
    assert new.startswith("Source: `priority.json`; commit `0123456` (dirty); started 2026-11-27T16:00:00Z; full run;")
    assert "5 repetitions of at most 7 (stopped: maximum repetitions)" in new
    assert "load before 0.25 to 1.5, after 0.5 to 2; others' load max 0.9" in new
    assert new.endswith("noisy: yes (load 2.0 after run 4; another Spark JVM).")
    old = lines[lines.index("## kmn") + 2]
    assert old == (
        "Source: `kmn.json`; commit n/a; started 2025-01-02T03:04:05Z; quick run; 3 repetitions; "
        "load before n/a, after n/a; others' load max n/a; noisy: n/a."
    )
    assert "urgent jobs \\| preempting batch jobs" in page  # a pipe in text does not break the page


def test_variant_tables_ratios_and_plot_links(results_dir: Path) -> None:
    page = render_markdown(load_results([results_dir]))
    assert "| variant | latency_ms | throughput | p99_ms |" in page
    assert "| fair | 1,234 (1,200 to 1,240) | 52 (50 to 54) | n/a |" in page
    assert "| unified | 612 (600 to 700) | 49.5 | 0.00123 |" in page  # no spread recorded: the median alone
    assert "| unified_over_fair | 0.496 |" in page and "| unknown | n/a |" in page
    assert "| variant | m0 | m1 | m2 | m3 | m4 | m5 |" in page and "| variant | m12 | m13 |" in page
    assert "![priority](priority.png)\n![priority-quiet-latency-cdf](priority-quiet-latency-cdf.png)" in page
    assert "![kmn-extra](kmn-extra.png)" in page and "kmnx" not in page
    assert "![controller_load-scaling](controller_load-scaling.png)" in page


def test_numbers_are_compact() -> None:
    assert [fmt(v) for v in (1234567.8, 100.4, 99.96, 0.1234, 3, -0.0, None, float("nan"))] == [
        "1,234,568", "100", "100", "0.123", "3", "0", "n/a", "n/a",
    ]


def test_same_json_gives_the_same_bytes(results_dir: Path, tmp_path: Path) -> None:
    first = render_markdown(load_results([results_dir]))
    moved = tmp_path / "elsewhere"
    for json_file in results_dir.glob("*.json"):
        write(moved, json_file.name, json.loads(json_file.read_text()))
    for png in results_dir.glob("*.png"):
        (moved / png.name).write_bytes(png.read_bytes())
    assert render_markdown(load_results([results_dir])) == first
    assert render_markdown(load_results([moved])) == first  # no absolute path, no clock in the page


def test_plots_are_pngs(results_dir: Path, tmp_path: Path) -> None:
    paths = render_plots(load_results([results_dir]), tmp_path / "plots")
    assert [p.name for p in paths] == ["controller_load.png", "kmn.png", "priority.png"]
    for path in paths:
        assert path.read_bytes()[:8] == PNG and path.stat().st_size > 5000


def test_write_report_writes_the_page_plots_and_copies_extras(results_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    paths = write_report([results_dir / "priority.json", results_dir / "kmn.json"], out)
    assert [p.name for p in paths] == [
        "README.md", "kmn.png", "priority.png", "kmn-extra.png", "priority-quiet-latency-cdf.png",
    ]
    assert (out / "README.md").read_text() == render_markdown(load_results([results_dir / "kmn.json",
                                                                             results_dir / "priority.json"]))
    assert (out / "kmn-extra.png").read_bytes() == PNG + b"stub"
    again = write_report([results_dir], results_dir, page_name="RESULTS.md")  # in place: nothing to copy
    assert [p.name for p in again] == ["RESULTS.md", "controller_load.png", "kmn.png", "priority.png"]


def one_line_error(paths: list[Path]) -> str:
    with pytest.raises(SparkSchedError) as caught:
        load_results(paths)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("spark-sched bench report: ")
    return message


def test_foreign_json_named_explicitly_is_refused(results_dir: Path) -> None:
    foreign = write(results_dir, "foreign.json", {"a": 1})
    assert len(load_results([results_dir])) == 3  # in a directory it is skipped (no "experiment")
    message = one_line_error([results_dir, foreign])
    assert str(foreign) in message and "is not a bench JSON" in message


def test_broken_files_are_refused_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    message = one_line_error([missing])
    assert str(missing) in message and "does not exist" in message
    truncated = tmp_path / "cut.json"
    truncated.write_text('{"experiment": "kmn", "variants": {')
    assert "is not valid JSON (line 1" in one_line_error([truncated])
    escaping = write(tmp_path, "bad.json", {"experiment": "../../etc/x", "variants": {}})
    assert "experiment = '../../etc/x' is not valid" in one_line_error([escaping])
    wrong = write(tmp_path, "wrong.json", {"experiment": "kmn", "variants": {"a": 1}})
    assert "variants.a = 1 is not valid" in one_line_error([wrong])
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "holds no bench JSON" in one_line_error([empty])


def test_the_same_experiment_twice_is_refused(tmp_path: Path) -> None:
    first = write(tmp_path / "a", "kmn.json", old_shape())
    second = write(tmp_path / "b", "kmn.json", old_shape())
    message = one_line_error([first, second])
    assert "is also in" in message


def test_the_documented_bench_page_is_the_report_of_the_committed_json() -> None:
    """docs/bench/README.md is never typed: it must equal what `bench report` renders from docs/bench/results."""
    docs = Path(__file__).resolve().parents[1] / "docs" / "bench"
    committed = sorted((docs / "results").glob("*.json")) if (docs / "results").is_dir() else []
    page = docs / "README.md"
    if not committed:
        assert not page.exists(), "docs/bench/README.md has figures but no JSON backs them"
        return
    assert page.read_text() == render_markdown(load_results([docs / "results"])), (
        "docs/bench/README.md is stale: run `spark-sched bench report docs/bench/results --out docs/bench`")
