"""Sampling-aware submission (KMN): jobs that may use any K of N input blocks get the K that suit the cluster now.

    from spark_sched import any_k_of_n
    run = any_k_of_n(cached_rdd, k=4, fn=lambda rows: [sum(1 for _ in rows)])
    run.chosen, run.result   # the blocks that ran (also in the job tags), and what runJob returned

Modules, one concern each: `blocks` (block model), `cached` and `files` (block
sources), `snapshot` (free slots and racks now), `rules` (valid subsets),
`matching` (input stage), `design` (the sampling design a choice amounts to),
`estimate` (intervals that hold for it), `decide` (extra upstream tasks or one
pipeline), `history` (upstream task times seen), `hedge` (what keeping the
first K of M saves), `extra` (extra upstream blocks and outputs under the rule),
`completions` (one job of M tasks reporting as each finishes), `firstk` (the
K outputs kept), `intermediate` (cross-rack skew), `straggler` (when to stop
waiting), `upstream` (output sizes), `tags` (the decision in job
tags), `spark_rdd` (the JVM calls), `runner` (`any_k_of_n`).
"""

from spark_sched.sampling.blocks import Block, BlockSource, StaticBlocks
from spark_sched.sampling.cached import CachedBlocks
from spark_sched.sampling.decide import Decision, ExtraTasks
from spark_sched.sampling.design import Design
from spark_sched.sampling.errors import SamplingError
from spark_sched.sampling.estimate import Interval, ratio_interval
from spark_sched.sampling.files import HostFiles, write_host_files
from spark_sched.sampling.intermediate import Output, choose_outputs, round_robin
from spark_sched.sampling.matching import InputChoice, choose_input
from spark_sched.sampling.rules import Predicate, Stratified, Uniform, resolve_rule
from spark_sched.sampling.runner import KmnRun, any_k_of_n
from spark_sched.sampling.snapshot import ClusterSnapshot, snapshot
from spark_sched.sampling.straggler import StragglerBound

__all__ = [
    "Block",
    "BlockSource",
    "CachedBlocks",
    "ClusterSnapshot",
    "Decision",
    "Design",
    "ExtraTasks",
    "HostFiles",
    "InputChoice",
    "Interval",
    "KmnRun",
    "Output",
    "Predicate",
    "SamplingError",
    "StaticBlocks",
    "Stratified",
    "StragglerBound",
    "Uniform",
    "any_k_of_n",
    "choose_input",
    "choose_outputs",
    "ratio_interval",
    "resolve_rule",
    "round_robin",
    "snapshot",
    "write_host_files",
]
