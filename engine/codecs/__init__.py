"""Spec-driven dataset codecs (IDX, CSV) and what only they use: headers, name layouts, label
tables, side files, write preparation. Imports engine.model, engine.io, engine.errors and specs.
"""
