"""Benchmarks, kept out of the test suite. Run them all with `memberpass-connector bench [--quick]`."""
