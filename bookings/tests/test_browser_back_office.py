"""The back office in a real browser: a brand's staff member logs in and walks through their day.

Debian's Chromium (through Playwright) against the live server, logged in
through the admin's own login form as a staff user of one brand. Each page
is checked for what staff rely on (local times with the zone named, the
buttons, nothing of the other brand) and saved as a screenshot
(``make screenshots`` puts them in ``docs/screenshots/staff/``, which the
staff guide shows). The clock is Monday 2026-12-07 08:00 in Berlin and keeps
ticking, so every run shows the same week.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from bookings import services
from bookings.models import Booking
from devtools.browser import save_screenshot
from notifications.models import Notification
from scheduling.services import staff_user_create
from scheduling.tests.factories import AssignmentFactory, EventTypeFactory, WeeklyAvailabilityFactory
from webhooks.models import WebhookSubscription
from webhooks.services import subscription_create

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

NOW = dt.datetime(2026, 12, 7, 7, 0, tzinfo=dt.UTC)  # Monday 08:00 in Berlin
SHOTS = "staff"
PASSWORD = "a-long-staff-password"  # noqa: S105 - a test user's


def shot(page, name: str) -> None:
    """A screenshot for the staff guide, with the pointer parked where it highlights nothing."""
    page.mouse.move(0, 0)
    save_screenshot(page, SHOTS, name)


def at(day: int, hour: int) -> dt.datetime:
    """Monday + ``day`` days, ``hour``:00 in Berlin (UTC+1 in December)."""
    return NOW + dt.timedelta(days=day, hours=hour - 8)


@pytest.fixture
def studio(brand, other_brand):
    with time_machine.travel(NOW, tick=True):
        brand.name = "Acme Coaching"
        brand.save()
        clara = AssignmentFactory(
            brand=brand,
            timezone="Europe/Berlin",
            buffer_minutes=15,
            instructor__name="Clara Berg",
            instructor__email="clara@example.com",
        )
        sam = AssignmentFactory(
            brand=brand,
            timezone="Europe/Berlin",
            buffer_minutes=0,
            instructor__name="Sam Rivera",
            instructor__email="sam@example.com",
        )
        for assignment in (clara, sam):
            for weekday in range(5):
                WeeklyAvailabilityFactory(
                    assignment=assignment, weekday=weekday, start_time=dt.time(9), end_time=dt.time(17)
                )
        coaching = EventTypeFactory(
            brand=brand,
            name="Coaching session",
            duration_minutes=60,
            price_amount=Decimal("80.00"),
            currency="EUR",
            reminder_minutes_before=[1440, 60],
        )
        intro = EventTypeFactory(brand=brand, name="Intro call", duration_minutes=30, requires_confirmation=False)
        students = [("Ada Lovelace", clara, coaching, at(0, 10)), ("Alan Turing", clara, intro, at(0, 14))]
        students += [("Grace Hopper", sam, intro, at(0, 11)), ("Edsger Dijkstra", sam, coaching, at(2, 9))]
        students += [("Barbara Liskov", clara, coaching, at(3, 15))]
        bookings = {}
        for number, (name, assignment, event_type, start) in enumerate(students, start=1):
            bookings[name] = services.booking_create(
                brand=brand,
                instructor=assignment.instructor,
                event_type=event_type,
                start_at=start,
                attendee_name=name,
                attendee_email=f"{name.split()[0].lower()}@example.com",
                student_timezone="Europe/London",
            ).booking
            # Fixed uids, so the screenshots are the same on every run.
            Booking.objects.filter(pk=bookings[name].pk).update(uid=uuid.UUID(int=number))
            bookings[name].refresh_from_db()
        services.booking_confirm(booking=bookings["Ada Lovelace"], waive_payment=True, actor=services.STAFF)
        failed = Notification.objects.filter(booking=bookings["Alan Turing"]).first()
        Notification.objects.filter(pk=failed.pk).update(
            status=Notification.Status.FAILED, last_error="Resend 422: the address bounced"
        )
        hook = subscription_create(brand=brand, url="https://crm.example.com/hooks", event_types=["booking.created"])
        WebhookSubscription.objects.filter(pk=hook.pk).update(consecutive_failures=2, last_failure_at=NOW)
        # Another brand's session at the same time: it must never show.
        other = AssignmentFactory(brand=other_brand, timezone="Europe/Berlin", instructor__name="Otto Other")
        staff_user_create(username="maria", password=PASSWORD, brands=[brand])
    return {"brand": brand, "clara": clara, "sam": sam, "coaching": coaching, "bookings": bookings, "other": other}


@pytest.fixture
def staff_page(browser_page, studio):
    with time_machine.travel(NOW, tick=True):
        page = browser_page(timezone_id="Europe/Berlin", viewport={"width": 1400, "height": 900})
        page.goto(reverse("admin:login"))
        page.get_by_label("Username").fill("maria")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/admin/")
        yield page


def test_a_staff_member_runs_the_day_in_the_back_office(staff_page, studio):
    page = staff_page
    text = page.inner_text("body")
    assert "Today" in text and "Failed messages" in text and "Failing webhook subscriptions" in text
    assert "Otto Other" not in text
    shot(page, "01-dashboard")

    page.goto(reverse("admin:bookings_booking_today"))
    text = page.inner_text("body")
    assert "Ada Lovelace" in text and "Grace Hopper" in text and "Barbara Liskov" not in text
    assert "10:00" in text  # Ada's session, in Berlin time
    shot(page, "02-today")

    page.goto(reverse("admin:bookings_booking_week") + f"?instructor={studio['clara'].instructor_id}")
    text = page.inner_text("body")
    assert "Ada Lovelace" in text and "Barbara Liskov" in text and "Grace Hopper" not in text
    shot(page, "03-week-calendar")

    page.goto(reverse("admin:bookings_booking_week") + f"?brand={studio['brand'].pk}")
    assert "sam rivera" in page.inner_text("body").lower()
    shot(page, "04-brand-week")

    ada = studio["bookings"]["Ada Lovelace"]
    page.goto(reverse("admin:bookings_booking_change", args=[ada.pk]))
    text = page.inner_text("body")
    assert "Europe/Berlin" in text and "Reschedule" in text and "Cancel" in text
    shot(page, "05-booking-page")

    page.goto(reverse("admin:bookings_booking_add"))
    assert "Clara Berg" in page.content()
    shot(page, "06-phone-booking")

    page.goto(reverse("admin:bookings_booking_changelist"))
    text = page.inner_text("#result_list")
    assert "Ada Lovelace" in text and "Otto" not in text
    status = page.locator("#result_list th, #result_list td").filter(has_text="Pending").first
    assert status.bounding_box()["x"] + status.bounding_box()["width"] <= 1400  # Status fits on a 1400 px screen
    shot(page, "07-booking-list")

    page.goto(reverse("admin:scheduling_instructor_change", args=[studio["clara"].instructor_id]))
    assert "09:00-17:00" in page.content()
    shot(page, "08-instructor-and-hours")

    page.goto(reverse("admin:scheduling_eventtype_change", args=[studio["coaching"].pk]))
    assert page.get_by_label("1 day").is_checked() and page.get_by_label("1 hour").is_checked()
    shot(page, "09-session-type")

    page.goto(reverse("admin:notifications_notification_changelist") + "?status__exact=failed")
    assert "bounced" in page.inner_text("body")
    shot(page, "10-failed-messages")

    page.goto(reverse("admin:webhooks_webhooksubscription_changelist"))
    assert "crm.example.com" in page.inner_text("body")
    shot(page, "11-webhook-subscriptions")
