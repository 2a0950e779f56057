"""What users do to a dataset: filters (with the XPath compiler), conversion and mnistify,
merge, stats, checks, verify, preview, synthetic digits. Imports engine.model, io, codecs; never
the registry.
"""
