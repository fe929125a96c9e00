"""The unified stream/batch application: a YSB-like stream in the HIGH pool beside TPC-H-like and Python batch jobs.

A generator thread writes ad-event files (`events`); a Structured Streaming
query counts views per campaign in 10 s event-time windows (Yahoo Streaming
Benchmark style) and commits each micro-batch's updated windows as one file
(`stream`, idempotent by batch id). Batch jobs run in the LOW pool under a
PriorityController (`batch`): TPC-H Q1/Q6-like DataFrame aggregations
(JVM-only: Spark cancels them in ~0.1 s) and a Python feature-extraction job
(PreemptibleJob: stops cooperatively). Each micro-batch's latency is the time
from its oldest input file being written to its output being committed;
Spark's own `durationMs` is kept beside it (`metrics`).

`run_unified(spark, variant, ...)` (`runner`) runs one variant for `seconds` and
returns its figures; the bundled job, `spark-sched demo` and the `priority`
bench all call it.
"""

from spark_sched.workloads.unified.batch import BatchFeeder, extract_features, q1_like
from spark_sched.workloads.unified.events import EventGenerator, campaign_of
from spark_sched.workloads.unified.metrics import UnifiedResult
from spark_sched.workloads.unified.runner import UnifiedParams, run_unified
from spark_sched.workloads.unified.stream import StreamSink, check_stream_output, start_stream
from spark_sched.workloads.unified.variants import POLICY_OF, UNIFIED_CLASSES, VARIANTS, classes_for

__all__ = [
    "POLICY_OF",
    "UNIFIED_CLASSES",
    "VARIANTS",
    "BatchFeeder",
    "EventGenerator",
    "StreamSink",
    "UnifiedParams",
    "UnifiedResult",
    "campaign_of",
    "check_stream_output",
    "classes_for",
    "extract_features",
    "q1_like",
    "run_unified",
    "start_stream",
]
