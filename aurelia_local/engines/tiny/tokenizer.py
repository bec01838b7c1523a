"""Tiny byte-level BPE tokenizers and chat templates for the kit's language models.

The special tokens come first so that their ids are small and fixed; the model configs read the
ids back from the tokenizer instead of hard-coding them.
"""

from __future__ import annotations

from dataclasses import dataclass

CORPUS = (
    "The quick brown fox jumps over the lazy dog. Describe the video and the audio. "
    "A person speaks while music plays in the background. What instrument is heard first? "
    "Step 1: look at the frames. Step 2: listen to the sound. The answer is A, B, C or D. "
    "Reasoning steps, caption, score, feedback, question, options, answer, summary. "
    '{"steps": ["one", "two"], "answers": ["yes", "no"], "final_answer": "B", "score": 7} '
    "system user assistant system user assistant. "
    "zero one two three four five six seven eight nine ten left right middle indoor outdoor "
)
VOCAB_SIZE = 512


@dataclass(frozen=True)
class OmniTokens:
    """The token strings one omni family uses for media placeholders."""

    image: str
    audio: str
    video: str
    vision_bos: str
    vision_eos: str
    audio_bos: str
    audio_eos: str

    def specials(self) -> list[str]:
        """Return the tokenizer's special tokens in id order."""
        return [
            "<|endoftext|>", "<|im_start|>", "<|im_end|>", self.audio, self.audio_bos, self.audio_eos,
            self.vision_bos, self.vision_eos, "<|vision_pad|>", self.image, self.video,
        ]  # fmt: skip

    def named(self) -> dict[str, str]:
        """Return the named special tokens the omni processors read from the tokenizer."""
        return {
            "image_token": self.image, "audio_token": self.audio, "video_token": self.video,
            "vision_bos_token": self.vision_bos, "vision_eos_token": self.vision_eos,
            "audio_bos_token": self.audio_bos, "audio_eos_token": self.audio_eos,
        }  # fmt: skip


QWEN2_5_OMNI_TOKENS = OmniTokens(
    "<|IMAGE|>",
    "<|AUDIO|>",
    "<|VIDEO|>",
    "<|vision_bos|>",
    "<|vision_eos|>",
    "<|audio_bos|>",
    "<|audio_eos|>",
)
QWEN3_OMNI_TOKENS = OmniTokens(
    "<|image_pad|>", "<|audio_pad|>", "<|video_pad|>",
    "<|vision_start|>", "<|vision_end|>", "<|audio_start|>", "<|audio_end|>",
)  # fmt: skip
TEXT_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def chat_template(tokens: OmniTokens | None) -> str:
    """Return a ChatML template; with ``tokens`` it renders media parts as placeholder triples."""
    media = ""
    if tokens is not None:
        media = (
            "{%- elif part['type'] in ['image', 'image_url'] %}"
            f"{{{{- '{tokens.vision_bos}{tokens.image}{tokens.vision_eos}' }}}}"
            "{%- elif part['type'] in ['video', 'video_url'] %}"
            f"{{{{- '{tokens.vision_bos}{tokens.video}{tokens.vision_eos}' }}}}"
            "{%- elif part['type'] in ['audio', 'audio_url', 'input_audio'] %}"
            f"{{{{- '{tokens.audio_bos}{tokens.audio}{tokens.audio_eos}' }}}}"
        )
    return (
        "{%- for message in messages %}"
        "{{- '<|im_start|>' + message['role'] + '\\n' }}"
        "{%- if message['content'] is string %}{{- message['content'] }}"
        "{%- else %}{%- for part in message['content'] %}"
        "{%- if part['type'] == 'text' %}{{- part['text'] }}"
        f"{media}"
        "{%- endif %}{%- endfor %}{%- endif %}"
        "{{- '<|im_end|>\\n' }}"
        "{%- endfor %}"
        "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
    )


def build_tokenizer(tokens: OmniTokens | None):
    """Train and wrap a tiny byte-level BPE tokenizer (deterministic for a fixed corpus)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = tokens.specials() if tokens is not None else TEXT_SPECIALS
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([CORPUS] * 50, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        bos_token=None,
        padding_side="left",
        extra_special_tokens=tokens.named() if tokens is not None else {},
    )
    fast.chat_template = chat_template(tokens)
    return fast
