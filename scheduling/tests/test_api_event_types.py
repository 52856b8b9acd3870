"""Event types API: /api/event-types (CRUD), string and list input forms."""

import datetime as dt
from decimal import Decimal

import pytest

from booking_project.api.authentication import KEY_USE_QUERIES
from bookings.models import Booking, BookingStatus
from scheduling.models import EventType
from scheduling.tests.factories import AssignmentFactory, EventTypeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def event_type(brand):
    return EventTypeFactory(brand=brand, name="Intro", slug="intro", duration_minutes=30)


@pytest.fixture
def foreign_event_type(other_brand):
    return EventTypeFactory(brand=other_brand, name="Theirs", slug="theirs")


def book(event_type) -> Booking:
    assignment = AssignmentFactory(brand=event_type.brand)
    start = dt.datetime(2026, 12, 2, 10, tzinfo=dt.UTC)
    return Booking.objects.create(
        brand=event_type.brand,
        instructor=assignment.instructor,
        event_type=event_type,
        start_at=start,
        end_at=start + dt.timedelta(minutes=30),
        status=BookingStatus.CONFIRMED,
        attendee_name="Ada",
        attendee_email="ada@example.com",
        instructor_timezone="UTC",
    )


FIELDS = {
    "id",
    "name",
    "slug",
    "duration_minutes",
    "description",
    "price_amount",
    "currency",
    "requires_confirmation",
    "send_email_confirmation",
    "send_sms_confirmation",
    "booking_notification_emails",
    "reminder_minutes_before",
    "reminder_channels",
    "is_active",
}


# --- reads ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/event-types", "/api/event-types/"])
def test_list_shows_the_brands_event_types(path, api, event_type, foreign_event_type):
    response = api.get(path)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    row = body["results"][0]
    assert set(row) >= FIELDS
    assert row["id"] == event_type.id
    assert row["reminder_minutes_before"] == [1440]
    assert row["reminder_channels"] == ["email"]
    assert row["booking_notification_emails"] == []
    assert row["price_amount"] is None


def test_list_filters_by_is_active(api, brand, event_type):
    EventTypeFactory(brand=brand, is_active=False)

    body = api.get("/api/event-types?is_active=true").json()

    assert [row["id"] for row in body["results"]] == [event_type.id]


def test_list_query_count_is_flat(api, brand, django_assert_max_num_queries):
    for _ in range(2):
        EventTypeFactory(brand=brand)
    # The key's first request also stamps its last use (once a minute).
    with django_assert_max_num_queries(3 + KEY_USE_QUERIES):
        assert api.get("/api/event-types").json()["count"] == 2

    for _ in range(18):
        EventTypeFactory(brand=brand)
    with django_assert_max_num_queries(3):
        assert len(api.get("/api/event-types").json()["results"]) == 20


@pytest.mark.parametrize("path", ["/api/event-types/{id}", "/api/event-types/{id}/"])
def test_retrieve(path, public_api, event_type):
    response = public_api.get(path.format(id=event_type.id))

    assert response.status_code == 200
    assert response.json()["slug"] == "intro"


