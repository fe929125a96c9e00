"""`spark-sched locality advise` on an event log written by plain `spark-submit` (no toolkit conf).

The application runs on the toolkit's local standalone cluster (3 hosts, 127.0.0.2-4,
one core each) only because a multi-host cluster is needed for locality to mean
anything; the driver is pyspark's own `bin/spark-submit` with the event log switched
on, the cluster's secret in a properties file, loopback addresses and wait 0. The
test reads the log's task records itself (zstd or plain JSON lines) to check the
advice's figures.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from spark_sched.cli.main import cli

pytestmark = pytest.mark.cluster

JOB = """
import time
from pyspark import SparkContext

sc = SparkContext(appName="plain-locality")
data = sc.parallelize(range(12), 12).map(lambda i: (i, bytes(1 << 20))).cache()
data.count()
for _ in range(2):
    data.map(lambda kv: (time.sleep(0.4 if kv[0] % 3 == 0 else 0.05), len(kv[1]))[1]).sum()
sc.stop()
"""


def _events(log: Path) -> list[dict]:
    """Every event of the log, read here without the toolkit (rolled directory or one file; zstd or plain)."""
    import zstandard

    files = sorted(log.glob("events_*"), key=lambda p: int(p.name.split("_")[1])) if log.is_dir() else [log]
    events = []
    for path in files:
        raw = path.read_bytes()
        if path.name.endswith(".zstd"):
            raw = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw), read_across_frames=True).read()
        events += [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
    return events


@pytest.fixture(scope="module")
def plain_log(local_cluster_3: tuple, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import pyspark

    cluster, state = local_cluster_3
    work = tmp_path_factory.mktemp("plain-spark")
    events = work / "events"
    events.mkdir()
    props = work / "auth.properties"
    fd = os.open(props, os.O_WRONLY | os.O_CREAT, 0o600)  # the cluster's secret, never on a command line
    with os.fdopen(fd, "w") as f:
        f.write(f"spark.authenticate=true\nspark.authenticate.secret={cluster.secret()}\n")
    (work / "job.py").write_text(JOB)
    submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    cmd = [str(submit), "--master", state.master, "--properties-file", str(props),
           "--conf", "spark.eventLog.enabled=true", "--conf", f"spark.eventLog.dir={events.as_uri()}",
           "--conf", "spark.locality.wait=0", "--conf", "spark.ui.enabled=false", str(work / "job.py")]
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}
    env.pop("SPARK_CONF_DIR", None)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    logs = list(events.iterdir())
    assert len(logs) == 1, logs
    return logs[0]


def test_advise_reads_a_plain_spark_log(plain_log: Path) -> None:
    result = CliRunner().invoke(cli, ["locality", "advise", str(plain_log), "--json"])
    assert result.exit_code == 0, result.output
    advice = json.loads(result.output)
    events = _events(plain_log)
    ends = [e for e in events if e["Event"] == "SparkListenerTaskEnd"]
    # The application as the log shows it: 3 executors on 3 hosts, one core each, wait 0.
    assert advice["nodes"] == 3 and advice["slots"] == 3 and advice["level"] == "process"
    assert advice["run_wait_seconds"]["process"] == 0.0
    # The two stages that read the cache, with locality counted here from the raw task records.
    read_stages = sorted({e["Stage ID"] for e in ends} - {min(e["Stage ID"] for e in ends)})
    assert [s["stageId"] for s in advice["stages"]] == read_stages
    for stage in advice["stages"]:
        levels = [e["Task Info"]["Locality"] for e in ends if e["Stage ID"] == stage["stageId"]]
        local = sum(level in ("PROCESS_LOCAL", "NODE_LOCAL") for level in levels) / len(levels)
        assert stage["tasks"] == len(levels) and stage["local_fraction"] == pytest.approx(local)
        assert [row["achieved"] for row in advice["achieved_vs_predicted"] if row["stageId"] == stage["stageId"]] \
            == [pytest.approx(local)]
    assert set(advice["spark_conf"]) >= {"spark.locality.wait.process", "spark.locality.wait.node",
                                         "spark.locality.wait.rack"}


def test_plain_log_advice_follows_the_measured_miss_cost(plain_log: Path) -> None:
    """Waiting pays when a miss costs more than T*M/S (here M = S: one task length); loopback reads cost little."""
    advice = json.loads(CliRunner().invoke(cli, ["locality", "advise", str(plain_log), "--json"]).output)
    if advice["miss_seconds"] is None:  # no task ran away from its data: nothing to weigh, the run's wait stays
        assert advice["mode"] == "unmeasured" and advice["spark_conf"]["spark.locality.wait.process"] == "0ms"
        return
    assert advice["mode"] == "cost"
    shortest = min(s["task_seconds"] for s in advice["stages"])
    break_even = shortest * advice["nodes"] / advice["slots"]
    wait = advice["wait_seconds"]["process"]
    if advice["miss_seconds"] < 0.5 * break_even:
        assert wait == 0.0
    if advice["miss_seconds"] > 2 * max(s["task_seconds"] for s in advice["stages"]):
        assert wait > 0.0
    text = CliRunner().invoke(cli, ["locality", "advise", str(plain_log)])
    assert text.exit_code == 0 and text.output.startswith("spark.locality.wait=")
    assert "# advised: process wait" in text.output and "predicted locality" in text.output
