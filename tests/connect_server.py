"""A real local Spark Connect server for the tests: pyspark's own server jar, started and stopped by pid.

pip's pyspark ships the server (`jars/spark-connect_2.13-*.jar`) and `sbin/start-connect-server.sh`;
the script daemonises through spark-daemon.sh, so the server is started the way the script
starts it (`spark-submit --class ...SparkConnectServer spark-internal`) but as our own child,
whose pid we keep: spark-submit execs the JVM, so that pid is the server's. Its conf is the
toolkit's (`connect_server_conf`: FAIR pools from a pool file, event log), bound to loopback.

The client session is made with the Connect builder itself, not `SparkSession.builder.remote`,
which would also switch the whole test process into Connect mode (SPARK_CONNECT_MODE_ENABLED)
for the classic sessions the other tests start.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyspark

SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class ConnectServer:
    """A running server: its gRPC URL, its UI (for the REST API), its process and log."""

    proc: subprocess.Popen[bytes]
    port: int
    ui_port: int
    log: Path
    conf: dict[str, str]

    @property
    def url(self) -> str:
        return f"sc://127.0.0.1:{self.port}"

    def rest(self, path: str) -> Any:
        """GET the server application's monitoring REST API (`/api/v1/applications/<id>/<path>`)."""
        base = f"http://127.0.0.1:{self.ui_port}/api/v1/applications"
        with urllib.request.urlopen(base, timeout=10) as response:  # noqa: S310 - loopback
            app = json.load(response)[0]["id"]
        with urllib.request.urlopen(f"{base}/{app}/{path}", timeout=10) as response:  # noqa: S310 - loopback
            return json.load(response)

    def stop(self) -> None:
        """SIGTERM by pid, then SIGKILL past the deadline; always reaps the child."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(STOP_TIMEOUT_S)


def start_server(work: Path, conf: dict[str, str], master: str = "local[2]") -> ConnectServer:
    """Start the server with `conf` and wait until its gRPC port and UI accept connections."""
    home = Path(pyspark.__file__).parent
    port, ui_port = free_port(), free_port()
    conf = {**conf, "spark.connect.grpc.binding.port": str(port),
            "spark.connect.grpc.binding.address": "127.0.0.1", "spark.ui.port": str(ui_port),
            "spark.ui.enabled": "true", "spark.master": master}
    args = [str(home / "bin" / "spark-submit"), "--class", SERVER_CLASS, "--name", "spark-sched-connect-tests"]
    for key, value in conf.items():
        args += ["--conf", f"{key}={value}"]
    args.append("spark-internal")
    log = work / "connect-server.log"
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1"}
    env.pop("PYSPARK_SUBMIT_ARGS", None)
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=work)
    server = ConnectServer(proc, port, ui_port, log, conf)
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while not (_accepts(port) and _accepts(ui_port)):
            if proc.poll() is not None:
                raise RuntimeError(f"the Connect server exited ({proc.returncode}): {log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Connect server did not listen within {START_TIMEOUT_S}s: {log}")
            time.sleep(0.1)  # polling a condition (the port accepting), with a deadline
    except BaseException:
        server.stop()
        raise
    return server


def client(server: ConnectServer) -> Any:
    """A Connect session against `server`, without switching this process into Connect mode."""
    from pyspark.sql.connect.session import SparkSession as RemoteSparkSession

    return RemoteSparkSession.builder.remote(server.url).create()
