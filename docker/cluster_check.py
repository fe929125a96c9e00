"""The compose cluster's proof: a job of >= 6 tasks whose tasks ran on >= 3 distinct hosts.

Runs in the `tests` image beside the compose cluster (host networking), as the
driver of a real application on that cluster:

    python docker/cluster_check.py spark://127.0.0.1:7077 --secret-file /run/secrets/spark-auth

The hosts come from Spark's own record of the job (the driver's REST API), not
from the tasks themselves. Exit 0 when the job ran on enough hosts, else 1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from spark_sched import configure

EXECUTOR_WAIT_S = 120.0


def read_secret(path: Path) -> str:
    """`spark.authenticate.secret` from the properties file the daemons were started with."""
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "spark.authenticate.secret" and value.strip():
            return value.strip()
    raise SystemExit(f"{path}: no spark.authenticate.secret")


def rest(session: SparkSession, path: str) -> Any:
    """GET `<driver UI>/api/v1/applications/<app>/<path>` as JSON."""
    sc = session.sparkContext
    url = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}/{path}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.load(resp)


def wait_for_executors(session: SparkSession, hosts: int) -> set[str]:
    """Block until executors on `hosts` distinct hosts registered (a condition, with a deadline)."""
    deadline = time.monotonic() + EXECUTOR_WAIT_S
    seen: set[str] = set()
    while time.monotonic() < deadline:
        seen = {e["hostPort"].rsplit(":", 1)[0] for e in rest(session, "executors") if e["id"] != "driver"}
        if len(seen) >= hosts:
            return seen
        time.sleep(0.5)
    raise SystemExit(f"only executors on {sorted(seen)} registered within {EXECUTOR_WAIT_S:.0f}s; wanted {hosts} hosts")


def task_hosts(session: SparkSession) -> list[str]:
    """Host of every successful task of the application, from Spark's REST API."""
    hosts = []
    for stage in rest(session, "stages?status=complete"):
        tasks = rest(session, f"stages/{stage['stageId']}/{stage['attemptId']}/taskList?length=10000")
        hosts += [t["host"] for t in tasks if t["status"] == "SUCCESS"]
    return hosts


def run_job(session: SparkSession, tasks: int) -> int:
    """A Python job of `tasks` tasks, each long enough that every executor gets some."""

    def work(rows: Any) -> Any:
        time.sleep(1.0)
        return [sum(rows)]

    return sum(session.sparkContext.parallelize(range(tasks * 10), tasks).mapPartitions(work).collect())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("master", help="spark://host:port of the compose cluster's master")
    parser.add_argument("--secret-file", type=Path, required=True, help="the daemons' properties file")
    parser.add_argument("--tasks", type=int, default=6)
    parser.add_argument("--hosts", type=int, default=3)
    args = parser.parse_args(argv)

    builder = configure(SparkSession.builder, master=args.master, app_name="spark-sched-docker-check")
    secret = read_secret(args.secret_file)
    builder = builder.config("spark.authenticate", "true").config("spark.authenticate.secret", secret)
    start = time.monotonic()
    session = builder.config("spark.executor.memory", "512m").getOrCreate()
    try:
        print(f"cluster check: driver up in {time.monotonic() - start:.0f}s", flush=True)
        executors = wait_for_executors(session, args.hosts)
        print(f"cluster check: executors on {len(executors)} hosts after {time.monotonic() - start:.0f}s", flush=True)
        job_start = time.monotonic()
        total = run_job(session, args.tasks)
        print(f"cluster check: job of {args.tasks} tasks took {time.monotonic() - job_start:.1f}s", flush=True)
        hosts = task_hosts(session)
    finally:
        session.stop()
    expected = sum(range(args.tasks * 10))
    distinct = sorted(set(hosts))
    print(f"cluster check: {len(hosts)} tasks on {len(distinct)} hosts {distinct} (executors on {sorted(executors)})")
    ok = total == expected and len(hosts) >= args.tasks and len(distinct) >= args.hosts
    if not ok:
        print(f"cluster check FAILED: wanted >= {args.tasks} tasks on >= {args.hosts} hosts, sum {total} == {expected}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
