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

vLLM 0.32's CPU backend replaces large linear layers with a oneDNN GEMM (``_custom_ops.onednn_mm``)
that needs a row-major input (``Expected a.stride(-1) == 1``). Gemma 4's audio light-conv block hands
it a transposed tensor, so the first real audio request crashes; start-up profiling misses it (its
dummy audio is one frame long). ``patch_onednn_mm`` makes the input contiguous: applied when an
in-process engine of such a model is built, and in every vLLM process through the package's
``vllm.general_plugins`` entry point (``vllm_plugin``), for engine cores in processes of their own.
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


def patch_onednn_mm() -> bool:
    """Make vLLM's CPU oneDNN GEMM accept non-contiguous inputs; return True when in place.

    Idempotent; nothing is changed off CPU (CUDA builds never call it).
    """
    from vllm.platforms import current_platform

    if not current_platform.is_cpu():
        return False
    from vllm import _custom_ops as ops

    original = ops.onednn_mm
    if getattr(original, "_aurelia_patched", False):
        return True

    def onednn_mm(dnnl_handler, x, bias):
        return original(dnnl_handler, x.contiguous(), bias)

    onednn_mm._aurelia_patched = True
    onednn_mm._aurelia_original = original
    ops.onednn_mm = onednn_mm
    return True


def vllm_plugin() -> None:
    """The hook vLLM calls in every process it starts (``vllm.general_plugins``): the fixes it needs."""
    patch_onednn_mm()
