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

Suspending in place: under the `suspend` policy the driver answers "pause"
instead of "stop". The task then blocks inside its stop check, holding its
state in memory, and asks again with `wait`, which the driver answers only when
the answer changes (or after `WAIT_S`): a suspended task costs no CPU and no
polling, and resumes within a round trip of its release.

Protocol, one line each way: `<token> poll <job> <partition> <host>` -> `0|1|2`
(go, stop, pause; the poll also tells the driver where that partition runs);
`<token> wait <job> <partition> <host>` -> the same, once it is no longer
"pause"; `<token> done <job> <partition>` -> `0`.
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
WAIT_S = 0.5  # a suspended task's `wait` is answered at least this often (it proves the task alive)
GO, STOP, PAUSE = 0, 1, 2


@dataclass
class RunningTask:
    """A cooperative LOW task as its own polls describe it."""

    job_id: str
    partition: int
    host: str
    last_seen: float
    stopping: bool = False  # its last poll was answered "stop"
    paused_since: float | None = None  # monotonic: suspended in its stop check since then (None: running)
    paused_wall: float = 0.0  # the same instant, wall clock (s)


@dataclass
class _Board:
    """Driver-side state: which (job, scope) pairs must stop or pause, and which tasks are polling."""

    stops: set[tuple[str, str]] = field(default_factory=set)
    pauses: set[tuple[str, str]] = field(default_factory=set)
    exempt: set[tuple[str, int]] = field(default_factory=set)  # (job, partition) the guard keeps running
    running: dict[tuple[str, int], RunningTask] = field(default_factory=dict)
    stopped: dict[str, set[int]] = field(default_factory=dict)  # job -> partitions that ended on a stop, saved
    suspended_s: dict[str, float] = field(default_factory=dict)  # job -> seconds its tasks spent suspended
    pauses_log: list[tuple[str, int, float, float]] = field(default_factory=list)  # job, partition, wall from, to
    lock: threading.Condition = field(default_factory=threading.Condition)  # notified on every change of answer

    def answer(self, job_id: str, partition: int, host: str) -> int:
        """GO, STOP or PAUSE for this task (caller holds the lock); a stop outranks a pause."""
        if (job_id, partition) in self.exempt:
            return GO
        scopes = {(job_id, "*"), (job_id, f"p{partition}"), (job_id, f"h{host}")}
        if scopes & self.stops:
            return STOP
        return PAUSE if scopes & self.pauses else GO

    def told(self, job_id: str, partition: int, host: str) -> bool:
        """Whether this task must stop (caller holds the lock)."""
        return self.answer(job_id, partition, host) == STOP

    def poll(self, job_id: str, partition: int, host: str) -> int:
        now = time.monotonic()
        with self.lock:
            return self._seen(job_id, partition, host, now)

    def wait(self, job_id: str, partition: int, host: str, timeout: float = WAIT_S) -> int:
        """Block while the task's answer is PAUSE, up to `timeout`; then answer as `poll` does."""
        deadline = time.monotonic() + timeout
        with self.lock:
            self.lock.wait_for(lambda: self.answer(job_id, partition, host) != PAUSE
                               or time.monotonic() >= deadline, timeout)
            return self._seen(job_id, partition, host, time.monotonic())

    def _seen(self, job_id: str, partition: int, host: str, now: float) -> int:
        """Record the task's poll and its answer; account suspended time when a pause ends (lock held)."""
        answer = self.answer(job_id, partition, host)
        before = self.running.get((job_id, partition))
        since, wall = (before.paused_since, before.paused_wall) if before is not None else (None, 0.0)
        if answer == PAUSE and since is None:
            since, wall = now, time.time()
        elif answer != PAUSE and before is not None and since is not None:
            self._pause_ended(before, now)
            since = None
        self.running[(job_id, partition)] = RunningTask(job_id, partition, host, now, answer == STOP, since, wall)
        return answer

    def _pause_ended(self, task: RunningTask, now: float) -> None:
        assert task.paused_since is not None
        seconds = now - task.paused_since
        self.suspended_s[task.job_id] = self.suspended_s.get(task.job_id, 0.0) + seconds
        self.pauses_log.append((task.job_id, task.partition, task.paused_wall, task.paused_wall + seconds))

    def done(self, job_id: str, partition: int) -> None:
        with self.lock:
            self.pauses.discard((job_id, f"p{partition}"))  # a pause names a running task; this one ended
            task = self.running.pop((job_id, partition), None)
            if task is not None and task.paused_since is not None:
                self._pause_ended(task, time.monotonic())
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
            host = parts[4] if len(parts) > 4 else "?"
            if op == "poll":
                answer = server.board.poll(job_id, partition, host)
            elif op == "wait":
                answer = server.board.wait(job_id, partition, host)
            else:
                server.board.done(job_id, partition)
                answer = GO
            self.wfile.write(b"%d\n" % answer)
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
            self.board.lock.notify_all()

    def pause(self, job_id: str, scope: str) -> None:
        """Suspend `job_id`'s tasks in `scope` (`*`, `p<partition>`, `h<host>`) where they stand."""
        with self.board.lock:
            self.board.pauses.add((job_id, scope))
            self.board.lock.notify_all()

    def resume(self, job_id: str, scope: str) -> None:
        """Lift one pause of `job_id` (the tasks it held resume where they stopped)."""
        with self.board.lock:
            self.board.pauses.discard((job_id, scope))
            self.board.lock.notify_all()

    def clear(self, job_id: str) -> None:
        """Let `job_id`'s tasks run again: no stop, no pause (and forget its exemptions)."""
        with self.board.lock:
            self.board.stops = {s for s in self.board.stops if s[0] != job_id}
            self.board.pauses = {s for s in self.board.pauses if s[0] != job_id}
            self.board.exempt = {e for e in self.board.exempt if e[0] != job_id}
            self.board.lock.notify_all()

    def forget_pauses_of_silent_tasks(self) -> None:
        """Drop the pauses of single tasks no longer polling (their executor was lost): a rerun starts unpaused."""
        live = {(t.job_id, f"p{t.partition}") for t in self.running()}
        with self.board.lock:
            self.board.pauses = {p for p in self.board.pauses if not p[1].startswith("p") or p in live}

    def has_pauses(self, job_id: str) -> bool:
        """Whether any pause of `job_id` is up."""
        with self.board.lock:
            return any(j == job_id for j, _ in self.board.pauses)

    def has_stops(self, job_id: str) -> bool:
        """Whether any stop of `job_id` is up."""
        with self.board.lock:
            return any(j == job_id for j, _ in self.board.stops)

    def suspended(self) -> list[RunningTask]:
        """Tasks suspended in their stop check now (told to pause, seen within the last second)."""
        return [t for t in self.running() if t.paused_since is not None]

    def pauses(self) -> list[tuple[str, int, float, float]]:
        """Every ended suspension: (job, partition, wall-clock start s, end s)."""
        with self.board.lock:
            return list(self.board.pauses_log)

    def suspended_s(self, job_id: str) -> float:
        """Seconds `job_id`'s tasks have spent suspended so far (ended pauses, and the ones going on)."""
        now = time.monotonic()
        with self.board.lock:  # a task gone silent (its executor lost) was suspended until it was last seen
            ongoing = sum(min(now, t.last_seen + WAIT_S) - t.paused_since for t in self.board.running.values()
                          if t.job_id == job_id and t.paused_since is not None)
            return self.board.suspended_s.get(job_id, 0.0) + ongoing

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


