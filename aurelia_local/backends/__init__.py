"""Inference backends for the omni models: vLLM in-process and transformers."""
