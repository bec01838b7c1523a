"""Work-arounds for known incompatibilities between the pinned libraries, each applied on demand.

vLLM 0.32 scans every loaded module at engine start and calls ``vars(obj).get(...)`` on any object
with a ``__dict__``. llvmlite's FFI library wrapper (loaded by numba, hence by Whisper and librosa)
answers every attribute, ``__dict__`` included, with a wrapped C function, so the scan crashes with
``AttributeError: '_lib_fn_wrapper' object has no attribute 'get'`` whenever Whisper or librosa was
imported before the engine started. Dunder look-ups on that wrapper are never C symbols; making them
raise ``AttributeError`` fixes the scan and changes nothing else.

vLLM's Qwen omni input parser resamples audio with torchaudio by default. torchaudio is not
installed on CPU machines (its wheel is a CUDA build that fails to load there), so a server asked to
take the audio from a video (44.1 kHz tracks) fails; ``use_scipy_audio_resampler`` switches the
default to scipy when torchaudio cannot be imported.
"""

from __future__ import annotations

import sys


def patch_llvmlite_ffi() -> bool:
    """Apply the llvmlite work-around if llvmlite is loaded; return True when it is in place."""
    ffi = sys.modules.get("llvmlite.binding.ffi")
    wrapper = getattr(ffi, "_lib_wrapper", None) if ffi is not None else None
    if wrapper is None:
        return False
    original = wrapper.__getattr__
    if getattr(original, "_aurelia_patched", False):
        return True

    def __getattr__(self, name):  # noqa: N807 - replaces the class's own __getattr__
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return original(self, name)

    __getattr__._aurelia_patched = True
    wrapper.__getattr__ = __getattr__
    return True


def use_scipy_audio_resampler() -> bool:
    """Make vLLM resample audio with scipy when torchaudio is unavailable; return True if switched."""
    try:
        import torchaudio  # noqa: F401

        return False
    except Exception:  # noqa: BLE001 - any import failure means torchaudio cannot resample here
        pass
    from vllm.multimodal.parse import MultiModalDataParser

    defaults = MultiModalDataParser.__init__.__kwdefaults__
    defaults["audio_resample_method"] = "scipy"
    return True
