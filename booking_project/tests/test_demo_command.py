"""``manage.py demo`` is what a new user meets first: it must work and be idempotent."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from bookings.models import Booking
from scheduling.models import ApiKey, Brand, EventType, Instructor, InstructorBrand


@pytest.fixture
def var_dir(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    return tmp_path


def run_demo() -> str:
    out = io.StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_demo_creates_data_and_is_idempotent(var_dir):
    first = run_demo()
    counts = (
        Brand.objects.count(),
        Instructor.objects.count(),
        EventType.objects.count(),
        Booking.objects.count(),
        ApiKey.objects.count(),
    )
    assert counts[:3] == (1, 2, 2)
    assert counts[3] >= 1
    assert {a.timezone for a in InstructorBrand.objects.all()} == {"Europe/Berlin", "America/New_York"}
    assert all(a.weekly_ranges.exists() for a in InstructorBrand.objects.all())
    key = first.strip().splitlines()[-1].split()[-1]
    assert ApiKey.objects.get_from_key(key).brand.slug == "demo"
    assert get_user_model().objects.get(username="admin").check_password("demo-admin-password")

    second = run_demo()
    assert second.strip().splitlines()[-1].split()[-1] == key
    assert (
        Brand.objects.count(),
        Instructor.objects.count(),
        EventType.objects.count(),
        Booking.objects.count(),
        ApiKey.objects.count(),
    ) == counts


@pytest.mark.django_db
def test_demo_admin_login_shows_the_demo_data(var_dir, client):
    run_demo()
    assert client.login(username="admin", password="demo-admin-password")
    page = client.get("/admin/bookings/booking/")
    assert page.status_code == 200
    assert "Ada Lovelace" in page.content.decode()


@pytest.mark.django_db
def test_demo_prints_the_urls_of_the_site_it_serves(var_dir, settings):
    settings.SITE_URL = "http://127.0.0.1:8123"

    printed = run_demo()

    assert "http://127.0.0.1:8123/demo/" in printed
    assert "http://127.0.0.1:8123/admin/" in printed
    assert ":8000" not in printed


@pytest.mark.django_db
def test_demo_prints_the_brand_page_a_newcomer_books_on(var_dir, client):
    output = run_demo()
    assert "Book a session (student pages): http://testserver/demo/" in output
    page = client.get("/demo/")
    assert page.status_code == 200
    assert "Clara Berg" in page.content.decode() and "Intro call" in page.content.decode()
