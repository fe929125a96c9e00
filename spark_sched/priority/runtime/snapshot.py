"""One read of the task scheduler per controller tick: pools' running and waiting tasks, executors' memory.

The controller used to walk Spark's pools from Python, one Py4J round trip per
pool, task set and field: 10-40 calls a tick, each a pair of thread switches,
so a tick cost ~8 ms on a quiet machine and over 100 ms at the tail when the
CPU was busy (bench `controller_load`). Here a small Java class, compiled once
per driver JVM with Janino (the compiler Spark's own SQL code generation uses,
shipped in every Spark distribution), walks the same structures inside the
JVM and answers in one call. Nothing is added to Spark: the class reads the
public accessors of `Pool`, `TaskSetManager` and `SparkStatusTracker`, exactly
what the Python walk read.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from spark_sched.errors import SparkSchedError

if TYPE_CHECKING:
    from pyspark import SparkContext

# Janino compiles a Java 8 subset: raw collection types, no generics, no lambdas.
_READER_SOURCE = r"""
private org.apache.spark.SparkContext sc;

public void init(org.apache.spark.SparkContext sc) { this.sc = sc; }

private static int waitingIn(Object entry) {
  if (!(entry instanceof org.apache.spark.scheduler.TaskSetManager)) return 0;
  org.apache.spark.scheduler.TaskSetManager set = (org.apache.spark.scheduler.TaskSetManager) entry;
  if (set.isZombie()) return 0;
  return Math.max(0, set.numTasks() - set.tasksSuccessful() - set.runningTasks());
}

public String read() {
  long started = System.nanoTime();
  StringBuilder out = new StringBuilder();
  scala.collection.Seq pools = sc.getAllPools();  // FIFO mode: the root's task sets themselves
  for (int i = 0; i < pools.size(); i++) {
    org.apache.spark.scheduler.Schedulable top = (org.apache.spark.scheduler.Schedulable) pools.apply(i);
    int waiting = 0;
    if (top instanceof org.apache.spark.scheduler.Pool) {
      java.util.Iterator it = top.schedulableQueue().iterator();
      while (it.hasNext()) waiting += waitingIn(it.next());
    } else {
      waiting = waitingIn(top);
    }
    out.append("P\t").append(top.name()).append('\t').append(top.runningTasks())
       .append('\t').append(waiting).append('\n');
  }
  out.append("S\tslots\t").append(sc.defaultParallelism()).append("\t0\n");
  org.apache.spark.SparkExecutorInfo[] infos = sc.statusTracker().getExecutorInfos();
  for (int i = 0; i < infos.length; i++) {
    out.append("E\t").append(infos[i].host()).append('\t').append(infos[i].usedOnHeapStorageMemory())
       .append('\t').append(infos[i].totalOnHeapStorageMemory()).append('\n');
  }
  out.append("S\tjvm_us\t").append((System.nanoTime() - started) / 1000L).append("\t0\n");
  return out.toString();
}
"""


class SnapshotError(SparkSchedError):
    """The scheduler reader could not be compiled in this driver JVM."""


@dataclass(frozen=True)
class PoolLoad:
    """A pool's tasks now: running, and waiting in its live task sets (not yet successful, not running)."""

    running: int
    waiting: int


@dataclass(frozen=True)
class SchedulerSnapshot:
    """Pools by name, the slots Spark counts (`defaultParallelism`) and storage-memory pressure per host."""

    slots: int = 0
    jvm_us: int = 0  # the read's own time inside the JVM; the rest of a call's time is Py4J and scheduling
    pools: dict[str, PoolLoad] = field(default_factory=dict)
    memory_pressure: dict[str, float] = field(default_factory=dict)

    def running(self, names: Collection[str] | None = None) -> int:
        """Running tasks in the named pools (all pools when `names` is None)."""
        return sum(p.running for n, p in self.pools.items() if names is None or n in names)

    def waiting(self, names: Collection[str]) -> int:
        """Waiting tasks in the named pools."""
        return sum(p.waiting for n, p in self.pools.items() if n in names)


def parse(text: str) -> SchedulerSnapshot:
    """The reader's tab-separated lines (`P name running waiting`, `S slots n 0`, `E host used total`)."""
    numbers = {"slots": 0, "jvm_us": 0}
    pools: dict[str, PoolLoad] = {}
    pressure: dict[str, float] = {}
    for line in text.splitlines():
        kind, rest = line.split("\t", 1)
        name, a, b = rest.rsplit("\t", 2)  # a pool's name may hold a tab; the numbers never do
        if kind == "P":
            pools[name] = PoolLoad(int(a), int(b))
        elif kind == "S":
            numbers[name] = int(a)
        elif kind == "E":
            used, total = int(a), int(b)
            pressure[name] = max(pressure.get(name, 0.0), used / total if total else 0.0)
    return SchedulerSnapshot(numbers["slots"], numbers["jvm_us"], pools, pressure)


class SchedulerReader:
    """Reads a SparkContext's scheduler in one Py4J call; the Java reader is compiled once per JVM."""

    _compiled: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()  # JVM gateway -> reader class
    _lock = threading.Lock()

    def __init__(self, sc: SparkContext) -> None:
        reader = self._reader_class(sc).newInstance()
        reader.init(sc._jsc.sc())  # type: ignore[union-attr]
        self._reader = reader

    def read(self) -> SchedulerSnapshot:
        return parse(self._reader.read())

    @classmethod
    def _reader_class(cls, sc: SparkContext) -> Any:
        key = sc._gateway  # type: ignore[attr-defined]
        with cls._lock:
            if key not in cls._compiled:
                cls._compiled[key] = _compile(sc)
            return cls._compiled[key]


def _compile(sc: SparkContext) -> Any:
    """Compile the reader against Spark's own class loader; SnapshotError with Janino's message if it cannot."""
    from py4j.protocol import Py4JError

    jvm = sc._jvm  # type: ignore[attr-defined]
    try:
        evaluator = jvm.org.codehaus.janino.ClassBodyEvaluator()
        evaluator.setParentClassLoader(sc._jsc.getClass().getClassLoader())  # type: ignore[union-attr]
        evaluator.cook(_READER_SOURCE)
        return evaluator.getClazz()
    except Py4JError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SnapshotError(
            f"priority controller: cannot compile its scheduler reader with Spark's Janino ({first[:200]}); "
            "allowed: a Spark 3.x/4.x driver with janino and commons-compiler on its class path"
        ) from exc
