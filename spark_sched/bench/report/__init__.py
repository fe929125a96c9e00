"""Markdown tables and plots rendered from the bench JSON files, so no figure in a report is ever typed by hand.

`spark-sched bench NAME` writes `<out>/<experiment>.json`; this package reads one
or more of them (files, or directories holding them) and writes one Markdown
page (a summary of every target, then a section per experiment) and one plot
per experiment. The page is a pure function of the JSON files and the PNG
names beside them: no clock, no absolute paths, so rendering twice gives the
same bytes and a diff of the page is a diff of the results.

Older JSON files (before the machine record and the bootstrap interval) are
rendered too: what they lack shows as "n/a".

- `load`: the JSON files, checked; `cells`: numbers and table cells;
- `markdown`: the page; `plots`: the bar charts and extra PNGs; `write`: all of it into one directory;
- `pages`: the targets tables inside the documentation's pages, refreshed from the same JSON.
"""

from spark_sched.bench.report.cells import NA, Result, fmt, interval, metric_names
from spark_sched.bench.report.load import SOURCE_KEY, WHO, load_results
from spark_sched.bench.report.markdown import NOTICE, TARGET_COLUMNS, render_markdown, source_line, target_rows
from spark_sched.bench.report.pages import fill_pages, stale_pages, targets_block
from spark_sched.bench.report.plots import MAX_PLOTTED_METRICS, extra_plots, plot_result, render_plots
from spark_sched.bench.report.write import write_report

__all__ = [
    "MAX_PLOTTED_METRICS",
    "NA",
    "NOTICE",
    "SOURCE_KEY",
    "TARGET_COLUMNS",
    "WHO",
    "Result",
    "extra_plots",
    "fill_pages",
    "fmt",
    "interval",
    "load_results",
    "metric_names",
    "plot_result",
    "render_markdown",
    "render_plots",
    "source_line",
    "stale_pages",
    "target_rows",
    "targets_block",
    "write_report",
]
