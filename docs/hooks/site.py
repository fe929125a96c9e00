"""MkDocs hooks: the pages the site takes from elsewhere in the repository, so none is kept twice.

- **Landing page**: `README.md` (outside `docs/`) becomes the site's `index.md`; its links into
  `docs/` are made relative to the site, and the pages' links back to `../README.md` go to it.
- **Benchmark page**: `docs/bench/README.md` is the committed output of
  `spark-sched bench report docs/bench/results --out docs/bench`. While it is not committed, the
  build renders it (with its plots) from the bench JSON in `docs/bench/results/`, into the site
  only (the source tree is left alone); with no JSON there either, the page says how to make one.
  Either way the navigation's "Benchmarks" entry always has a page behind it.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

README = "README.md"
BENCH_PAGE = "bench/README.md"
BENCH_RESULTS = "bench/results"
NO_RESULTS = """# Bench results

No bench results are committed yet. `spark-sched bench NAME` writes `NAME.json`, `NAME.md` and plots;
full runs committed to `docs/bench/results/` are rendered into this page by

```sh
spark-sched bench report docs/bench/results --out docs/bench
```

and, while `docs/bench/README.md` itself is not committed, by the documentation build.
"""
# A Markdown link or image target that starts inside docs/ (README.md's view of the pages).
_INTO_DOCS = re.compile(r"\]\(docs/")

_rendered: list[Path] = []  # temporary directories of this build's rendered bench pages, removed after it


def landing_markdown(readme: str) -> str:
    """README.md as the site's index page: links into docs/ become links relative to the site's root."""
    return _INTO_DOCS.sub("](", readme)


def bench_files(config: Any) -> list[File]:
    """The benchmark page (and its plots) rendered from docs/bench/results, or the page saying there are none."""
    results = Path(config["docs_dir"]) / BENCH_RESULTS
    if not (results.is_dir() and any(results.glob("*.json"))):
        return [File.generated(config, BENCH_PAGE, content=NO_RESULTS)]
    from spark_sched.bench.report import write_report

    out = Path(tempfile.mkdtemp(prefix="spark-sched-bench-page-"))
    _rendered.append(out)
    page, *plots = write_report([results], out)
    return [File.generated(config, BENCH_PAGE, abs_src_path=str(page)),
            *(File.generated(config, f"bench/{plot.name}", abs_src_path=str(plot)) for plot in plots)]


def on_files(files: Files, config: Any) -> Files:
    """Add the landing page from README.md and, when it is not committed, the benchmark page."""
    readme = Path(config["config_file_path"]).parent / README
    files.append(File.generated(config, "index.md", content=landing_markdown(readme.read_text(encoding="utf-8"))))
    if files.get_file_from_path(BENCH_PAGE) is None:
        for file in bench_files(config):
            files.append(file)
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """On the site, a page's link to the repository's README is a link to the landing page."""
    depth = page.file.src_uri.count("/")
    to_readme = "](" + "../" * (depth + 1) + README
    return markdown.replace(to_readme, "](" + "../" * depth + "index.md")


def on_post_build(config: Any) -> None:
    """Remove the temporary directories the rendered benchmark page was written to."""
    while _rendered:
        shutil.rmtree(_rendered.pop(), ignore_errors=True)
