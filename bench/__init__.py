"""Benchmarks (`make bench`): what users pay for, each figure against its comparison in one run."""