# --- create -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/event-types", "/api/event-types/"])
def test_create_with_lists(path, api, brand):
    response = api.post(
        path,
        {
            "name": "Deep Dive",
            "duration_minutes": 90,
            "description": "Two topics.",
            "price_amount": "50.00",
            "currency": "EUR",
            "requires_confirmation": False,
            "send_sms_confirmation": True,
            "booking_notification_emails": ["host@example.com", "team@example.com"],
            "reminder_minutes_before": [1440, 60],
            "reminder_channels": ["email", "sms", "whatsapp"],
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= FIELDS
    assert body["slug"] == "deep-dive"
    assert body["price_amount"] == "50.00"
    assert body["booking_notification_emails"] == ["host@example.com", "team@example.com"]
    assert body["reminder_minutes_before"] == [1440, 60]
    assert body["reminder_channels"] == ["email", "sms", "whatsapp"]
    stored = EventType.objects.get(pk=body["id"])
    assert stored.brand == brand
    assert stored.price_amount == Decimal("50.00")
    assert stored.reminder_minutes_before == [1440, 60]


def test_create_with_the_string_forms(api):
    response = api.post(
        "/api/event-types",
        {
            "name": "Strings",
            "booking_notification_emails": "host@example.com, team@example.com",
            "reminder_minutes_before": "[1440, 60]",
            "reminder_channels": '["email", "sms"]',
            "price_amount": 25,
            "currency": "usd",
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["booking_notification_emails"] == ["host@example.com", "team@example.com"]
    assert body["reminder_minutes_before"] == [1440, 60]
    assert body["reminder_channels"] == ["email", "sms"]
    assert body["price_amount"] == "25.00"
    assert body["currency"] == "USD"


def test_create_with_a_json_array_string_of_emails(api):
    response = api.post(
        "/api/event-types", {"name": "J", "booking_notification_emails": '["a@example.com", "b@example.com"]'}
    )

    assert response.status_code == 201, response.content
    assert response.json()["booking_notification_emails"] == ["a@example.com", "b@example.com"]


def test_create_with_form_data(api):
    response = api.post(
        "/api/event-types",
        {"name": "Form", "booking_notification_emails": "a@example.com,b@example.com", "reminder_minutes_before": "60"},
        format="multipart",
    )

    assert response.status_code == 201, response.content
    assert response.json()["booking_notification_emails"] == ["a@example.com", "b@example.com"]
    assert response.json()["reminder_minutes_before"] == [60]


def test_create_defaults(api):
    response = api.post("/api/event-types", {"name": "Plain"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["duration_minutes"] == 60
    assert body["requires_confirmation"] is True
    assert body["send_email_confirmation"] is True
    assert body["send_sms_confirmation"] is False
    assert body["reminder_minutes_before"] == [1440]
    assert body["reminder_channels"] == ["email"]
    assert body["currency"] == "EUR"
    assert body["is_active"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "X", "duration_minutes": 4}, "duration_minutes"),
        ({"name": "X", "duration_minutes": 721}, "duration_minutes"),
        ({"name": "X", "price_amount": "-1.00"}, "price_amount"),
        ({"name": "X", "price_amount": "12.345"}, "price_amount"),
        ({"name": "X", "price_amount": "cheap"}, "price_amount"),
        ({"name": "X", "currency": "EU"}, "currency"),
        ({"name": "X", "currency": "XYZ"}, "currency"),
        ({"name": "X", "reminder_minutes_before": [0]}, "reminder_minutes_before"),
        ({"name": "X", "reminder_minutes_before": [43201]}, "reminder_minutes_before"),
        ({"name": "X", "reminder_minutes_before": "[60, 60]"}, "reminder_minutes_before"),
        ({"name": "X", "reminder_minutes_before": "[1440, "}, "reminder_minutes_before"),
        ({"name": "X", "reminder_minutes_before": ["soon"]}, "reminder_minutes_before"),
        ({"name": "X", "reminder_minutes_before": [1.5]}, "reminder_minutes_before"),
        ({"name": "X", "reminder_channels": ["pigeon"]}, "reminder_channels"),
        ({"name": "X", "reminder_channels": "email,email"}, "reminder_channels"),
        ({"name": "X", "booking_notification_emails": "host@example.com, nope"}, "booking_notification_emails"),
        (
            {"name": "X", "booking_notification_emails": ["a@example.com", "A@example.com"]},
            "booking_notification_emails",
        ),
        ({"name": "X", "booking_notification_emails": {"a": 1}}, "booking_notification_emails"),
        ({"name": "X", "slug": "has spaces"}, "slug"),
        ({"name": "X", "requires_confirmation": "maybe"}, "requires_confirmation"),
    ],
)
def test_create_refuses_bad_input_naming_the_field(api, brand, body, field):
    before = EventType.objects.count()

    response = api.post("/api/event-types", body)

    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert EventType.objects.count() == before


@pytest.mark.parametrize("value", ["1440,60", "1440, 60", "60"])
def test_reminder_minutes_refuse_a_comma_separated_or_bare_string(api, value):
    """A list or a JSON-array string; ``"1440,60"`` is neither."""
    before = EventType.objects.count()

    response = api.post("/api/event-types", {"name": "X", "reminder_minutes_before": value}, format="json")

    assert response.status_code == 400
    errors = response.json()["reminder_minutes_before"]
    assert "JSON array string" in errors[0] and value in errors[0]
    assert EventType.objects.count() == before


def test_reminder_minutes_refuse_a_comma_separated_string_in_a_patch(api, event_type):
    response = api.patch(f"/api/event-types/{event_type.id}", {"reminder_minutes_before": "1440,60", "name": "Y"})

    assert response.status_code == 400
    assert "reminder_minutes_before" in response.json()
    event_type.refresh_from_db()
    assert (event_type.name, event_type.reminder_minutes_before) == ("Intro", [1440])


def test_reminder_minutes_refuse_a_comma_separated_form_value(api):
    response = api.post("/api/event-types", {"name": "Form", "reminder_minutes_before": "1440,60"}, format="multipart")

    assert response.status_code == 400
    assert "reminder_minutes_before" in response.json()


def test_reminder_minutes_accept_repeated_form_values(api):
    response = api.post(
        "/api/event-types", {"name": "Form", "reminder_minutes_before": ["1440", "60"]}, format="multipart"
    )

    assert response.status_code == 201, response.content
    assert response.json()["reminder_minutes_before"] == [1440, 60]


def test_other_lists_still_accept_comma_separated_strings(api):
    response = api.post(
        "/api/event-types",
        {
            "name": "Commas",
            "booking_notification_emails": "a@example.com,b@example.com",
            "reminder_channels": "email,sms",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["reminder_channels"] == ["email", "sms"]


@pytest.mark.parametrize(("value", "stored"), [(" usd ", "USD"), ("chf", "CHF")])
def test_currency_is_trimmed_and_upper_cased(api, value, stored):
    response = api.post("/api/event-types", {"name": "X", "currency": value}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["currency"] == stored


def test_currency_is_checked_by_the_shared_validator(api):
    response = api.post("/api/event-types", {"name": "X", "currency": "abc"}, format="json")

    assert response.status_code == 400
    assert response.json()["currency"] == ["Unknown currency 'ABC'. Use an ISO 4217 code such as EUR or USD."]


def test_slug_is_unique_per_brand(api, event_type, foreign_event_type):
    before = EventType.objects.count()

    taken = api.post("/api/event-types", {"name": "Again", "slug": "intro"})
    free_here = api.post("/api/event-types", {"name": "Theirs too", "slug": "theirs"})

    assert taken.status_code == 400
    assert "slug" in taken.json()
    assert free_here.status_code == 201
    assert EventType.objects.count() == before + 1


def test_generated_slugs_do_not_collide(api, event_type):
    response = api.post("/api/event-types", {"name": "Intro"})

    assert response.status_code == 201
    assert response.json()["slug"] == "intro-2"


def test_public_key_cannot_create(public_api, brand):
    before = EventType.objects.count()

    assert public_api.post("/api/event-types", {"name": "P"}).status_code == 403
    assert EventType.objects.count() == before


def test_no_key_is_a_401(anonymous_api, brand):
    assert anonymous_api.get("/api/event-types").status_code == 401
    assert anonymous_api.post("/api/event-types", {"name": "A"}).status_code == 401
    assert EventType.objects.count() == 0


# --- update -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/event-types/{id}", "/api/event-types/{id}/"])
def test_patch(path, api, event_type):
    response = api.patch(
        path.format(id=event_type.id), {"reminder_minutes_before": "[60]", "price_amount": None, "is_active": False}
    )

    assert response.status_code == 200, response.content
    assert response.json()["reminder_minutes_before"] == [60]
    assert response.json()["is_active"] is False
    event_type.refresh_from_db()
    assert event_type.reminder_minutes_before == [60]
    assert event_type.duration_minutes == 30


def test_patch_keeps_its_own_slug(api, event_type):
    response = api.patch(f"/api/event-types/{event_type.id}", {"slug": "intro", "name": "Intro 2"})

    assert response.status_code == 200, response.content


def test_patch_refuses_a_slug_taken_in_the_brand(api, brand, event_type):
    EventTypeFactory(brand=brand, slug="taken")

    response = api.patch(f"/api/event-types/{event_type.id}", {"slug": "taken"})

    assert response.status_code == 400
    assert "slug" in response.json()
    event_type.refresh_from_db()
    assert event_type.slug == "intro"


def test_patch_refuses_bad_channels_and_changes_nothing(api, event_type):
    response = api.patch(f"/api/event-types/{event_type.id}", {"reminder_channels": ["fax"], "name": "Changed"})

    assert response.status_code == 400
    assert "reminder_channels" in response.json()
    event_type.refresh_from_db()
    assert event_type.name == "Intro"


def test_public_key_cannot_patch_or_delete(public_api, event_type):
    path = f"/api/event-types/{event_type.id}"

    assert public_api.patch(path, {"name": "P"}).status_code == 403
    assert public_api.delete(path).status_code == 403

    event_type.refresh_from_db()
    assert event_type.name == "Intro"
    assert event_type.is_active


# --- delete -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/event-types/{id}", "/api/event-types/{id}/"])
def test_delete_without_bookings_deletes(path, api, event_type):
    response = api.delete(path.format(id=event_type.id))

    assert response.status_code == 204
    assert not EventType.objects.filter(pk=event_type.pk).exists()


def test_delete_with_bookings_deactivates(api, event_type):
    booking = book(event_type)

    response = api.delete(f"/api/event-types/{event_type.id}")

    assert response.status_code == 204
    event_type.refresh_from_db()
    assert event_type.is_active is False
    booking.refresh_from_db()
    assert booking.event_type_id == event_type.id


# --- tenancy ----------------------------------------------------------------------------


def test_another_brands_event_type_is_a_404_for_every_method(api, foreign_event_type):
    path = f"/api/event-types/{foreign_event_type.id}"

    assert api.get(path).status_code == 404
    assert api.patch(path, {"name": "Hijacked"}).status_code == 404
    assert api.delete(path).status_code == 404

    foreign_event_type.refresh_from_db()
    assert foreign_event_type.name == "Theirs"
    assert foreign_event_type.is_active


def test_unknown_event_type_is_a_404(api):
    assert api.get("/api/event-types/999999").status_code == 404


@pytest.mark.parametrize(("value", "status"), [(30, 201), (None, 201), (4, 400), (721, 400), ("often", 400)])
def test_slot_interval_minutes(api, value, status):
    response = api.post(
        "/api/event-types", {"name": "Stepped", "duration_minutes": 60, "slot_interval_minutes": value}, format="json"
    )
    assert response.status_code == status, response.content
    if status == 201:
        assert response.json()["slot_interval_minutes"] == value
    else:
        assert "slot_interval_minutes" in response.json()


def test_a_session_type_may_allow_weekly_series(api, public_api):
    response = api.post(
        "/api/event-types", {"name": "Weekly", "allow_recurring": True, "max_occurrences": 8}, format="json"
    )
    default = api.post("/api/event-types", {"name": "Once"}, format="json").json()

    assert response.status_code == 201, response.content
    assert (response.json()["allow_recurring"], response.json()["max_occurrences"]) == (True, 8)
    assert (default["allow_recurring"], default["max_occurrences"]) == (False, 26)
    public = public_api.get(f"/api/event-types/{response.json()['id']}").json()  # a booking site offers "repeat"
    assert (public["allow_recurring"], public["max_occurrences"]) == (True, 8)


@pytest.mark.parametrize("value", [1, 27, 0, -3, "many", None])
def test_a_bad_max_occurrences_is_a_400_naming_it(api, event_type, value):
    created = api.post("/api/event-types", {"name": "Weekly", "max_occurrences": value}, format="json")
    changed = api.patch(f"/api/event-types/{event_type.id}", {"max_occurrences": value}, format="json")

    assert created.status_code == changed.status_code == 400
    assert list(created.json()) == list(changed.json()) == ["max_occurrences"]
    assert not EventType.objects.filter(name="Weekly").exists()
    event_type.refresh_from_db()
    assert event_type.max_occurrences == 26
