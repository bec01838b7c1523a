"""Interrupted runs: kill -9 at random points, a vLLM server that goes away mid-run, a killed Ray actor.

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
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import run_cli, write_server_config
from proxy import Proxy

from aurelia_local.core.jsonl import read_records

pytestmark = pytest.mark.engine
SAMPLES = 6
GUARD = Path(__file__).resolve().parents[1] / "netguard"
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


def _addr(hex_addr: str):
    """An address of /proc/net/{tcp,udp}[6] (the port dropped); an IPv4-mapped one as IPv4."""
    import ipaddress

    raw = bytes.fromhex(hex_addr.split(":")[0])
    if len(raw) == 4:
        return ipaddress.IPv4Address(raw[::-1])
    ip = ipaddress.IPv6Address(b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4)))
    return ip.ipv4_mapped or ip


def _ray_sockets() -> set[tuple[str, str, str, str]]:
    """(process, protocol, local, remote) of every inet socket held by a Ray process now."""
    inodes: dict[str, str] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            name = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if "ray" not in name.lower():
                continue
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes[link[8:-1]] = name.split()[0]
        except OSError:
            continue
    found = set()
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        for line in Path(f"/proc/net/{proto}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                found.add((inodes[fields[9]], proto, _addr(fields[1]), _addr(fields[2])))
    return found


def test_a_ray_pool_on_loopback_survives_a_killed_actor_and_equals_the_single_process_run(
    setup, reference, tmp_path
):
    """A local Ray pool of 2 actors (the session's servers behind them), one killed with kill -9.

    The run is guarded: a Python connect beyond loopback fails and is logged, and the sockets of
    Ray's own processes (GCS, raylet, workers, C++ too) are read from /proc while it runs: none may
    listen on or talk to an address other than loopback.
    """
    pytest.importorskip("ray.data")
    out = tmp_path / "ray"
    env = dict(os.environ, NETGUARD_LOG=str(tmp_path / "net.log"))
    env["PYTHONPATH"] = os.pathsep.join([str(GUARD), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-m", "aurelia_local.app.cli", *_args(setup, out), "--config", str(setup[1]),
           "--ray", "--workers", "2"]  # fmt: skip
    seen: set = set()
    running = threading.Event()
    running.set()

    def watch():
        while running.is_set():
            seen.update(_ray_sockets())
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        log = out / "workers.jsonl"
        deadline = time.time() + 300
        while not (log.is_file() and len(log.read_text().splitlines()) >= 2):
            assert proc.poll() is None and time.time() < deadline, proc.communicate()[1][-3000:]
            time.sleep(0.2)
        victim = json.loads(log.read_text().splitlines()[0])["pid"]
        os.kill(victim, signal.SIGKILL)  # an actor dies with its engines' clients, mid-sample
        stdout, stderr = proc.communicate(timeout=600)
    finally:
        running.clear()
        watcher.join()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr[-3000:]
    records = read_records(out / "traces.jsonl")
    assert sorted(r["id"] for r in records) == sorted(reference)
    _check_against(reference, records)  # each exactly once, equal to the single-process run's
    starts = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(starts) == 3 and victim not in [s["pid"] for s in starts[1:]]  # 2 actors + 1 restart
    assert not (tmp_path / "net.log").exists(), (tmp_path / "net.log").read_text()
    assert seen, "no socket of a Ray process was seen"
    # bound to loopback (0.0.0.0 would be every interface); a listening or unconnected socket has no remote
    outside = {s for s in seen if not s[2].is_loopback or not (s[3].is_loopback or s[3].is_unspecified)}
    assert not outside, sorted(map(str, outside))
    assert f"{SAMPLES} ok, 0 errors of {SAMPLES} samples" in stdout
