"""The landing page at ``/`` tells a newcomer where to go."""

import pytest

from scheduling.tests.factories import BrandFactory

pytestmark = pytest.mark.django_db


def test_the_landing_page_links_the_brands_the_back_office_and_the_api_docs(client):
    BrandFactory(slug="demo", name="Demo Coaching")

    response = client.get("/")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'href="/demo/"' in page and "Demo Coaching" in page
    assert 'href="/admin/"' in page
    assert 'href="/api/docs"' in page


def test_the_landing_page_without_brands_says_so(client):
    response = client.get("/")

    assert response.status_code == 200
    assert "No studio has been set up yet" in response.content.decode()
