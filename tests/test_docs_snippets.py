"""Every code snippet in README.md and docs/ runs in the suite, so the documentation cannot drift from the code.

- A ```python block runs in a fresh namespace from the repository root, on real Spark where it starts a
  session (local[2], the settings' master), with a temporary state directory; every session it started is
  stopped afterwards. Tracebacks name the page and its line numbers.
- In a ```sh or ```bash block, each line that starts with `spark-sched` is run when its command is in
  RUN (read-only: it reads files or computes, starts no Spark, and must exit 0) or skipped for the reason
  SKIP gives; a command in neither list fails, so a new command in the docs needs a decision here.
  Optional parts in brackets (`[--json]`) are left out; a command runs in a temporary working directory
  that links to the repository's files, so what it writes stays there.
- `<!-- snippet: skip (reason) -->` right before a block skips it; pytest reports and counts every skip
  with its reason, and a skip mark that precedes no block fails.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
PYTHON = frozenset({"python", "py"})
SHELL = frozenset({"sh", "bash", "shell"})
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,})\s*(?P<lang>[\w+-]*)")
SKIP_MARK = re.compile(r"<!--\s*snippet:\s*skip\s*\((?P<reason>.+)\)\s*-->")
OPTIONAL = re.compile(r"\s+\[[^\]]*\]")  # ` [--json]`, ` [--cores N | --master URL]`: optional parts of a usage line
PLACEHOLDER = re.compile(r"[A-Z][A-Z_]+")  # EVENTLOG, PATH, URL: a value the reader supplies

# Commands run as written (after `spark-sched`, the longest matching prefix decides): read-only.
RUN: dict[tuple[str, ...], str] = {
    ("pools", "check"): "checks a pool file",
    ("pools", "show"): "prints a pool tree and its shares",
    ("pools", "render"): "renders a pool file (into the temporary working directory)",
    ("locality", "recommend"): "the delay-scheduling model alone, no Spark",
    ("sample", "plan"): "the KMN chooser on a synthetic cluster, no Spark",
    ("bench", "--list"): "lists the experiments",
    ("measure", "jar"): "says which sparkMeasure jar measurement would use",
}
# Commands not run, each with its reason.
SKIP: dict[tuple[str, ...], str] = {
    ("sim", "run"): "runs a scenario at scale (seconds to minutes); tests/test_sim_scenarios.py runs each --quick",
    ("sim", "replay"): "needs an application's event log; tests/test_sim_replay.py replays logs real Spark wrote",
    ("demo",): "runs the unified stream/batch application for minutes",
    ("submit",): "runs a job under spark-submit",
    ("cluster",): "starts, inspects or stops a local standalone cluster",
    ("bench",): "runs experiments for many minutes, or rewrites the committed benchmark page",
    ("report",): "needs the event log of an application that ran",
    ("locality", "advise"): "needs the event log of an application that ran",
    ("locality", "report"): "needs the event log of an application that ran",
    ("locality", "recommend", "--from-eventlog"): "needs the event log of an application that ran",
    ("measure", "build-jar"): "compiles sparkMeasure from its sources (make sparkmeasure-jar does)",
    ("composer", "show"): "reads the state a composer run left",
}


@dataclass(frozen=True)
class Snippet:
    """One fenced block of a page: where it starts, its language, its code and its skip reason (if marked)."""

    page: str
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    skip: str | None

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def _mark_before(lines: list[str], fence: int) -> str | None:
    """The reason of a skip mark on the last non-blank line before the fence, if there is one."""
    for line in reversed(lines[:fence]):
        if line.strip():
            mark = SKIP_MARK.fullmatch(line.strip())
            return mark["reason"].strip() if mark else None
    return None


def page_snippets(path: Path) -> list[Snippet]:
    """Every fenced block of a Markdown page, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Snippet] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence = opening["fence"]
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip().startswith(fence)
                    and not lines[j].strip().strip("`")), len(lines))
        code = textwrap.dedent("\n".join(lines[i + 1:end]))
        page = path.relative_to(ROOT).as_posix()
        found.append(Snippet(page, i + 1, opening["lang"].lower(), code, _mark_before(lines, i)))
        i = end + 1
    return found


SNIPPETS = [s for page in PAGES for s in page_snippets(page)]
PYTHON_SNIPPETS = [s for s in SNIPPETS if s.lang in PYTHON]


@dataclass(frozen=True)
class Command:
    """One `spark-sched` line of a shell block."""

    snippet: Snippet
    line: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.snippet.page}:{self.line}"

    def args(self) -> list[str]:
        """The arguments after `spark-sched`, without the comment and the optional parts."""
        return shlex.split(OPTIONAL.sub("", self.text), comments=True)[1:]


