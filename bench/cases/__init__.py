"""Benchmark cases: each module has a CASES list (see bench/harness.py); a new file adds its cases."""
