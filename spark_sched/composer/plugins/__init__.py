"""The in-tree plugins, one module per extension point; `spark_sched.composer.builtin` registers them."""
