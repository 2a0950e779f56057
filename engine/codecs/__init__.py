"""Spec-driven dataset codecs (IDX, CSV, NPZ) and what only they use: the `Codec` protocol,
headers, file-name patterns, label tables, side files, write preparation. Imports engine.model,
engine.io, engine.errors and specs.
"""
