"""The bench's end of a `_locality_app` driver process: start it with its wait, send runs, stop it (by its pid)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from spark_sched.bench.experiments._locality_app import MARK
from spark_sched.errors import SparkSchedError
from spark_sched.locality import LocalityWait

READY_TIMEOUT_S = 300
RUN_TIMEOUT_S = 600


def _as_list(wait: LocalityWait) -> list[Any]:
    return [wait.process, wait.node, wait.rack, wait.reset_on_launch]


class AppProcess:
    """One Spark application of the workloads, with one wait, in its own Python process (its own JVM)."""

    def __init__(self, master: str, state_dir: str, params: dict[str, Any], name: str, wait: LocalityWait,
                 workloads: tuple[str, ...] = ("spread", "hot")) -> None:
        self.name, self.wait = name, wait
        self.stderr_path = Path(state_dir) / f"{name}.stderr"
        cmd = [sys.executable, "-m", "spark_sched.bench.experiments._locality_app", "--master", master,
               "--state-dir", state_dir, "--params", json.dumps(params), "--name", name,
               "--wait", json.dumps(_as_list(wait)), "--workloads", ",".join(workloads)]
        env = {k: v for k, v in os.environ.items() if k != "SPARK_LOCAL_IP"}
        self._stderr = self.stderr_path.open("w")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                                     text=True, env=env, start_new_session=True)
        self.ready = self._reply(READY_TIMEOUT_S)

    def _reply(self, timeout: float) -> dict[str, Any]:
        """The next marked line on the process's stdout, within `timeout` seconds."""
        found: list[dict[str, Any]] = []
        stream: IO[str] = self.proc.stdout  # type: ignore[assignment]

        def read() -> None:
            for line in stream:
                if line.startswith(MARK):
                    found.append(json.loads(line[len(MARK):]))
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout)
        if not found:
            tail = self.stderr_path.read_text(errors="replace").strip().splitlines()[-5:]
            self.kill()
            raise SparkSchedError(f"bench locality: application {self.name} gave no answer: {' | '.join(tail)}")
        return found[0]

    def run(self, workload: str) -> dict[str, Any]:
        """One run of `workload` ("spread" or "hot") under the application's wait."""
        command = {"cmd": "run", "workload": workload}
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        return self._reply(RUN_TIMEOUT_S)

    def stop(self) -> None:
        """Ask the application to stop (its event log is then complete); kill it by pid if it does not."""
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(json.dumps({"cmd": "stop"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()
        self._stderr.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, 9)  # its own session: the process and the JVM it started
            self.proc.wait(timeout=30)
