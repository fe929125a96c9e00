"""The public surface of `spark_sched`: short, every name resolves, and importing the package stays cheap (no Spark)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import spark_sched

ROOT = Path(__file__).resolve().parents[1]
# What `import spark_sched` alone must not load: the heavy capabilities and Spark itself.
NOT_IMPORTED = ("spark_sched.priority", "spark_sched.composer", "spark_sched.sampling", "spark_sched.bench", "pyspark")


def _in_fresh_interpreter(code: str) -> dict:
    """Run `code` (which prints one JSON line) in a new interpreter from the repo root; its parsed output."""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_package_loads_no_capability_and_no_spark() -> None:
    loaded = _in_fresh_interpreter(
        "import json, sys, spark_sched; print(json.dumps(sorted(sys.modules)))"
    )
    present = [name for name in NOT_IMPORTED if name in loaded or any(m.startswith(name + ".") for m in loaded)]
    assert present == [], f"`import spark_sched` imported {present}"


def test_every_public_name_resolves_in_a_fresh_interpreter() -> None:
    """Each name of `__all__`, looked up first thing in its own process: no name depends on another's import."""
    code = (
        "import json, spark_sched\n"
        "bad = {}\n"
        "for name in spark_sched.__all__:\n"
        "    try:\n"
        "        getattr(spark_sched, name)\n"
        "    except Exception as exc:\n"
        "        bad[name] = repr(exc)\n"
        "print(json.dumps(bad))\n"
    )
    assert _in_fresh_interpreter(code) == {}


def test_all_is_the_export_map_and_dir_offers_it() -> None:
    exported = set(spark_sched._EXPORTS) | set(spark_sched._PACKAGES)
    assert set(spark_sched.__all__) == exported and len(spark_sched.__all__) == len(exported)
    assert set(spark_sched.__all__) <= set(dir(spark_sched))
    assert not [name for name in dir(spark_sched) if not name.startswith("__") and name not in spark_sched.__all__]


def test_from_imports_and_callable_packages() -> None:
    from spark_sched import SparkSchedError, composer, configure, measure, pool

    assert callable(configure) and callable(pool) and issubclass(SparkSchedError, Exception)
    assert composer is sys.modules["spark_sched.composer"] and callable(composer)
    assert measure is sys.modules["spark_sched.measure"] and callable(measure)
    assert all(issubclass(getattr(spark_sched, name), spark_sched.SparkSchedError)
               for name in spark_sched.__all__ if name.endswith("Error"))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        spark_sched.no_such_name  # noqa: B018 - the lookup is the test
