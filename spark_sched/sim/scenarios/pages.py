"""The documentation's scenario tables, filled from committed `sim run` JSON, never typed.

A page marks where a scenario's figures go:

    <!-- sim scenario: delay -->
    ...the command, the variants' rows, the paper-vs-model table, the plots...
    <!-- end sim scenario -->

`fill_text` replaces what lies between each pair with the rendering of
`<results>/<name>.json`; `stale_pages` says which pages differ from their filled
form (the documentation's test uses it), as the bench pages do for bench JSON.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from spark_sched.errors import SparkSchedError
from spark_sched.files import write_atomically

_BLOCK = re.compile(r"(<!-- sim scenario: (?P<name>[\w.-]+) -->\n)(?P<body>.*?)(<!-- end sim scenario -->)", re.S)


def cell(name: str, value: Any) -> str:
    """One figure as the tables show it: shares and localities as %, seconds with 2 decimals."""
    if value is None or not math.isfinite(float(value)):
        return "-"
    value = float(value)
    if "locality" in name or "share" in name:
        return f"{value:.1%}"
    if name.endswith("_s"):
        return f"{value:.2f}"
    return f"{value:,.0f}" if value.is_integer() else f"{value:,.2f}"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def scenario_block(result: Mapping[str, Any], page: Path, results_dir: Path) -> str:
    """The command that produced `result`, its rows, the paper-vs-model table and its plots, as Markdown."""
    name, rows = str(result["scenario"]), result["rows"]
    quick = " --quick" if result.get("quick") else ""
    lines = [f"`spark-sched sim run {name} --hosts {result['hosts']} --seed {result['seed']}{quick}` "
             f"({float(result.get('wall_s') or 0):.1f} s):", ""]
    columns = list(dict.fromkeys(k for row in rows.values() for k in row))
    lines += [_row(["variant", *columns]), _row(["---"] * (len(columns) + 1))]
    lines += [_row([variant, *(cell(c, row.get(c)) for c in columns)]) for variant, row in rows.items()]
    if result.get("comparison"):
        lines += ["", _row(["figure", "paper", "model", "note"]), _row(["---"] * 4)]
        lines += [_row([e["figure"], e["paper"], e["model"], e["note"]]) for e in result["comparison"]]
    for plot in result.get("plots", []):
        target = Path(os.path.relpath(results_dir / Path(plot).name, page.parent)).as_posix()
        lines += ["", f"![{name}: {Path(plot).stem}]({target})"]
    return "\n".join(lines) + "\n"


def fill_text(text: str, page: Path, results_dir: Path) -> str:
    """`text` with every scenario block replaced by the rendering of its committed JSON."""

    def one(match: re.Match[str]) -> str:
        source = results_dir / f"{match['name']}.json"
        if not source.is_file():
            found = ", ".join(sorted(p.stem for p in results_dir.glob("*.json"))) or "none"
            raise SparkSchedError(f"{page}: sim scenario marker names '{match['name']}', which has no JSON in "
                                  f"{results_dir}; allowed: {found}")
        result = json.loads(source.read_text())
        return f"{match[1]}\n{scenario_block(result, page, results_dir)}\n{match[4]}"

    return _BLOCK.sub(one, text)


def stale_pages(pages: Sequence[Path], results_dir: Path) -> list[Path]:
    """The pages whose scenario blocks differ from the rendering of the JSON in `results_dir`."""
    return [page for page in pages if fill_text(page.read_text(), page, results_dir) != page.read_text()]


def fill_pages(pages: Sequence[Path], results_dir: Path) -> list[Path]:
    """Rewrite every page whose scenario blocks are stale (all rendered before any is written); the ones written."""
    filled = [(page, fill_text(page.read_text(), page, results_dir)) for page in pages]
    changed = [(page, text) for page, text in filled if text != page.read_text()]
    for page, text in changed:
        write_atomically(page, text, "documentation page")
    return [page for page, _ in changed]
