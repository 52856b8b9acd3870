"""Benchmarks: ``make bench`` prints ratios side by side (never timed assertions in tests)."""
