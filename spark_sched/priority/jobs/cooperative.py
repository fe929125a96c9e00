"""The cooperative preemption signal: a tiny TCP endpoint on the driver that executors poll.

Spark stops a running Python task slowly (its monitor polls for the interrupt
every 2 s, then waits `spark.python.task.killTimeout`), so preemptible Python
work stops itself: it asks "should I stop?" every few milliseconds of work and
returns having saved its progress (Neptune's yield points, on stock Spark).

The question goes to a socket served by the driver and bound to the driver's
address (`spark.driver.host`), so it works wherever executors can reach the
driver -- the same reachability Spark itself needs, across hosts, not only on
loopback. A random token (shipped inside the task closure) keeps other local
processes from reading or confusing it. Each Python worker keeps one
persistent connection and answers from a cache at most `interval_s` old, so a
check costs a clock read almost always and one small round trip otherwise.

Protocol, one line each way: `<token> poll <job> <partition> <host>` -> `1|0`
(the poll also tells the driver where that partition runs); `<token> done <job>
<partition>` -> `0`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

DEFAULT_INTERVAL_S = 0.005
STALE_AFTER_S = 1.0


@dataclass
class RunningTask:
    """A cooperative LOW task as its own polls describe it."""

    job_id: str
    partition: int
    host: str
    last_seen: float
    stopping: bool = False  # its last poll was answered "stop"


@dataclass
class _Board:
    """Driver-side state: which (job, scope) pairs must stop, and which tasks are polling."""

    stops: set[tuple[str, str]] = field(default_factory=set)
    exempt: set[tuple[str, int]] = field(default_factory=set)  # (job, partition) the guard keeps running
    running: dict[tuple[str, int], RunningTask] = field(default_factory=dict)
    stopped: dict[str, set[int]] = field(default_factory=dict)  # job -> partitions that ended on a stop, saved
    lock: threading.Lock = field(default_factory=threading.Lock)

    def told(self, job_id: str, partition: int, host: str) -> bool:
        """Whether this task must stop (caller holds the lock)."""
        return (job_id, partition) not in self.exempt and bool(
            {(job_id, "*"), (job_id, f"p{partition}"), (job_id, f"h{host}")} & self.stops
        )

    def poll(self, job_id: str, partition: int, host: str) -> bool:
        now = time.monotonic()
        with self.lock:
            stop = self.told(job_id, partition, host)
            self.running[(job_id, partition)] = RunningTask(job_id, partition, host, now, stop)
            return stop

    def done(self, job_id: str, partition: int) -> None:
        with self.lock:
            task = self.running.pop((job_id, partition), None)
            if task is not None and task.stopping:
                self.stopped.setdefault(job_id, set()).add(partition)


class _Handler(socketserver.StreamRequestHandler):
    """One persistent connection from one Python worker: answer each line."""

    def handle(self) -> None:
        server: SignalServer = self.server  # type: ignore[assignment]
        for raw in self.rfile:
            parts = raw.decode("utf-8", "replace").split()
            if len(parts) < 4 or parts[0] != server.token or not parts[3].isdigit():
                return  # wrong token or garbage: drop the connection
            op, job_id, partition = parts[1], parts[2], int(parts[3])
            if op == "poll":
                answer = server.board.poll(job_id, partition, parts[4] if len(parts) > 4 else "?")
            else:
                server.board.done(job_id, partition)
                answer = False
            self.wfile.write(b"1\n" if answer else b"0\n")
            self.wfile.flush()


class SignalServer(socketserver.ThreadingTCPServer):
    """The driver's endpoint. `stop(job, scope)` raises the signal; `clear(job)` lowers it."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.token = secrets.token_hex(16)
        self.board = _Board()
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server_address[:2]
        return str(host), int(port)

    def start(self) -> SignalServer:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        self._thread.name = "spark-sched-preemption-signal"
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server_close()

    def stop(self, job_id: str, scope: str = "*", exempt: Iterable[int] = ()) -> None:
        """Ask `job_id`'s tasks to stop: scope `*` (all), `p<partition>` or `h<host>`; `exempt` partitions go on."""
        with self.board.lock:
            self.board.stops.add((job_id, scope))
            self.board.exempt.update((job_id, p) for p in exempt)

    def clear(self, job_id: str) -> None:
        """Let `job_id`'s tasks run again (and forget its exemptions)."""
        with self.board.lock:
            self.board.stops = {s for s in self.board.stops if s[0] != job_id}
            self.board.exempt = {e for e in self.board.exempt if e[0] != job_id}

    def stopping(self) -> list[RunningTask]:
        """Running cooperative tasks told to stop that have not ended yet (seen the signal or not)."""
        horizon = time.monotonic() - STALE_AFTER_S
        with self.board.lock:
            return [t for t in self.board.running.values()
                    if t.last_seen >= horizon and self.board.told(t.job_id, t.partition, t.host)]

    def take_stopped(self, job_id: str) -> list[int]:
        """Partitions of `job_id` that ended on a stop (progress saved) since the last call; forgets them."""
        with self.board.lock:
            return sorted(self.board.stopped.pop(job_id, set()))

    def exempt(self, job_id: str, partition: int) -> bool:
        """True when the partition is exempt from its job's stop (the guard keeps it running)."""
        with self.board.lock:
            return (job_id, partition) in self.board.exempt

    def running(self, job_id: str | None = None) -> list[RunningTask]:
        """Cooperative tasks seen polling within the last second (optionally of one job)."""
        horizon = time.monotonic() - STALE_AFTER_S
        with self.board.lock:
            return [
                t for t in self.board.running.values() if t.last_seen >= horizon and job_id in (None, t.job_id)
            ]

    def handle(self, job_id: str) -> SignalHandle:
        """The picklable handle `job_id`'s tasks carry to reach this server."""
        host, port = self.address
        return SignalHandle(host, port, self.token, job_id)


