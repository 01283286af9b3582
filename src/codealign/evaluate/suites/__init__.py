"""Benchmarks, one module each, registered in `codealign.registry.BENCHMARKS`."""
