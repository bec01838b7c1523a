"""How families hand decoded media to processors and servers: images, JPEG frames, WAV data, frame times."""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aurelia_local.engines.request import AVInputs

TICKS_PER_SECOND = 100  # the time base of a video's frame metadata


def pil_image(image):
    """A PIL image of an (H, W, 3) uint8 array."""
    from PIL import Image

    return Image.fromarray(image)


def jpeg_base64(frame) -> str:
    """A frame as base64 JPEG (quality 95)."""
    buf = io.BytesIO()
    pil_image(frame).save(buf, format="JPEG", quality=95)
    return base64.b64encode(buf.getvalue()).decode()


def wav_data_url(audio, rate: int) -> str:
    """Audio as a ``data:audio/wav`` URL (32-bit float: the samples arrive unchanged)."""
    import soundfile

    buf = io.BytesIO()
    soundfile.write(buf, audio, rate, format="WAV", subtype="FLOAT")
    return "data:audio/wav;base64," + base64.b64encode(buf.getvalue()).decode()


def image_part(inputs: AVInputs) -> dict[str, Any]:
    """The OpenAI content part of the request's image."""
    return {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64," + jpeg_base64(inputs.image)}}


def video_part(inputs: AVInputs) -> dict[str, Any]:
    """The OpenAI content part of the request's frames: a ``video/jpeg`` frame sequence."""
    url = "data:video/jpeg;base64," + ",".join(jpeg_base64(f) for f in inputs.frames)
    return {"type": "video_url", "video_url": {"url": url}}


def video_metadata(inputs: AVInputs) -> dict[str, Any]:
    """The frames' metadata processors stamp frames with: frame ``i`` at ``frames_indices[i] / fps`` s.

    With the frames' own times, indices count 10 ms ticks of the clip (``fps`` 100), so each frame
    is stamped with the time it was taken; without them, frame ``i`` is taken to lie at ``i / fps``.
    """
    count = len(inputs.frames)
    if inputs.frame_times is not None and len(inputs.frame_times) == count:
        fps = float(TICKS_PER_SECOND)
        indices = [round(t * TICKS_PER_SECOND) for t in inputs.frame_times]
    else:
        # without a known fps (a clip of unknown length) the frames are taken as one a second
        fps = float(inputs.fps or 1.0)
        indices = list(range(count))
    total = max(indices) + 1 if indices else 0
    return {"fps": fps, "frames_indices": indices, "total_num_frames": total, "duration": total / fps}
