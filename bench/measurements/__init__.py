"""One module per measurement, each with ``measure(context) -> list[Measurement]``.

``bench.run.MEASUREMENTS`` lists them in the order they run.
"""
