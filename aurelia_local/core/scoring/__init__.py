"""Scoring a caption against a sample's media with CLIP and CLAP, calibrated to the 1-10 scale.

Scorers that ask a model (the omni judge, hybrid) live in the engine layer
(``aurelia_local.engines.scorers``).
"""
