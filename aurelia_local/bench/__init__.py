"""Benchmarks: answer extraction, metrics, the evaluation runner and its report.

``from aurelia_local.bench import extract_choice`` is the one multiple-choice extractor.
"""

from aurelia_local.bench.answer import extract_choice, normalize_open_answer

__all__ = ["extract_choice", "normalize_open_answer"]
