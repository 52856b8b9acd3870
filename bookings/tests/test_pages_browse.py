"""The brand page ``/<brand>/`` and an instructor's page ``/<brand>/<instructor>/``, and where they route."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import Resolver404, resolve

from bookings.views import browse
from scheduling.tests.factories import AssignmentFactory, BrandFactory, EventTypeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(brand, other_brand):
    clara = AssignmentFactory(brand=brand, instructor__name="Clara Berg", instructor__bio="Cellist.").instructor
    sam = AssignmentFactory(brand=brand, instructor__name="Sam Rivera").instructor
    elsewhere = AssignmentFactory(brand=other_brand, instructor__name="Other Brand Teacher").instructor
    intro = EventTypeFactory(brand=brand, name="Intro call", duration_minutes=30)
    paid = EventTypeFactory(brand=brand, name="Coaching", price_amount=Decimal("80.00"), currency="EUR")
    EventTypeFactory(brand=brand, name="Retired type", is_active=False)
    EventTypeFactory(brand=other_brand, name="Other brand type")
    return {"clara": clara, "sam": sam, "elsewhere": elsewhere, "intro": intro, "paid": paid}


def test_the_brand_page_lists_its_instructors_with_their_session_types(client, brand, catalogue):
    response = client.get(f"/{brand.slug}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>Book a session – Acme Coaching</title>" in html
    assert "Clara Berg" in html and "Cellist." in html and "Sam Rivera" in html
    assert "30 minutes · Free" in html and "80.00 EUR" in html
    clara, intro = catalogue["clara"], catalogue["intro"]
    assert f'href="/{brand.slug}/{clara.slug}/{intro.slug}/"' in html
    for hidden in ("Retired type", "Other brand type", "Other Brand Teacher"):
        assert hidden not in html


def test_the_brand_page_costs_three_queries_whatever_its_size(client, brand, catalogue, django_assert_max_num_queries):
    for _ in range(5):
        AssignmentFactory(brand=brand)
        EventTypeFactory(brand=brand)
    with django_assert_max_num_queries(3):
        assert client.get(f"/{brand.slug}/").status_code == 200


def test_a_brand_without_instructors_says_so(client):
    BrandFactory(slug="empty", name="Empty Studio")
    assert "No instructor takes bookings here" in client.get("/empty/").content.decode()


def test_the_instructor_page_lists_the_brands_session_types(client, brand, catalogue):
    clara = catalogue["clara"]
    response = client.get(f"/{brand.slug}/{clara.slug}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Book a session with Clara Berg" in html
    assert "Intro call" in html and "Coaching" in html and "Retired type" not in html


def test_another_brands_instructor_has_no_page_here(client, brand, catalogue):
    response = client.get(f"/{brand.slug}/{catalogue['elsewhere'].slug}/")
    assert response.status_code == 404
    assert "Other Brand Teacher" not in response.content.decode()


def test_an_unknown_brand_is_the_friendly_404(client):
    response = client.get("/no-such-studio/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html and "no-such-studio" not in html


def test_the_landing_page_links_each_brand_page(client, brand):
    assert f'href="/{brand.slug}/"' in client.get("/").content.decode()


@pytest.mark.parametrize(
    ("path", "view_name"),
    [
        ("/admin/", "admin:index"),
        ("/api/", None),
        ("/api/docs/", "api-docs"),
        ("/booking/00000000-0000-4000-8000-000000000000/", "booking-manage"),
        ("/static/", None),
        ("/bookings/", None),
    ],
)
def test_the_sites_own_paths_never_reach_the_brand_pages(path, view_name):
    try:
        match = resolve(path)
    except Resolver404:  # no route at all is fine too: not a brand page
        return
    assert match.func not in (browse.brand_page, browse.instructor_page)
    if view_name:
        assert match.view_name == view_name


def test_a_reserved_path_is_not_looked_up_as_a_brand(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert client.get("/static/").status_code == 404
