"""Benchmark scripts (run as modules; they print figures, they are not tests)."""
