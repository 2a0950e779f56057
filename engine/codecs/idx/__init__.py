"""The IDX codec: header parsing, the IDX container (one file = one tensor), label tables, and the
dataset codec that maps a spec's IDX layout onto subsets. Imports engine.codecs, model, io.
"""
