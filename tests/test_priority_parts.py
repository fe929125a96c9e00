"""The controller's parts without Spark: the preemption signal over a real socket, policies, commits, classes."""

from __future__ import annotations

import json
import socket
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from helpers import wait_until

from spark_sched.errors import SettingsError
from spark_sched.priority import HIGH, LOW, JobTags, PartitionStore, PriorityClass, SignalServer, policy, pool_xml
from spark_sched.priority.policy.policies import ClusterView, Demand, LowRunning, Victim
from spark_sched.workloads.unified import check_stream_output


@pytest.fixture
def server() -> SignalServer:
    srv = SignalServer("127.0.0.1").start()
    yield srv
    srv.close()


def test_signal_reaches_only_the_preempted_job_and_scope(server: SignalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.3")
    a0 = server.handle("a").probe(0)
    b0 = server.handle("b").probe(0)
    assert not a0() and not b0()
    server.stop("a", "h127.0.0.3")
    a1 = server.handle("a").probe(1)
    assert a1() and not b0()
    seen = {(t.job_id, t.partition, t.host) for t in server.running("a")}
    assert seen == {("a", 0, "127.0.0.3"), ("a", 1, "127.0.0.3")}
    server.clear("a")
    fresh = server.handle("a").probe(2)
    assert not fresh()
    server.stop("b", "p0")
    assert server.handle("b").probe(0)() and not server.handle("b").probe(1)()
    server.handle("a").done(0)
    assert ("a", 0) not in {(t.job_id, t.partition) for t in server.running("a")}


def test_signal_refuses_a_wrong_token(server: SignalServer) -> None:
    server.stop("a")
    with socket.create_connection(server.address, timeout=5) as sock:
        sock.sendall(b"not-the-token poll a 0 h\n")
        assert sock.recv(8) == b""  # dropped without an answer


def test_lb_frees_the_hosts_with_fewest_low_tasks_first() -> None:
    view = ClusterView(
        [LowRunning("x", True, ("w1", "w1", "w2")), LowRunning("y", True, ("w3",)), LowRunning("df", False)],
        {"*": 0},
    )
    assert policy("lb").choose(Demand(1), view) == [Victim("x", "hw2")]
    chosen = policy("lb").choose(Demand(2), view)
    assert set(chosen) == {Victim("x", "hw2"), Victim("y", "hw3")}
    assert Victim("df") in policy("lb").choose(Demand(9), view)  # cooperative stops cannot free 9 slots
    assert policy("requeue").choose(Demand(1), view) == [Victim("x"), Victim("y"), Victim("df")]
    assert policy("none").choose(Demand(5), view) == []


def test_suspend_chooses_tasks_on_the_busiest_low_hosts_and_never_jvm_only_work() -> None:
    view = ClusterView([LowRunning("x", True, ("w1", "w1", "w2"), ((0, "w1"), (1, "w1"), (2, "w2"))),
                        LowRunning("df", False)])
    assert policy("suspend").choose(Demand(2), view) == [Victim("x", "p1"), Victim("x", "p0")]
    assert policy("suspend").choose(Demand(1, frozenset({"w2"})), view) == [Victim("x", "p2")]
    assert len(policy("suspend").choose(Demand(9), view)) == 3  # only the Python tasks can be suspended


def test_a_paused_task_waits_in_its_stop_check_until_resumed(server: SignalServer) -> None:
    should_stop = server.handle("a").probe(0)
    assert should_stop() is False
    server.pause("a", "p0")
    outcome: list[bool] = []
    waiter = threading.Thread(target=lambda: outcome.append(should_stop()))
    time.sleep(server.handle("a").interval_s * 2)  # past the probe's cache: the next call asks the driver
    waiter.start()
    wait_until(server.suspended, "the task to report itself suspended")
    assert waiter.is_alive() and outcome == []  # blocked in the check, holding its state
    server.resume("a", "p0")
    waiter.join(timeout=5)
    assert outcome == [False]  # go on where it stood
    assert server.suspended_s("a") > 0 and len(server.pauses()) == 1
    server.pause("a", "*")
    server.stop("a", "p0")  # a stop outranks a pause: the task ends, saving its progress
    time.sleep(server.handle("a").interval_s * 2)
    assert should_stop() is True


def test_unknown_policy_is_refused_with_the_choices() -> None:
    with pytest.raises(SettingsError, match="'fast'.*kill, lb, none, requeue, suspend"):
        policy("fast")


def test_partition_commit_happens_once(tmp_path: Path) -> None:
    store = PartitionStore(tmp_path)
    store.save_progress(0, 5, [1, 2])
    assert store.progress(0) == (5, [1, 2])
    assert store.commit(0, [1, 2, 3])
    assert not store.commit(0, [9, 9, 9])  # a second attempt's output is dropped
    assert store.progress(0) == (0, [])
    assert store.pending(2) == [1]
    store.commit(1, [4])
    assert store.rows(2) == [1, 2, 3, 4]
    assert not list(tmp_path.glob(".tmp-*"))


def test_classes_tags_and_pool_file() -> None:
    tags = JobTags("low", "job7", 2)
    assert JobTags.parse(tags.all()) == {"priority": "low", "job": "job7", "attempt": "job7-2"}
    assert all("," not in t for t in tags.all())  # Spark refuses commas in job tags
    root = ET.fromstring(pool_xml((HIGH, LOW)))
    high = root.find("pool[@name='high']")
    assert high is not None and int(high.findtext("minShare")) > 0 and int(high.findtext("weight")) == 1000
    assert HIGH.outranks(LOW) and not LOW.outranks(HIGH)
    with pytest.raises(SettingsError, match="pool"):
        PriorityClass("x", 1, "bad pool")


def test_stream_check_finds_lost_and_double_counted_windows(tmp_path: Path) -> None:
    (tmp_path / "batch-000000.json").write_text(json.dumps([{"campaign_id": 1, "window_start": 0, "views": 3}]))
    (tmp_path / "batch-000001.json").write_text(json.dumps([{"campaign_id": 1, "window_start": 0, "views": 2}]))
    assert check_stream_output(tmp_path, {(1, 0): 5}) == []
    problems = check_stream_output(tmp_path, {(1, 0): 3, (2, 10): 4})
    assert len(problems) == 2
