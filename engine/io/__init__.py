"""Bytes and files, shared by codecs and adapters: compression, atomic output, safe paths,
checksums, restricted unpickling, image encode/decode, image folders, the worker pool, progress.
Imports engine.model and engine.errors only.
"""