def shell_commands() -> list[Command]:
    """Every line of a shell block that runs `spark-sched`, in page order."""
    found = []
    for snippet in SNIPPETS:
        if snippet.lang not in SHELL:
            continue
        for offset, text in enumerate(snippet.code.splitlines(), start=1):
            if text.strip().startswith("spark-sched ") or text.strip() == "spark-sched":
                found.append(Command(snippet, snippet.line + offset, text.strip()))
    return found


COMMANDS = shell_commands()


def decide(args: list[str]) -> tuple[bool, str] | None:
    """(run?, reason) from the longest prefix of `args` in RUN or SKIP; None when neither lists the command."""
    if args and args[-1] in ("--help", "-h"):
        return True, "help text"
    rules = [(prefix, True, why) for prefix, why in RUN.items()] + [(p, False, why) for p, why in SKIP.items()]
    matching = [rule for rule in rules if tuple(args[: len(rule[0])]) == rule[0]]
    if not matching:
        return None
    _, run, why = max(matching, key=lambda rule: len(rule[0]))
    return run, why


def _stop_sessions() -> None:
    """Stop the active SparkSession and SparkContext, if any (the next snippet builds its own session)."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()
    context = SparkContext._active_spark_context
    if context is not None:
        context.stop()


@pytest.mark.parametrize("snippet", PYTHON_SNIPPETS, ids=[s.where for s in PYTHON_SNIPPETS])
def test_python_snippet_runs(snippet: Snippet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if snippet.skip:
        pytest.skip(f"{snippet.where}: {snippet.skip}")
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("SPARK_SCHED_STATE_DIR", str(tmp_path / "state"))
    # Line numbers in a traceback are the page's own: the code is compiled after as many blank lines.
    code = compile("\n" * snippet.line + snippet.code, str(ROOT / snippet.page), "exec")
    _stop_sessions()
    try:
        exec(code, {"__name__": "__snippet__"})
    finally:
        _stop_sessions()


def _spark_sched() -> list[str]:
    script = Path(sys.executable).parent / "spark-sched"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "spark_sched.cli.main"]


def _workdir(tmp_path: Path) -> Path:
    """A working directory whose entries link to the repository's, so commands read its files and write here."""
    work = tmp_path / "work"
    work.mkdir()
    for entry in ROOT.iterdir():
        if not entry.name.startswith("."):
            (work / entry.name).symlink_to(entry)
    return work


@pytest.mark.parametrize("command", COMMANDS, ids=[c.where for c in COMMANDS])
def test_cli_snippet_runs(command: Command, tmp_path: Path) -> None:
    if command.snippet.skip:
        pytest.skip(f"{command.where}: {command.snippet.skip}")
    args = command.args()
    decision = decide(args)
    assert decision is not None, f"{command.where}: `{command.text}` is in neither RUN nor SKIP of {__file__}"
    run, why = decision
    if not run:
        pytest.skip(f"{command.where}: {why}")
    placeholders = [a for a in args if PLACEHOLDER.fullmatch(a)]
    assert not placeholders, f"{command.where}: {placeholders} stand for the reader's values: list it in SKIP"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPARK_SCHED_")}
    env["SPARK_SCHED_STATE_DIR"] = str(tmp_path / "state")
    done = subprocess.run([*_spark_sched(), *args], cwd=_workdir(tmp_path), env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, f"{command.where}: `{command.text}` exited {done.returncode}:\n{done.stderr}"


def test_the_pages_have_snippets_of_both_kinds() -> None:
    """A guard for the collector itself: it finds the README's blocks and the pages' commands."""
    assert len(PYTHON_SNIPPETS) >= 10 and len(COMMANDS) >= 20
    assert any(s.page == "README.md" for s in PYTHON_SNIPPETS)


def test_every_skip_mark_precedes_a_block() -> None:
    marks = sum(len(SKIP_MARK.findall(page.read_text(encoding="utf-8"))) for page in PAGES)
    assert marks == sum(1 for s in SNIPPETS if s.skip), "a `<!-- snippet: skip (...) -->` mark precedes no block"


def test_every_listed_rule_is_used() -> None:
    """RUN and SKIP name only commands the pages use, so neither list outlives the docs."""
    used = {prefix for c in COMMANDS for prefix in (*RUN, *SKIP) if tuple(c.args()[: len(prefix)]) == prefix}
    assert set(RUN) | set(SKIP) == used, f"unused: {sorted((set(RUN) | set(SKIP)) - used)}"
