"""``make bench``: the production stack measured against floors, one table (``bench.run``; docs/performance.md)."""
