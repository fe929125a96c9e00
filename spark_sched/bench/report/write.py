"""The whole report in one directory: the page, one plot per experiment, and each experiment's extra plots."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from spark_sched.bench.report.cells import Result
from spark_sched.bench.report.load import WHO, load_results
from spark_sched.bench.report.markdown import render_markdown
from spark_sched.bench.report.plots import extra_plots, render_plots
from spark_sched.errors import SparkSchedError, printable
from spark_sched.files import replaced, writable_dir, write_atomically


def _copy_extras(results: Sequence[Result], out_dir: Path) -> list[Path]:
    """Copy each experiment's extra PNGs into `out_dir` so the page's links resolve there."""
    names = [str(r["experiment"]) for r in results]
    copied = []
    for result in results:
        for png in extra_plots(result, names):
            target = out_dir / png.name
            if target.resolve() == png.resolve():
                continue
            with replaced(target) as tmp:
                shutil.copyfile(png, tmp)
            copied.append(target)
    return copied


def write_report(paths: Sequence[Path], out_dir: Path, page_name: str = "README.md") -> list[Path]:
    """Load the bench JSONs in `paths`; write the page, one plot per experiment and the extra plots into `out_dir`.

    Returns the written paths: the page first, then the plots, then the copied extra PNGs.
    """
    results = load_results(paths)
    out = writable_dir(Path(out_dir), f"{WHO}: --out")
    page_text = render_markdown(results)  # before copying: the links name what lies beside the JSON files
    try:
        written = render_plots(results, out) + _copy_extras(results, out)
    except OSError as exc:
        problem = f"--out = '{out}' is not valid ({exc.strerror or exc}); allowed: a writable directory"
        raise SparkSchedError(printable(f"{WHO}: {problem}")) from exc
    return [write_atomically(out / page_name, page_text, f"{WHO}: --out"), *written]
