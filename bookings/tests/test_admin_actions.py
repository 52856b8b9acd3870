"""The buttons on a booking's page: confirm, cancel, reschedule, complete, no-show, refund.

Each goes through the booking services: the same events and messages as the
API, a refusal shown with its message and nothing changed, and another
brand's booking a 404.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from bookings.models import Booking, Event, Payment
from bookings.tests.conftest import BERLIN_SLOT, book_at
from scheduling.tests.factories import AssignmentFactory, EventTypeFactory

pytestmark = pytest.mark.django_db


def action_url(booking, name: str) -> str:
    return reverse(f"admin:bookings_booking_{name}", args=[booking.pk])


def change_url(booking) -> str:
    return reverse("admin:bookings_booking_change", args=[booking.pk])


def page_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def session_type(brand):
    return EventTypeFactory(brand=brand, name="Coaching", duration_minutes=60, requires_confirmation=True)


@pytest.fixture
def priced_type(brand):
    return EventTypeFactory(
        brand=brand, name="Paid coaching", duration_minutes=60, price_amount=Decimal("80.00"), currency="EUR"
    )


@pytest.fixture
def pending(berlin_coach, session_type, frozen):
    return book_at(berlin_coach, session_type, BERLIN_SLOT)


def events_of(booking) -> list[str]:
    return list(Event.objects.filter(booking=booking).order_by("id").values_list("type", flat=True))


# --- the page shows the buttons that apply ------------------------------------------------------------------


def test_the_booking_page_offers_the_buttons_of_its_state(staff_client, pending):
    response = staff_client.get(change_url(pending))

    assert response.status_code == 200
    assert [a["name"] for a in response.context["booking_actions"]] == ["confirm", "reschedule", "cancel"]
    content = response.content.decode()
    assert action_url(pending, "confirm") in content
    assert "Wed 2 Dec 2026, 11:00" in content  # Berlin time...
    assert "2026-12-02 10:00 UTC" in content  # ...with UTC beside it
    assert "Europe/Berlin, CET" in content
    assert reverse("admin:bookings_booking_week") + f"?instructor={pending.instructor_id}" in content


def test_a_started_confirmed_session_offers_completed_and_no_show(staff_client, pending, frozen):
    staff_client.post(action_url(pending, "confirm"))
    frozen.move_to(BERLIN_SLOT + dt.timedelta(minutes=5))

    response = staff_client.get(change_url(pending))

    assert [a["name"] for a in response.context["booking_actions"]] == [
        "reschedule",
        "complete",
        "no_show",
        "cancel",
    ]


# --- confirm ----------------------------------------------------------------------------------------------


def test_confirm_goes_through_the_service_once(staff_client, pending, django_capture_on_commit_callbacks):
    assert staff_client.get(action_url(pending, "confirm")).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(action_url(pending, "confirm"), follow=True)

    pending.refresh_from_db()
    assert pending.status == "confirmed"
    assert events_of(pending) == ["booking.created", "booking.confirmed"]
    assert response.redirect_chain[-1][0] == change_url(pending)
    assert any("Confirmed." in message for message in page_messages(response))
    assert LogEntry.objects.filter(object_id=str(pending.pk), change_message="Confirmed.").count() == 1


def test_confirm_a_priced_session_records_the_payment(staff_client, berlin_coach, priced_type):
    booking = book_at(berlin_coach, priced_type, BERLIN_SLOT)
    form = staff_client.get(action_url(booking, "confirm")).context["form"]
    assert form["amount"].value() == Decimal("80.00") and form["currency"].value() == "EUR"

    response = staff_client.post(
        action_url(booking, "confirm"),
        {"payment": "record", "amount": "80.00", "currency": "eur", "provider": "cash", "reference": "R-17"},
    )

    assert response.status_code == 302
    booking.refresh_from_db()
    assert (booking.status, booking.payment_status) == ("confirmed", "paid")
    payment = booking.payments.get()
    assert (payment.amount, payment.currency, payment.provider, payment.reference) == (
        Decimal("80.00"),
        "EUR",
        "cash",
        "R-17",
    )
    assert events_of(booking) == ["booking.created", "payment.succeeded", "booking.confirmed"]


def test_confirm_a_priced_session_waiving_the_payment(staff_client, berlin_coach, priced_type):
    booking = book_at(berlin_coach, priced_type, BERLIN_SLOT)

    assert staff_client.post(action_url(booking, "confirm"), {"payment": "waive"}).status_code == 302

    booking.refresh_from_db()
    assert (booking.status, booking.payment_status) == ("confirmed", "waived")
    assert not booking.payments.exists()


@pytest.mark.parametrize(
    ("data", "field", "text"),
    [
        ({"payment": "record", "amount": "50.00", "currency": "EUR"}, "payment", "at least the price"),
        ({"payment": "record", "amount": "80.00", "currency": "USD"}, "payment", "priced in EUR"),
        ({"payment": "record", "amount": "80.00", "currency": "XYZ"}, "payment", "priced in EUR"),
        ({"payment": "record", "currency": "EUR"}, "amount", "Give the amount"),
        ({"payment": "record", "amount": "-5", "currency": "EUR"}, "amount", "greater than or equal to 0"),
        ({"payment": "record", "amount": "lots", "currency": "EUR"}, "amount", "Enter a number"),
        ({}, "payment", "Record the payment or waive it"),
    ],
)
def test_a_bad_payment_is_refused_on_its_field_and_changes_nothing(
    staff_client, berlin_coach, priced_type, data, field, text
):
    booking = book_at(berlin_coach, priced_type, BERLIN_SLOT)

    response = staff_client.post(action_url(booking, "confirm"), data)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert text in " ".join(errors[field])
    booking.refresh_from_db()
    assert (booking.status, booking.payment_status) == ("pending", "unpaid")
    assert not Payment.objects.exists()
    assert events_of(booking) == ["booking.created"]


def test_confirming_twice_is_refused_with_the_services_message(staff_client, pending):
    staff_client.post(action_url(pending, "confirm"))

    response = staff_client.post(action_url(pending, "confirm"))

    assert response.status_code == 200
    assert "A confirmed booking cannot become confirmed." in response.context["form"].non_field_errors()
    assert events_of(pending) == ["booking.created", "booking.confirmed"]


# --- cancel ----------------------------------------------------------------------------------------------


def test_cancel_needs_a_reason_and_records_it(staff_client, pending):
    response = staff_client.post(action_url(pending, "cancel"), {"reason": "  "})
    assert response.status_code == 200 and "reason" in response.context["form"].errors
    assert Booking.objects.get(pk=pending.pk).status == "pending"

    response = staff_client.post(action_url(pending, "cancel"), {"reason": "Instructor is ill"})

    assert response.status_code == 302
    pending.refresh_from_db()
    assert (pending.status, pending.cancellation_reason, pending.cancelled_by) == (
        "cancelled",
        "Instructor is ill",
        "staff",
    )
    assert events_of(pending) == ["booking.created", "booking.cancelled"]


def test_staff_may_cancel_inside_the_students_cutoff(staff_client, pending, frozen):
    frozen.move_to(BERLIN_SLOT - dt.timedelta(hours=1))

    assert staff_client.post(action_url(pending, "cancel"), {"reason": "Late call"}).status_code == 302
    assert Booking.objects.get(pk=pending.pk).status == "cancelled"


# --- reschedule --------------------------------------------------------------------------------------------


def test_the_reschedule_page_offers_free_times_including_the_bookings_neighbourhood(staff_client, pending):
    response = staff_client.get(action_url(pending, "reschedule") + "?date=2026-12-02")

    assert response.status_code == 200
    (day, *_) = response.context["slot_days"]
    assert day.date == dt.date(2026, 12, 2)
    labels = [label for _, label, _ in day.slots]
    assert labels[:3] == ["09:00", "10:00", "11:00"]  # 11:00 is its own time: moving within it is allowed
    assert response.context["slot_zone"] == "Europe/Berlin"


def test_reschedule_to_a_free_time(staff_client, pending, django_capture_on_commit_callbacks):
    new_start = dt.datetime(2026, 12, 3, 13, 0, tzinfo=dt.UTC)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(action_url(pending, "reschedule"), {"start_at": "2026-12-03T13:00:00Z"})

    assert response.status_code == 302
    pending.refresh_from_db()
    assert (pending.start_at, pending.sequence) == (new_start, 1)
    assert events_of(pending) == ["booking.created", "booking.rescheduled"]


def test_reschedule_onto_a_taken_time_says_so_and_changes_nothing(staff_client, pending, berlin_coach, session_type):
    book_at(berlin_coach, session_type, dt.datetime(2026, 12, 3, 13, 0, tzinfo=dt.UTC), name="Bob Taken")

    response = staff_client.post(action_url(pending, "reschedule"), {"start_at": "2026-12-03T13:00:00Z"})

    assert response.status_code == 200
    assert "This time was just booked by someone else." in " ".join(response.context["form"].non_field_errors())
    pending.refresh_from_db()
    assert (pending.start_at, pending.sequence) == (BERLIN_SLOT, 0)
    assert events_of(pending) == ["booking.created"]


def test_reschedule_outside_the_hours_needs_the_override(staff_client, pending):
    evening = {"start_at": "2026-12-03T19:00:00Z"}  # 20:00 in Berlin, after hours
    response = staff_client.post(action_url(pending, "reschedule"), evening)
    assert "not available at this time" in " ".join(response.context["form"].non_field_errors())

    response = staff_client.post(
        action_url(pending, "reschedule"), {"override": "on", "override_date": "2026-12-03", "override_time": "20:00"}
    )

    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.start_at == dt.datetime(2026, 12, 3, 19, 0, tzinfo=dt.UTC)


def test_the_override_never_overlaps_another_booking(staff_client, pending, berlin_coach, session_type):
    evening = dt.datetime(2026, 12, 3, 19, 0, tzinfo=dt.UTC)
    book_at(berlin_coach, session_type, evening, name="Evening Student", enforce_availability=False)

    response = staff_client.post(
        action_url(pending, "reschedule"), {"override": "on", "override_date": "2026-12-03", "override_time": "20:30"}
    )

    assert response.status_code == 200
    assert "overlaps another booking" in " ".join(response.context["form"].non_field_errors())
    assert Booking.objects.get(pk=pending.pk).start_at == BERLIN_SLOT


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "start_at"),
        ({"start_at": "tomorrow"}, "start_at"),
        ({"start_at": "2026-12-03T13:00:00"}, "start_at"),  # no offset
        ({"override": "on", "override_time": "20:00"}, "override_date"),
        ({"override": "on", "override_date": "2026-12-03"}, "override_time"),
        ({"override": "on", "override_date": "2026-12-03", "override_time": "25:00"}, "override_time"),
    ],
)
def test_a_bad_reschedule_is_refused_on_its_field(staff_client, pending, data, field):
    response = staff_client.post(action_url(pending, "reschedule"), data)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert Booking.objects.get(pk=pending.pk).start_at == BERLIN_SLOT


# --- complete, no-show ---------------------------------------------------------------------------------------


def test_complete_before_the_session_is_refused_with_the_reason(staff_client, pending):
    staff_client.post(action_url(pending, "confirm"))

    response = staff_client.post(action_url(pending, "complete"))

    assert response.status_code == 200
    assert "only once the session has started" in " ".join(response.context["form"].non_field_errors())
    assert Booking.objects.get(pk=pending.pk).status == "confirmed"


@pytest.mark.parametrize(
    ("action", "status", "event"),
    [("complete", "completed", "booking.completed"), ("no_show", "no_show", "booking.no_show")],
)
def test_complete_and_no_show_after_the_start(staff_client, pending, frozen, action, status, event):
    staff_client.post(action_url(pending, "confirm"))
    frozen.move_to(BERLIN_SLOT + dt.timedelta(minutes=30))

    assert staff_client.get(action_url(pending, action)).status_code == 200
    assert staff_client.post(action_url(pending, action)).status_code == 302

    assert Booking.objects.get(pk=pending.pk).status == status
    assert events_of(pending)[-1] == event
    assert events_of(pending).count(event) == 1


# --- refund ----------------------------------------------------------------------------------------------------


def test_refund_a_cancelled_paid_booking(staff_client, berlin_coach, priced_type):
    booking = book_at(berlin_coach, priced_type, BERLIN_SLOT)
    staff_client.post(action_url(booking, "confirm"), {"payment": "record", "amount": "80.00", "currency": "EUR"})
    staff_client.post(action_url(booking, "cancel"), {"reason": "Moved abroad"})
    assert staff_client.get(action_url(booking, "refund")).context["form"]["amount"].value() == Decimal("80.00")

    response = staff_client.post(action_url(booking, "refund"), {"amount": "80.00", "reference": "re_9"})

    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.payment_status == "refunded"
    assert list(booking.payments.values_list("status", "amount")) == [
        ("succeeded", Decimal("80.00")),
        ("refunded", Decimal("80.00")),
    ]


def test_refund_of_more_than_paid_is_refused_on_the_amount(staff_client, berlin_coach, priced_type):
    booking = book_at(berlin_coach, priced_type, BERLIN_SLOT)
    staff_client.post(action_url(booking, "confirm"), {"payment": "record", "amount": "80.00", "currency": "EUR"})
    staff_client.post(action_url(booking, "cancel"), {"reason": "Moved abroad"})

    response = staff_client.post(action_url(booking, "refund"), {"amount": "90.00"})

    assert response.status_code == 200
    assert "at most 80.00 EUR" in " ".join(response.context["form"].errors["amount"])
    assert Booking.objects.get(pk=booking.pk).payment_status == "paid"


def test_refund_of_an_active_booking_is_refused(staff_client, pending):
    response = staff_client.post(action_url(pending, "refund"), {"amount": "10.00"})

    assert response.status_code == 200
    assert "cancel it first" in " ".join(response.context["form"].non_field_errors())
    assert not Payment.objects.exists()


# --- strangers -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["confirm", "cancel", "reschedule", "complete", "no_show", "refund"])
def test_another_brands_booking_is_a_404_for_every_button(staff_client, other_world, action):
    booking = other_world["booking"]

    assert staff_client.get(action_url(booking, action)).status_code == 404
    assert (
        staff_client.post(action_url(booking, action), {"reason": "x", "start_at": "2026-12-03T13:00:00Z"}).status_code
        == 404
    )

    booking.refresh_from_db()
    assert (booking.status, booking.start_at) == ("pending", dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC))


def test_an_unknown_booking_is_a_404(staff_client):
    assert staff_client.get(reverse("admin:bookings_booking_confirm", args=[999999])).status_code == 404
    assert staff_client.get("/admin/bookings/booking/abc/confirm/").status_code == 404


def test_anonymous_users_are_sent_to_the_login(client, pending):
    response = client.post(action_url(pending, "confirm"))

    assert response.status_code == 302 and "/admin/login/" in response.url
    assert Booking.objects.get(pk=pending.pk).status == "pending"


def test_staff_without_change_permission_cannot_act(pending, brand, django_user_model):
    from django.contrib.auth.models import Permission
    from django.test import Client

    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_booking"))
    brand.staff.add(viewer)
    client = Client()
    client.force_login(viewer)

    assert client.post(action_url(pending, "confirm")).status_code == 403
    assert Booking.objects.get(pk=pending.pk).status == "pending"


def test_next_never_leads_off_site(staff_client, pending):
    response = staff_client.post(action_url(pending, "confirm"), {"next": "https://evil.example/"})

    assert response.status_code == 302
    assert response.url == change_url(pending)


def test_a_bulk_action_never_reaches_another_brands_booking(staff_client, pending, other_world):
    theirs = other_world["booking"]

    staff_client.post(
        reverse("admin:bookings_booking_changelist"),
        {"action": "cancel", "_selected_action": [pending.pk, theirs.pk]},
    )

    assert Booking.objects.get(pk=pending.pk).status == "cancelled"
    assert Booking.objects.get(pk=theirs.pk).status == "pending"


def test_the_list_filters_offer_only_the_users_instructors_and_brands(
    staff_client, pending, other_world, brand, session_type
):
    second = AssignmentFactory(brand=brand, instructor__name="Bert Second", timezone="Europe/Berlin")
    book_at(second, session_type, BERLIN_SLOT, enforce_availability=False)

    response = staff_client.get(reverse("admin:bookings_booking_changelist"))

    choices = {
        spec.title: [choice["display"] for choice in spec.choices(response.context["cl"])]
        for spec in response.context["cl"].filter_specs
    }
    assert choices["instructor"] == ["All", "Bert Second", "Clara Berg"]
    assert choices["brand"] == ["All", "Acme Coaching"]
    assert "Oscar Other" not in response.content.decode()
