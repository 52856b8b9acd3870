"""``make bench``: every benchmark in one run, ratios printed side by side."""

from bench import availability

if __name__ == "__main__":
    availability.main([])
