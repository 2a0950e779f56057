"""The CSV codec: a vectorised scanner of label+pixel rows, the row formatter, and the dataset
codec over a spec's CSV layout. Imports engine.codecs, model, io.
"""
