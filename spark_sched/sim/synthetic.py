"""A synthetic workload of any size, for measuring the model itself (`spark-sched bench sim_scale`).

Jobs arrive as a Poisson process at the rate that keeps the cluster about 70% busy,
with geometric task counts (mean 10, at most 200), exponential task times (mean
10 s) and one 64 MB input block per task on 3 random hosts; the default locality
wait (3 s) applies. The shape is the same at every host count, so the cost per
simulated task can be compared across sizes. `python -m spark_sched.sim.synthetic
HOSTS TASKS [TIMES]` runs one (or the same one TIMES times, each on a freshly built
workload) and prints its cost as JSON (one process per run, so peak memory is that
run's own).

With TIMES > 1 the CPU time per task is the fastest simulation's, as `timeit`
reports: on a shared machine a neighbour's use of the processor's last-level cache
slows a simulation whose state does not fit the core's own cache (1,000 hosts) and
leaves one that fits (10 hosts) alone, so single runs inflate exactly the ratio the
bench judges. The slowest is reported beside it (`us_per_task_slowest`).
"""

from __future__ import annotations

import json
import random
import resource
import sys
import time

from spark_sched.sim.cluster import SimCluster
from spark_sched.sim.settings import SimSettings
from spark_sched.sim.simulator import simulate
from spark_sched.sim.workload import JobSpec, StageSpec, TaskSpec

SLOTS = 8
TASK_S = 10.0
TASKS_PER_JOB = 10
LOAD = 0.7
BLOCK_BYTES = 64e6
HOSTS_PER_RACK = 40


def cluster(hosts: int) -> SimCluster:
    return SimCluster.uniform(hosts, SLOTS, racks=max(1, hosts // HOSTS_PER_RACK))


def jobs(grid: SimCluster, tasks: int, seed: int = 1) -> list[JobSpec]:
    """Jobs totalling `tasks` tasks (the last job is cut to fit)."""
    rng = random.Random(seed)
    rate = LOAD * grid.total_slots / TASK_S / TASKS_PER_JOB
    out: list[JobSpec] = []
    clock, made = 0.0, 0
    while made < tasks:
        clock += rng.expovariate(rate)
        count = min(tasks - made, 200, 1 + int(rng.expovariate(1 / (TASKS_PER_JOB - 0.5))))
        stage = [TaskSpec(rng.expovariate(1 / TASK_S), BLOCK_BYTES, tuple(rng.sample(grid.hosts, 3)))
                 for _ in range(count)]
        out.append(JobSpec(len(out), clock, [StageSpec(0, stage)]))
        made += count
    return out


def peak_rss_mb() -> float:
    """This process's own peak resident memory (VmHWM). Not getrusage's ru_maxrss: Linux carries the
    parent's peak over fork and exec into it, so a small run would report its launcher's memory."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(hosts: int, tasks: int, seed: int = 1, times: int = 1) -> dict[str, float]:
    """Build and simulate one workload (`times` times, each build fresh); CPU time, peak memory, what it simulated.

    `cpu_s` is one build plus the fastest simulation; the simulations give the same result (same seed).
    """
    build_s, simulate_s = [], []
    for _ in range(times):
        start = time.process_time()
        grid = cluster(hosts)
        work = jobs(grid, tasks, seed)
        built = time.process_time()
        result = simulate(grid, work, SimSettings(), seed=seed)
        done = time.process_time()
        build_s.append(built - start)
        simulate_s.append(done - built)
    job_times = result.job_times()
    fastest = min(simulate_s)
    return {
        "hosts": hosts, "jobs": len(work), "tasks": tasks, "events": result.events, "simulations": times,
        "cpu_s": build_s[simulate_s.index(fastest)] + fastest, "simulate_cpu_s": fastest,
        "us_per_task": fastest / tasks * 1e6, "us_per_task_slowest": max(simulate_s) / tasks * 1e6,
        "peak_rss_mb": peak_rss_mb(),
        "simulated_s": result.end_time, "jobs_finished": len(job_times),
        "locality": result.locality_fraction(),
        "mean_job_s": float(job_times.mean()) if len(job_times) else float("nan"),
    }


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]), int(sys.argv[2]), times=int(sys.argv[3]) if len(sys.argv) > 3 else 1)))
