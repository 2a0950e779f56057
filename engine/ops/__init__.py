"""What users do to a dataset: filters (with the XPath compiler), pixel edits and mnistify,
transforms, merge, stats, checks, verify, preview, synthetic digits. Imports engine.model,
compute, io, interop and codecs; never the format layer or the registry.
"""
