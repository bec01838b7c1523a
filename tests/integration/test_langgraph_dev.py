"""LangGraph's own dev server runs the loop on a sample posted over HTTP.

The server process resolves the run's context (a profile and loop overrides) into engines through
its process pool; here those engines are clients of the session's agent servers, so no engine
starts in the server process. Every Python process runs under the network guard.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.engine
REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def langgraph_server(server_config, daily_omni_clip, tmp_path_factory):
    logs = tmp_path_factory.mktemp("langgraph")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AURELIA_", "LANGSMITH", "LANGCHAIN"))}
    env.update(
        AURELIA_CONFIG=str(server_config), AURELIA_DATA__SERVE_ROOT=str(daily_omni_clip.parents[2]),
        AURELIA_LOG_DIR=str(logs), PYTHONPATH=str(REPO / "tests" / "netguard"),
        NETGUARD_LOG=str(logs / "netguard.log"),
    )  # fmt: skip
    langgraph = Path(sys.executable).with_name("langgraph")
    cmd = [str(langgraph), "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port)]
    log = (logs / "server.log").open("w")
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    try:
        while True:
            try:
                if httpx.get(url + "/ok", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.time() > deadline or proc.poll() is not None:
                pytest.fail(f"langgraph dev did not start; see {logs / 'server.log'}")
            time.sleep(1)
        yield url, logs
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def _sample(clip: Path, n: int) -> dict:
    return {"id": f"posted{n}", "question": "What instrument is heard first?", "video": str(clip),
            "choices": ["Guitar", "Piano", "Drums", "Violin"], "answer": "A"}  # fmt: skip


def test_langgraph_dev_runs_the_loop_on_a_posted_sample(langgraph_server, daily_omni_clip):
    url, logs = langgraph_server
    client = httpx.Client(base_url=url, timeout=600, trust_env=False)
    thread = client.post("/threads", json={}).json()["thread_id"]
    context = {"profile": "smoke", "overrides": ["loop.tau=10", "loop.max_rounds=2"]}
    body = {
        "assistant_id": "aurelia_loop",
        "input": {"sample": _sample(daily_omni_clip, 1)},
        "context": context,
    }
    reply = client.post(f"/threads/{thread}/runs/wait", json=body)
    assert reply.status_code == 200, reply.text[:2000]
    state = reply.json()
    assert "__error__" not in state, state.get("__error__")
    rounds = state["rounds"]
    assert [r["round"] for r in rounds] == [1, 2] and state["result"]["rounds_run"] == 2
    assert all(isinstance(r["score"]["value"], int) and 1 <= r["score"]["value"] <= 10 for r in rounds)
    assert state["result"]["score"] == max(r["score"]["value"] for r in rounds)
    saved = client.get(f"/threads/{thread}/state").json()["values"]
    assert saved["result"] == state["result"] and len(saved["rounds"]) == 2

    # each node's update streams as it finishes; one round, as tau=1 passes at once
    stream = {**body, "input": {"sample": _sample(daily_omni_clip, 2)}, "stream_mode": "updates",
              "context": {"profile": "smoke", "overrides": ["loop.tau=1"]}}  # fmt: skip
    thread2 = client.post("/threads", json={}).json()["thread_id"]
    nodes, event = [], None
    with client.stream("POST", f"/threads/{thread2}/runs/stream", json=stream) as events:
        for line in events.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "updates":
                nodes += list(json.loads(line[5:]))
    assert nodes[:4] == ["generate_reasoning", "summarize", "evaluate_caption", "select_best"]

    # a posted run may not choose models, servers or trust_remote_code
    bad = {**body, "context": {"profile": "smoke", "overrides": ["models.generator.trust_remote_code=true"]}}
    refused = client.post(f"/threads/{thread2}/runs/wait", json=bad).json()
    assert refused["__error__"]["error"] == "ConfigError" and "rounds" not in refused
    assert "a posted run may change only loop.*, sampling.*" in (logs / "server.log").read_text()
    # langgraph.json turns off langgraph-api's start-up version check (an HTTPS request to PyPI):
    # the server process made no connection beyond loopback.
    guard_log = logs / "netguard.log"
    assert not guard_log.exists(), guard_log.read_text()
