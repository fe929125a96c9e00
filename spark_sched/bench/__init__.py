"""`spark-sched bench`: experiments that run every variant side by side and report ratios."""
