"""Where work runs, apart from what bytes it reads: executors (inline, process pool, Dask), the
chunked worker pool, progress bars, the Dask spill and the guard that ends orphaned workers.
Imports engine.model and engine.errors only.
"""
