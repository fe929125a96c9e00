"""A real Spark standalone cluster on this machine: one master, N workers on distinct hosts.

Each worker binds its own loopback address (127.0.0.2, 127.0.0.3, ...), so Spark
sees N hosts. Processes are started with Spark's own classes through pyspark's
`bin/spark-class`, each in its own process group, and recorded in pid files in
the state directory; `down` stops exactly those groups (never by name).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path

from spark_sched.config import default_state_dir
from spark_sched.errors import ClusterError
from spark_sched.procfs import cmdline, group_members, process_alive
from spark_sched.runtime import require_java, spark_bin
from spark_sched.topology import Topology, load_topology

MASTER_HOST = "127.0.0.1"
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
STATE_FILE = "cluster.json"
SECRET_FILE = "secret"
DAEMON_PROPERTIES = "daemon.properties"
REGISTER_TIMEOUT_S = 90.0


@dataclass
class WorkerInfo:
    host: str
    rack: str
    pid: int
    port: int
    webui_port: int
    alive: bool = False


@dataclass
class ClusterState:
    """What `up` started, as written to `<state_dir>/cluster.json`."""

    master: str
    master_pid: int
    master_webui: str
    workers: list[WorkerInfo] = field(default_factory=list)
    cores: int = 1
    memory: str = "1g"
    driver_host: str = MASTER_HOST  # the address a driver must use so that workers reach it

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ClusterState:
        workers = [WorkerInfo(**w) for w in data.pop("workers", [])]  # type: ignore[arg-type, union-attr]
        return cls(workers=workers, **data)  # type: ignore[arg-type]


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class LocalCluster:
    """Start, inspect and stop the local standalone cluster kept in one state directory.

    Subclasses (the shaped testbed) change where hosts live through the hooks
    `_prepare`, `_worker_hosts`, `_worker_ports`, `_rack`, `_launch_prefix` and `_release`.
    """

    master_host = MASTER_HOST

    def __init__(self, state_dir: str | Path | None = None) -> None:
        self.state_dir = Path(state_dir) if state_dir else default_state_dir() / "cluster"
        self.marker = f"-Dspark-sched.cluster={self.state_dir.resolve()}"

    # -- state -------------------------------------------------------------
    @property
    def state_file(self) -> Path:
        return self.state_dir / STATE_FILE

    @property
    def secret_file(self) -> Path:
        return self.state_dir / SECRET_FILE

    def read_state(self) -> ClusterState | None:
        try:
            return ClusterState.from_json(json.loads(self.state_file.read_text()))
        except (OSError, ValueError, TypeError, AttributeError):  # not ours, or torn
            return None

    def check_state(self) -> None:
        """ClusterError when a state file exists but cannot be read back (truncated, edited, another version's).

        `read_state` treats such a file as no cluster; commands that report or start one say so instead.
        """
        if self.state_file.exists() and self.read_state() is None:
            raise ClusterError(
                f"{self.state_file}: cluster state = unreadable (truncated or not written by `spark-sched cluster up`)"
                f" is not valid; allowed: a file `up` wrote; `spark-sched cluster down --state-dir {self.state_dir}`"
                " stops what its pid files name and removes it"
            )

    def secret(self) -> str | None:
        """The cluster's authentication secret, if `up` made one."""
        try:
            return self.secret_file.read_text().strip() or None
        except OSError:
            return None

    def _ours(self, pid: int) -> bool:
        """A pid from our files still names our process (not a reused pid)."""
        return process_alive(pid) and self.marker in cmdline(pid)

    def status(self) -> dict[str, object]:
        """`{"master": url|None, "workers": [{"host", "rack", "pid", "alive"}]}`, from pid files and the master."""
        self.check_state()
        state = self.read_state()
        if state is None:
            return {"master": None, "running": False, "workers": []}
        registered = self._registered_hosts(state.master_webui)
        workers = [
            {"host": w.host, "rack": w.rack, "pid": w.pid, "alive": self._ours(w.pid) and w.host in registered}
            for w in state.workers
        ]
        running = self._ours(state.master_pid)
        return {"master": state.master if running else None, "running": running, "workers": workers}

    # -- up ----------------------------------------------------------------
    def up(
        self,
        workers: int = 3,
        cores: int = 1,
        memory: str = "1g",
        topology: Topology | None = None,
    ) -> ClusterState:
        """Start master and workers; return when all workers registered. Idempotent."""
        if workers < 1 or workers > 200:
            raise ClusterError(f"--workers {workers} is not valid; allowed: 1 to 200")
        if cores < 1:
            raise ClusterError(f"--cores {cores} is not valid; allowed: a whole number >= 1")
        self.check_state()
        state = self.read_state()
        if state is not None:
            if self._ours(state.master_pid) and all(self._ours(w.pid) for w in state.workers):
                return state
            self.down()  # stale or half-dead: stop what is left, start afresh
        require_java()
        topology = topology or load_topology()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._write_secret()
        try:
            self._prepare(workers, topology)
            state = self._start_master(cores, memory)
            self._write_state(state)
            hosts = self._worker_hosts(workers)
            for i, host in enumerate(hosts):
                state.workers.append(self._start_worker(state, host, self._rack(topology, host, i, workers), i))
                self._write_state(state)
            self._wait_registered(state)
        except BaseException:
            self.down()
            raise
        return state

    def _write_secret(self) -> None:
        if not self.secret():
            fd = os.open(self.secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        props = f"spark.authenticate=true\nspark.authenticate.secret={self.secret()}\n"
        fd = os.open(self.state_dir / DAEMON_PROPERTIES, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(props)
        os.chmod(self.secret_file, 0o600)

    def _write_state(self, state: ClusterState) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state.to_json(), indent=2))
        tmp.replace(self.state_file)

    def _spawn(self, name: str, cls: str, bind: str, args: list[str]) -> int:
        logs = self.state_dir / "logs"
        logs.mkdir(exist_ok=True)
        env = dict(os.environ)
        env["SPARK_LOCAL_IP"] = bind
        env["SPARK_DAEMON_JAVA_OPTS"] = f"{self.marker} {env.get('SPARK_DAEMON_JAVA_OPTS', '')}".strip()
        env.pop("SPARK_HOME", None)
        props = str(self.state_dir / DAEMON_PROPERTIES)
        cmd = [*self._launch_prefix(name), str(spark_bin("spark-class")), cls, "--properties-file", props, *args]
        with open(logs / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True
            )
        (self.state_dir / f"{name}.pid").write_text(str(proc.pid))
        return proc.pid

    # -- hooks (loopback mode) ----------------------------------------------
    def _prepare(self, workers: int, topology: Topology) -> None:
        """Make the hosts exist before anything starts (loopback addresses always do)."""

    def _worker_hosts(self, workers: int) -> list[str]:
        return [f"127.0.0.{i + 2}" for i in range(workers)]

    def _worker_ports(self, host: str) -> tuple[int, int]:
        return _free_port(host), _free_port(host)

    def _rack(self, topology: Topology, host: str, index: int, total: int) -> str:
        return topology.rack_of(host, index, total)

    def _launch_prefix(self, name: str) -> list[str]:
        """Words put before `spark-class` to start daemon `name` (e.g. `ip netns exec NS`)."""
        return []

    def _release(self) -> None:
        """Remove what `_prepare` made; runs after the processes are stopped, also after a failed up."""

    def _start_master(self, cores: int, memory: str) -> ClusterState:
        host = self.master_host
        port, webui = _free_port(host), _free_port(host)
        args = ["--host", host, "--port", str(port), "--webui-port", str(webui)]
        pid = self._spawn("master", MASTER_CLASS, host, args)
        url, ui = f"spark://{host}:{port}", f"http://{host}:{webui}"
        return ClusterState(url, pid, ui, cores=cores, memory=memory, driver_host=host)

    def _start_worker(self, state: ClusterState, host: str, rack: str, index: int) -> WorkerInfo:
        port, webui = self._worker_ports(host)
        work = self.state_dir / "work" / f"worker-{index + 1}"
        work.mkdir(parents=True, exist_ok=True)
        args = [
            "--host",
            host,
            "--port",
            str(port),
            "--webui-port",
            str(webui),
            "--cores",
            str(state.cores),
            "--memory",
            state.memory,
            "--work-dir",
            str(work),
            state.master,
        ]
        pid = self._spawn(f"worker-{index + 1}", WORKER_CLASS, host, args)
        return WorkerInfo(host=host, rack=rack, pid=pid, port=port, webui_port=webui)

    def _registered_hosts(self, webui: str) -> set[str]:
        try:
            with urllib.request.urlopen(f"{webui}/json/", timeout=2) as resp:
                data = json.load(resp)
        except (OSError, ValueError):
            return set()
        return {w["host"] for w in data.get("workers", []) if w.get("state") == "ALIVE"}

    def _wait_registered(self, state: ClusterState) -> None:
        deadline = time.monotonic() + REGISTER_TIMEOUT_S
        wanted = {w.host for w in state.workers}
        while time.monotonic() < deadline:
            for pid, name in [(state.master_pid, "master"), *[(w.pid, w.host) for w in state.workers]]:
                if not process_alive(pid):
                    raise ClusterError(f"{name} (pid {pid}) exited during start-up; see {self.state_dir / 'logs'}")
            if wanted <= self._registered_hosts(state.master_webui):
                for w in state.workers:
                    w.alive = True
                self._write_state(state)
                return
            time.sleep(0.25)
        raise ClusterError(f"workers did not register within {REGISTER_TIMEOUT_S:.0f}s; see {self.state_dir / 'logs'}")

    # -- one worker ----------------------------------------------------------
    def restart_worker(self, host: str) -> WorkerInfo:
        """Start the worker of `host` again (after a crash or kill -9): same rack, cores, memory and work dir.

        What is left of the old worker (an executor outliving it) is stopped first,
        by pid. A worker that runs and is registered is left as it is. Returns when
        the new worker has registered with the master.
        """
        state = self.read_state()
        if state is None or not self._ours(state.master_pid):
            raise ClusterError(f"no cluster running in {self.state_dir}; start one with `spark-sched cluster up`")
        hosts = [w.host for w in state.workers]
        if host not in hosts:
            raise ClusterError(f"worker host {host!r} is not valid; allowed: {', '.join(hosts)}")
        index = hosts.index(host)
        old = state.workers[index]
        if self._ours(old.pid) and host in self._registered_hosts(state.master_webui):
            return old
        self._stop_leftovers(old.pid)
        state.workers[index] = self._start_worker(state, host, old.rack, index)
        self._write_state(state)
        self._wait_registered(state)
        return state.workers[index]

    def _stop_leftovers(self, pgid: int) -> None:
        """SIGKILL the processes of a dead worker's group that are ours (marker on the command line, cwd under
        the state dir), so a reused pid of someone else's is never touched."""
        root = str(self.state_dir.resolve())
        for pid in group_members(pgid):
            try:
                cwd = os.readlink(f"/proc/{pid}/cwd")
            except OSError:
                cwd = ""
            if self.marker in cmdline(pid) or cwd.startswith(root):
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        _reap(pgid)

    # -- down --------------------------------------------------------------
    def down(self, timeout: float = 20.0) -> list[int]:
        """Stop every process group `up` started (workers first); idempotent. Returns the pids stopped."""
        pids = []
        for pidfile in sorted(self.state_dir.glob("*.pid"), key=lambda p: p.name == "master.pid"):
            try:
                pid = int(pidfile.read_text().strip())
            except (OSError, ValueError):
                pid = 0
            if pid and self._ours(pid):
                self._stop_group(pid, timeout)
                pids.append(pid)
            pidfile.unlink(missing_ok=True)
        self.state_file.unlink(missing_ok=True)
        self._release()
        return pids

    @staticmethod
    def _stop_group(pgid: int, timeout: float) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + (timeout if sig == signal.SIGTERM else 5.0)
            while time.monotonic() < deadline:
                _reap(pgid)
                if not group_members(pgid):
                    return
                time.sleep(0.1)


def _reap(pid: int) -> None:
    """Collect the exit status of a daemon this process started itself, so it leaves no zombie."""
    with suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


@contextmanager
def local_cluster(
    state_dir: str | Path,
    workers: int = 3,
    cores: int = 1,
    memory: str = "1g",
    topology: Topology | None = None,
) -> Iterator[ClusterState]:
    """`with local_cluster(dir) as state:` a cluster that is always brought down afterwards."""
    cluster = LocalCluster(state_dir)
    try:
        yield cluster.up(workers=workers, cores=cores, memory=memory, topology=topology)
    finally:
        cluster.down()
