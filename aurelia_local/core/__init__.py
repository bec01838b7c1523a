"""Core: contracts, configuration, errors, media, grounding scores, records, registry, text.

Depends on nothing else in the project; every other layer builds on it.
"""
