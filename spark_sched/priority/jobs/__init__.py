"""LOW jobs the controller may stop: preemptible Python and JVM-only jobs, and the cooperative stop signal."""
