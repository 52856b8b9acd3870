"""'Add booking' in the admin: a phone booking on a free time, through ``booking_create``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from bookings.models import Booking, Event
from bookings.tests.conftest import BERLIN_SLOT, book_at
from notifications.models import Notification
from scheduling.tests.factories import EventTypeFactory

pytestmark = pytest.mark.django_db

ADD = reverse("admin:bookings_booking_add")


@pytest.fixture
def session_type(brand):
    return EventTypeFactory(brand=brand, name="Coaching", duration_minutes=60, requires_confirmation=True)


def booking_data(berlin_coach, session_type, **overrides) -> dict:
    data = {
        "assignment": berlin_coach.pk,
        "event_type": session_type.pk,
        "start_at": "2026-12-02T10:00:00Z",
        "attendee_name": "Pat Phone",
        "attendee_email": "pat@example.com",
        "attendee_phone": "+49 151 2345 6789",
        "student_timezone": "",
        "notes": "Called at 9",
    }
    data.update(overrides)
    return data


def test_the_add_page_starts_with_the_choice_of_instructor_and_session(staff_client, berlin_coach, session_type):
    response = staff_client.get(ADD)

    assert response.status_code == 200
    assert [a.pk for a in response.context["assignments"]] == [berlin_coach.pk]
    assert [t.pk for t in response.context["event_types"]] == [session_type.pk]
    assert "slot_days" not in response.context


def test_the_add_page_offers_the_instructors_free_times_in_local_time(staff_client, berlin_coach, session_type):
    book_at(berlin_coach, session_type, BERLIN_SLOT, name="Early Bird")

    response = staff_client.get(ADD, {"assignment": berlin_coach.pk, "event_type": session_type.pk})

    first_day, second_day = response.context["slot_days"][:2]
    assert first_day.date == dt.date(2026, 12, 1)  # today in Berlin
    assert [label for _, label, _ in first_day.slots][:2] == ["09:00", "10:00"]  # from now on (09:00)
    second = [label for _, label, _ in second_day.slots]
    assert "11:00" not in second and "10:00" in second and "12:00" in second  # 11:00 is booked
    assert "2026-12-02T09:00:00Z" in [value for value, _, _ in second_day.slots]


def test_a_phone_booking_is_made_by_the_service_once(
    staff_client, berlin_coach, session_type, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(ADD, booking_data(berlin_coach, session_type))

    booking = Booking.objects.get(attendee_email="pat@example.com")
    assert response.status_code == 302
    assert response.url == reverse("admin:bookings_booking_change", args=[booking.pk])
    assert (booking.start_at, booking.status, booking.brand, booking.instructor) == (
        BERLIN_SLOT,
        "pending",
        berlin_coach.brand,
        berlin_coach.instructor,
    )
    assert booking.attendee_phone == "+4915123456789"  # the model field's E.164
    assert booking.student_timezone == "Europe/Berlin"  # empty: the instructor's
    assert list(Event.objects.filter(booking=booking).values_list("type", flat=True)) == ["booking.created"]
    assert Notification.objects.filter(booking=booking, kind="confirmation", channel="email").count() == 1


def test_a_week_calendar_slot_link_preselects_the_time(staff_client, berlin_coach, session_type):
    response = staff_client.get(
        ADD,
        {
            "assignment": berlin_coach.pk,
            "event_type": session_type.pk,
            "date": "2026-12-02",
            "start": "2026-12-02T10:00:00Z",
        },
    )

    assert response.context["slot_chosen"] == "2026-12-02T10:00:00Z"
    assert 'value="2026-12-02T10:00:00Z" checked' in response.content.decode()


def test_booking_a_taken_time_says_so_and_books_nothing(staff_client, berlin_coach, session_type):
    book_at(berlin_coach, session_type, BERLIN_SLOT, name="First Caller")

    response = staff_client.post(ADD, booking_data(berlin_coach, session_type))

    assert response.status_code == 200
    assert "This time was just booked by someone else." in " ".join(response.context["form"].non_field_errors())
    assert not Booking.objects.filter(attendee_email="pat@example.com").exists()


def test_staff_may_book_outside_the_hours_but_never_over_a_booking(staff_client, berlin_coach, session_type):
    evening = booking_data(
        berlin_coach, session_type, start_at="", override="on", override_date="2026-12-02", override_time="19:30"
    )
    assert staff_client.post(ADD, evening).status_code == 302
    booking = Booking.objects.get(attendee_email="pat@example.com")
    assert booking.start_at == dt.datetime(2026, 12, 2, 18, 30, tzinfo=dt.UTC)  # 19:30 Berlin

    overlapping = {**evening, "override_time": "20:00", "attendee_email": "second@example.com"}
    response = staff_client.post(ADD, overlapping)

    assert response.status_code == 200
    assert "overlaps another booking" in " ".join(response.context["form"].non_field_errors())
    assert not Booking.objects.filter(attendee_email="second@example.com").exists()


def test_outside_the_hours_without_the_override_is_refused(staff_client, berlin_coach, session_type):
    response = staff_client.post(ADD, booking_data(berlin_coach, session_type, start_at="2026-12-02T19:00:00Z"))

    assert response.status_code == 200
    assert "not available at this time" in " ".join(response.context["form"].non_field_errors())
    assert not Booking.objects.filter(attendee_email="pat@example.com").exists()


@pytest.mark.parametrize(
    ("overrides", "field", "text"),
    [
        ({"attendee_phone": "0151 2345678"}, "attendee_phone", "country code"),
        ({"attendee_phone": "+1 555 555 0123"}, "attendee_phone", "not a valid phone number"),
        ({"attendee_email": "not-an-email"}, "attendee_email", "valid email"),
        ({"attendee_name": ""}, "attendee_name", "required"),
        ({"student_timezone": "Mars/Olympus"}, "student_timezone", "Unknown timezone"),
        ({"start_at": ""}, "start_at", "Pick one of the free times"),
        ({"start_at": "2026-12-02 10:00"}, "start_at", "Pick one of the times offered"),
        ({"start_at": "2026-11-30T10:00:00Z"}, None, "already passed"),
    ],
)
def test_bad_input_is_shown_on_its_field_and_books_nothing(
    staff_client, berlin_coach, session_type, overrides, field, text
):
    response = staff_client.post(ADD, booking_data(berlin_coach, session_type, **overrides))

    assert response.status_code == 200
    form = response.context["form"]
    errors = form.non_field_errors() if field is None else form.errors[field]
    assert text in " ".join(errors)
    assert not Booking.objects.filter(attendee_email=overrides.get("attendee_email", "pat@example.com")).exists()


def test_an_inactive_or_foreign_session_type_cannot_be_booked(staff_client, berlin_coach, session_type, other_world):
    inactive = EventTypeFactory(brand=berlin_coach.brand, is_active=False)

    for event_type in (inactive, other_world["event_type"]):
        response = staff_client.post(ADD, booking_data(berlin_coach, event_type))
        assert response.status_code == 200
        assert "event_type" in response.context["form"].errors

    assert not Booking.objects.filter(attendee_email="pat@example.com").exists()


def test_another_brands_instructor_cannot_be_chosen_or_booked(staff_client, berlin_coach, session_type, other_world):
    foreign = other_world["assignment"]

    page = staff_client.get(ADD, {"assignment": foreign.pk, "event_type": other_world["event_type"].pk})
    response = staff_client.post(ADD, booking_data(foreign, other_world["event_type"]))

    assert page.status_code == 200 and "slot_days" not in page.context
    assert "Oscar Other" not in page.content.decode()
    assert response.status_code == 200
    assert "assignment" in response.context["form"].errors
    assert Booking.objects.filter(instructor=foreign.instructor).count() == 1  # the fixture's only


def test_a_priced_session_booked_by_phone_starts_pending(staff_client, berlin_coach, brand):
    priced = EventTypeFactory(brand=brand, requires_confirmation=False, price_amount=Decimal("30.00"))

    assert staff_client.post(ADD, booking_data(berlin_coach, priced)).status_code == 302

    assert Booking.objects.get(attendee_email="pat@example.com").status == "pending"


def test_the_changelist_links_to_the_phone_booking(staff_client):
    assert ADD in staff_client.get(reverse("admin:bookings_booking_changelist")).content.decode()
