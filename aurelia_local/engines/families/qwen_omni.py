"""Qwen omni thinkers (Qwen2.5-Omni, Qwen3-Omni-MoE): video, audio and text in one prompt.

Every backend gets the same decoded frames, the same audio and the same processor arguments, so
greedy outputs can be compared token for token. The prompt text always comes from the model's own
chat template. The soundtrack of a video is interleaved with its frames by time
(``use_audio_in_video``) in vLLM's offline engine and in transformers; vLLM's OpenAI server gets it
as an audio input of its own (see ``openai_request``).
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from aurelia_local.engines.families.base import Family

if TYPE_CHECKING:
    from aurelia_local.core.config import EngineConfig, MediaConfig
    from aurelia_local.engines.request import AVInputs, OmniRequest

MEDIA_LIMITS = {"audio": 1, "video": 1, "image": 0}


def processor_kwargs(inputs: AVInputs, media: MediaConfig) -> dict[str, Any]:
    """The processor arguments every backend passes for ``inputs``."""
    kwargs: dict[str, Any] = {"use_audio_in_video": inputs.audio_in_video}
    if inputs.frames is not None:
        kwargs["size"] = {"shortest_edge": media.video_min_pixels, "longest_edge": media.video_max_pixels}
        if inputs.fps:
            kwargs["fps"] = inputs.fps
    return kwargs


def _jpeg(frame) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(frame).save(buf, format="JPEG", quality=95)
    return base64.b64encode(buf.getvalue()).decode()


def _wav_url(audio, rate: int) -> str:
    import soundfile

    buf = io.BytesIO()
    soundfile.write(buf, audio, rate, format="WAV", subtype="FLOAT")
    return "data:audio/wav;base64," + base64.b64encode(buf.getvalue()).decode()


class QwenOmni(Family):
    """A Qwen omni thinker; the talker is never loaded."""

    @override
    def load_processor(self, path: Path, trust_remote_code: bool):
        from transformers import AutoProcessor

        return AutoProcessor.from_pretrained(path, local_files_only=True, trust_remote_code=trust_remote_code)

    @override
    def vllm_args(self, engine: EngineConfig) -> dict[str, Any]:
        return {"limit_mm_per_prompt": dict(MEDIA_LIMITS), "mm_processor_cache_gb": engine.mm_cache_gib}

    @override
    def server_flags(self, engine: EngineConfig) -> list[str]:
        # Per-request processor arguments carry each sample's fps and the profile's pixel budget.
        return ["--limit-mm-per-prompt", json.dumps(MEDIA_LIMITS), "--trust-request-mm-kwargs",
                "--mm-processor-cache-gb", str(engine.mm_cache_gib)]  # fmt: skip

    @override
    def load_hf_model(self, path: Path, dtype: Any, trust_remote_code: bool):
        import transformers

        cls = getattr(transformers, self.entry.model_class)
        full = cls.from_pretrained(
            path, dtype=dtype, enable_audio_output=False, local_files_only=True,
            trust_remote_code=trust_remote_code,
        )  # fmt: skip
        # The full model's generate() insists on a talker; the thinker generates text on its own.
        return full.thinker

    @override
    def chat_text(self, processor, request: OmniRequest) -> str:
        conv = [m.to_hf() for m in request.messages]
        return processor.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)

    @override
    def vllm_prompt(self, processor, request: OmniRequest, media: MediaConfig) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if request.inputs.frames is not None:
            data["video"] = request.inputs.frames
        if request.inputs.audio is not None:
            data["audio"] = (request.inputs.audio, request.inputs.sample_rate)
        kwargs = processor_kwargs(request.inputs, media)
        if "fps" in kwargs:
            # vLLM interleaves audio-in-video chunks by ``second_per_grid_ts`` from these kwargs and
            # assumes 1.0 s when it is absent, whatever fps the HF processor was given.
            kwargs["second_per_grid_ts"] = [processor.video_processor.temporal_patch_size / kwargs["fps"]]
        return {"prompt": self.chat_text(processor, request), "multi_modal_data": data,
                "mm_processor_kwargs": kwargs}  # fmt: skip

    @override
    def hf_inputs(self, processor, request: OmniRequest, media: MediaConfig):
        inputs = request.inputs
        return processor(
            text=self.chat_text(processor, request),
            videos=[inputs.frames] if inputs.frames is not None else None,
            audio=[inputs.audio] if inputs.audio is not None else None,
            return_tensors="pt",
            **processor_kwargs(inputs, media),
        )

    @override
    def openai_request(self, request: OmniRequest, media: MediaConfig) -> dict[str, Any]:
        """Frames as a ``video/jpeg`` frame sequence (with their fps), audio as a 16 kHz WAV.

        The audio goes as its own input, never ``use_audio_in_video``: vLLM 0.32's server cannot take
        the audio of a frame sequence, and asked to take it from the video file it resamples with
        torchaudio (absent on CPU) and, patched to scipy, hangs on CPU (measured).
        """
        inputs = request.inputs
        messages = []
        for m in request.messages:
            if m.role != "user":
                messages.append({"role": m.role, "content": m.text()})
                continue
            parts: list[dict] = []
            if inputs.frames is not None:
                url = "data:video/jpeg;base64," + ",".join(_jpeg(f) for f in inputs.frames)
                parts.append({"type": "video_url", "video_url": {"url": url}})
            if inputs.audio is not None:
                parts.append(
                    {"type": "audio_url", "audio_url": {"url": _wav_url(inputs.audio, inputs.sample_rate)}}
                )
            parts.append({"type": "text", "text": m.text()})
            messages.append({"role": m.role, "content": parts})
        body: dict[str, Any] = {"messages": messages}
        if inputs.frames is not None:
            body["mm_processor_kwargs"] = {**processor_kwargs(inputs, media), "use_audio_in_video": False}
        return body

    @override
    def media_token_strings(self) -> dict[str, str]:
        return {"audio": self.entry.audio_token, "video": self.entry.video_token}
