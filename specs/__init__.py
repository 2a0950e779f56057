"""Declarations of dataset formats: one module per format, each defining `SPEC`. No I/O here."""
