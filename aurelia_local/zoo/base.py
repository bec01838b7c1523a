"""The adapter interface every target model implements, and its request type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from aurelia_local.core.config import SamplingConfig
    from aurelia_local.core.media.bundle import MediaBundle
    from aurelia_local.core.media.still import StillMedia
    from aurelia_local.core.types import Generation


@dataclass(frozen=True)
class TargetRequest:
    """One question to a target model: the media, the text of the arm, which modalities it sees."""

    media: MediaBundle | StillMedia  # a video's bundle, or an image with its sound
    text: str
    video: bool = True  # the visual input: the video's frames, or the image
    audio: bool = True
    sampling: SamplingConfig | None = None  # this request's decoding (a draw's, a protocol's)
    system: str | None = None  # a system turn (an evaluation protocol's)
    text_first: bool = False  # the text before the media in the user turn

    @property
    def still(self) -> bool:
        """Whether the visual input is a still image."""
        from aurelia_local.core.media.still import StillMedia

        return isinstance(self.media, StillMedia)


class AVModel(Protocol):
    """A target audio-visual LLM: loaded once, then asked in batches."""

    key: str

    def answer(self, requests: list[TargetRequest]) -> list[Generation]:
        """Answer every request (greedy unless the settings say otherwise), in order."""
        ...
