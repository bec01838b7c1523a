"""Every model family an engine serves, on the tiny kit: one request per backend, media tokens asserted.

The request holds every input the family takes, decoded from the shared clip (30 s). transformers
answers here; the session's Qwen2.5-Omni and text vLLM engines answer for their families, and the
other families' vLLM engines answer in one process of their own, one engine at a time, each engine
core in a process of its own that ends (returning its memory) before the next starts.
"""

import json
import subprocess
import sys

import pytest

from aurelia_local.core.catalog import FAMILIES
from aurelia_local.zoo.cards import zoo_cards

pytestmark = pytest.mark.engine
QUESTION = "What is the first thing seen and heard?"
CLIP_SECONDS = 30.0
SERVED = [f.key for f in FAMILIES.select(lambda f: f.plugin is not None and f.tiny is not None)]
IN_SESSION = {"qwen2_5_omni": "qwen2_5_vllm", "text_llm": "summarizer_vllm"}  # the session's own engines


def request_for(kind: str, settings, clip, question: str):
    """A question with every input ``kind`` takes from ``clip`` (the soundtrack inside the video for omni)."""
    import dataclasses

    from aurelia_local.engines.request import load_av_inputs, question_request

    takes = FAMILIES.get(kind).inputs
    inputs = load_av_inputs(clip, None, settings.media)
    inputs = dataclasses.replace(
        inputs,
        frames=inputs.frames if "video" in takes else None,
        audio=inputs.audio if "audio" in takes else None,
        audio_in_video=inputs.audio_in_video and {"video", "audio"} <= set(takes),
    )
    return question_request(question, inputs)


def ask(kind: str, settings, clip, question: str, backend: str, engine=None) -> dict:
    """One greedy answer of the tiny ``kind`` model in ``backend`` (``engine``: an open one to use)."""
    from aurelia_local.core.config import ModelRef
    from aurelia_local.engines.factory import build_engine
    from aurelia_local.engines.protocol import generate_blocking

    ref = ModelRef(kind=kind, folder=f"tiny/{kind}", tiny=True, dtype="float32")
    own = engine is None
    engine = build_engine(settings.models_dir / ref.folder, ref, settings, backend) if own else engine
    try:
        got = generate_blocking(engine, [request_for(kind, settings, clip, question)], settings.sampling)[0]
    finally:
        if own:
            import asyncio

            asyncio.run(engine.aclose())
    return {"kind": kind, "backend": backend, "token_ids": got.token_ids, "prompt_tokens": got.prompt_tokens,
            "media_tokens": got.media_tokens}  # fmt: skip


@pytest.fixture(scope="module")
def vllm_answers(models_dir, daily_omni_clip) -> dict[str, dict]:
    """The vLLM answers of every family the session has no engine for, from one process of their own."""
    others = [kind for kind in SERVED if kind not in IN_SESSION]
    cmd = [sys.executable, __file__, str(models_dir), str(daily_omni_clip), QUESTION, *others]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    answers = [
        json.loads(x.removeprefix("RESULT ")) for x in proc.stdout.splitlines() if x.startswith("RESULT ")
    ]
    return {a["kind"]: a for a in answers}


def test_every_card_is_of_a_family_the_engines_serve_and_the_kit_builds():
    kinds = {card.kind for card in zoo_cards(None)}
    assert kinds <= set(SERVED), sorted(kinds - set(SERVED))
    tiny = {card.kind for card in zoo_cards(None) if card.tiny}
    assert tiny == kinds  # every family a card names has a tiny card the suite can run


@pytest.mark.parametrize("kind", SERVED)
def test_a_family_answers_in_both_backends_with_its_media_counted(kind, request, smoke, models_dir,
                                                                   daily_omni_clip):  # fmt: skip
    hf = ask(kind, smoke, daily_omni_clip, QUESTION, "hf")
    if kind in IN_SESSION:
        vllm = ask(kind, smoke, daily_omni_clip, QUESTION, "vllm", request.getfixturevalue(IN_SESSION[kind]))
    else:
        vllm = request.getfixturevalue("vllm_answers")[kind]
    family = FAMILIES.get(kind)
    media = hf["media_tokens"]
    assert media == vllm["media_tokens"] and hf["prompt_tokens"] == vllm["prompt_tokens"]
    assert (media.get("video", 0) > 0) == ("video" in family.inputs)
    assert (media.get("audio", 0) > 0) == ("audio" in family.inputs)
    if "audio" in family.inputs:  # the whole 30 s reached the prompt: nothing cut, nothing dropped
        assert media["audio"] == pytest.approx(family.audio_tokens_per_second * CLIP_SECONDS, rel=0.02)
    assert hf["token_ids"]
    assert hf["token_ids"] == vllm["token_ids"]


if __name__ == "__main__":  # the families' vLLM engines, one after the other, each core in its own process
    from pathlib import Path

    from aurelia_local.core.config import load_settings

    models, clip, question, *kinds = sys.argv[1:]
    sets = [f"models_dir={models}", "engine.core_placement=own_process"]
    settings = load_settings("smoke", overrides=sets, environ={})
    for kind in kinds:
        print("RESULT " + json.dumps(ask(kind, settings, Path(clip), question, "vllm")), flush=True)
