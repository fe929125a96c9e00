"""Target tables inside the documentation, refreshed from the bench JSON so no page keeps a typed figure.

A page marks where an experiment's targets belong with a pair of comments:

    <!-- bench targets: locality -->
    ...the source line and the targets table, as `spark-sched bench report` renders them...
    <!-- end bench targets -->

`fill_pages` replaces what lies between each pair with the rendering of that
experiment's JSON (found among the files given), so a page's figures are those
of the committed results; `stale_pages` says which pages differ from their
filled form (the documentation's test uses it). A marker that names an
experiment with no JSON is an error naming the page, the name and the choices.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from spark_sched.bench.report.cells import Result, table
from spark_sched.bench.report.load import WHO, load_results
from spark_sched.bench.report.markdown import TARGET_COLUMNS, source_line, target_rows
from spark_sched.errors import SparkSchedError, printable
from spark_sched.files import write_atomically

_BLOCK = re.compile(r"(<!-- bench targets: (?P<name>[\w.-]+) -->\n)(?P<body>.*?)(<!-- end bench targets -->)", re.S)


def targets_block(result: Result) -> str:
    """The source line and the targets table of one experiment: what a page shows of a run."""
    lines = [source_line(result), "", *table(TARGET_COLUMNS, target_rows(result))]
    return "\n".join(lines) + "\n"


def fill_text(text: str, results: Mapping[str, Result], page: Path) -> str:
    """`text` with every marked block replaced by its experiment's targets block."""

    def one(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in results:
            choices = ", ".join(sorted(results)) or "none (no bench JSON given)"
            problem = f"{page}: bench targets marker names experiment '{name}', which has no JSON; allowed: {choices}"
            raise SparkSchedError(printable(f"{WHO}: {problem}"))
        return f"{match[1]}\n{targets_block(results[name])}\n{match[4]}"

    return _BLOCK.sub(one, text)


def _by_name(sources: Sequence[Path]) -> dict[str, Result]:
    return {str(r["experiment"]): r for r in load_results(sources)}


def _refilled(pages: Sequence[Path], sources: Sequence[Path]) -> list[tuple[Path, str]]:
    """Each page whose marked blocks differ from the JSON's rendering, with its filled text (all checked first)."""
    results = _by_name(sources)
    texts = [(page, page.read_text()) for page in pages]
    filled = [(page, fill_text(text, results, page), text) for page, text in texts]
    return [(page, new) for page, new, old in filled if new != old]


def stale_pages(pages: Sequence[Path], sources: Sequence[Path]) -> list[Path]:
    """The pages whose marked blocks differ from the rendering of the JSON in `sources`."""
    return [page for page, _ in _refilled(pages, sources)]


def fill_pages(pages: Sequence[Path], sources: Sequence[Path]) -> list[Path]:
    """Rewrite the marked blocks of `pages` from the JSON in `sources`; return the pages that changed.

    Every page is filled before any is written, so a bad marker in one leaves all of them as they were.
    """
    changed = _refilled(pages, sources)
    for page, text in changed:
        write_atomically(page, text, f"{WHO}: --pages")
    return [page for page, _ in changed]
