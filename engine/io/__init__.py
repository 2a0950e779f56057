"""Bytes and files, shared by codecs and adapters: compression, atomic output, safe paths,
checksums, restricted unpickling, image encode/decode (PNG included), image folders, TOML.
Imports engine.compute, engine.model and engine.errors only.
"""
