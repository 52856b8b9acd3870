"""The student pages in a real browser (Debian's Chromium through Playwright), against the live server.

Each scenario runs axe-core on every page it meets (no serious or critical
violation) and saves full-page screenshots (``make screenshots`` puts them in
``docs/screenshots/student/``).
The clock is set to Monday 2026-12-07 08:00 in Berlin (and keeps ticking), so
the pages and screenshots show the same week on every run.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import icalendar
import pytest
import time_machine

from bookings import services
from bookings.links import manage_path
from bookings.models import Booking, BookingStatus, Event
from devtools.browser import assert_accessible, save_screenshot
from scheduling.tests.factories import AssignmentFactory, EventTypeFactory, WeeklyAvailabilityFactory

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

NOW = dt.datetime(2026, 12, 7, 7, 0, tzinfo=dt.UTC)  # Monday 08:00 in Berlin
WEDNESDAY_10_BERLIN = dt.datetime(2026, 12, 9, 9, 0, tzinfo=dt.UTC)
THURSDAY_14_BERLIN = dt.datetime(2026, 12, 10, 13, 0, tzinfo=dt.UTC)
TUESDAY_11_BERLIN = dt.datetime(2026, 12, 8, 10, 0, tzinfo=dt.UTC)
SHOTS = "student"


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def studio(brand, clock):
    """Clara teaches in Berlin, weekdays 09:00-17:00, 15 minutes between sessions, changes up to 24 h before."""
    brand.name = "Acme Coaching"
    brand.save()
    assignment = AssignmentFactory(
        brand=brand,
        timezone="Europe/Berlin",
        buffer_minutes=15,
        cancellation_cutoff_hours=24,
        instructor__name="Clara Berg",
        instructor__slug="clara",
        instructor__bio="Cellist and coach. Sessions in English or German.",
    )
    for weekday in range(5):
        WeeklyAvailabilityFactory(assignment=assignment, weekday=weekday, start_time=dt.time(9), end_time=dt.time(17))
    coaching = EventTypeFactory(
        brand=brand,
        name="Coaching session",
        slug="coaching",
        duration_minutes=60,
        price_amount=Decimal("80.00"),
        currency="EUR",
        description="A full one-to-one session.",
    )
    intro = EventTypeFactory(
        brand=brand,
        name="Intro call",
        slug="intro",
        duration_minutes=30,
        requires_confirmation=False,
        description="A free first conversation.",
    )
    return {
        "brand": brand,
        "assignment": assignment,
        "instructor": assignment.instructor,
        "coaching": coaching,
        "intro": intro,
    }


def slot_label(page, start: dt.datetime):
    return page.locator(f'label[for="slot-{int(start.timestamp())}"]')


def checked(page, name: str = "") -> None:
    """Every page the student meets passes axe; named ones are also saved as screenshots."""
    assert_accessible(page)
    if name:
        save_screenshot(page, SHOTS, name)


@pytest.mark.parametrize(
    ("timezone_id", "shots"),
    [("Europe/Berlin", ""), ("America/New_York", "new-york-")],
    ids=["same-zone-as-instructor", "other-zone"],
)
def test_a_student_books_sees_the_booking_downloads_the_ics_reschedules_and_cancels(
    browser_page, studio, timezone_id, shots
):
    page = browser_page(timezone_id=timezone_id)
    page.goto("/")
    checked(page)
    page.get_by_role("link", name="Acme Coaching").click()
    assert page.title() == "Book a session – Acme Coaching"
    checked(page, "" if shots else "01-brand-page")

    page.get_by_role("link", name="Clara Berg", exact=True).click()
    checked(page, "" if shots else "02-instructor-page")
    page.get_by_role("link", name="Coaching session with Clara Berg").click()

    # The browser's zone is detected: the calendar is in it, whatever the instructor's.
    if timezone_id != "Europe/Berlin":
        page.wait_for_url(re.compile(r"tz=America%2FNew_York"))
    legend = page.locator("legend").first.inner_text()
    assert f"times in {timezone_id}" in legend
    assert page.title() == "Coaching session with Clara Berg – Acme Coaching"
    expected_label = "10:00" if timezone_id == "Europe/Berlin" else "04:00"
    assert slot_label(page, WEDNESDAY_10_BERLIN).inner_text().startswith(expected_label)
    checked(page, f"{shots}03-booking-page")

    slot_label(page, WEDNESDAY_10_BERLIN).click()
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label("Notes for the instructor (optional)").fill("I'd like to work on bowing.")
    page.get_by_role("button", name="Request this session").click()

    page.wait_for_url(re.compile(r"/booking/[0-9a-f-]+/\?token=[0-9a-f]+&notice=booked$"))
    booking = Booking.objects.get()
    assert booking.start_at == WEDNESDAY_10_BERLIN
    assert booking.student_timezone == timezone_id
    assert booking.status == BookingStatus.PENDING
    body = page.locator("main").inner_text()
    assert "Thank you, Ada Lovelace." in body and "Your request is in." in body
    assert "This session costs 80.00 EUR" in body
    assert "Wednesday 9 December 2026, 10:00 to 11:00 (Europe/Berlin)" in body
    if timezone_id != "Europe/Berlin":
        assert "Wednesday 9 December 2026, 04:00 to 05:00 (America/New_York)" in body
    checked(page, f"{shots}04-booking-requested")

    with page.expect_download() as download:
        page.get_by_role("link", name="Add to my calendar (.ics)").click()
    calendar = icalendar.Calendar.from_ical(download.value.path().read_bytes())
    event = calendar.walk("VEVENT")[0]
    assert download.value.suggested_filename == "booking.ics"
    assert event.decoded("DTSTART") == WEDNESDAY_10_BERLIN
    assert str(event["UID"]).startswith(str(booking.uid))

    page.get_by_text("Show the free times").click()
    slot_label(page, THURSDAY_14_BERLIN).click()
    page.get_by_role("button", name="Move my booking").click()
    page.wait_for_url(re.compile(r"notice=rescheduled$"))
    assert "Your booking has moved" in page.locator("main").inner_text()
    booking.refresh_from_db()
    assert booking.start_at == THURSDAY_14_BERLIN and booking.sequence == 1
    checked(page, f"{shots}05-rescheduled")

    page.get_by_label("Reason (optional)").fill("Something came up.")
    page.get_by_role("button", name="Cancel my booking").click()
    page.wait_for_url(re.compile(r"notice=cancelled$"))
    body = page.locator("main").inner_text()
    assert "Your booking is cancelled." in body and "Cancelled" in body
    assert "Cancel my booking" not in body
    booking.refresh_from_db()
    assert (booking.status, booking.cancelled_by, booking.cancellation_reason) == (
        "cancelled",
        "student",
        "Something came up.",
    )
    checked(page, f"{shots}06-cancelled")
    assert sorted(Event.objects.values_list("type", flat=True)) == [
        "booking.cancelled",
        "booking.created",
        "booking.rescheduled",
    ]


def test_a_time_taken_meanwhile_shows_the_message_and_the_refreshed_week(browser_page, studio):
    page = browser_page(timezone_id="Europe/Berlin")
    page.goto(f"/{studio['brand'].slug}/clara/intro/")
    slot_label(page, WEDNESDAY_10_BERLIN).click()
    page.get_by_label("Your name").fill("Grace Hopper")
    page.get_by_label("Email").fill("grace@example.com")

    services.booking_create(
        brand=studio["brand"],
        instructor=studio["instructor"],
        event_type=studio["intro"],
        start_at=WEDNESDAY_10_BERLIN,
        attendee_name="Alan Turing",
        attendee_email="alan@example.com",
    )
    page.get_by_role("button", name="Book this session").click()

    alert = page.get_by_role("alert")
    assert "This time was just booked by someone else. Please choose another time." in alert.inner_text()
    assert slot_label(page, WEDNESDAY_10_BERLIN).count() == 0
    assert page.get_by_label("Your name").input_value() == "Grace Hopper"
    assert Booking.objects.count() == 1
    checked(page, "07-slot-taken")

    slot_label(page, THURSDAY_14_BERLIN).click()
    page.get_by_role("button", name="Book this session").click()
    page.wait_for_url(re.compile(r"notice=booked$"))
    assert "Your session is booked." in page.locator("main").inner_text()
    assert Booking.objects.filter(attendee_email="grace@example.com", status="confirmed").count() == 1


def test_a_change_after_the_cutoff_is_refused_with_when_it_passed(browser_page, studio, clock):
    booking = services.booking_create(
        brand=studio["brand"],
        instructor=studio["instructor"],
        event_type=studio["intro"],
        start_at=TUESDAY_11_BERLIN,
        attendee_name="Ada Lovelace",
        attendee_email="ada@example.com",
        student_timezone="Europe/Berlin",
    ).booking
    page = browser_page(timezone_id="Europe/Berlin")
    page.goto(manage_path(booking))
    assert (
        "You can move or cancel this booking until Monday 7 December 2026, 11:00" in page.locator("main").inner_text()
    )

    clock.move_to(NOW + dt.timedelta(hours=4))  # Monday 12:00 in Berlin: the cutoff passed at 11:00
    page.get_by_role("button", name="Cancel my booking").click()
    alert = page.get_by_role("alert").inner_text()
    assert "Changes are possible until 24 hours before the session; the cutoff passed at 2026-12-07T10:00:00Z." in alert
    assert "Changes online were possible until Monday 7 December 2026, 11:00" in page.locator("main").inner_text()
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    checked(page, "08-cutoff-passed")


def test_a_student_books_with_the_keyboard_alone(browser_page, studio):
    page = browser_page(timezone_id="Europe/Berlin")
    page.goto(f"/{studio['brand'].slug}/clara/intro/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "start_at":
            break
    else:
        raise AssertionError("Tab never reached the free times")
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")  # the next free time of the group
    chosen = page.evaluate("document.activeElement.value")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_attendee_name"
    page.keyboard.type("Katherine Johnson")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_attendee_email"
    page.keyboard.type("katherine@example.com")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"notice=booked$"))
    booking = Booking.objects.get()
    assert booking.attendee_name == "Katherine Johnson"
    assert booking.start_at.strftime("%Y-%m-%dT%H:%M:%SZ") == chosen


def test_the_pages_fit_a_phone(browser_page, studio):
    page = browser_page(timezone_id="Europe/Berlin", viewport={"width": 390, "height": 844}, is_mobile=True)
    page.goto(f"/{studio['brand'].slug}/clara/coaching/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    checked(page, "09-booking-page-phone")


def test_error_pages_are_clear_and_accessible(browser_page, studio):
    page = browser_page()
    response = page.goto(f"/{studio['brand'].slug}/nobody/")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "Page not found"
    checked(page, "10-not-found")
    response = page.goto(f"/booking/00000000-0000-4000-8000-000000000000/?token={'0' * 40}")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "This link does not open a booking"
    checked(page, "11-link-not-valid")
    page.goto(f"/{studio['brand'].slug}/clara/coaching/?tz=Mars/Olympus_Mons")
    assert "Unknown timezone 'Mars/Olympus_Mons'" in page.get_by_role("alert").inner_text()
    checked(page)


@contextmanager
def site_framing(url: str, title: str) -> Iterator[str]:
    """A stand-in for a studio's own web site: a real local server whose page frames ``url``."""
    body = (
        f"<!doctype html><html lang='en'><title>{title}</title><h1>{title}</h1>"
        f"<iframe src='{url}' title='Book a session' width='900' height='640'></iframe></html>"
    ).encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server API
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_brand_page_shows_in_a_frame_only_on_the_brands_sites(browser_page, studio, live_server):
    brand = studio["brand"]
    page = browser_page()
    brand_page = f"{live_server.url}/{brand.slug}/"
    with site_framing(brand_page, "Our studio") as studio_site, site_framing(brand_page, "Elsewhere") as elsewhere:
        brand.embed_origins = [studio_site]
        brand.save()

        page.goto(f"{studio_site}/")
        assert page.frame_locator("iframe").locator("h1").inner_text() == "Book a session with Acme Coaching"
        save_screenshot(page, SHOTS, "12-embedded-on-the-studio-site")

        with page.expect_response(brand_page) as refused:
            page.goto(f"{elsewhere}/")
        assert refused.value.headers["content-security-policy"].endswith(f"frame-ancestors 'self' {studio_site}")
        page.wait_for_load_state()
        frame = page.main_frame.child_frames[0]
        assert "Book a session with Acme Coaching" not in frame.evaluate("() => document.body.innerText")
