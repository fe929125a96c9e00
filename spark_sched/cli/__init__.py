"""The `spark-sched` command."""
