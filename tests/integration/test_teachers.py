"""AVRT's dedicated teachers, tiny: Qwen3-VL sees the frames only, Audio Flamingo 3 hears the audio only.

Both teachers' vLLM engines run in one process of their own (this session's process holds its own
CPU engine): there they answer the shared clip, then write round one of an AVRT sample as its vision
and audio teachers (the vision model also merges and summarizes, so no third engine starts). Here
transformers answers the same requests, and the two backends must agree token for token. Then both
teachers serve round one from vLLM servers of their own.
"""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import serving

from aurelia_local.core.errors import MediaError
from aurelia_local.core.types import Generation
from aurelia_local.engines.protocol import generate_blocking
from aurelia_local.engines.request import AVInputs, load_av_inputs, question_request

pytestmark = pytest.mark.engine
QUESTION = "What is the first thing seen or heard?"
CHOICES = ["Construction site overview", "Detailed sign graphic"]
# The vision model merges and summarizes too: the records name what ran.
ROLES_ON_VISION = ("generator", "summarizer", "merger")

TEACHERS_VLLM = """
import asyncio, dataclasses, sys
from pathlib import Path

from aurelia_local.core.config import load_settings
from aurelia_local.core.datasets import Sample
from aurelia_local.core.scoring.grounding import GroundingScorer
from aurelia_local.engines.factory import build_engine
from aurelia_local.engines.protocol import generate_blocking
from aurelia_local.engines.request import AVInputs, load_av_inputs, question_request
from aurelia_local.graphs.context import LoopContext
from aurelia_local.graphs.runner import compile_loop, loop_models, run_sample

if __name__ == "__main__":
    # numba/llvmlite loaded before the engines, as in the loop (here only: spawned engine cores
    # import this file again)
    import whisper  # noqa: F401

    models, clip, question = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    choices, roles = sys.argv[4:6], sys.argv[6:]
    sets = [f"models_dir={models}", "loop.generator=avrt", "loop.max_rounds=1", "loop.tau=10"]
    sets += [f"models.{r}.kind=qwen3_vl" for r in roles] + [f"models.{r}.folder=tiny/qwen3_vl" for r in roles]
    s = load_settings("smoke", overrides=sets, environ={})
    teachers = ("vision_teacher", "audio_teacher")
    vision, audio = (build_engine(s.model_path(r), s.models[r], s, role=r) for r in teachers)
    inputs = load_av_inputs(clip, None, s.media)
    asks = {
        "qwen3_vl": (vision, dataclasses.replace(inputs, audio=None, audio_in_video=False)),
        "audio_flamingo3": (audio, AVInputs(None, inputs.audio)),
    }
    for kind, (engine, given) in asks.items():
        g = generate_blocking(engine, [question_request(question, given)], s.sampling)[0]
        print("RESULT " + kind + " " + g.model_dump_json(), flush=True)
    ctx = LoopContext(s, vision, vision, GroundingScorer(s), loop_models(s), vision_teacher=vision,
                      audio_teacher=audio, merger=vision)
    sample = Sample(id="avrt-teachers", question=question, video=clip, choices=choices)
    record = asyncio.run(run_sample(compile_loop(), ctx, sample))
    print("RECORD " + record.model_dump_json(), flush=True)
    audio.close()
    vision.close()
"""


