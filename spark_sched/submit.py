"""Run a bundled job (or any PySpark script) through pyspark's own spark-submit, with the toolkit's settings."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
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
    conf = spark_conf(settings, master_given=True)  # refuses bad settings before anything is made
    settings.event_log_path.mkdir(parents=True, exist_ok=True)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    fd, props = tempfile.mkstemp(prefix="submit-", suffix=".properties", dir=settings.state_dir)
    try:
        with os.fdopen(fd, "w") as f:  # mkstemp creates it 0600: the secret stays off the command line
            f.writelines(f"{k}={v}\n" for k, v in conf.items())
        env = dict(os.environ)
        env.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        env.pop("SPARK_HOME", None)
        cmd = [str(spark_bin("spark-submit")), "--properties-file", props, str(path), *job_args]
        code, refused = _run_watching_auth(cmd, env)
    finally:
        os.unlink(props)
    if refused and code != 0:
        raise JobError(
            f"the master at {conf.get('spark.master')} refused the application: it requires authentication "
            "(spark.authenticate) and no matching secret was given; submit from the state directory of the "
            "`spark-sched cluster up` that started it, or set spark.authenticate.secret under [spark]"
        )
    return code


AUTH_REFUSED = "Expected SaslMessage"


def _run_watching_auth(cmd: list[str], env: dict[str, str]) -> tuple[int, bool]:
    """Run cmd, passing its stderr through, and say whether a master refused it for want of a secret."""
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True, errors="replace")
    refused = threading.Event()

    def relay() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            sys.stderr.write(line)
            if AUTH_REFUSED in line and not refused.is_set():
                refused.set()
                proc.terminate()  # Spark would retry for a minute before giving up

    reader = threading.Thread(target=relay, daemon=True)
    reader.start()
    code = proc.wait()
    reader.join(timeout=5)
    return code, refused.is_set()
