"""The tiny-model kit: seeded, random-weight stand-ins for every model the project uses.

Built offline in seconds (``aurelia models build-tiny``), they exercise the real loading code, the
real model classes and the real inference engine, so an installation can be checked on any machine
without downloading weights. Their outputs are gibberish by construction.
"""
