"""The priority model's decisions, without Spark: preemption policies and starvation guards, chosen by name."""
