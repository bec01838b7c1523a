"""aurelia-local: test-time reasoning distillation for audio-visual LLMs, run on local open weights.

The package root stays import-light: it exposes the version and nothing that pulls in torch,
vLLM or transformers. Heavy modules are imported where they are used.
"""

__version__ = "0.1.0"
