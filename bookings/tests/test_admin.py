"""The bookings back office: state is read-only, notes are editable, brand staff see only their bookings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from bookings.models import Booking, BookingStatus, Payment, PaymentStatus
from scheduling.services import staff_user_create
from scheduling.tests.factories import AssignmentFactory, EventTypeFactory, InstructorFactory
from scheduling.tests.test_admin import changeform_data

pytestmark = pytest.mark.django_db

FIRST_START = dt.datetime(2026, 6, 1, 8, tzinfo=dt.UTC)
LOCKED_FIELDS = ("status", "payment_status", "start_at", "end_at", "uid", "brand", "instructor", "event_type")


def admin_url(model: str, view: str = "changelist", *args) -> str:
    return reverse(f"admin:bookings_{model}_{view}", args=args)


def make_booking(*, brand, instructor=None, event_type=None, start_at=FIRST_START, **fields) -> Booking:
    """A booking row written directly (no booking service): the admin only reads it."""
    instructor = instructor or AssignmentFactory(brand=brand).instructor
    event_type = event_type or EventTypeFactory(brand=brand)
    values = {
        "attendee_name": "Ada Lovelace",
        "attendee_email": "ada@example.com",
        "instructor_timezone": "Europe/Berlin",
        "student_timezone": "Europe/London",
        **fields,
    }
    return Booking.objects.create(
        brand=brand,
        instructor=instructor,
        event_type=event_type,
        start_at=start_at,
        end_at=start_at + dt.timedelta(minutes=event_type.duration_minutes),
        **values,
    )


def make_bookings(*, brand, count: int) -> list[Booking]:
    """``count`` bookings of one instructor, one per hour, so they never overlap."""
    instructor = AssignmentFactory(brand=brand).instructor
    event_type = EventTypeFactory(brand=brand)
    return [
        make_booking(
            brand=brand,
            instructor=instructor,
            event_type=event_type,
            start_at=FIRST_START + dt.timedelta(hours=index),
            attendee_name=f"Student {index}",
            attendee_email=f"student{index}@example.com",
        )
        for index in range(count)
    ]


def pay(booking: Booking, **fields) -> Payment:
    values = {"amount": Decimal("49.00"), "currency": "EUR", "provider": "stripe", "status": "succeeded", **fields}
    return Payment.objects.create(booking=booking, reference=f"pi_{booking.pk}_{values['status']}", **values)


@pytest.fixture
def booking(brand):
    booking = make_booking(brand=brand, status=BookingStatus.CONFIRMED, payment_status=PaymentStatus.PAID)
    pay(booking)
    return booking


@pytest.fixture
def other_booking(other_brand):
    booking = make_booking(brand=other_brand, attendee_name="Grace Hopper", attendee_email="grace@example.com")
    pay(booking, status="failed", currency="USD", provider="paypal")
    return booking


@pytest.fixture
def staff_client(brand, booking, other_booking) -> Client:
    """A staff user of ``brand`` only."""
    client = Client()
    client.force_login(staff_user_create(username="alice", password="pw", brands=[brand]))
    return client


def result_pks(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


# --- Pages answer ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "",
        "q=ada",
        "q=ada@example.com",
        "q={uid}",
        "brand={brand}",
        "status__exact=confirmed&payment_status__exact=paid",
        "instructor__id__exact={instructor}",
        "start_at__year=2026&start_at__month=6",
    ],
)
def test_booking_changelist_answers(admin_client, booking, other_booking, query):
    query = query.format(uid=booking.uid, brand=booking.brand_id, instructor=booking.instructor_id)
    response = admin_client.get(admin_url("booking") + "?" + query)
    assert response.status_code == 200
    assert booking.pk in result_pks(response)


def test_booking_filters_filter(admin_client, booking, other_booking):
    assert result_pks(admin_client.get(admin_url("booking") + f"?q={other_booking.uid}")) == {other_booking.pk}
    assert result_pks(admin_client.get(admin_url("booking") + "?status__exact=pending")) == {other_booking.pk}
    response = admin_client.get(admin_url("booking") + f"?brand={other_booking.brand_id}")
    assert result_pks(response) == {other_booking.pk}


@pytest.mark.parametrize("query", ["", "q=pi_", "status__exact=succeeded&currency=EUR&provider=stripe"])
def test_payment_changelist_answers(admin_client, booking, other_booking, query):
    response = admin_client.get(admin_url("payment") + "?" + query)
    assert response.status_code == 200
    assert booking.payments.get().pk in result_pks(response)


def test_payment_filters_filter(admin_client, booking, other_booking):
    response = admin_client.get(admin_url("payment") + "?status__exact=failed")
    assert result_pks(response) == {other_booking.payments.get().pk}


def test_booking_change_page_shows_payments(admin_client, booking):
    response = admin_client.get(admin_url("booking", "change", booking.pk))
    assert response.status_code == 200
    assert "pi_" in response.content.decode()
    formsets = {formset.opts.model: formset for formset in response.context["inline_admin_formsets"]}
    payments = formsets[Payment]
    assert not payments.has_add_permission and not payments.has_change_permission
    assert not payments.has_delete_permission


def test_payment_change_page_is_read_only(admin_client, booking):
    payment = booking.payments.get()
    response = admin_client.get(admin_url("payment", "change", payment.pk))
    assert response.status_code == 200
    assert list(response.context["adminform"].form.fields) == []
    response = admin_client.post(admin_url("payment", "change", payment.pk), {"amount": "0", "status": "refunded"})
    assert response.status_code == 403
    payment.refresh_from_db()
    assert (payment.amount, payment.status) == (Decimal("49.00"), "succeeded")


def test_payments_cannot_be_added(admin_client):
    # Bookings can: "Add booking" is the phone booking (test_admin_bookings.py).
    assert admin_client.get(admin_url("payment", "add")).status_code == 403
    assert admin_client.post(admin_url("payment", "add"), {}).status_code == 403


def test_bookings_cannot_be_deleted(admin_client, booking):
    assert admin_client.get(admin_url("booking", "delete", booking.pk)).status_code == 403
    action_form = admin_client.get(admin_url("booking")).context["action_form"]
    assert action_form is None or "delete_selected" not in dict(action_form.fields["action"].choices)
    assert Booking.objects.filter(pk=booking.pk).exists()


# --- Admin edits never bypass the lifecycle ------------------------------------------------


def test_lifecycle_fields_are_read_only(admin_client, booking):
    response = admin_client.get(admin_url("booking", "change", booking.pk))
    assert set(response.context["adminform"].form.fields) == {"notes", "instructor_notes"}
    readonly = set(response.context["adminform"].readonly_fields)
    shown_state = {
        "uid",
        "brand",
        "instructor",
        "event_type",
        "status_badge",
        "payment_badge",
        "local_start",
        "local_end",
    }
    assert shown_state <= readonly


def test_post_cannot_change_state_but_saves_notes(admin_client, booking, other_brand):
    url = admin_url("booking", "change", booking.pk)
    before = {name: getattr(booking, name) for name in LOCKED_FIELDS}
    data = changeform_data(admin_client.get(url))
    data.update(
        status=BookingStatus.CANCELLED,
        payment_status=PaymentStatus.REFUNDED,
        start_at_0="2030-01-01",
        start_at_1="10:00",
        brand=other_brand.pk,
        uid="00000000-0000-0000-0000-000000000000",
        instructor_notes="Bring the sheet music.",
        notes="Student asked about parking.",
    )

    response = admin_client.post(url, data)

    assert response.status_code == 302
    booking.refresh_from_db()
    assert {name: getattr(booking, name) for name in LOCKED_FIELDS} == before
    assert booking.status == BookingStatus.CONFIRMED
    assert (booking.instructor_notes, booking.notes) == ("Bring the sheet music.", "Student asked about parking.")
    assert booking.payments.count() == 1


# --- Brand-scoped staff -----------------------------------------------------------------------


def test_staff_see_only_their_bookings(staff_client, booking, other_booking):
    response = staff_client.get(admin_url("booking"))
    assert response.status_code == 200
    assert result_pks(response) == {booking.pk}
    assert "Grace" not in response.content.decode()
    assert staff_client.get(admin_url("booking", "change", booking.pk)).status_code == 200
    assert staff_client.get(admin_url("booking", "change", other_booking.pk)).status_code in (302, 404)


def test_staff_cannot_find_another_brands_booking_by_uid(staff_client, other_booking):
    assert result_pks(staff_client.get(admin_url("booking") + f"?q={other_booking.uid}")) == set()


def test_staff_filters_name_only_their_instructors_and_brands(staff_client, booking, other_booking):
    page = staff_client.get(admin_url("booking")).content.decode()
    assert booking.instructor.name in page
    assert other_booking.instructor.name not in page
    assert "Globex" not in page


def test_staff_see_only_their_payments(staff_client, booking, other_booking):
    response = staff_client.get(admin_url("payment"))
    assert result_pks(response) == {booking.payments.get().pk}
    assert "paypal" not in response.content.decode()  # nor the other brand's providers in the filter
    other_payment = other_booking.payments.get()
    assert staff_client.get(admin_url("payment", "change", other_payment.pk)).status_code in (302, 404)


def test_staff_edit_notes_of_their_booking(staff_client, booking):
    url = admin_url("booking", "change", booking.pk)
    data = changeform_data(staff_client.get(url))
    data.update(instructor_notes="Seen by brand staff.", status=BookingStatus.CANCELLED)

    assert staff_client.post(url, data).status_code == 302
    booking.refresh_from_db()
    assert (booking.instructor_notes, booking.status) == ("Seen by brand staff.", BookingStatus.CONFIRMED)


def test_staff_cannot_post_to_another_brands_booking(staff_client, other_booking):
    url = admin_url("booking", "change", other_booking.pk)
    response = staff_client.post(url, {"instructor_notes": "hijacked", "payments-TOTAL_FORMS": 0})
    assert response.status_code in (302, 404)
    other_booking.refresh_from_db()
    assert other_booking.instructor_notes == ""


def test_staff_see_bookings_of_a_shared_instructor_only_in_their_brand(brand, other_brand, staff_client):
    shared = InstructorFactory()
    AssignmentFactory(brand=brand, instructor=shared)
    AssignmentFactory(brand=other_brand, instructor=shared)
    own = make_booking(brand=brand, instructor=shared, start_at=FIRST_START + dt.timedelta(days=1))
    theirs = make_booking(brand=other_brand, instructor=shared, start_at=FIRST_START + dt.timedelta(days=2))

    pks = result_pks(staff_client.get(admin_url("booking") + f"?instructor__id__exact={shared.pk}"))

    assert own.pk in pks and theirs.pk not in pks


# --- Query counts stay flat ---------------------------------------------------------------------

CHANGELIST_MAX_QUERIES = 12  # session, user, permissions, counts, date hierarchy, filters, one page of rows


@pytest.mark.parametrize("count", [5, 30])
@pytest.mark.parametrize("model", ["booking", "payment"])
def test_changelist_queries_do_not_grow_with_rows(
    admin_client, staff_client, brand, django_assert_max_num_queries, model, count
):
    for booking in make_bookings(brand=brand, count=count):
        pay(booking)
    for client in (admin_client, staff_client):
        client.get(admin_url(model))  # the first request of a client also loads caches
        with django_assert_max_num_queries(CHANGELIST_MAX_QUERIES):
            response = client.get(admin_url(model))
        assert len(response.context["cl"].result_list) >= count


# --- lifecycle actions (through the services) -------------------------------------


@pytest.fixture
def actionable(db, brand):
    import datetime as dt

    from bookings.tests.factories import BookingFactory
    from scheduling.tests.factories import EventTypeFactory

    start = dt.datetime(2030, 1, 7, 10, tzinfo=dt.UTC)
    event_type = EventTypeFactory(brand=brand)
    return [
        BookingFactory(brand=brand, event_type=event_type, status="pending", start_at=start + dt.timedelta(days=n))
        for n in range(2)
    ]


def _act(admin_client, action, bookings):
    return admin_client.post(
        "/admin/bookings/booking/",
        {"action": action, "_selected_action": [b.pk for b in bookings]},
        follow=True,
    )


def test_confirm_action_uses_the_lifecycle_and_emits_events(admin_client, actionable):
    from bookings.models import Event

    response = _act(admin_client, "confirm", actionable)
    assert response.status_code == 200
    assert {b.status for b in Booking.objects.filter(pk__in=[b.pk for b in actionable])} == {"confirmed"}
    assert Event.objects.filter(type="booking.confirmed").count() == 2
    assert "2 booking(s) confirmed." in response.content.decode()


def test_refused_action_is_reported_and_changes_nothing(admin_client, actionable):
    response = _act(admin_client, "complete", actionable)  # pending and not started: refused
    assert {b.status for b in Booking.objects.filter(pk__in=[b.pk for b in actionable])} == {"pending"}
    assert "cannot become completed" in response.content.decode()


def test_cancel_action_records_staff(admin_client, actionable):
    _act(admin_client, "cancel", actionable[:1])
    booking = Booking.objects.get(pk=actionable[0].pk)
    assert booking.status == "cancelled"
    assert booking.cancelled_by == "staff"
    assert Booking.objects.get(pk=actionable[1].pk).status == "pending"


def test_confirm_priced_booking_needs_waiving(admin_client, actionable):
    from decimal import Decimal

    event_type = actionable[0].event_type
    event_type.price_amount = Decimal("40.00")
    event_type.save()
    _act(admin_client, "confirm", actionable[:1])
    assert Booking.objects.get(pk=actionable[0].pk).status == "pending"
    _act(admin_client, "confirm_waiving_payment", actionable[:1])
    booking = Booking.objects.get(pk=actionable[0].pk)
    assert (booking.status, booking.payment_status) == ("confirmed", "waived")


def test_a_series_booking_links_to_every_session_of_its_series(admin_client, brand):
    from bookings.models import BookingSeries

    first = make_booking(brand=brand)
    series = BookingSeries.objects.create(
        brand=brand, instructor=first.instructor, event_type=first.event_type, count=2
    )
    second = make_booking(
        brand=brand,
        instructor=first.instructor,
        event_type=first.event_type,
        start_at=FIRST_START + dt.timedelta(weeks=1),
    )
    Booking.objects.filter(pk__in=[first.pk, second.pk]).update(series=series)
    make_booking(brand=brand, start_at=FIRST_START + dt.timedelta(hours=3))  # not in the series

    page = admin_client.get(admin_url("booking", "change", first.pk)).content.decode()
    listed = admin_client.get(admin_url("booking") + f"?series__id__exact={series.pk}")

    assert f"series__id__exact={series.pk}" in page
    assert {booking.pk for booking in listed.context["cl"].result_list} == {first.pk, second.pk}
