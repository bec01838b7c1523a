"""One chat-message type for every agent and model, converted per consumer.

``to_hf()`` feeds a processor's own chat template (transformers, and the prompt text of vLLM's
offline API); the OpenAI body of vLLM's server is rendered by each model family
(``aurelia_local.engines.families``). Model chat templates are never concatenated by hand.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class TextPart(BaseModel):
    """Plain text."""

    model_config = ConfigDict(frozen=True)
    type: Literal["text"] = "text"
    text: str


class VideoPart(BaseModel):
    """A video; ``url`` is only needed by consumers that fetch media themselves (the server)."""

    model_config = ConfigDict(frozen=True)
    type: Literal["video"] = "video"
    url: str | None = None


class ImagePart(BaseModel):
    """A still image."""

    model_config = ConfigDict(frozen=True)
    type: Literal["image"] = "image"
    url: str | None = None


class AudioPart(BaseModel):
    """An audio clip (a separate file, not the video's own track)."""

    model_config = ConfigDict(frozen=True)
    type: Literal["audio"] = "audio"
    url: str | None = None


Part = Annotated[TextPart | ImagePart | VideoPart | AudioPart, Field(discriminator="type")]


class ChatMessage(BaseModel):
    """One turn of a conversation."""

    model_config = ConfigDict(frozen=True)
    role: Literal["system", "user", "assistant"]
    content: list[Part]

    def to_hf(self, audio_items: int = 1) -> dict[str, Any]:
        """Return the message in the content-part form that HF chat templates render.

        ``audio_items``: each audio part becomes this many audio parts, one placeholder per item, for
        a model that takes a long track as several audio items.
        """
        parts = []
        for part in self.content:
            if isinstance(part, TextPart):
                parts.append({"type": "text", "text": part.text})
            else:
                copies = audio_items if isinstance(part, AudioPart) else 1
                parts.extend({"type": part.type, part.type: part.url or ""} for _ in range(copies))
        return {"role": self.role, "content": parts}

    def text(self) -> str:
        """Return the message's text parts joined (for text-only models)."""
        return "\n".join(p.text for p in self.content if isinstance(p, TextPart))


def user_turn(
    text: str, video: bool = False, audio: bool = False, system: str | None = None, text_first: bool = False,
    image: bool = False,
) -> list[ChatMessage]:  # fmt: skip
    """Build the common conversation: an optional system turn, then media parts and the text.

    ``text_first`` puts the text before the media (as some benchmark scripts do).
    """
    parts: list[Any] = []
    if image:
        parts.append(ImagePart())
    if video:
        parts.append(VideoPart())
    if audio:
        parts.append(AudioPart())
    parts.insert(0 if text_first else len(parts), TextPart(text=text))
    turns = [ChatMessage(role="system", content=[TextPart(text=system)])] if system else []
    return [*turns, ChatMessage(role="user", content=parts)]
