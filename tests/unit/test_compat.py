def test_llvmlite_wrapper_no_longer_answers_dunders_but_still_resolves_symbols():
    import whisper  # noqa: F401 - loads numba and llvmlite
    from llvmlite.binding import ffi

    from aurelia_local.engines.compat import patch_llvmlite_ffi

    assert patch_llvmlite_ffi() and patch_llvmlite_ffi()  # idempotent
    assert not hasattr(ffi.lib, "__dict__")
    assert callable(ffi.lib.LLVMPY_GetVersionInfo)
