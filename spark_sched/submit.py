"""Run a bundled job (or any PySpark script) through pyspark's own spark-submit, with the toolkit's settings."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from spark_sched.config import Settings
from spark_sched.errors import JobError
from spark_sched.runtime import require_java, spark_bin
from spark_sched.session import spark_conf


def jobs_dirs() -> list[Path]:
    """Where bundled jobs are looked up: `./jobs`, then the checkout the package was installed from."""
    here = Path(__file__).resolve().parent.parent / "jobs"
    return [Path.cwd() / "jobs", here]


def bundled_jobs() -> list[str]:
    """Names of the bundled jobs (file stems in jobs/)."""
    names: set[str] = set()
    for d in jobs_dirs():
        names.update(p.stem for p in d.glob("*.py") if not p.name.startswith("_"))
    return sorted(names)


def find_job(job: str) -> Path:
    """A job by path, or by name in jobs/ (with or without `.py`)."""
    path = Path(job)
    if path.is_file():
        return path.resolve()
    stem = job.removesuffix(".py")
    for d in jobs_dirs():
        candidate = d / f"{stem}.py"
        if candidate.is_file():
            return candidate
    raise JobError(f"job {job!r} not found; bundled jobs: {', '.join(bundled_jobs()) or 'none'} (or give a path)")


def submit(job: str, settings: Settings, job_args: Sequence[str] = (), master: str | None = None) -> int:
    """spark-submit `job` with the toolkit's conf, streaming its output; return its exit code."""
    require_java()
    path = find_job(job)
    if master:
        settings = settings.replace(master=master)
    settings.event_log_path.mkdir(parents=True, exist_ok=True)
    conf = spark_conf(settings, master_given=True)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    fd, props = tempfile.mkstemp(prefix="submit-", suffix=".properties", dir=settings.state_dir)
    try:
        with os.fdopen(fd, "w") as f:  # mkstemp creates it 0600: the secret stays off the command line
            f.writelines(f"{k}={v}\n" for k, v in conf.items())
        env = dict(os.environ)
        env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        env.pop("SPARK_HOME", None)
        cmd = [str(spark_bin("spark-submit")), "--properties-file", props, str(path), *job_args]
        return subprocess.call(cmd, env=env)
    finally:
        os.unlink(props)
