"""``make bench``: every benchmark in one run, ratios printed side by side."""

from bench import availability, slot_engine

if __name__ == "__main__":
    print("Slot engine alone (pure function)")
    slot_engine.main()
    availability.main([])
