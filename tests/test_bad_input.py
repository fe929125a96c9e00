"""Every malformed input in tests/data/bad/ is refused by the CLI: one line per problem, exit 2, nothing left behind.

The cases live in `tests/data/bad/cases.toml` (file, command line, what the
message must name). Each runs in-process through the `spark-sched` click group,
in an empty output directory and a private state directory; afterwards both must
hold exactly what they held before (no half-rendered file, no state directory
made), and the input file must be unchanged. A few run through the real console
entry point too, so exit code and stderr are those a shell sees.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from spark_sched.cli.main import cli
from spark_sched.compat import tomllib
from spark_sched.composer import CompositionError, load_compositions

REPO = Path(__file__).resolve().parent.parent
BAD = Path(__file__).resolve().parent / "data" / "bad"
CASES: list[dict[str, Any]] = tomllib.loads((BAD / "cases.toml").read_text(encoding="utf-8"))["case"]
# Composition profiles have no command of their own (the composer reads them in the driver): checked by the library.
COMPOSITIONS = {
    "syntax.toml": ["TOML syntax", "line 1", "valid TOML"],
    "deep_arrays.toml": ["TOML syntax", "nested too deeply"],
    "no_profiles.toml": ["profiles = None", "a table"],
    "point_unknown.toml": ["profiles.coarse.granulrity = 'natural'", "pool, preemption, sampling, granularity"],
    "plugin_unknown.toml": ["profiles.coarse.preemption = 'teleport'", "kill, lb, none, requeue"],
    "factor_negative.toml": ["profiles.coarse.granularity.factor = -1.0", "a number > 0"],
    "prior_unknown_profile.toml": ["priors.default = 'missing'", "coarse"],
    "discount_above_one.toml": ["learning.discount = 1.5", "(0, 1]"],
}


def _snapshot(root: Path) -> dict[str, str]:
    """Every file under root with a hash of its bytes (directories as entries too)."""
    if not root.exists():
        return {}
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        found[rel] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
    return found


def _argv(case: dict[str, Any], out: Path) -> list[str]:
    file = str(BAD / case["file"]) if "file" in case else ""
    return [a.replace("{file}", file).replace("{out}", str(out)).replace("{repo}", str(REPO)) for a in case["argv"]]


def _prepare(case: dict[str, Any], out: Path) -> None:
    if "copy_to" in case:
        target = Path(case["copy_to"].replace("{out}", str(out)))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(BAD / case["file"], target)


def test_corpus_covers_every_input_class() -> None:
    """At least 40 malformed files, across every file kind the toolkit reads, and each file used by a case."""
    files = sorted(p.relative_to(BAD).as_posix() for p in BAD.rglob("*") if p.is_file() and p.name != "cases.toml")
    assert len(files) >= 40
    used = {case["file"] for case in CASES if "file" in case} | {f"compositions/{name}" for name in COMPOSITIONS}
    assert set(files) <= used, f"corpus files no case runs: {sorted(set(files) - used)}"
    kinds = {f.split("/")[0] for f in files}
    assert {"pools", "topology", "settings", "eventlog", "state", "args", "compositions", "composer"} <= kinds
    assert {".toml", ".xml"} <= {Path(f).suffix for f in files if f.startswith("pools/")}
    assert len({case["id"] for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_bad_input_is_refused_in_one_line(case: dict[str, Any], tmp_path: Path) -> None:
    out, state = tmp_path / "out", tmp_path / "state"
    out.mkdir()
    _prepare(case, out)
    before, source = _snapshot(out), _snapshot(BAD)
    result = CliRunner(env={"SPARK_SCHED_STATE_DIR": str(state)}).invoke(cli, _argv(case, out))
    if not isinstance(result.exception, SystemExit):  # a traceback: show it
        raise AssertionError(f"{case['id']}: {result.exception!r}") from result.exception
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == case.get("lines", 1), lines
    assert "Traceback" not in result.output
    for fragment in case["expect"]:
        assert fragment in result.stderr, f"{fragment!r} not in {result.stderr!r}"
    if "file" in case and "{file}" in " ".join(case["argv"]):
        assert all(Path(case["file"]).name in line for line in lines), "every line names the file"
    assert _snapshot(out) == before, "nothing written, nothing half-written"
    assert not state.exists(), "no state directory made for a refused input"
    assert _snapshot(BAD) == source


@pytest.mark.parametrize("name", sorted(COMPOSITIONS))
def test_bad_composition_profile_is_one_clear_error(name: str) -> None:
    path = BAD / "compositions" / name
    with pytest.raises(CompositionError) as refused:
        load_compositions(path)
    text = str(refused.value)
    assert "\n" not in text and text.startswith(f"{path}: ")
    assert all(fragment in text for fragment in COMPOSITIONS[name]), text


@pytest.mark.parametrize("case_id", ["pool xml billion laughs", "cluster state truncated (status)"])
def test_console_script_exits_2_without_traceback(case_id: str, tmp_path: Path) -> None:
    """The same refusal through a real process: what a shell sees."""
    case = next(c for c in CASES if c["id"] == case_id)
    out = tmp_path / "out"
    out.mkdir()
    _prepare(case, out)
    done = subprocess.run(
        [sys.executable, "-m", "spark_sched.cli.main", *_argv(case, out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "SPARK_SCHED_STATE_DIR": str(tmp_path / "state")},
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert all(fragment in done.stderr for fragment in case["expect"])


def test_render_replaces_the_output_whole(tmp_path: Path) -> None:
    """A good render over an existing file swaps it in one rename: no temp file stays, old content is gone."""
    target = tmp_path / "fairscheduler.xml"
    target.write_text("old")
    result = CliRunner().invoke(cli, ["pools", "render", str(REPO / "conf" / "pools.toml"), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text().startswith("<?xml") and target.read_text().rstrip().endswith("</allocations>")
    assert [p.name for p in tmp_path.iterdir()] == ["fairscheduler.xml"]
    bad = CliRunner().invoke(cli, ["pools", "render", str(BAD / "pools" / "weight_zero.toml"), "-o", str(target)])
    assert bad.exit_code == 2
    assert target.read_text().startswith("<?xml"), "a refused input leaves the previous good file as it was"