def _ask(host: str, port: int, line: bytes) -> int:
    """One round trip on this process's persistent connection to the driver (reconnects once)."""
    with _CONN_LOCK:
        for _ in range(2):
            sock = _CONNECTIONS.get((host, port))
            try:
                if sock is None:
                    sock = socket.create_connection((host, port), timeout=WAIT_S + 2.0)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    _CONNECTIONS[(host, port)] = sock
                sock.sendall(line)
                answer = b""
                while not answer.endswith(b"\n"):
                    chunk = sock.recv(8)
                    if not chunk:
                        raise ConnectionError("driver closed the signal connection")
                    answer += chunk
                return int(answer.strip() or b"0")
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
        """A cheap `should_stop()` for one partition: cached, asks the driver at most every `interval_s`.

        When the driver says "pause", the call blocks (the task is suspended, its state in
        memory) until the driver says "go" (returns False: carry on where it stood) or
        "stop" (returns True).
        """
        where = executor_host()
        poll = f"{self.token} poll {self.job_id} {partition} {where}\n".encode()
        wait = f"{self.token} wait {self.job_id} {partition} {where}\n".encode()
        state = {"next": 0.0, "answer": GO}

        def should_stop() -> bool:
            now = time.monotonic()
            if now >= state["next"]:
                try:
                    answer = _ask(self.host, self.port, poll)
                    while answer == PAUSE:
                        answer = _ask(self.host, self.port, wait)
                    state["answer"], state["next"] = answer, time.monotonic() + self.interval_s
                except ConnectionError:
                    state["answer"], state["next"] = GO, now + 1.0  # driver unreachable: keep working
            return state["answer"] == STOP

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
