"""What the toolkit runs to show and measure its mechanisms: workloads, demos, their analysis and plots.

Benches (`spark_sched.bench`), `spark-sched demo`, the bundled jobs and the
tests run these; no mechanism imports them. `unified` is the stream/batch
application of the priority controller, `mixed` the composer's sporadic
workload and `regret` its regret curve, `timeline` where slot time goes (from
Spark's task records), and `job_kinds` the durable queue's job kinds, which an
application registers with `register_job_kinds()` before it opens a queue.
"""

from spark_sched.workloads.job_kinds import register_job_kinds

__all__ = ["register_job_kinds"]
