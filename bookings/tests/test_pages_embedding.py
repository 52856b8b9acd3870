"""Embedding: a brand's pages may be framed only by the origins the brand lists; nothing else may."""

from __future__ import annotations

import pytest

from bookings import services
from bookings.links import manage_path
from bookings.tests.conftest import SLOT

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

ORIGINS = ["https://www.acme.example", "https://shop.acme.example:8443"]


@pytest.fixture
def pages(brand, instructor, session_type):
    booking = services.booking_create(
        brand=brand,
        instructor=instructor,
        event_type=session_type,
        start_at=SLOT,
        attendee_name="Ada",
        attendee_email="ada@example.com",
    ).booking
    return [
        f"/{brand.slug}/",
        f"/{brand.slug}/{instructor.slug}/",
        f"/{brand.slug}/{instructor.slug}/{session_type.slug}/",
        manage_path(booking),
    ]


def test_without_origins_every_page_refuses_framing(client, pages):
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_listed_origins_may_frame_the_brands_pages(client, brand, pages):
    brand.embed_origins = ORIGINS
    brand.save()
    for path in pages:
        response = client.get(path)
        assert "X-Frame-Options" not in response, path
        assert response["Content-Security-Policy"].endswith(
            "frame-ancestors 'self' https://www.acme.example https://shop.acme.example:8443"
        )


def test_pages_load_nothing_from_elsewhere(client, pages):
    policy = client.get(pages[2])["Content-Security-Policy"]
    assert policy.startswith("default-src 'self';")
    assert "form-action 'self'" in policy


def test_another_brands_origins_do_not_open_this_brand(client, brand, other_brand, pages):
    other_brand.embed_origins = ["https://evil.example"]
    other_brand.save()
    response = client.get(pages[0])
    assert response["X-Frame-Options"] == "DENY"
    assert "evil.example" not in response["Content-Security-Policy"]


def test_a_malformed_origin_stored_behind_the_validators_back_never_reaches_the_header(client, brand, pages):
    type(brand).objects.filter(pk=brand.pk).update(
        embed_origins=["https://ok.example", "https://x.example; script-src *", "*"]
    )
    policy = client.get(pages[0])["Content-Security-Policy"]
    assert policy.endswith("frame-ancestors 'self' https://ok.example")


def test_error_pages_and_other_pages_keep_refusing_framing(client, brand):
    brand.embed_origins = ORIGINS
    brand.save()
    for path in ("/no-such-brand/", f"/booking/00000000-0000-4000-8000-000000000000/?token={'0' * 40}", "/"):
        response = client.get(path)
        assert response["X-Frame-Options"] == "DENY", path
