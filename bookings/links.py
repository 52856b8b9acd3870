"""Signed links to a booking's page: the student's only key to manage it.

The token is an HMAC of the booking's uid with the project's secret key, so
it needs no storage, cannot be guessed from the uid, and stops working if the
secret key is rotated.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

SALT = "bookings.manage-link"


def manage_token(uid) -> str:
    return salted_hmac(SALT, str(uid), algorithm="sha256").hexdigest()[:40]


def manage_token_is_valid(uid, token: str | None) -> bool:
    return bool(token) and constant_time_compare(manage_token(uid), token)


def manage_path(booking) -> str:
    return f"{reverse('booking-manage', kwargs={'uid': booking.uid})}?token={manage_token(booking.uid)}"


def manage_url(booking) -> str:
    """Absolute link for messages and the API's ``manage_url``."""
    return f"{settings.SITE_URL}{manage_path(booking)}"