def executor_host() -> str:
    """The host a task runs on, as Spark names it (the worker's SPARK_LOCAL_IP when set)."""
    return os.environ.get("SPARK_LOCAL_IP") or socket.gethostname()


_CONNECTIONS: dict[tuple[str, int], socket.socket] = {}
_CONN_LOCK = threading.Lock()


def _ask(host: str, port: int, line: bytes) -> bool:
    """One round trip on this process's persistent connection to the driver (reconnects once)."""
    with _CONN_LOCK:
        for _ in range(2):
            sock = _CONNECTIONS.get((host, port))
            try:
                if sock is None:
                    sock = socket.create_connection((host, port), timeout=2.0)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    _CONNECTIONS[(host, port)] = sock
                sock.sendall(line)
                answer = b""
                while not answer.endswith(b"\n"):
                    chunk = sock.recv(8)
                    if not chunk:
                        raise ConnectionError("driver closed the signal connection")
                    answer += chunk
                return answer.strip() == b"1"
            except OSError:
                _CONNECTIONS.pop((host, port), None)
                if sock is not None:
                    sock.close()
        raise ConnectionError(f"preemption signal at {host}:{port} unreachable")


@dataclass(frozen=True)
class SignalHandle:
    """What a task needs to ask the driver whether its job must stop (pickled into the closure)."""

    host: str
    port: int
    token: str
    job_id: str
    interval_s: float = DEFAULT_INTERVAL_S

    def probe(self, partition: int) -> Callable[[], bool]:
        """A cheap `should_stop()` for one partition: cached, asks the driver at most every `interval_s`."""
        where = executor_host()
        poll = f"{self.token} poll {self.job_id} {partition} {where}\n".encode()
        state = {"next": 0.0, "stop": False}

        def should_stop() -> bool:
            now = time.monotonic()
            if now >= state["next"]:
                try:
                    state["stop"] = _ask(self.host, self.port, poll)
                    state["next"] = now + self.interval_s
                except ConnectionError:
                    state["next"] = now + 1.0  # driver unreachable: keep working, retry later
            return bool(state["stop"])

        return should_stop

    def done(self, partition: int) -> None:
        """Tell the driver this partition no longer runs here."""
        with contextlib.suppress(ConnectionError):
            _ask(self.host, self.port, f"{self.token} done {self.job_id} {partition}\n".encode())


def preemptible(
    fn: Callable[..., object], should_stop: Callable[[], bool]
) -> Callable[..., tuple[bool, object]]:
    """Wrap a per-record function: returns (stopped, result); when the signal is up, skips `fn` and says so."""

    def wrapped(*args: object) -> tuple[bool, object]:
        if should_stop():
            return True, None
        return False, fn(*args)

    return wrapped
