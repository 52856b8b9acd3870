"""Service-level rules every door relies on: the shared instructor's identity, the
availability replace under a lock, and the single list of assignment settings."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.core.exceptions import ValidationError

from scheduling import admin as scheduling_admin
from scheduling import selectors, services
from scheduling.api.serializers import AvailabilityReplaceSerializer, AvailabilitySettingsSerializer
from scheduling.models import ApiKey, Brand, Instructor, InstructorBrand, WeeklyAvailability
from scheduling.tests.factories import (
    AssignmentFactory,
    DateOverrideFactory,
    EventTypeFactory,
    WeeklyAvailabilityFactory,
)

pytestmark = pytest.mark.django_db


# --- instructor_update: the identity of a shared instructor -----------------------------------


def test_instructor_update_refuses_identity_changes_of_an_instructor_shared_with_another_brand(brand, other_brand):
    instructor = AssignmentFactory(brand=brand, instructor__email="ada@example.com").instructor
    AssignmentFactory(brand=other_brand, instructor=instructor, timezone="Asia/Tokyo")

    with pytest.raises(services.InstructorShared) as error:
        services.instructor_update(
            instructor=instructor, brand=other_brand, email="attacker@example.com", timezone="Europe/Lisbon"
        )

    assert error.value.code == "instructor_shared"
    instructor.refresh_from_db()
    assert instructor.email == "ada@example.com"
    assert InstructorBrand.objects.get(instructor=instructor, brand=other_brand).timezone == "Asia/Tokyo"


def test_instructor_update_changes_the_identity_of_an_instructor_of_one_brand(brand):
    instructor = AssignmentFactory(brand=brand).instructor

    services.instructor_update(instructor=instructor, brand=brand, email="new@example.com")

    instructor.refresh_from_db()
    assert instructor.email == "new@example.com"


def test_instructor_update_of_the_timezone_alone_does_not_write_the_instructor_row(brand, other_brand):
    """A brand changing only its timezone never writes back the identity it loaded earlier."""
    instructor = AssignmentFactory(brand=brand).instructor
    AssignmentFactory(brand=other_brand, instructor=instructor)
    Instructor.objects.filter(pk=instructor.pk).update(name="Renamed by an administrator")

    services.instructor_update(instructor=instructor, brand=other_brand, timezone="Europe/Lisbon")

    instructor.refresh_from_db()
    assert instructor.name == "Renamed by an administrator"


def test_instructor_unassign_removes_only_that_brands_assignment(brand, other_brand):
    own = AssignmentFactory(brand=brand)
    other = AssignmentFactory(brand=other_brand, instructor=own.instructor)

    services.instructor_unassign(instructor=own.instructor, brand=other_brand)

    assert list(InstructorBrand.objects.all()) == [own]
    assert not InstructorBrand.objects.filter(pk=other.pk).exists()


# --- availability_replace re-reads the assignment under its lock ---------------------------------


def test_availability_replace_keeps_settings_changed_after_the_caller_loaded_the_assignment(brand):
    assignment = AssignmentFactory(brand=brand, timezone="Europe/Berlin", buffer_minutes=0, minimum_notice_minutes=0)
    loaded = InstructorBrand.objects.get(pk=assignment.pk)
    # Another request commits between this caller's read and its replace.
    InstructorBrand.objects.filter(pk=assignment.pk).update(minimum_notice_minutes=120, timezone="Asia/Tokyo")

    result = services.availability_replace(
        assignment=loaded,
        settings={"buffer_minutes": 30},
        weekly=[{"weekday": 0, "start": "09:00", "end": "12:00"}],
        overrides=[],
    )

    stored = InstructorBrand.objects.get(pk=assignment.pk)
    assert (stored.buffer_minutes, stored.minimum_notice_minutes, stored.timezone) == (30, 120, "Asia/Tokyo")
    assert (result.buffer_minutes, result.minimum_notice_minutes, result.timezone) == (30, 120, "Asia/Tokyo")
    assert (loaded.minimum_notice_minutes, loaded.timezone) == (120, "Asia/Tokyo")  # the caller sees what is stored


def test_put_availability_keeps_settings_changed_behind_the_views_back(api, brand):
    assignment = AssignmentFactory(brand=brand, timezone="Europe/Berlin", buffer_minutes=0, minimum_notice_minutes=0)
    load = selectors.assignment_for

    def load_then_concurrent_change(**kwargs):
        loaded = load(**kwargs)
        InstructorBrand.objects.filter(pk=loaded.pk).update(minimum_notice_minutes=120, cancellation_cutoff_hours=2)
        return loaded

    with mock.patch.object(selectors, "assignment_for", side_effect=load_then_concurrent_change):
        response = api.put(
            "/api/bookings/availability",
            {"instructor_id": assignment.instructor_id, "buffer_minutes": 30},
            format="json",
        )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["buffer_minutes"], body["minimum_notice_minutes"], body["cancellation_cutoff_hours"]) == (30, 120, 2)
    stored = InstructorBrand.objects.get(pk=assignment.pk)
    assert (stored.buffer_minutes, stored.minimum_notice_minutes, stored.cancellation_cutoff_hours) == (30, 120, 2)


def test_availability_replace_stores_override_ranges_as_local_hh_mm(brand):
    assignment = AssignmentFactory(brand=brand)

    services.availability_replace(
        assignment=assignment,
        settings={},
        weekly=[],
        overrides=[{"date": dt.date(2027, 1, 4), "ranges": [{"start": dt.time(9, 0, 30), "end": "10:00:00"}]}],
    )

    assert assignment.overrides.get().ranges == [{"start": "09:00", "end": "10:00"}]


@pytest.mark.parametrize(
    "ranges",
    [
        "09:00-10:00",
        {"start": "09:00", "end": "10:00"},
        [{"start": "09:00"}],
        ["09:00"],
        [{"start": "09:00+02:00", "end": "10:00"}],
        [{"start": "nine", "end": "10:00"}],
    ],
)
def test_override_ranges_clean_refuses_malformed_ranges_naming_the_field(ranges):
    with pytest.raises(ValidationError) as error:
        services.override_ranges_clean(ranges, field="overrides[0].ranges")
    assert list(error.value.message_dict) == ["overrides[0].ranges"]


@pytest.mark.parametrize("empty", [None, "", []])
def test_override_ranges_clean_reads_empty_as_no_ranges(empty):
    assert services.override_ranges_clean(empty) == []


# --- event_type_slug_error: the check the admin and the API share ---------------------------------


def test_event_type_slug_error_names_a_slug_taken_in_the_same_brand_only(brand, other_brand):
    taken = EventTypeFactory(brand=brand, slug="intro")
    EventTypeFactory(brand=other_brand, slug="deep-dive")

    assert "intro" in services.event_type_slug_error(brand_id=brand.pk, slug="intro")
    assert services.event_type_slug_error(brand_id=brand.pk, slug="intro", event_type_id=taken.pk) is None
    assert services.event_type_slug_error(brand_id=brand.pk, slug="deep-dive") is None
    assert services.event_type_slug_error(brand_id=None, slug="intro") is None


# --- one list of assignment settings ---------------------------------------------------------------


def test_every_door_uses_the_one_list_of_assignment_settings():
    assert not hasattr(scheduling_admin, "ASSIGNMENT_SETTINGS_FIELDS")
    assert not hasattr(AvailabilityReplaceSerializer, "SETTINGS")
    for with_hours in (scheduling_admin.InstructorBrandAdmin, scheduling_admin.InstructorAssignmentInline):
        assert dict(with_hours.fieldsets)["Scheduling settings"]["fields"] is services.ASSIGNMENT_SETTINGS
    assert scheduling_admin.BrandAssignmentInline.fields[1:] == services.ASSIGNMENT_SETTINGS
    assert set(services.ASSIGNMENT_SETTINGS) <= set(AvailabilityReplaceSerializer().fields)
    assert set(services.ASSIGNMENT_SETTINGS) <= set(AvailabilitySettingsSerializer().fields)


def test_the_put_serializer_passes_on_exactly_the_settings_sent():
    serializer = AvailabilityReplaceSerializer(data={"instructor_id": 1, "buffer_minutes": 5, "timezone": "UTC"})
    assert serializer.is_valid(), serializer.errors
    assert serializer.settings() == {"buffer_minutes": 5, "timezone": "UTC"}


# --- brands -------------------------------------------------------------------------------------------


def test_brand_create_validates_and_sets_its_staff(django_user_model):
    user = django_user_model.objects.create_user("alice", is_staff=True)

    brand = services.brand_create(slug="zen", name="Zen", staff=[user], embed_origins=["https://zen.example"])

    assert list(brand.staff.all()) == [user]
    assert brand.embed_origins == ["https://zen.example"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"slug": "admin"}, "slug"), ({"embed_origins": ["https://zen.example/path"]}, "embed_origins")],
)
def test_brand_create_and_update_refuse_bad_values_naming_the_field(brand, fields, field):
    with pytest.raises(ValidationError) as error:
        services.brand_create(**{"slug": "zen", "name": "Zen", **fields})
    assert field in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.brand_update(brand=brand, **fields)
    assert field in error.value.message_dict

    brand.refresh_from_db()
    assert (brand.slug, brand.embed_origins) == ("acme", [])
    assert not Brand.objects.filter(slug="zen").exists()


def test_brand_update_replaces_staff_only_when_given(brand, django_user_model):
    alice = django_user_model.objects.create_user("alice", is_staff=True)
    bob = django_user_model.objects.create_user("bob", is_staff=True)
    brand.staff.add(alice)

    services.brand_update(brand=brand, name="Acme Renamed")
    assert list(brand.staff.all()) == [alice]
    services.brand_update(brand=brand, staff=[bob])
    assert list(brand.staff.all()) == [bob]


# --- an instructor's identity on behalf of several brands (the admin) -----------------------------------


def test_identity_update_for_every_brand_may_change_a_shared_instructor(brand, other_brand):
    instructor = AssignmentFactory(brand=brand).instructor
    AssignmentFactory(brand=other_brand, instructor=instructor)

    services.instructor_identity_update(instructor=instructor, brands=None, phone="+49 30 1234567")

    instructor.refresh_from_db()
    assert instructor.phone == "+49301234567"


def test_identity_update_by_staff_of_all_its_brands_may_change_a_shared_instructor(brand, other_brand):
    instructor = AssignmentFactory(brand=brand).instructor
    AssignmentFactory(brand=other_brand, instructor=instructor)

    services.instructor_identity_update(instructor=instructor, brands=[brand, other_brand], name="New Name")
    with pytest.raises(services.InstructorShared):
        services.instructor_identity_update(instructor=instructor, brands=[brand], name="Other Name")

    instructor.refresh_from_db()
    assert instructor.name == "New Name"


def test_identity_update_refuses_a_bad_phone_naming_the_field(brand):
    instructor = AssignmentFactory(brand=brand).instructor

    with pytest.raises(ValidationError) as error:
        services.instructor_identity_update(instructor=instructor, brands=None, phone="030 1234567")

    assert list(error.value.message_dict) == ["phone"]
    instructor.refresh_from_db()
    assert instructor.phone == "+4915112345678"


def test_instructor_create_without_a_brand_is_unassigned():
    instructor = services.instructor_create(brand=None, name="Nina New", email="nina@example.com", bio="Hi")

    assert (instructor.slug, instructor.bio, instructor.assignments.count()) == ("nina-new", "Hi", 0)


# --- availability: the check the forms run, and keeping what is not sent -------------------------------


def test_availability_check_names_the_weekday_and_item_of_each_problem():
    weekly = [
        {"weekday": 1, "start": "09:00", "end": "12:00"},
        {"weekday": 1, "start": "11:00", "end": "13:00"},
        {"weekday": 2, "start": "9am", "end": "10:00"},
    ]
    overrides = [
        {"date": dt.date(2027, 1, 1), "unavailable": True},
        {"date": dt.date(2027, 1, 1), "unavailable": True},
        {"date": dt.date(2027, 1, 2)},
    ]

    with pytest.raises(ValidationError) as error:
        services.availability_check(weekly=weekly, overrides=overrides)

    params = {key: [item.params for item in items] for key, items in error.value.error_dict.items()}
    assert params == {
        "weekly[2].start": [{"index": 2}],
        "weekly": [{"weekday": 1}],
        "overrides": [{"index": 1, "date": dt.date(2027, 1, 1)}, {"index": 2, "date": dt.date(2027, 1, 2)}],
    }
    assert error.value.message_dict["weekly"] == [
        "Weekday 1: Range 11:00-13:00 overlaps another range of the same day."
    ]


def test_availability_check_accepts_good_ranges_and_writes_nothing(brand):
    services.availability_check(weekly=[{"weekday": 0, "start": "09:00", "end": "12:00"}], overrides=[])
    assert not WeeklyAvailability.objects.exists()


def test_availability_replace_keeps_what_is_given_as_none(brand):
    assignment = AssignmentFactory(brand=brand)
    WeeklyAvailabilityFactory(assignment=assignment, weekday=0)
    DateOverrideFactory(assignment=assignment, date=dt.date(2026, 12, 24))

    services.availability_replace(
        assignment=assignment, settings={}, weekly=[{"weekday": 3, "start": "10:00", "end": "11:00"}], overrides=None
    )
    assert list(assignment.weekly_ranges.values_list("weekday", flat=True)) == [3]
    assert list(assignment.overrides.values_list("date", flat=True)) == [dt.date(2026, 12, 24)]

    services.availability_replace(assignment=assignment, settings={"buffer_minutes": 5}, weekly=None, overrides=[])
    assert list(assignment.weekly_ranges.values_list("weekday", flat=True)) == [3]
    assert not assignment.overrides.exists()
    assert InstructorBrand.objects.get(pk=assignment.pk).buffer_minutes == 5


# --- API keys -------------------------------------------------------------------------------------------


def test_api_key_record_use_writes_at_most_once_a_minute(brand, django_assert_num_queries):
    api_key, _ = services.api_key_create(brand=brand)
    start = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)

    with django_assert_num_queries(1):
        assert services.api_key_record_use(api_key=api_key, now=start) is True
    with django_assert_num_queries(0):
        assert services.api_key_record_use(api_key=api_key, now=start + dt.timedelta(seconds=59)) is False
    stale_copy = ApiKey.objects.get(pk=api_key.pk)
    stale_copy.last_used_at = None  # another process that loaded the key before the stamp
    assert services.api_key_record_use(api_key=stale_copy, now=start + dt.timedelta(seconds=30)) is False
    assert services.api_key_record_use(api_key=api_key, now=start + dt.timedelta(seconds=61)) is True

    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == start + dt.timedelta(seconds=61)


def test_api_key_update_changes_name_and_expiry_only(brand):
    api_key, _ = services.api_key_create(brand=brand, scope="public")
    expiry = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)

    services.api_key_update(api_key=api_key, name="website", expiry_date=expiry)

    api_key.refresh_from_db()
    assert (api_key.name, api_key.expiry_date, api_key.scope, api_key.brand) == ("website", expiry, "public", brand)
