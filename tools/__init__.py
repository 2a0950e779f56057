"""Developer tools that also run in CI: the import-graph check, the fuzz harness."""
