"""The documentation site's hooks (docs/hooks/site.py): README as the landing page, the bench page always there.

No Spark. Needs MkDocs (the `docs` extra, which `make docs` installs); skipped without it.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("mkdocs")
from mkdocs.config import load_config  # noqa: E402 - only once MkDocs is known to be installed
from test_bench_report import new_shape  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _hooks() -> Any:
    spec = importlib.util.spec_from_file_location("site_hooks", ROOT / "docs" / "hooks" / "site.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hooks = _hooks()


def _config(tmp_path: Path) -> Any:
    """The site's own configuration, with its docs in `tmp_path/docs`."""
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    config = load_config(config_file=str(ROOT / "mkdocs.yml"), docs_dir=str(docs), site_dir=str(tmp_path / "site"))
    config.plugins._current_plugin = None  # what MkDocs sets while it runs a hook (File.generated reads it)
    return config


def test_landing_page_links_point_into_the_site() -> None:
    readme = "[pools](docs/pools.md), [figures](docs/bench/README.md), [elsewhere](https://example.org/docs/x)"
    assert hooks.landing_markdown(readme) == (
        "[pools](pools.md), [figures](bench/README.md), [elsewhere](https://example.org/docs/x)"
    )


@pytest.mark.parametrize(("src_uri", "link", "expected"), [
    ("settings.md", "[the README](../README.md#benchmarks)", "[the README](index.md#benchmarks)"),
    ("reference/cli.md", "[the README](../../README.md)", "[the README](../index.md)"),
    ("bench/README.md", "[up](../README.md)", "[up](../README.md)"),  # docs/README.md, not the repository's
])
def test_a_pages_link_to_the_readme_goes_to_the_landing_page(src_uri: str, link: str, expected: str) -> None:
    page = SimpleNamespace(file=SimpleNamespace(src_uri=src_uri))
    assert hooks.on_page_markdown(link, page, None, None) == expected


def test_without_results_the_bench_page_says_how_to_make_one(tmp_path: Path) -> None:
    files = hooks.bench_files(_config(tmp_path))
    assert [f.src_uri for f in files] == ["bench/README.md"]
    assert "spark-sched bench report docs/bench/results --out docs/bench" in files[0].content_string


def test_with_results_the_bench_page_is_rendered_from_them(tmp_path: Path) -> None:
    results = tmp_path / "docs" / "bench" / "results"
    results.mkdir(parents=True)
    (results / "priority.json").write_text(json.dumps(new_shape()), encoding="utf-8")
    try:
        files = hooks.bench_files(_config(tmp_path))
        assert [f.src_uri for f in files] == ["bench/README.md", "bench/priority.png"]
        page = files[0].content_string
        assert page.startswith("# Bench results") and "## priority" in page and "![priority](priority.png)" in page
        assert not (tmp_path / "docs" / "bench" / "README.md").exists()  # rendered for the site only
    finally:
        hooks.on_post_build(None)
    assert hooks._rendered == []
