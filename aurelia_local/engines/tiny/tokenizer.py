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
    specials = tokens.specials() if tokens is not None else TEXT_SPECIALS
    return _wrap(specials, tokens.named() if tokens is not None else {}, chat_template(tokens))


def _wrap(specials: list[str], named: dict[str, str], template: str, bos: str | None = None,
          eos: str = "<|im_end|>", pad: str = "<|endoftext|>"):  # fmt: skip
    """The tiny BPE of ``specials`` as a transformers tokenizer with its named tokens and chat template."""
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(
        tokenizer_object=_bpe(specials), eos_token=eos, pad_token=pad, bos_token=bos, padding_side="left",
        extra_special_tokens=named,
    )  # fmt: skip
    fast.chat_template = template
    return fast


def _bpe(specials: list[str]):
    """A byte-level BPE trained on the corpus, ``specials`` first (ids 0, 1, ...)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

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
    return tok


@dataclass(frozen=True)
class GemmaTokens:
    """Gemma 4's special tokens: turn markers, and each medium's placeholder with its begin/end markers.

    The names are those of the real tokenizer's ``tokenizer_config.json``, which ``Gemma4Processor``
    reads (``boi_token``, ``audio_token``...); ``<|video|>`` is in the vocabulary without a name.
    """

    bos: str = "<bos>"
    eos: str = "<eos>"
    pad: str = "<pad>"
    turn_start: str = "<|turn>"
    turn_end: str = "<turn|>"
    image: str = "<|image|>"
    image_bos: str = "<|image>"
    image_eos: str = "<image|>"
    audio: str = "<|audio|>"
    audio_bos: str = "<|audio>"
    audio_eos: str = "<audio|>"
    video: str = "<|video|>"

    def specials(self) -> list[str]:
        """Return the tokenizer's special tokens in id order."""
        return [
            self.pad, self.eos, self.bos, self.turn_start, self.turn_end, self.image_bos, self.image_eos,
            self.image, self.audio_bos, self.audio_eos, self.audio, self.video,
        ]  # fmt: skip

    def named(self) -> dict[str, str]:
        """Return the named special tokens ``Gemma4Processor`` reads from the tokenizer."""
        return {
            "image_token": self.image, "boi_token": self.image_bos, "eoi_token": self.image_eos,
            "audio_token": self.audio, "boa_token": self.audio_bos, "eoa_token": self.audio_eos,
            "sot_token": self.turn_start, "eot_token": self.turn_end,
        }  # fmt: skip

    def chat_template(self) -> str:
        """Gemma's turn layout; each media part becomes its medium's one placeholder."""
        return (
            "{{- bos_token }}"
            "{%- for message in messages %}"
            "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
            f"{{{{- '{self.turn_start}' + role + '\\n' }}}}"
            "{%- if message['content'] is string %}{{- message['content'] }}"
            "{%- else %}{%- for part in message['content'] %}"
            "{%- if part['type'] == 'text' %}{{- part['text'] }}"
            f"{{%- elif part['type'] in ['image', 'image_url'] %}}{{{{- '{self.image}' }}}}"
            f"{{%- elif part['type'] in ['video', 'video_url'] %}}{{{{- '{self.video}' }}}}"
            f"{{%- elif part['type'] in ['audio', 'audio_url', 'input_audio'] %}}{{{{- '{self.audio}' }}}}"
            "{%- endif %}{%- endfor %}{%- endif %}"
            f"{{{{- '{self.turn_end}\\n' }}}}"
            "{%- endfor %}"
            f"{{%- if add_generation_prompt %}}{{{{- '{self.turn_start}model\\n' }}}}{{%- endif %}}"
        )


GEMMA4_TOKENS = GemmaTokens()


def build_gemma_tokenizer(tokens: GemmaTokens):
    """A tiny byte-level BPE tokenizer with Gemma's special tokens, names and turn template."""
    template = tokens.chat_template()
    return _wrap(tokens.specials(), tokens.named(), template, tokens.bos, tokens.eos, tokens.pad)


