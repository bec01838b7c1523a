"""Interrupted runs: kill -9 at random points, and a vLLM server that goes away mid-run.

``aurelia distill`` runs as a subprocess against the session's servers; the generator's server is
reached through a proxy that can cut it off. Every run is compared, record by record, with one
uninterrupted run of the same command. Set ``AURELIA_KILL_SEED`` to replay a failed kill sequence.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time
from urllib.parse import urlparse

import pytest
from conftest import run_cli, write_server_config
from proxy import Proxy

from aurelia_local.core.jsonl import read_records

pytestmark = pytest.mark.engine
SAMPLES = 6
CHOICES = ["Construction site overview", "Detailed sign graphic", "Instructor in PPE", "Excavator movement"]


@pytest.fixture(scope="module")
def proxy(agent_servers):
    target = urlparse(agent_servers["generator"])
    proxy = Proxy((target.hostname, target.port))
    proxy.up()
    yield proxy
    proxy.down()


@pytest.fixture(scope="module")
def setup(proxy, agent_servers, models_dir, daily_omni_clip, tmp_path_factory):
    """The manifest and a config whose generator is behind the proxy (3 retries: 0.5 + 1 + 2 s)."""
    root = tmp_path_factory.mktemp("interrupted")
    (root / "clip.mp4").symlink_to(daily_omni_clip)
    lines = [json.dumps({"id": f"k{i}", "question": f"What is shown at second {3 * i}?", "video": "clip.mp4",
                         "choices": CHOICES, "answer": "B"}) for i in range(SAMPLES)]  # fmt: skip
    (root / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    urls = {"generator": proxy.url, "summarizer": agent_servers["summarizer"]}
    write_server_config(root / "config.yaml", models_dir, urls, engine={"max_retries": 3},
                        loop={"max_rounds": 2, "concurrency": 1})  # fmt: skip
    return root / "manifest.jsonl", root / "config.yaml"


def _args(setup, out):
    return ("distill", str(setup[0]), "--out", str(out), "--no-progress")


def _comparable(record):
    record = {k: v for k, v in record.items() if k != "seconds"}
    record["rounds"] = [{k: v for k, v in r.items() if k != "seconds"} for r in record.get("rounds", [])]
    return record


@pytest.fixture(scope="module")
def reference(setup, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    proc = run_cli(*_args(setup, out), config=setup[1])
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = read_records(out / "traces.jsonl")
    assert len(records) == SAMPLES and all(r["status"] == "ok" for r in records)
    return {r["id"]: _comparable(r) for r in records}


def _check_against(reference, records):
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)), f"a sample was written twice: {ids}"
    for record in records:
        assert _comparable(record) == reference[record["id"]], record["id"]


def test_kill_9_at_three_random_points_then_resume_matches_an_uninterrupted_run(setup, reference, tmp_path):
    seed = int(os.environ.get("AURELIA_KILL_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed)
    out = tmp_path / "killed"
    traces = out / "traces.jsonl"
    cmd = [sys.executable, "-m", "aurelia_local.app.cli", *_args(setup, out), "--config", str(setup[1])]
    kills = []
    for target in sorted(rng.sample(range(SAMPLES - 1), 3)):  # records written when the kill comes
        proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.time() + 600
        while proc.poll() is None and len(read_records(traces)) < target and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0, 1.5))  # anywhere in the sample (or the start-up) that follows
        assert proc.poll() is None, f"seed {seed}: the run ended before kill {len(kills) + 1}"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        kills.append(len(read_records(traces)))
        _check_against(reference, read_records(traces))
    final = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert final.returncode == 0, f"seed {seed}: {final.stderr[-3000:]}"
    records = read_records(traces)
    assert sorted(r["id"] for r in records) == sorted(reference), f"seed {seed}, kills after {kills}"
    _check_against(reference, records)


def test_a_server_outage_within_the_retries_is_ridden_out(setup, proxy, reference, tmp_path):
    dropped = proxy.dropped
    proxy.outage(after=3, seconds=2.0)  # the third chat request is cut off; 2 s of refused connects
    proc = run_cli(*_args(setup, tmp_path / "run"), config=setup[1])
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proxy.dropped == dropped + 1
    records = read_records(tmp_path / "run" / "traces.jsonl")
    assert len(records) == SAMPLES
    _check_against(reference, records)


def test_a_server_that_stays_down_stops_the_run_cleanly_and_the_rerun_completes(
    setup, proxy, reference, tmp_path
):
    out = tmp_path / "run"
    proxy.outage(after=4, seconds=None)
    try:
        proc = run_cli(*_args(setup, out), config=setup[1])
    finally:
        proxy.up()
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert f"127.0.0.1:{proxy.port}" in proc.stderr and "not reachable after 4 tries" in proc.stderr
    kept = read_records(out / "traces.jsonl")
    assert 1 <= len(kept) < SAMPLES and f"{len(kept)} samples are saved in {out}" in proc.stderr
    _check_against(reference, kept)

    again = run_cli(*_args(setup, out), config=setup[1])
    assert again.returncode == 0, again.stderr[-3000:]
    records = read_records(out / "traces.jsonl")
    assert len(records) == SAMPLES
    _check_against(reference, records)


def test_shards_one_killed_and_rerun_then_merged_equal_the_unsharded_run(setup, reference, tmp_path):
    """Shard 1 of 2 (found from RANK/WORLD_SIZE), then shard 0 killed part-way and rerun, then merged."""
    out = tmp_path / "sharded"
    cmd = [sys.executable, "-m", "aurelia_local.app.cli", *_args(setup, out), "--config", str(setup[1])]
    ranked = subprocess.run([*cmd, "--shard", "auto"], capture_output=True, text=True, timeout=900,
                            env={**os.environ, "RANK": "1", "WORLD_SIZE": "2"})  # fmt: skip
    assert ranked.returncode == 0, ranked.stderr[-3000:]
    assert (out / "shard-0001-of-0002" / "aurelia.log").is_file() and not (out / "aurelia.log").exists()
    traces = out / "shard-0000-of-0002" / "traces.jsonl"
    proc = subprocess.Popen([*cmd, "--shard", "0/2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    deadline = time.time() + 600
    while proc.poll() is None and len(read_records(traces)) < 2 and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "shard 0 ended before the kill"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (traces.parent / "lease.json").exists()  # left behind by the killed writer
    refused = run_cli("merge", str(out))
    assert refused.returncode == 2 and "1 did not finish (0)" in refused.stderr
    again = run_cli(*_args(setup, out), "--shard", "0/2", config=setup[1])  # its lease is taken over at once
    assert again.returncode == 0, again.stderr[-3000:]
    merged = run_cli("merge", str(out))
    assert merged.returncode == 0 and "merged 2 finished of 2 shards" in merged.stdout, merged.stderr
    records = read_records(out / "traces.jsonl")
    assert sorted(r["id"] for r in records) == sorted(reference)
    _check_against(reference, records)
