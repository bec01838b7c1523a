"""Shards: which shard a scheduler's task is, which samples it owns, and the lease on its folder."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from aurelia_local.core.errors import ConfigError
from aurelia_local.core.shards import LEASE, Lease, Shard, parse_shard, shard_folders

SLURM = {"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "4", "SLURM_ARRAY_TASK_MAX": "6",
         "SLURM_ARRAY_TASK_COUNT": "3"}  # fmt: skip


def test_a_shard_is_given_as_index_over_count_or_read_from_the_scheduler():
    assert parse_shard("3/8", {}) == Shard(3, 8) and parse_shard(" 0 / 1 ", {}) == Shard(0, 1)
    for bad in ("8/8", "-1/4", "1", "a/b", "1/0"):
        with pytest.raises(ConfigError, match="shard"):
            parse_shard(bad, {})
    assert parse_shard("auto", SLURM) == Shard(1, 3)  # counted from the array's first task
    # one task resubmitted alone (--array=3) keeps its index when the run's count is given
    alone = {"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "3", "SLURM_ARRAY_TASK_COUNT": "1"}
    assert parse_shard("auto", {**alone, "AURELIA_SHARD_COUNT": "8"}) == Shard(3, 8)
    with pytest.raises(ConfigError, match="the count must be at least 1"):
        parse_shard("0/0", {})
    with pytest.raises(ConfigError, match="a plain range"):
        parse_shard("auto", {**SLURM, "SLURM_ARRAY_TASK_MAX": "9"})  # --array=4,5,9: a gap
    with pytest.raises(ConfigError, match="a plain range"):
        parse_shard("auto", {**SLURM, "SLURM_ARRAY_TASK_STEP": "2"})
    assert parse_shard("auto", {"JOB_COMPLETION_INDEX": "2", "AURELIA_SHARD_COUNT": "4"}) == Shard(2, 4)
    with pytest.raises(ConfigError, match="AURELIA_SHARD_COUNT"):
        parse_shard("auto", {"JOB_COMPLETION_INDEX": "2"})
    assert parse_shard("auto", {"RANK": "1", "WORLD_SIZE": "2"}) == Shard(1, 2)
    with pytest.raises(ConfigError, match="no scheduler index"):
        parse_shard("auto", {})
    with pytest.raises(ConfigError, match="not a whole number"):
        parse_shard("auto", {"RANK": "one", "WORLD_SIZE": "2"})


def test_every_sample_belongs_to_exactly_one_shard_the_same_everywhere():
    ids = [f"sample-{i}" for i in range(1000)]
    shards = [Shard(i, 4) for i in range(4)]
    owners = [[s.index for s in shards if s.owns(key)] for key in ids]
    assert all(len(o) == 1 for o in owners)
    sizes = [sum(o == [i] for o in owners) for i in range(4)]
    assert all(200 <= n <= 300 for n in sizes)  # balanced by the hash, whatever the ids look like
    # the assignment is a property of the id alone (sha256), so a rerun on any machine agrees
    assert [s.index for key in ("d", "r0", "r1") for s in shards if s.owns(key)] == [1, 2, 1]
    assert Shard(3, 8).folder == "shard-0003-of-0008"


def test_one_writer_per_shard_and_a_dead_writers_lease_is_taken_over(tmp_path):
    folder = tmp_path / "shard-0000-of-0002"
    with Lease(folder):
        held = json.loads((folder / LEASE).read_text())
        assert (held["host"], held["pid"]) == (socket.gethostname(), os.getpid())
        with pytest.raises(ConfigError, match=f"pid {os.getpid()}"):
            Lease(folder).__enter__()
    assert not (folder / LEASE).exists()  # released
    assert shard_folders(tmp_path) == {2: {0: folder}}
    (tmp_path / "shard-0000-of-0004").mkdir()  # another count's folder is kept apart, not mixed in
    assert shard_folders(tmp_path) == {2: {0: folder}, 4: {0: tmp_path / "shard-0000-of-0004"}}
    # a writer elsewhere with a recent heartbeat keeps its shard (refused at once without waiting)
    other = {"host": "node-17", "pid": 4242, "token": "x", "heartbeat": time.time()}
    (folder / LEASE).write_text(json.dumps(other))
    with pytest.raises(ConfigError, match="node-17 pid 4242"):
        Lease(folder, wait=False).__enter__()
    # a second writer waits on it: a writer that keeps beating keeps it, a lost node's lease expires
    started = time.time()
    with Lease(folder, ttl_s=0.5):
        assert json.loads((folder / LEASE).read_text())["pid"] == os.getpid()
    assert 0.4 < time.time() - started < 5
    # its heartbeat stops: after the time to live the lease is taken over
    (folder / LEASE).write_text(json.dumps({**other, "heartbeat": time.time() - 1000}))
    with Lease(folder):
        assert json.loads((folder / LEASE).read_text())["pid"] == os.getpid()
    # an earlier run of this very container (a restarted pod: same hostname, same pid) is gone
    (folder / LEASE).write_text(json.dumps({**other, "host": socket.gethostname(), "pid": os.getpid()}))
    with Lease(folder, wait=False):
        pass
    # a writer on this host that has exited (killed -9) frees its shard at once
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    (folder / LEASE).write_text(json.dumps({**other, "host": socket.gethostname(), "pid": gone.pid}))
    with Lease(folder):
        pass


def test_a_running_writer_keeps_its_heartbeat_fresh_and_learns_when_it_lost_the_lease(tmp_path):
    with Lease(tmp_path, ttl_s=0.2) as lease:
        first = lease.holder()["heartbeat"]
        deadline = time.time() + 5
        while lease.holder().get("heartbeat") == first and time.time() < deadline:
            time.sleep(0.02)
        assert lease.holder()["heartbeat"] > first
        lease.check()  # still its own
        # its heartbeat stalled long enough for another writer to take the shard
        (tmp_path / LEASE).write_text(
            json.dumps({"host": "node-2", "pid": 7, "token": "t", "heartbeat": time.time()})
        )
        assert lease.lost.wait(5)
        with pytest.raises(ConfigError, match="lost its lease"):
            lease.check()
    assert json.loads((tmp_path / LEASE).read_text())["host"] == "node-2"  # the new writer's lease stays
