"""The one base class for a business rule saying no.

A service that refuses a request (the slot is taken, the transition is not
allowed, the cutoff passed) raises a :class:`Refusal`. It carries what every
door needs and nothing about HTTP routing: a stable ``code`` for machines, a
``message`` a student or staff member can read, and optional ``details`` (for
example the ``reason`` of a ``slot_unavailable``). The API's exception handler
turns any refusal into ``{"detail": message, "code": code, **details}`` with
``http_status``; pages and the admin show ``message``.

It lives in the project package, not in one domain app, because both
``scheduling`` and ``bookings`` refuse things and neither may import the other
the wrong way.
"""

from __future__ import annotations

from typing import Any


class Refusal(Exception):
    code = "conflict"
    http_status = 409

    def __init__(self, message: str, **details: Any):
        super().__init__(message)
        self.message = message
        self.details = details
