"""The documentation's scenario figures are the committed `sim run` JSON, rendered; a page cannot drift from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from spark_sched.cli.main import cli
from spark_sched.errors import SparkSchedError
from spark_sched.sim.scenarios.pages import fill_text, stale_pages

ROOT = Path(__file__).resolve().parents[1]


def test_the_simulation_page_shows_the_committed_scenario_runs() -> None:
    assert stale_pages([ROOT / "docs" / "sim.md"], ROOT / "docs" / "sim") == []


def test_a_marker_naming_a_scenario_without_json_is_one_error_naming_the_page_and_the_choices(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    text = "<!-- sim scenario: nosuch -->\n<!-- end sim scenario -->\n"
    with pytest.raises(SparkSchedError, match=r"page\.md: sim scenario marker names 'nosuch'.*allowed: none"):
        fill_text(text, page, tmp_path)


def test_sim_run_fills_a_page_from_the_json_it_just_wrote(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("before\n<!-- sim scenario: delay -->\nold figures\n<!-- end sim scenario -->\nafter\n")
    result = CliRunner().invoke(cli, ["sim", "run", "delay", "--quick", "--hosts", "20", "--out", str(tmp_path),
                                      "--pages", str(page)])
    assert result.exit_code == 0, result.output
    text = page.read_text()
    assert "old figures" not in text and text.startswith("before\n") and text.endswith("after\n")
    assert "`spark-sched sim run delay --hosts 20 --seed 0 --quick`" in text
    assert "| wait 0 |" in text
    assert stale_pages([page], tmp_path) == []
