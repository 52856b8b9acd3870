"""How times go on the wire: UTC with a ``Z``, in events, webhooks and API responses alike."""

import datetime as dt


def utc_iso(value: dt.datetime) -> str:
    """``2026-12-01T09:00:00Z``; sub-second precision is dropped (it never matters for bookings)."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
