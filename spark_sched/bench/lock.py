"""Benches never share the machine: one lock file, exclusive for a bench, shared for a test session.

Two cores cannot host a bench and anything else and still give a figure worth
printing. A bench takes the lock exclusively, so it waits for running test
sessions (which hold it shared) and for another bench; a test session takes it
shared, so many test sessions may run together but never beside a bench.
`flock` locks vanish with their process, so a killed bench or test run leaves
nothing to clean up.

A bench started from inside a test session (the suite runs small benches)
cannot take the lock its own session holds shared; it runs without it and its
result is marked noisy, so such a figure is never published.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from spark_sched import procfs

LOCK_ENV = "SPARK_SCHED_BENCH_LOCK"
TEST_SESSION_ENV = "SPARK_SCHED_TEST_SESSION"  # the pid of the test session that holds the lock shared
BENCH_ALL_ENV = "SPARK_SCHED_BENCH_ALL"  # the pid of a `bench all` holding the lock for its children


def lock_path() -> Path:
    """The lock file: $SPARK_SCHED_BENCH_LOCK, else one per machine in the temp directory."""
    return Path(os.environ.get(LOCK_ENV) or Path(tempfile.gettempdir()) / "spark-sched-bench.lock")


def _ancestors() -> set[int]:
    """This process and its ancestors; pid 1 included (in a container the test session may be pid 1)."""
    pids, pid = set(), os.getpid()
    while pid > 0 and pid not in pids:
        pids.add(pid)
        fields = procfs.stat_fields(pid)
        if fields is None:
            break
        pid = int(fields[procfs.PPID])
    return pids


def _held_by_ancestor(variable: str) -> bool:
    holder = os.environ.get(variable, "")
    return holder.isdigit() and int(holder) in _ancestors()


def inside_test_session() -> bool:
    """True when this process is (or descends from) the test session named by $SPARK_SCHED_TEST_SESSION."""
    return _held_by_ancestor(TEST_SESSION_ENV)


def _open(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    with contextlib.suppress(OSError):
        os.fchmod(fd, 0o666)  # any user's bench or test session may take it
    return fd


@contextmanager
def bench_lock(say: Callable[[str], None], path: Path | None = None) -> Iterator[str]:
    """Hold the lock exclusively while the bench runs; yields how it is held (recorded in the result).

    Waits as long as a test session or another bench holds it, saying so once.
    """
    if inside_test_session():
        yield "inside a test session"
        return
    if _held_by_ancestor(BENCH_ALL_ENV):
        yield "exclusive"  # `bench all` holds it exclusively and runs one experiment at a time
        return
    path = path or lock_path()
    fd = _open(path)
    try:
        _acquire(fd, fcntl.LOCK_EX, path, say, "a test session or another bench")
        yield "exclusive"
    finally:
        os.close(fd)  # closing releases the lock


@contextmanager
def shared_session_lock(say: Callable[[str], None], path: Path | None = None) -> Iterator[None]:
    """Hold the lock shared for a test session, and name this session for benches it starts itself."""
    path = path or lock_path()
    fd = _open(path)
    previous = os.environ.get(TEST_SESSION_ENV)
    try:
        _acquire(fd, fcntl.LOCK_SH, path, say, "a bench")
        os.environ[TEST_SESSION_ENV] = str(os.getpid())
        yield
    finally:
        if previous is None:
            os.environ.pop(TEST_SESSION_ENV, None)
        else:
            os.environ[TEST_SESSION_ENV] = previous
        os.close(fd)


def _acquire(fd: int, mode: int, path: Path, say: Callable[[str], None], holder: str) -> None:
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        say(f"spark-sched: waiting for {holder} to finish (lock {path})")
    started = time.monotonic()
    fcntl.flock(fd, mode)  # blocks until the holder is done; flock needs no polling
    say(f"spark-sched: lock {path} taken after {time.monotonic() - started:.0f} s")