@pytest.fixture(scope="module")
def teachers_vllm(models_dir, daily_omni_clip, tmp_path_factory):
    """The teachers' vLLM answers to the shared clip and an AVRT record, from a process of their own."""
    script = tmp_path_factory.mktemp("teachers") / "teachers_vllm.py"
    script.write_text(TEACHERS_VLLM)
    cmd = [
        sys.executable,
        str(script),
        str(models_dir),
        str(daily_omni_clip),
        QUESTION,
        *CHOICES,
        *ROLES_ON_VISION,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = proc.stdout.splitlines()
    answers = {}
    for line in (x for x in lines if x.startswith("RESULT ")):
        _, kind, body = line.split(" ", 2)
        answers[kind] = Generation.model_validate_json(body)
    record = json.loads(next(x for x in lines if x.startswith("RECORD "))[len("RECORD ") :])
    return answers, record


@pytest.fixture(scope="module")
def clip_inputs(smoke, daily_omni_clip) -> AVInputs:
    return load_av_inputs(daily_omni_clip, None, smoke.media)


def _hf(kind: str, settings):
    from aurelia_local.core.config import ModelRef
    from aurelia_local.engines.factory import build_engine

    ref = ModelRef(kind=kind, folder=f"tiny/{kind}", tiny=True, dtype="float32")
    return build_engine(settings.models_dir / ref.folder, ref, settings, "hf")


def test_vision_teacher_sees_frames_only_with_equal_greedy_tokens(teachers_vllm, clip_inputs, smoke):
    frames_only = dataclasses.replace(clip_inputs, audio=None, audio_in_video=False)
    engine = _hf("qwen3_vl", smoke)
    h = generate_blocking(engine, [question_request(QUESTION, frames_only)], smoke.sampling)[0]
    v = teachers_vllm[0]["qwen3_vl"]
    assert v.media_tokens == h.media_tokens and v.prompt_tokens == h.prompt_tokens
    assert h.media_tokens["video"] > 0 and h.media_tokens["audio"] == 0 and h.media_tokens["image"] == 0
    assert len(v.token_ids) == smoke.sampling.max_tokens and v.token_ids == h.token_ids
    with pytest.raises(MediaError, match="takes video, image, text, not audio"):  # never dropped silently
        generate_blocking(engine, [question_request(QUESTION, clip_inputs)], smoke.sampling)


def test_audio_teacher_hears_the_whole_track_with_equal_greedy_tokens(teachers_vllm, clip_inputs, smoke):
    from aurelia_local.engines.families.audio_flamingo import expected_audio_tokens

    audio_only = AVInputs(None, clip_inputs.audio)
    engine = _hf("audio_flamingo3", smoke)
    h = generate_blocking(engine, [question_request(QUESTION, audio_only)], smoke.sampling)[0]
    v = teachers_vllm[0]["audio_flamingo3"]
    assert clip_inputs.audio.size == 30 * 16000
    assert h.media_tokens == {"audio": 750, "video": 0} == v.media_tokens  # 30 s: one window, 25 a second
    assert v.prompt_tokens == h.prompt_tokens and v.token_ids == h.token_ids
    # 45 s: a 30 s window and a 15 s one, in one audio item
    longer = np.concatenate([clip_inputs.audio, clip_inputs.audio[: 15 * 16000]])
    h45 = generate_blocking(engine, [question_request(QUESTION, AVInputs(None, longer))], smoke.sampling)[0]
    assert h45.media_tokens["audio"] == expected_audio_tokens(longer.size, 16000) == 1125
    with pytest.raises(MediaError, match="takes audio, text, not video"):
        generate_blocking(engine, [question_request(QUESTION, clip_inputs)], smoke.sampling)


def test_audio_past_what_one_item_carries_is_refused_before_any_prompt():
    from aurelia_local.engines.families import family_of

    family = family_of("audio_flamingo3")
    eleven_minutes = AVInputs(None, np.zeros(660 * 16000, dtype=np.float32))
    with pytest.raises(MediaError, match="660.0 s of audio.*one audio item of at most 600 s"):
        family.check_inputs(eleven_minutes, "request")
    family.check_inputs(AVInputs(None, np.zeros(600 * 16000, dtype=np.float32)), "request")  # ten: whole


def test_avrt_round_one_with_dedicated_teachers_names_them(teachers_vllm):
    record = teachers_vllm[1]
    first = record["rounds"][0]
    avrt = first["avrt"]
    assert record["topology"] == "avrt" and len(record["rounds"]) == 1 and record["status"] == "ok"
    assert avrt["models"] == {
        "vision_teacher": {"kind": "qwen3_vl", "folder": "tiny/qwen3_vl"},
        "audio_teacher": {"kind": "audio_flamingo3", "folder": "tiny/audio_flamingo3"},
        "merger": {"kind": "qwen3_vl", "folder": "tiny/qwen3_vl"},
    }
    assert record["models"]["vision_teacher"] == "tiny/qwen3_vl"
    assert record["models"]["audio_teacher"] == "tiny/audio_flamingo3"
    for who in ("vision", "audio", "merger"):
        assert avrt[who]["steps"] and avrt[who]["answer"] in {"A", "B"}
    assert all(step in avrt["merger_prompt"] for step in avrt["vision"]["steps"] + avrt["audio"]["steps"])
    vision, audio = first["tokens"]["vision_teacher"], first["tokens"]["audio_teacher"]
    assert vision["video"] > 0 and vision["audio"] == 0  # AVRT's 8 frames, no sound
    assert audio["audio"] == 750 and audio["video"] == 0  # the whole 30 s track, no picture


@pytest.fixture(scope="module")
def teacher_servers(smoke, tmp_path_factory):
    with serving(smoke, ("vision_teacher", "audio_teacher"), tmp_path_factory.mktemp("teachers")) as urls:
        yield urls


def test_avrt_with_dedicated_teachers_runs_through_their_servers(smoke, agent_servers, teacher_servers,
                                                                 daily_omni_clip):  # fmt: skip
    """Round one from the teachers' own vLLM servers; the session's servers generate, summarize, merge."""
    import asyncio

    from aurelia_local.core.datasets import Sample
    from aurelia_local.core.scoring.grounding import GroundingScorer
    from aurelia_local.engines.server import ServerEngine
    from aurelia_local.graphs.context import LoopContext
    from aurelia_local.graphs.runner import compile_loop, loop_models, run_sample

    urls = {**agent_servers, **teacher_servers}
    engine = smoke.engine.model_copy(update={"backend": "vllm_server",
                                             "servers": {k: [v] for k, v in urls.items()}})  # fmt: skip
    loop = smoke.loop.model_copy(update={"generator": "avrt", "max_rounds": 1, "tau": 10})
    models = {**smoke.models, "merger": smoke.models["summarizer"]}  # the summarizer's server merges
    settings = smoke.model_copy(update={"engine": engine, "loop": loop, "models": models})

    async def main():
        engines = {role: ServerEngine(role, settings) for role in urls}
        ctx = LoopContext(settings, engines["generator"], engines["summarizer"], GroundingScorer(settings),
                          loop_models(settings), vision_teacher=engines["vision_teacher"],
                          audio_teacher=engines["audio_teacher"], merger=engines["summarizer"])  # fmt: skip
        sample = Sample(id="avrt-servers", question=QUESTION, video=daily_omni_clip, choices=CHOICES)
        try:
            return (await run_sample(compile_loop(), ctx, sample)).model_dump(mode="json")
        finally:
            for engine in engines.values():
                await engine.aclose()

    record = asyncio.run(main())
    avrt, tokens = record["rounds"][0]["avrt"], record["rounds"][0]["tokens"]
    assert record["status"] == "ok" and record["topology"] == "avrt"
    assert avrt["models"]["vision_teacher"] == {"kind": "qwen3_vl", "folder": "tiny/qwen3_vl"}
    assert avrt["models"]["audio_teacher"] == {"kind": "audio_flamingo3", "folder": "tiny/audio_flamingo3"}
    assert tokens["vision_teacher"]["video"] > 0 and tokens["vision_teacher"]["audio"] == 0
    assert tokens["audio_teacher"]["audio"] == 750 and tokens["audio_teacher"]["video"] == 0
    assert avrt["vision"]["answer"] in {"A", "B"} and avrt["audio"]["answer"] in {"A", "B"}
