"""Public keys' booking creation is throttled per key; secret keys are not."""

import pytest
from django.core.cache import cache

from bookings.api.throttles import PublicKeyWriteThrottle
from bookings.models import Booking

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


@pytest.fixture
def low_rate(monkeypatch):
    cache.clear()
    monkeypatch.setattr(PublicKeyWriteThrottle, "THROTTLE_RATES", {"public_write": "3/min"})
    yield
    cache.clear()


def test_public_key_gets_429_past_its_rate(low_rate, public_api, booking_body):
    codes = [
        public_api.post("/api/bookings", booking_body(attendee_email=f"s{n}@example.com"), format="json").status_code
        for n in range(4)
    ]
    assert codes[:3] == [201, 409, 409]
    assert codes[3] == 429
    assert Booking.objects.count() == 1


def test_secret_key_is_not_throttled(low_rate, api, booking_body):
    codes = [
        api.post("/api/bookings", booking_body(attendee_email=f"s{n}@example.com"), format="json").status_code
        for n in range(6)
    ]
    assert 429 not in codes


def test_default_rates_are_the_documented_ones():
    assert PublicKeyWriteThrottle().get_rate() == "60/min"
