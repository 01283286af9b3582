"""Execution-based evaluation: benchmarks pinned by version and content hash, and pass@k."""
