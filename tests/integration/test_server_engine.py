"""The loop through vLLM's OpenAI-compatible server (started by a fixture on 127.0.0.1)."""

import asyncio
import dataclasses

import pytest

from aurelia_local.core.datasets import Sample
from aurelia_local.core.errors import ConfigError, EngineError

pytestmark = pytest.mark.engine


def _server_settings(smoke, urls, **engine):
    update = {"backend": "vllm_server", "servers": {k: [v] for k, v in urls.items()}, **engine}
    return smoke.model_copy(update={"engine": smoke.engine.model_copy(update=update)})


def test_loop_through_the_servers_keeps_audio_and_video(smoke, agent_servers, loop_ctx, daily_omni_clip):
    from aurelia_local.engines.server import ServerEngine
    from aurelia_local.graphs.runner import compile_loop, run_sample

    settings = _server_settings(smoke, agent_servers)
    settings = settings.model_copy(
        update={"loop": settings.loop.model_copy(update={"tau": 10, "max_rounds": 2})}
    )

    async def main():
        gen, summ = ServerEngine("generator", settings), ServerEngine("summarizer", settings)
        ctx = dataclasses.replace(loop_ctx, settings=settings, generator=gen, summarizer=summ)
        sample = Sample(id="srv", question="What is heard first?", video=daily_omni_clip)
        try:
            return (await run_sample(compile_loop(), ctx, sample)).model_dump(mode="json")
        finally:
            await gen.aclose()
            await summ.aclose()

    record = asyncio.run(main())
    assert len(record["rounds"]) == 2 and record["stop_reason"] == "max_rounds"
    tokens = record["rounds"][0]["tokens"]["generator"]
    # the same decoded frames and audio as in-process: 4 frames -> 120 video tokens, 30 s -> 750 audio
    assert tokens["video"] == 120 and tokens["audio"] == 750
    assert record["rounds"][0]["caption"]


def test_a_server_that_is_not_up_is_a_clear_error_naming_the_url(smoke):
    from conftest import _free_port

    from aurelia_local.core.messages import user_turn
    from aurelia_local.engines.request import AVInputs, EngineRequest, OmniRequest
    from aurelia_local.engines.server import ServerEngine

    url = f"http://127.0.0.1:{_free_port()}/v1"
    settings = _server_settings(smoke, {"summarizer": url}, max_retries=1)
    engine = ServerEngine("summarizer", settings)
    request = EngineRequest(OmniRequest(user_turn("hi"), AVInputs(None, None)), smoke.sampling)
    with pytest.raises(EngineError, match=r"127\.0\.0\.1") as err:
        asyncio.run(engine.generate([request]))
    assert "not reachable after 2 tries" in str(err.value) and "serve_agents.sh" in str(err.value)


def test_only_loopback_or_allowed_hosts(smoke):
    from aurelia_local.engines.server import ServerEngine

    remote = _server_settings(smoke, {"summarizer": "http://10.1.2.3:8000/v1"})
    with pytest.raises(ConfigError, match="not loopback"):
        ServerEngine("summarizer", remote)
    allowed = remote.model_copy(
        update={"engine": remote.engine.model_copy(update={"allowed_hosts": ["10.1.2.3"]})}
    )
    assert ServerEngine("summarizer", allowed).roots == ["http://10.1.2.3:8000"]
    with pytest.raises(ConfigError, match="lists no URL"):
        ServerEngine("generator", remote)
