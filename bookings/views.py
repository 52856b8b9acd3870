"""Student pages. The booking page is reached only through its signed link."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import render

from .links import manage_token_is_valid
from .models import Booking


def booking_manage(request, uid):
    """The booking's page; a missing or altered token is a 404 that shows nothing of the booking."""
    token = request.GET.get("token")
    if not manage_token_is_valid(uid, token):
        raise Http404("Unknown booking link.")
    booking = Booking.objects.select_related("instructor", "event_type", "brand").filter(uid=uid).first()
    if booking is None:
        raise Http404("Unknown booking link.")
    return render(request, "bookings/manage.html", {"booking": booking})
