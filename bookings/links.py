"""The booking token: the student's only key to their booking.

The token is an HMAC of the booking's uid with the project's secret key, so
it needs no storage, cannot be guessed from the uid, and stops working if the
secret key is rotated. It travels in the booking's ``manage_url`` (the
booking page) and, for API clients holding a ``public`` key, in the
``X-Booking-Token`` header.

A token opens its booking until the session ends (:func:`manage_token_opens`).
After that there is nothing left to change, and an old email should not keep
a student's details readable forever.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

SALT = "bookings.manage-link"


def manage_token(uid) -> str:
    return salted_hmac(SALT, str(uid), algorithm="sha256").hexdigest()[:40]


def manage_token_is_valid(uid, token: str | None) -> bool:
    """Whether ``token`` is the token of ``uid`` (constant-time)."""
    return bool(token) and constant_time_compare(manage_token(uid), token)


def manage_token_opens(booking, token: str | None) -> bool:
    """Whether ``token`` opens ``booking``: it is the booking's own token and the session has not ended."""
    return manage_token_is_valid(booking.uid, token) and not booking.has_ended


def manage_path(booking) -> str:
    return f"{reverse('booking-manage', kwargs={'uid': booking.uid})}?token={manage_token(booking.uid)}"


def manage_url(booking) -> str:
    """Absolute link for messages and the API's ``manage_url``."""
    return f"{settings.SITE_URL}{manage_path(booking)}"