@dataclass(frozen=True)
class VisionTokens:
    """Qwen3-VL's special tokens: ChatML turns, and the vision placeholders with their begin/end markers.

    ``Qwen3VLProcessor`` reads the four names from the tokenizer (``image_token``, ``video_token``,
    ``vision_start_token``, ``vision_end_token``).
    """

    image: str = "<|image_pad|>"
    video: str = "<|video_pad|>"
    vision_bos: str = "<|vision_start|>"
    vision_eos: str = "<|vision_end|>"

    def specials(self) -> list[str]:
        """Return the tokenizer's special tokens in id order."""
        return [*TEXT_SPECIALS, self.vision_bos, self.vision_eos, "<|vision_pad|>", self.image, self.video]

    def named(self) -> dict[str, str]:
        """Return the named special tokens the processor reads from the tokenizer."""
        return {
            "image_token": self.image, "video_token": self.video,
            "vision_start_token": self.vision_bos, "vision_end_token": self.vision_eos,
        }  # fmt: skip

    def chat_template(self) -> str:
        """ChatML with each image or video part as its placeholder triple (Qwen3-VL's layout)."""
        return (
            "{%- for message in messages %}"
            "{{- '<|im_start|>' + message['role'] + '\\n' }}"
            "{%- if message['content'] is string %}{{- message['content'] }}"
            "{%- else %}{%- for part in message['content'] %}"
            "{%- if part['type'] == 'text' %}{{- part['text'] }}"
            "{%- elif part['type'] in ['image', 'image_url'] %}"
            f"{{{{- '{self.vision_bos}{self.image}{self.vision_eos}' }}}}"
            "{%- elif part['type'] in ['video', 'video_url'] %}"
            f"{{{{- '{self.vision_bos}{self.video}{self.vision_eos}' }}}}"
            "{%- endif %}{%- endfor %}{%- endif %}"
            "{{- '<|im_end|>\\n' }}"
            "{%- endfor %}"
            "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
        )


@dataclass(frozen=True)
class SoundTokens:
    """Audio Flamingo 3's special tokens: ChatML turns and one audio placeholder (``<sound>``).

    ``AudioFlamingo3Processor`` takes the placeholder as its own argument, not from the tokenizer.
    """

    audio: str = "<sound>"

    def specials(self) -> list[str]:
        """Return the tokenizer's special tokens in id order."""
        return [*TEXT_SPECIALS, self.audio]

    def named(self) -> dict[str, str]:
        """No named tokens: the processor knows its placeholder."""
        return {}

    def chat_template(self) -> str:
        """Audio Flamingo 3's template: a default system turn, one placeholder before a turn's text.

        As the released checkpoint's processor template does, a user turn with any audio part gets
        the placeholder once, then the turn's text parts joined.
        """
        return (
            "{%- if messages[0]['role'] != 'system' %}"
            "{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{%- endif %}"
            "{%- for m in messages if m['content'] is not none %}"
            "{{- '<|im_start|>' + m['role'] + '\\n' }}"
            "{%- if m['content'] is string %}{{- m['content'] }}"
            "{%- else %}{%- set audio = namespace(found=False) %}{%- set text = namespace(v='') %}"
            "{%- for c in m['content'] %}"
            "{%- if c.get('type') in ['audio', 'audio_url', 'input_audio'] %}{%- set audio.found = True %}"
            "{%- elif c.get('type') == 'text' %}{%- set text.v = text.v + c['text'] %}{%- endif %}"
            "{%- endfor %}"
            f"{{%- if audio.found %}}{{{{- '{self.audio}' }}}}{{%- endif %}}{{{{- text.v }}}}"
            "{%- endif %}"
            "{{- '<|im_end|>\\n' }}"
            "{%- endfor %}"
            "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
        )


QWEN3_VL_TOKENS = VisionTokens()
AUDIO_FLAMINGO3_TOKENS = SoundTokens()


def build_chatml_tokenizer(tokens: VisionTokens | SoundTokens):
    """A tiny byte-level BPE tokenizer with ChatML turns and a single-modality model's media tokens."""
    return _wrap(tokens.specials(), tokens.named(), tokens.chat_template())
