"""Benchmarks: the harness (harness.py), its cases (cases/) and the runner (run.py)."""
