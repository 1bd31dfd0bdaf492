"""Benchmarks; each writes its figures to BENCHMARKS.md."""
