"""Benchmarks for `make bench`: each bench_*.py module prints its figures with a baseline."""
