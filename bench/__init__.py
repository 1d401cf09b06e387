"""Benchmarks: run each with `python -m bench.<name> --help` from the repository root (see bench/README.md)."""
