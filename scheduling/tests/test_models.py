"""Model validation: every bad value is refused by ``full_clean()`` naming its field.

The same validators serve the admin, the API and the pages, so these tests
pin the words a user sees. The database check constraints are the last line
behind them, and ``availability_replace`` is all-or-nothing.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from bookings.models import Booking, Payment
from scheduling.models import DateOverride, EventType, InstructorBrand, WeeklyAvailability
from scheduling.services import availability_replace
from scheduling.tests.factories import (
    AssignmentFactory,
    DateOverrideFactory,
    EventTypeFactory,
    InstructorFactory,
    WeeklyAvailabilityFactory,
)

pytestmark = pytest.mark.django_db

NINE, TEN, ELEVEN, NOON, ONE_PM, THREE_PM = (dt.time(h) for h in (9, 10, 11, 12, 13, 15))


def refusal(instance) -> dict[str, list[str]]:
    """The errors ``full_clean()`` raises for ``instance`` (fails the test if it accepts it)."""
    with pytest.raises(ValidationError) as excinfo:
        instance.full_clean()
    return excinfo.value.message_dict


def assert_refused(instance, field: str, *words: str) -> None:
    """``instance`` is refused for ``field`` alone, with a message containing each of ``words``."""
    errors = refusal(instance)
    assert set(errors) == {field}, errors
    message = " ".join(errors[field])
    for word in words:
        assert word.lower() in message.lower(), message


@pytest.fixture
def assignment(brand):
    return AssignmentFactory(brand=brand)


def unsaved_assignment(brand, **fields) -> InstructorBrand:
    return InstructorBrand(instructor=InstructorFactory(), brand=brand, **fields)


def unsaved_booking(brand, **fields) -> Booking:
    instructor = InstructorFactory()
    event_type = EventTypeFactory(brand=brand)
    start_at = dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)
    values = {
        "brand": brand,
        "instructor": instructor,
        "event_type": event_type,
        "start_at": start_at,
        "end_at": start_at + dt.timedelta(hours=1),
        "attendee_name": "Ada",
        "attendee_email": "ada@example.com",
        "instructor_timezone": "Europe/Berlin",
        **fields,
    }
    return Booking(**values)


def unsaved_event_type(brand, **fields) -> EventType:
    return EventType(brand=brand, name="Intro", slug="intro", **fields)


# --- Timezones -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "+02:00", "CEST", "europe/berlin"])
def test_assignment_refuses_unknown_timezone(brand, name):
    assert_refused(unsaved_assignment(brand, timezone=name), "timezone", "Unknown timezone", "IANA")


def test_assignment_accepts_iana_timezone(brand):
    unsaved_assignment(brand, timezone="America/New_York").full_clean()


def test_booking_refuses_unknown_student_timezone(brand):
    assert_refused(unsaved_booking(brand, student_timezone="Atlantis/Capital"), "student_timezone", "Unknown timezone")


def test_booking_accepts_valid_booking(brand):
    unsaved_booking(brand, student_timezone="Asia/Tokyo").full_clean()


# --- Weekly ranges -------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "end"), [(NOON, NINE), (NINE, NINE)])
def test_weekly_range_refuses_start_not_before_end(assignment, start, end):
    weekly = WeeklyAvailability(assignment=assignment, weekday=0, start_time=start, end_time=end)
    assert_refused(weekly, "end_time", "end must be after the start")


def test_weekly_range_refuses_overlap_on_same_weekday(assignment):
    WeeklyAvailabilityFactory(assignment=assignment, weekday=2, start_time=NINE, end_time=NOON)
    weekly = WeeklyAvailability(assignment=assignment, weekday=2, start_time=ELEVEN, end_time=ONE_PM)
    assert_refused(weekly, "start_time", "overlaps")


def test_weekly_range_refuses_range_inside_another(assignment):
    WeeklyAvailabilityFactory(assignment=assignment, weekday=2, start_time=NINE, end_time=THREE_PM)
    weekly = WeeklyAvailability(assignment=assignment, weekday=2, start_time=TEN, end_time=ELEVEN)
    assert_refused(weekly, "start_time", "overlaps")


def test_weekly_range_accepts_adjacent_ranges(assignment):
    WeeklyAvailabilityFactory(assignment=assignment, weekday=2, start_time=NINE, end_time=NOON)
    WeeklyAvailability(assignment=assignment, weekday=2, start_time=NOON, end_time=THREE_PM).full_clean()


def test_weekly_range_overlap_is_per_weekday_and_per_assignment(assignment, brand):
    WeeklyAvailabilityFactory(assignment=assignment, weekday=2, start_time=NINE, end_time=NOON)
    WeeklyAvailability(assignment=assignment, weekday=3, start_time=TEN, end_time=ELEVEN).full_clean()
    other_assignment = AssignmentFactory(brand=brand)
    WeeklyAvailability(assignment=other_assignment, weekday=2, start_time=TEN, end_time=ELEVEN).full_clean()


def test_weekly_range_edit_does_not_overlap_itself(assignment):
    weekly = WeeklyAvailabilityFactory(assignment=assignment, weekday=2, start_time=NINE, end_time=NOON)
    weekly.end_time = ONE_PM
    weekly.full_clean()


def test_weekly_range_refuses_unknown_weekday(assignment):
    assert_refused(WeeklyAvailability(assignment=assignment, weekday=7, start_time=NINE, end_time=NOON), "weekday")


# --- Assignment settings -------------------------------------------------------------------


@pytest.mark.parametrize("field", ["buffer_minutes", "minimum_notice_minutes", "cancellation_cutoff_hours"])
def test_assignment_refuses_negative_minutes_and_hours(brand, field):
    assert_refused(unsaved_assignment(brand, **{field: -1}), field, "greater than or equal to 0")


@pytest.mark.parametrize("days", [0, 731])
def test_assignment_refuses_advance_days_out_of_range(brand, days):
    assert_refused(unsaved_assignment(brand, advance_booking_days=days), "advance_booking_days")


@pytest.mark.parametrize("days", [1, 730])
def test_assignment_accepts_advance_days_at_the_bounds(brand, days):
    unsaved_assignment(brand, advance_booking_days=days).full_clean()


def test_assignment_defaults_follow_the_spec(brand):
    assignment = unsaved_assignment(brand)
    assert (
        assignment.timezone,
        assignment.buffer_minutes,
        assignment.advance_booking_days,
        assignment.cancellation_cutoff_hours,
        assignment.minimum_notice_minutes,
    ) == ("UTC", 15, 90, 24, 0)


# --- Event types ---------------------------------------------------------------------------


@pytest.mark.parametrize("minutes", [4, 721])
def test_event_type_refuses_duration_out_of_range(brand, minutes):
    assert_refused(unsaved_event_type(brand, duration_minutes=minutes), "duration_minutes")


@pytest.mark.parametrize("minutes", [5, 720])
def test_event_type_accepts_duration_at_the_bounds(brand, minutes):
    unsaved_event_type(brand, duration_minutes=minutes).full_clean()


@pytest.mark.parametrize(
    ("offsets", "words"),
    [
        ([0], ["out of range"]),
        ([43201], ["out of range"]),
        ([1440, 43201], ["43201"]),
        ([60, 60], ["appears twice"]),
        (["60"], ["whole number"]),
        ([1.5], ["whole number"]),
        ([True], ["whole number"]),
        ("1440", ["list"]),
    ],
)
def test_event_type_refuses_bad_reminder_offsets(brand, offsets, words):
    assert_refused(unsaved_event_type(brand, reminder_minutes_before=offsets), "reminder_minutes_before", *words)


@pytest.mark.parametrize("offsets", [[1], [43200], [1440, 60], []])
def test_event_type_accepts_reminder_offsets(brand, offsets):
    unsaved_event_type(brand, reminder_minutes_before=offsets).full_clean()


@pytest.mark.parametrize(
    "emails", [["not-an-email"], ["host@example.com", "team@"], ["a@example.com", "A@example.com"], [42]]
)
def test_event_type_refuses_bad_notification_emails(brand, emails):
    assert_refused(unsaved_event_type(brand, booking_notification_emails=emails), "booking_notification_emails")


def test_event_type_names_the_bad_email(brand):
    event_type = unsaved_event_type(brand, booking_notification_emails=["host@example.com", "not-an-email"])
    assert_refused(event_type, "booking_notification_emails", "not-an-email", "not a valid email")


def test_event_type_accepts_notification_emails(brand):
    unsaved_event_type(brand, booking_notification_emails=["host@example.com", "team@example.org"]).full_clean()


@pytest.mark.parametrize(("channels", "words"), [(["fax"], ["unknown", "fax"]), (["email", "email"], ["twice"])])
def test_event_type_refuses_bad_reminder_channels(brand, channels, words):
    assert_refused(unsaved_event_type(brand, reminder_channels=channels), "reminder_channels", *words)


def test_event_type_accepts_every_channel(brand):
    unsaved_event_type(brand, reminder_channels=["email", "sms", "whatsapp"]).full_clean()


def test_event_type_refuses_negative_price(brand):
    assert_refused(unsaved_event_type(brand, price_amount=-1), "price_amount")


# --- Date overrides ------------------------------------------------------------------------


def override(assignment, **fields) -> DateOverride:
    return DateOverride(assignment=assignment, date=dt.date(2026, 12, 24), **fields)


def test_override_refuses_unavailable_with_ranges(assignment):
    bad = override(assignment, unavailable=True, ranges=[{"start": "09:00", "end": "12:00"}])
    assert_refused(bad, "ranges", "unavailable date has no ranges")


def test_override_refuses_neither_unavailable_nor_ranges(assignment):
    assert_refused(override(assignment, unavailable=False, ranges=[]), "ranges", "mark the date unavailable")


@pytest.mark.parametrize(
    "ranges",
    [
        [{"start": "09:00"}],
        [{"from": "09:00", "to": "12:00"}],
        ["09:00-12:00"],
        [{"start": "9am", "end": "noon"}],
        [{"start": "25:00", "end": "26:00"}],
        [{"start": 9, "end": 12}],
        "09:00-12:00",
    ],
)
def test_override_refuses_malformed_ranges(assignment, ranges):
    assert_refused(override(assignment, ranges=ranges), "ranges", '"start": "HH:MM"')


@pytest.mark.parametrize(
    "ranges",
    [
        [{"start": "12:00", "end": "09:00"}],
        [{"start": "09:00", "end": "12:00"}, {"start": "11:00", "end": "13:00"}],
    ],
)
def test_override_refuses_empty_or_overlapping_ranges(assignment, ranges):
    errors = refusal(override(assignment, ranges=ranges))
    assert set(errors) == {"ranges"}


@pytest.mark.parametrize(
    "fields",
    [
        {"unavailable": True, "ranges": []},
        {"ranges": [{"start": "09:00", "end": "12:00"}, {"start": "12:00", "end": "15:00"}]},
    ],
)
def test_override_accepts_unavailable_or_ranges(assignment, fields):
    override(assignment, **fields).full_clean()


def test_override_refuses_second_override_of_same_date(assignment):
    DateOverrideFactory(assignment=assignment, date=dt.date(2026, 12, 24))
    errors = refusal(override(assignment, unavailable=True))
    assert "__all__" in errors


# --- Database check constraints ------------------------------------------------------------


def assert_database_refuses(create) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_database_refuses_weekly_range_not_starting_before_end(assignment):
    assert_database_refuses(
        lambda: WeeklyAvailability.objects.create(assignment=assignment, weekday=0, start_time=NOON, end_time=NINE)
    )
    assert_database_refuses(
        lambda: WeeklyAvailability.objects.create(assignment=assignment, weekday=0, start_time=NINE, end_time=NINE)
    )


def test_database_refuses_unknown_weekday(assignment):
    assert_database_refuses(
        lambda: WeeklyAvailability.objects.create(assignment=assignment, weekday=7, start_time=NINE, end_time=NOON)
    )


@pytest.mark.parametrize("minutes", [4, 721])
def test_database_refuses_event_type_duration_out_of_range(brand, minutes):
    assert_database_refuses(lambda: EventTypeFactory(brand=brand, duration_minutes=minutes))


@pytest.mark.parametrize("fields", [{"advance_booking_days": 0}, {"advance_booking_days": 731}, {"buffer_minutes": -1}])
def test_database_refuses_assignment_settings_out_of_range(brand, fields):
    assert_database_refuses(lambda: AssignmentFactory(brand=brand, **fields))


def test_database_refuses_two_assignments_of_one_instructor_to_one_brand(assignment):
    assert_database_refuses(lambda: AssignmentFactory(brand=assignment.brand, instructor=assignment.instructor))


def test_database_refuses_booking_ending_before_it_starts(brand):
    booking = unsaved_booking(brand)
    booking.end_at = booking.start_at
    assert_database_refuses(booking.save)


def test_database_refuses_negative_payment(brand):
    booking = unsaved_booking(brand)
    booking.save()
    assert_database_refuses(
        lambda: Payment.objects.create(booking=booking, amount=-1, currency="EUR", status=Payment.Status.SUCCEEDED)
    )


# --- availability_replace is all-or-nothing -------------------------------------------------


def stored_schedule(assignment) -> tuple:
    assignment.refresh_from_db()
    weekly = [(r.weekday, r.start_time, r.end_time) for r in assignment.weekly_ranges.all()]
    overrides = [(o.date, o.unavailable, o.ranges) for o in assignment.overrides.all()]
    return assignment.buffer_minutes, weekly, overrides


@pytest.fixture
def scheduled_assignment(assignment):
    WeeklyAvailabilityFactory(assignment=assignment, weekday=0, start_time=NINE, end_time=NOON)
    WeeklyAvailabilityFactory(assignment=assignment, weekday=2, start_time=ONE_PM, end_time=THREE_PM)
    DateOverrideFactory(assignment=assignment, date=dt.date(2026, 12, 24), unavailable=True)
    return assignment


def test_availability_replace_with_overlap_changes_nothing(scheduled_assignment):
    before = stored_schedule(scheduled_assignment)
    with pytest.raises(ValidationError) as excinfo:
        availability_replace(
            assignment=scheduled_assignment,
            settings={"buffer_minutes": 30},
            weekly=[
                {"weekday": 4, "start": "09:00", "end": "12:00"},
                {"weekday": 4, "start": "11:00", "end": "13:00"},
            ],
            overrides=[],
        )
    assert "weekly" in excinfo.value.message_dict
    assert "overlaps" in excinfo.value.message_dict["weekly"][0]
    assert stored_schedule(scheduled_assignment) == before


def test_availability_replace_with_bad_override_changes_nothing(scheduled_assignment):
    before = stored_schedule(scheduled_assignment)
    with pytest.raises(ValidationError) as excinfo:
        availability_replace(
            assignment=scheduled_assignment,
            settings={},
            weekly=[{"weekday": 4, "start": "09:00", "end": "12:00"}],
            overrides=[
                {"date": dt.date(2027, 1, 1), "unavailable": True, "ranges": [{"start": "09:00", "end": "10:00"}]}
            ],
        )
    assert "unavailable date has no ranges" in excinfo.value.message_dict["overrides"][0]
    assert stored_schedule(scheduled_assignment) == before


def test_availability_replace_with_bad_setting_changes_nothing(scheduled_assignment):
    before = stored_schedule(scheduled_assignment)
    with pytest.raises(ValidationError) as excinfo:
        availability_replace(
            assignment=scheduled_assignment,
            settings={"timezone": "Nowhere/Land"},
            weekly=[{"weekday": 4, "start": "09:00", "end": "12:00"}],
            overrides=[],
        )
    assert "timezone" in excinfo.value.message_dict
    assert stored_schedule(scheduled_assignment) == before


def test_availability_replace_replaces_everything(scheduled_assignment):
    availability_replace(
        assignment=scheduled_assignment,
        settings={"buffer_minutes": 30},
        weekly=[
            {"weekday": 4, "start": "09:00", "end": "12:00"},
            {"weekday": 4, "start": "12:00", "end": "15:00"},
        ],
        overrides=[{"date": dt.date(2027, 1, 1), "ranges": [{"start": "10:00", "end": "11:00"}]}],
    )
    assert stored_schedule(scheduled_assignment) == (
        30,
        [(4, NINE, NOON), (4, NOON, THREE_PM)],
        [(dt.date(2027, 1, 1), False, [{"start": "10:00", "end": "11:00"}])],
    )


# --- service-level input checks ------------------------------------------------------


def test_availability_replace_refuses_times_with_an_offset(db):
    from scheduling.services import availability_replace
    from scheduling.tests.factories import AssignmentFactory

    assignment = AssignmentFactory()
    with pytest.raises(ValidationError) as error:
        availability_replace(
            assignment=assignment,
            settings={},
            weekly=[{"weekday": 0, "start": "09:00+02:00", "end": "12:00"}],
            overrides=[],
        )
    assert "weekly[0].start" in error.value.message_dict


def test_availability_replace_refuses_boolean_weekday(db):
    from scheduling.services import availability_replace
    from scheduling.tests.factories import AssignmentFactory

    assignment = AssignmentFactory()
    with pytest.raises(ValidationError) as error:
        availability_replace(
            assignment=assignment,
            settings={},
            weekly=[{"weekday": True, "start": "09:00", "end": "12:00"}],
            overrides=[],
        )
    assert "weekly[0].weekday" in error.value.message_dict
    assert not assignment.weekly_ranges.exists()


def test_instructor_assign_validates_before_writing(db):
    from scheduling.models import InstructorBrand
    from scheduling.services import instructor_assign
    from scheduling.tests.factories import BrandFactory, InstructorFactory

    with pytest.raises(ValidationError) as error:
        instructor_assign(instructor=InstructorFactory(), brand=BrandFactory(), advance_booking_days=0)
    assert "advance_booking_days" in error.value.message_dict
    assert not InstructorBrand.objects.exists()
