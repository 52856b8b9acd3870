"""The scheduling back office: pages answer, validation holds, brand staff see only their brands."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from unittest import mock

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.forms import BooleanField, MultiWidget
from django.test import Client
from django.urls import reverse
from rest_framework_api_key.models import APIKey

from scheduling import services
from scheduling.models import ApiKey, Brand, EventType, Instructor, InstructorBrand
from scheduling.services import api_key_create, staff_user_create
from scheduling.tests.factories import (
    AssignmentFactory,
    BrandFactory,
    DateOverrideFactory,
    EventTypeFactory,
    InstructorFactory,
    WeeklyAvailabilityFactory,
)

pytestmark = pytest.mark.django_db

MODELS = ("brand", "instructor", "instructorbrand", "eventtype", "apikey")


def admin_url(model: str, view: str = "changelist", *args: Any) -> str:
    return reverse(f"admin:scheduling_{model}_{view}", args=args)


def changeform_data(response) -> dict[str, Any]:
    """What a browser posts back, unchanged, from an admin add or change page.

    Extra (blank) inline forms are left out, as if the user had not touched them.
    """
    data: dict[str, Any] = {}
    forms = [response.context["adminform"].form]
    for inline_admin_formset in response.context["inline_admin_formsets"]:
        formset = inline_admin_formset.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        data[management.add_prefix("TOTAL_FORMS")] = len(formset.initial_forms)
        forms.extend(formset.initial_forms)
    for form in forms:
        for name, field in form.fields.items():
            key, value = form.add_prefix(name), form[name].value()
            if isinstance(field, BooleanField):
                if value:
                    data[key] = "on"
            elif isinstance(field.widget, MultiWidget):
                for index, part in enumerate(field.widget.decompress(value)):
                    data[f"{key}_{index}"] = "" if part is None else part
            elif isinstance(value, list | tuple):
                data[key] = [str(item) for item in value]
            else:
                data[key] = "" if value is None else value
    return data


def add_inline_rows(data: dict[str, Any], prefix: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``data`` with ``rows`` appended as new forms of the inline formset ``prefix``."""
    total = int(data[f"{prefix}-TOTAL_FORMS"])
    for offset, row in enumerate(rows):
        for name, value in row.items():
            data[f"{prefix}-{total + offset}-{name}"] = value
    data[f"{prefix}-TOTAL_FORMS"] = total + len(rows)
    return data


def result_pks(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


@pytest.fixture
def world(brand, other_brand):
    """Two brands, each with its own instructor, session type and key; one instructor works for both."""
    own = AssignmentFactory(brand=brand, instructor=InstructorFactory(name="Olivia Own"))
    other = AssignmentFactory(brand=other_brand, instructor=InstructorFactory(name="Oscar Other"))
    shared_instructor = InstructorFactory(name="Sam Shared")
    shared_own = AssignmentFactory(brand=brand, instructor=shared_instructor, timezone="America/New_York")
    shared_other = AssignmentFactory(brand=other_brand, instructor=shared_instructor)
    WeeklyAvailabilityFactory(assignment=own, weekday=0, start_time=dt.time(9), end_time=dt.time(12))
    DateOverrideFactory(assignment=own, date=dt.date(2026, 12, 24))
    WeeklyAvailabilityFactory(assignment=other, weekday=0)
    return {
        "assignment": own,
        "other_assignment": other,
        "instructor": own.instructor,
        "other_instructor": other.instructor,
        "shared_instructor": shared_instructor,
        "shared_own": shared_own,
        "shared_other": shared_other,
        "event_type": EventTypeFactory(brand=brand, name="Intro call", requires_confirmation=False),
        "other_event_type": EventTypeFactory(brand=other_brand, name="Deep dive"),
        "api_key": api_key_create(brand=brand, scope="public")[0],
        "other_api_key": api_key_create(brand=other_brand)[0],
    }


@pytest.fixture
def staff_client(brand, world) -> Client:
    """A staff user of ``brand`` only."""
    client = Client()
    client.force_login(staff_user_create(username="alice", password="pw", brands=[brand]))
    return client


# --- Every page answers -----------------------------------------------------------------


@pytest.mark.parametrize("model", MODELS)
def test_changelist_and_add_pages_answer(admin_client, world, model):
    assert admin_client.get(admin_url(model)).status_code == 200
    assert admin_client.get(admin_url(model, "add")).status_code == 200


@pytest.mark.parametrize(
    ("model", "query"),
    [
        ("brand", "q=acme"),
        ("instructor", "q=olivia"),
        ("instructor", "q=example.com&brand={brand}"),
        ("instructorbrand", "q=Sam"),
        ("instructorbrand", "brand={brand}&timezone=America/New_York"),
        ("eventtype", "q=intro"),
        ("eventtype", "brand={brand}&is_active__exact=1&requires_confirmation__exact=0"),
        ("apikey", "q=acme"),
        ("apikey", "brand={brand}&scope__exact=public&revoked__exact=0"),
    ],
)
def test_changelist_search_and_filters_answer(admin_client, world, brand, model, query):
    response = admin_client.get(admin_url(model) + "?" + query.format(brand=brand.pk))
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) >= 1


@pytest.mark.parametrize(
    ("model", "key"),
    [
        ("brand", None),
        ("instructor", "instructor"),
        ("instructorbrand", "assignment"),
        ("eventtype", "event_type"),
        ("apikey", "api_key"),
    ],
)
def test_change_pages_answer(admin_client, world, brand, model, key):
    obj = brand if key is None else world[key]
    assert admin_client.get(admin_url(model, "change", obj.pk)).status_code == 200


def test_filters_filter(admin_client, world, brand, other_brand):
    response = admin_client.get(admin_url("eventtype") + f"?brand={other_brand.pk}")
    assert result_pks(response) == {world["other_event_type"].pk}
    response = admin_client.get(admin_url("instructor") + f"?brand={brand.pk}")
    assert result_pks(response) == {world["instructor"].pk, world["shared_instructor"].pk}
    response = admin_client.get(admin_url("instructorbrand") + "?timezone=America/New_York")
    assert result_pks(response) == {world["shared_own"].pk}
    response = admin_client.get(admin_url("apikey") + "?scope__exact=public")
    assert result_pks(response) == {world["api_key"].pk}


def test_superuser_sees_every_brand(admin_client, world):
    response = admin_client.get(admin_url("eventtype"))
    assert result_pks(response) == set(EventType.objects.values_list("pk", flat=True))


def test_instructor_list_names_its_brands(admin_client, world):
    response = admin_client.get(admin_url("instructor") + "?q=Sam")
    assert "Acme Coaching, Globex Coaching" in response.content.decode()


# --- Creating and editing through the admin -----------------------------------------------


def test_event_type_form_shows_model_validation_next_to_the_field(admin_client, world):
    url = admin_url("eventtype", "change", world["event_type"].pk)
    data = changeform_data(admin_client.get(url))
    data.update(duration_minutes=721, reminder_channels=["fax"])

    response = admin_client.post(url, data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"duration_minutes", "reminder_channels"}
    assert "fax" in errors["reminder_channels"][0]
    world["event_type"].refresh_from_db()
    assert world["event_type"].duration_minutes == 60


def test_event_type_keeps_its_brand(admin_client, world, other_brand):
    event_type = world["event_type"]
    url = admin_url("eventtype", "change", event_type.pk)
    data = changeform_data(admin_client.get(url))
    assert "brand" not in data
    data.update(brand=other_brand.pk, name="Renamed")

    assert admin_client.post(url, data).status_code == 302
    event_type.refresh_from_db()
    assert (event_type.brand_id, event_type.name) == (world["event_type"].brand_id, "Renamed")


def test_create_instructor_with_assignment(admin_client, brand):
    data = {
        "name": "Nina New",
        "email": "nina@example.com",
        "phone": "",
        "slug": "nina-new",
        "assignments-TOTAL_FORMS": 1,
        "assignments-INITIAL_FORMS": 0,
        "assignments-MIN_NUM_FORMS": 0,
        "assignments-MAX_NUM_FORMS": 1000,
        "assignments-0-brand": brand.pk,
        "assignments-0-timezone": "Europe/Lisbon",
        "assignments-0-buffer_minutes": 10,
        "assignments-0-advance_booking_days": 60,
        "assignments-0-cancellation_cutoff_hours": 12,
        "assignments-0-minimum_notice_minutes": 120,
    }
    response = admin_client.post(admin_url("instructor", "add"), data)
    assert response.status_code == 302
    assignment = InstructorBrand.objects.get(instructor__slug="nina-new", brand=brand)
    assert (assignment.timezone, assignment.minimum_notice_minutes) == ("Europe/Lisbon", 120)


def test_assignment_inline_refuses_unknown_timezone(admin_client, world):
    url = admin_url("instructor", "change", world["instructor"].pk)
    data = changeform_data(admin_client.get(url))
    data["assignments-0-timezone"] = "Europe/Atlantis"

    response = admin_client.post(url, data)

    assert response.status_code == 200
    (formset,) = [f.formset for f in response.context["inline_admin_formsets"]]
    assert "Unknown timezone" in str(formset.errors[0]["timezone"])


def test_assignment_keeps_its_instructor_and_brand(admin_client, world, other_brand):
    assignment = world["assignment"]
    url = admin_url("instructorbrand", "change", assignment.pk)
    data = changeform_data(admin_client.get(url))
    assert "brand" not in data and "instructor" not in data
    data.update(brand=other_brand.pk, buffer_minutes=5)

    assert admin_client.post(url, data).status_code == 302
    assignment.refresh_from_db()
    assert (assignment.brand_id, assignment.buffer_minutes) == (world["assignment"].brand_id, 5)


# --- API keys -----------------------------------------------------------------------------------


def test_library_api_key_admin_is_not_registered(admin_client):
    assert not admin.site.is_registered(APIKey)
    assert admin.site.is_registered(ApiKey)
    assert admin_client.get("/admin/rest_framework_api_key/apikey/").status_code == 404


def test_creating_a_key_shows_it_once(admin_client, brand):
    response = admin_client.post(
        admin_url("apikey", "add"),
        {"brand": brand.pk, "scope": "public", "name": "website", "expiry_date_0": "", "expiry_date_1": ""},
        follow=True,
    )

    assert response.status_code == 200
    (message,) = [str(m) for m in get_messages(response.wsgi_request) if " is: " in str(m)]
    key = re.search(r"The API key for website is: (\S+)\. ", message).group(1)
    api_key = ApiKey.objects.get_from_key(key)
    assert (api_key.brand, api_key.scope, api_key.name) == (brand, "public", "website")
    assert key not in admin_client.get(admin_url("apikey", "change", api_key.pk)).content.decode()


def test_key_keeps_brand_and_scope(admin_client, world, other_brand):
    api_key = world["api_key"]
    url = admin_url("apikey", "change", api_key.pk)
    data = changeform_data(admin_client.get(url))
    data.update(brand=other_brand.pk, scope="secret", name="renamed")

    assert admin_client.post(url, data).status_code == 302
    api_key.refresh_from_db()
    assert (api_key.brand_id, api_key.scope, api_key.name) == (world["api_key"].brand_id, "public", "renamed")


def test_revoke_selected_keys(admin_client, world, brand):
    keep, keep_key = api_key_create(brand=brand)
    chosen = [world["api_key"].pk, world["other_api_key"].pk]

    response = admin_client.post(
        admin_url("apikey"), {"action": "revoke_selected", "_selected_action": chosen}, follow=True
    )

    assert response.status_code == 200
    assert set(ApiKey.objects.filter(revoked=True).values_list("pk", flat=True)) == set(chosen)
    assert ApiKey.objects.get_from_key(keep_key) == keep
    assert "Revoked 2 key(s)." in [str(m) for m in get_messages(response.wsgi_request)]


# --- Brand-scoped staff ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "visible", "hidden"),
    [
        ("eventtype", ["event_type"], ["other_event_type"]),
        ("instructor", ["instructor", "shared_instructor"], ["other_instructor"]),
        ("instructorbrand", ["assignment", "shared_own"], ["other_assignment", "shared_other"]),
        ("apikey", ["api_key"], ["other_api_key"]),
    ],
)
def test_staff_see_only_their_brand(staff_client, world, model, visible, hidden):
    response = staff_client.get(admin_url(model))
    assert response.status_code == 200
    assert result_pks(response) == {world[name].pk for name in visible}

    for name in visible:
        assert staff_client.get(admin_url(model, "change", world[name].pk)).status_code == 200
    for name in hidden:
        response = staff_client.get(admin_url(model, "change", world[name].pk))
        assert response.status_code in (302, 404)
        assert response.status_code == 404 or response.url == reverse("admin:index")


def test_staff_see_only_their_brands(staff_client, brand, other_brand):
    assert result_pks(staff_client.get(admin_url("brand"))) == {brand.pk}
    assert staff_client.get(admin_url("brand", "change", brand.pk)).status_code == 200
    assert staff_client.get(admin_url("brand", "change", other_brand.pk)).status_code in (302, 404)
    assert staff_client.get(admin_url("brand", "add")).status_code == 403


def test_staff_cannot_choose_their_brand_staff_or_slug(staff_client, brand):
    url = admin_url("brand", "change", brand.pk)
    data = changeform_data(staff_client.get(url))
    assert "staff" not in data and "slug" not in data
    data.update(name="Acme Renamed", slug="hijack", staff=[])

    assert staff_client.post(url, data).status_code == 302
    brand.refresh_from_db()
    assert (brand.name, brand.slug, brand.staff.count()) == ("Acme Renamed", "acme", 1)


def test_staff_filters_and_lists_name_only_their_brands(staff_client, world):
    response = staff_client.get(admin_url("instructor") + "?q=Sam")
    page = response.content.decode()
    assert "Acme Coaching" in page
    assert "Globex Coaching" not in page
    response = staff_client.get(admin_url("eventtype"))
    assert "Globex" not in response.content.decode()


def test_staff_filter_on_another_brand_shows_nothing(staff_client, other_brand, world):
    response = staff_client.get(admin_url("eventtype") + f"?brand={other_brand.pk}")
    assert result_pks(response) == set()


def test_staff_see_only_their_assignments_of_a_shared_instructor(staff_client, world):
    response = staff_client.get(admin_url("instructor", "change", world["shared_instructor"].pk))
    (formset,) = [f.formset for f in response.context["inline_admin_formsets"]]
    assert [form.instance.pk for form in formset.initial_forms] == [world["shared_own"].pk]


def test_staff_edit_of_a_shared_instructor_leaves_other_brands_alone(staff_client, world):
    url = admin_url("instructor", "change", world["shared_instructor"].pk)
    data = changeform_data(staff_client.get(url))
    data.update({"phone": "+4930123456", "assignments-0-buffer_minutes": 45})

    assert staff_client.post(url, data).status_code == 302
    world["shared_own"].refresh_from_db()
    world["shared_other"].refresh_from_db()
    assert world["shared_own"].buffer_minutes == 45
    assert world["shared_other"].buffer_minutes == 0


def test_staff_choices_offer_only_their_brand(staff_client, brand, world):
    response = staff_client.get(admin_url("eventtype", "add"))
    brand_field = response.context["adminform"].form.fields["brand"]
    assert list(brand_field.queryset) == [brand]

    response = staff_client.get(admin_url("instructorbrand", "add"))
    instructor_field = response.context["adminform"].form.fields["instructor"]
    assert set(instructor_field.queryset) == {world["instructor"], world["shared_instructor"]}


def test_staff_cannot_create_for_another_brand(staff_client, other_brand):
    response = staff_client.post(
        admin_url("eventtype", "add"),
        {
            "brand": other_brand.pk,
            "name": "Sneaky",
            "slug": "sneaky",
            "duration_minutes": 30,
            "currency": "EUR",
            "reminder_minutes_before": ["60"],
            "reminder_channels": ["email"],
            "booking_notification_emails": "",
        },
    )
    assert response.status_code == 200
    assert "brand" in response.context["adminform"].form.errors
    assert not EventType.objects.filter(slug="sneaky").exists()


def test_staff_cannot_assign_another_brands_instructor(staff_client, brand, world):
    response = staff_client.post(
        admin_url("instructorbrand", "add"),
        {
            "instructor": world["other_instructor"].pk,
            "brand": brand.pk,
            "timezone": "UTC",
            "buffer_minutes": 0,
            "advance_booking_days": 90,
            "cancellation_cutoff_hours": 24,
            "minimum_notice_minutes": 0,
            "weekly_ranges-TOTAL_FORMS": 0,
            "weekly_ranges-INITIAL_FORMS": 0,
            "overrides-TOTAL_FORMS": 0,
            "overrides-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert "instructor" in response.context["adminform"].form.errors
    assert not InstructorBrand.objects.filter(instructor=world["other_instructor"], brand=brand).exists()


@pytest.mark.parametrize(("term", "expected"), [("", {"Olivia Own", "Sam Shared"}), ("Oscar", set())])
def test_staff_autocomplete_offers_only_their_instructors(staff_client, world, term, expected):
    response = staff_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "scheduling", "model_name": "instructorbrand", "field_name": "instructor", "term": term},
    )
    assert response.status_code == 200
    assert {result["text"] for result in response.json()["results"]} == expected


def test_staff_must_assign_a_new_instructor_to_their_brand(staff_client, brand):
    base = {"name": "Nina New", "email": "nina@example.com", "slug": "nina-new"}
    management = {"assignments-INITIAL_FORMS": 0, "assignments-MIN_NUM_FORMS": 1, "assignments-MAX_NUM_FORMS": 1000}

    response = staff_client.post(admin_url("instructor", "add"), {**base, **management, "assignments-TOTAL_FORMS": 0})
    assert response.status_code == 200
    assert not Instructor.objects.filter(slug="nina-new").exists()

    assignment = {
        "assignments-TOTAL_FORMS": 1,
        "assignments-0-brand": brand.pk,
        "assignments-0-timezone": "UTC",
        "assignments-0-buffer_minutes": 15,
        "assignments-0-advance_booking_days": 90,
        "assignments-0-cancellation_cutoff_hours": 24,
        "assignments-0-minimum_notice_minutes": 0,
    }
    response = staff_client.post(admin_url("instructor", "add"), {**base, **management, **assignment})
    assert response.status_code == 302
    assert list(Instructor.objects.get(slug="nina-new").brands.all()) == [brand]


def test_staff_cannot_delete_an_instructor_shared_with_another_brand(staff_client, world):
    shared = world["shared_instructor"]
    assert staff_client.get(admin_url("instructor", "delete", shared.pk)).status_code == 403
    action_form = staff_client.get(admin_url("instructor")).context["action_form"]
    assert action_form is None or "delete_selected" not in dict(action_form.fields["action"].choices)

    own = world["instructor"]
    assert staff_client.post(admin_url("instructor", "delete", own.pk), {"post": "yes"}).status_code == 302
    assert not Instructor.objects.filter(pk=own.pk).exists()
    assert Instructor.objects.filter(pk=shared.pk).exists()


def test_staff_revoke_action_reaches_only_their_keys(staff_client, world):
    chosen = [world["api_key"].pk, world["other_api_key"].pk]
    staff_client.post(admin_url("apikey"), {"action": "revoke_selected", "_selected_action": chosen})
    assert set(ApiKey.objects.filter(revoked=True).values_list("pk", flat=True)) == {world["api_key"].pk}


def test_staff_without_brands_see_nothing(world):
    client = Client()
    client.force_login(staff_user_create(username="nobody", password="pw", brands=[]))
    for model in MODELS:
        response = client.get(admin_url(model))
        assert response.status_code == 200
        assert result_pks(response) == set()


def test_staff_of_two_brands_see_a_shared_instructor_once(brand, other_brand, world):
    client = Client()
    client.force_login(staff_user_create(username="both", password="pw", brands=[brand, other_brand]))
    response = client.get(admin_url("instructor"))
    pks = [obj.pk for obj in response.context["cl"].result_list]
    assert sorted(pks) == sorted(Instructor.objects.values_list("pk", flat=True))
    assert response.context["cl"].result_count == Instructor.objects.count()


# --- Query counts stay flat ---------------------------------------------------------------------


CHANGELIST_MAX_QUERIES = 10  # session, user, permissions, counts, filters, one page of rows


def populate(brand, count: int) -> None:
    """``count`` more of every scheduling row in ``brand``, and ``count`` more brands."""
    for index in range(count):
        assignment = AssignmentFactory(brand=brand)
        WeeklyAvailabilityFactory(assignment=assignment, weekday=index % 7)
        EventTypeFactory(brand=brand)
        api_key_create(brand=brand)
        BrandFactory()


@pytest.mark.parametrize("count", [5, 30])
@pytest.mark.parametrize("model", MODELS)
def test_changelist_queries_do_not_grow_with_rows(
    admin_client, staff_client, brand, django_assert_max_num_queries, model, count
):
    populate(brand, count)
    for client in (admin_client, staff_client):
        client.get(admin_url(model))  # the first request of a client also loads caches
        with django_assert_max_num_queries(CHANGELIST_MAX_QUERIES):
            response = client.get(admin_url(model))
        assert len(response.context["cl"].result_list) >= (1 if client is staff_client and model == "brand" else count)


def test_brand_change_page_lists_its_assignments(admin_client, world, brand):
    response = admin_client.get(admin_url("brand", "change", brand.pk))
    (formset,) = [f.formset for f in response.context["inline_admin_formsets"]]
    assert {form.instance.pk for form in formset.initial_forms} == {world["assignment"].pk, world["shared_own"].pk}
    assert Brand.objects.count() == 2


# --- No bad input reaches the database as a 500 -------------------------------------------------


def test_event_type_slug_taken_in_the_brand_is_a_field_error_on_the_change_page(admin_client, world, brand):
    EventTypeFactory(brand=brand, slug="taken")
    event_type = world["event_type"]
    url = admin_url("eventtype", "change", event_type.pk)
    data = changeform_data(admin_client.get(url))
    data.update(slug="taken", name="Renamed")

    response = admin_client.post(url, data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["slug"]
    assert "already uses the slug 'taken'" in errors["slug"][0]
    event_type.refresh_from_db()
    assert (event_type.slug, event_type.name) == (world["event_type"].slug, "Intro call")


def test_event_type_slug_of_another_brand_may_be_reused(admin_client, world):
    event_type = world["event_type"]
    url = admin_url("eventtype", "change", event_type.pk)
    data = changeform_data(admin_client.get(url))
    data["slug"] = world["other_event_type"].slug

    assert admin_client.post(url, data).status_code == 302
    event_type.refresh_from_db()
    assert event_type.slug == world["other_event_type"].slug


def test_event_type_slug_taken_in_the_brand_is_a_field_error_on_the_add_page(staff_client, world, brand):
    response = staff_client.post(
        admin_url("eventtype", "add"),
        {
            "brand": brand.pk,
            "name": "Copy",
            "slug": world["event_type"].slug,
            "duration_minutes": 30,
            "currency": "EUR",
            "reminder_minutes_before": ["60"],
            "reminder_channels": ["email"],
            "booking_notification_emails": "",
        },
    )

    assert response.status_code == 200
    assert "already uses the slug" in response.context["adminform"].form.errors["slug"][0]
    assert EventType.objects.filter(brand=brand).count() == 1


def test_event_type_changed_in_the_admin_is_saved_by_the_service(admin_client, world):
    event_type = world["event_type"]
    url = admin_url("eventtype", "change", event_type.pk)
    data = changeform_data(admin_client.get(url))
    data["duration_minutes"] = 90

    with mock.patch("scheduling.services.event_type_update", wraps=services.event_type_update) as update:
        assert admin_client.post(url, data).status_code == 302

    assert update.call_count == 1
    event_type.refresh_from_db()
    assert event_type.duration_minutes == 90


@pytest.mark.parametrize("page", ["instructor", "brand"])
def test_assignment_inlines_refuse_a_second_assignment_to_the_same_brand(admin_client, world, brand, page):
    obj = world["instructor"] if page == "instructor" else brand
    url = admin_url(page, "change", obj.pk)
    data = changeform_data(admin_client.get(url))
    row = {"timezone": "UTC", "buffer_minutes": 0, "advance_booking_days": 90}
    row.update(cancellation_cutoff_hours=24, minimum_notice_minutes=0)
    row.update({"brand": brand.pk} if page == "instructor" else {"instructor": world["instructor"].pk})
    add_inline_rows(data, "assignments", [row])

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert InstructorBrand.objects.filter(instructor=world["instructor"], brand=brand).count() == 1


# --- A shared instructor's identity -------------------------------------------------------------

IDENTITY_CHANGE = {"name": "Hijacked", "email": "attacker@example.com", "phone": "+4930999999", "slug": "hijacked"}


def test_staff_see_a_shared_instructors_identity_read_only(staff_client, world):
    shared = world["shared_instructor"]
    url = admin_url("instructor", "change", shared.pk)
    response = staff_client.get(url)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert not set(IDENTITY_CHANGE) & set(form.fields)
    assert "also works for other brands" in response.content.decode()
    before = (shared.name, shared.email, shared.phone, shared.slug)

    data = changeform_data(response)
    data.update(IDENTITY_CHANGE)
    data["assignments-0-buffer_minutes"] = 45
    assert staff_client.post(url, data).status_code == 302

    shared.refresh_from_db()
    assert (shared.name, shared.email, shared.phone, shared.slug) == before
    world["shared_own"].refresh_from_db()
    assert world["shared_own"].buffer_minutes == 45  # their brand's settings stay theirs


def test_staff_may_edit_the_identity_of_an_instructor_only_in_their_brands(staff_client, world):
    own = world["instructor"]
    url = admin_url("instructor", "change", own.pk)
    data = changeform_data(staff_client.get(url))
    data.update(IDENTITY_CHANGE)

    assert staff_client.post(url, data).status_code == 302
    own.refresh_from_db()
    assert (own.name, own.email, own.phone, own.slug) == tuple(IDENTITY_CHANGE.values())


def test_staff_of_every_brand_of_the_instructor_may_edit_its_identity(brand, other_brand, world):
    client = Client()
    client.force_login(staff_user_create(username="both", password="pw", brands=[brand, other_brand]))
    shared = world["shared_instructor"]
    url = admin_url("instructor", "change", shared.pk)
    data = changeform_data(client.get(url))
    data["email"] = "sam@example.com"

    assert client.post(url, data).status_code == 302
    shared.refresh_from_db()
    assert shared.email == "sam@example.com"


def test_superusers_may_edit_a_shared_instructors_identity(admin_client, world):
    shared = world["shared_instructor"]
    url = admin_url("instructor", "change", shared.pk)
    data = changeform_data(admin_client.get(url))
    data.update(IDENTITY_CHANGE)

    assert admin_client.post(url, data).status_code == 302
    shared.refresh_from_db()
    assert (shared.name, shared.email, shared.phone, shared.slug) == tuple(IDENTITY_CHANGE.values())


# --- Weekly hours: one line per weekday, on the instructor's and the assignment's page ------------------------


def instructor_page(client, instructor):
    url = admin_url("instructor", "change", instructor.pk)
    return url, changeform_data(client.get(url))


def assignment_page(client, assignment):
    url = admin_url("instructorbrand", "change", assignment.pk)
    return url, changeform_data(client.get(url))


def stored_weekly(assignment) -> list[tuple[int, str, str]]:
    return [(w.weekday, f"{w.start_time:%H:%M}", f"{w.end_time:%H:%M}") for w in assignment.weekly_ranges.all()]


def test_the_instructor_page_shows_weekly_hours_as_hh_mm_without_a_click(staff_client, world):
    response = staff_client.get(admin_url("instructor", "change", world["instructor"].pk))

    (formset,) = [f.formset for f in response.context["inline_admin_formsets"]]
    (form,) = formset.initial_forms
    assert form["hours_0"].value() == "09:00-12:00"  # the fixture's Monday, no seconds
    assert form["hours_1"].value() == ""
    assert 'name="assignments-0-hours_0" value="09:00-12:00"' in response.content.decode()


def test_weekly_hours_saved_from_the_instructor_page_go_through_availability_replace(staff_client, world):
    url, data = instructor_page(staff_client, world["instructor"])
    data.update({"assignments-0-hours_0": "08:00-12:00, 13:00-17:30", "assignments-0-hours_4": "10:00 - 11:00"})

    with mock.patch("scheduling.services.availability_replace", wraps=services.availability_replace) as replace:
        response = staff_client.post(url, data)

    assert response.status_code == 302
    assert replace.call_count == 1
    assert replace.call_args.kwargs["overrides"] is None  # the instructor page keeps the overrides
    assert stored_weekly(world["assignment"]) == [(0, "08:00", "12:00"), (0, "13:00", "17:30"), (4, "10:00", "11:00")]
    assert world["assignment"].overrides.count() == 1


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ("09:00-12:00, 11:00-13:00", "Range 11:00-13:00 overlaps another range of the same day."),
        ("12:00-09:00", "Range 12:00-09:00 must start before it ends."),
        ("10:00-10:00", "must start before it ends"),
        ("9am-5pm", "'9am-5pm' is not a time range"),
        ("09:00-12:00:30", "is not a time range"),
        ("25:00-26:00", "is not a time range"),
        ("09:00", "is not a time range"),
    ],
)
@pytest.mark.parametrize("page", ["instructor", "instructorbrand"])
def test_bad_weekly_hours_are_refused_on_their_day_and_nothing_is_written(admin_client, world, page, hours, message):
    assignment = world["assignment"]
    if page == "instructor":
        url, data = instructor_page(admin_client, world["instructor"])
        data["assignments-0-hours_1"] = hours
        data["assignments-0-buffer_minutes"] = 30
    else:
        url, data = assignment_page(admin_client, assignment)
        data.update(hours_1=hours, buffer_minutes=30)

    response = admin_client.post(url, data)

    assert response.status_code == 200
    if page == "instructor":
        (formset,) = [f.formset for f in response.context["inline_admin_formsets"]]
        errors = formset.errors[0]
    else:
        errors = response.context["adminform"].form.errors
    assert list(errors) == ["hours_1"]
    assert message in " ".join(errors["hours_1"])
    assert stored_weekly(assignment) == [(0, "09:00", "12:00")]
    assert InstructorBrand.objects.get(pk=assignment.pk).buffer_minutes == 0


def test_adjacent_ranges_and_a_moved_range_are_accepted(admin_client, world):
    url, data = assignment_page(admin_client, world["assignment"])
    data.update(hours_0="13:00-15:00, 09:00-12:00, 12:00-13:00")

    assert admin_client.post(url, data).status_code == 302
    assert stored_weekly(world["assignment"]) == [(0, "09:00", "12:00"), (0, "12:00", "13:00"), (0, "13:00", "15:00")]


def test_clearing_a_day_removes_its_hours(admin_client, world):
    url, data = assignment_page(admin_client, world["assignment"])
    data["hours_0"] = ""

    assert admin_client.post(url, data).status_code == 302
    assert stored_weekly(world["assignment"]) == []


def test_a_new_instructor_gets_its_assignment_and_hours_in_one_save(staff_client, brand):
    data = {
        "name": "Nina New",
        "email": "nina@example.com",
        "phone": "+49 30 1234567",
        "slug": "nina-new",
        "bio": "",
        "assignments-TOTAL_FORMS": 1,
        "assignments-INITIAL_FORMS": 0,
        "assignments-MIN_NUM_FORMS": 1,
        "assignments-MAX_NUM_FORMS": 1000,
        "assignments-0-brand": brand.pk,
        "assignments-0-timezone": "Europe/Lisbon",
        "assignments-0-buffer_minutes": 10,
        "assignments-0-advance_booking_days": 60,
        "assignments-0-cancellation_cutoff_hours": 12,
        "assignments-0-minimum_notice_minutes": 0,
        "assignments-0-hours_2": "09:00-13:00",
    }

    with mock.patch("scheduling.services.instructor_create", wraps=services.instructor_create) as create:
        response = staff_client.post(admin_url("instructor", "add"), data)

    assert response.status_code == 302
    assert create.call_count == 1
    instructor = Instructor.objects.get(slug="nina-new")
    assert instructor.phone == "+49301234567"  # the model field's E.164, as through the API
    assignment = InstructorBrand.objects.get(instructor=instructor, brand=brand)
    assert (assignment.timezone, assignment.buffer_minutes) == ("Europe/Lisbon", 10)
    assert stored_weekly(assignment) == [(2, "09:00", "13:00")]


@pytest.mark.parametrize(
    ("phone", "message"),
    [("030 1234567", "country code"), ("+1 555 555 0123", "not a valid phone number"), ("call me", "country code")],
)
def test_a_bad_phone_number_is_refused_on_the_field_and_nothing_is_written(admin_client, world, phone, message):
    instructor = world["instructor"]
    url, data = instructor_page(admin_client, instructor)
    data.update(phone=phone, name="Renamed")

    response = admin_client.post(url, data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["phone"] and message in errors["phone"][0]
    instructor.refresh_from_db()
    assert (instructor.name, instructor.phone) == ("Olivia Own", "+4915112345678")


def test_an_admin_entered_phone_number_is_stored_in_e164(admin_client, world):
    url, data = instructor_page(admin_client, world["instructor"])
    data["phone"] = "0049 (151) 2345-6789"

    assert admin_client.post(url, data).status_code == 302
    world["instructor"].refresh_from_db()
    assert world["instructor"].phone == "+4915123456789"


def test_an_invalid_timezone_is_refused_on_the_assignment_page_and_nothing_is_written(admin_client, world):
    assignment = world["assignment"]
    url, data = assignment_page(admin_client, assignment)
    data.update(timezone="Mars/Olympus_Mons", hours_0="10:00-11:00")

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["timezone"]
    assignment.refresh_from_db()
    assert assignment.timezone == "Europe/Berlin"
    assert stored_weekly(assignment) == [(0, "09:00", "12:00")]


# --- Date overrides: saved with the weekly hours, in one replace -----------------------------------------------


def add_override(data, date: str, ranges: str = "", unavailable: bool = False):
    row = {"date": date, "ranges": ranges, **({"unavailable": "on"} if unavailable else {})}
    return add_inline_rows(data, "overrides", [row])


def override_errors(response) -> list:
    (formset,) = [f.formset for f in response.context["inline_admin_formsets"]]
    return formset.errors


def stored_overrides(assignment) -> list[tuple]:
    return [(o.date, o.unavailable, o.ranges) for o in assignment.overrides.all()]


def test_an_override_with_hours_is_stored_as_the_api_stores_it(admin_client, world):
    url, data = assignment_page(admin_client, world["assignment"])
    add_override(data, "2027-01-04", "9:00-10:00, 14:00 – 15:30")

    with mock.patch("scheduling.services.availability_replace", wraps=services.availability_replace) as replace:
        assert admin_client.post(url, data).status_code == 302

    assert replace.call_count == 1
    assert stored_overrides(world["assignment"])[-1] == (
        dt.date(2027, 1, 4),
        False,
        [{"start": "09:00", "end": "10:00"}, {"start": "14:00", "end": "15:30"}],
    )
    assert stored_weekly(world["assignment"]) == [(0, "09:00", "12:00")]


@pytest.mark.parametrize(
    ("ranges", "unavailable", "field", "message"),
    [
        ("09:00-12:00", True, "ranges", "An unavailable date has no ranges."),
        ("", False, "ranges", "mark the date unavailable"),
        ("9am", False, "ranges", "is not a time range"),
        ("09:00+02:00-10:00", False, "ranges", "is not a time range"),
        ("10:00-12:00, 11:00-13:00", False, "ranges", "overlaps"),
    ],
)
def test_a_bad_override_is_refused_next_to_it_and_nothing_is_written(
    admin_client, world, ranges, unavailable, field, message
):
    assignment = world["assignment"]
    url, data = assignment_page(admin_client, assignment)
    data["hours_2"] = "10:00-11:00"
    add_override(data, "2027-01-02", ranges, unavailable)

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert message in " ".join(override_errors(response)[-1][field])
    assert stored_overrides(assignment) == [(dt.date(2026, 12, 24), True, [])]
    assert stored_weekly(assignment) == [(0, "09:00", "12:00")]


@pytest.mark.parametrize("stored_date_too", [False, True], ids=["two-new-rows", "a-stored-date"])
def test_a_date_given_twice_is_refused_on_the_date(admin_client, world, stored_date_too):
    assignment = world["assignment"]
    url, data = assignment_page(admin_client, assignment)
    if stored_date_too:
        add_override(data, "2026-12-24", unavailable=True)
    else:
        add_override(data, "2027-01-01", unavailable=True)
        add_override(data, "2027-01-01", unavailable=True)

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "appears more than once" in " ".join(override_errors(response)[-1]["date"])
    assert stored_overrides(assignment) == [(dt.date(2026, 12, 24), True, [])]


def test_an_override_may_move_to_a_date_whose_row_is_deleted_in_the_same_save(admin_client, world):
    assignment = world["assignment"]
    url, data = assignment_page(admin_client, assignment)
    data["overrides-0-DELETE"] = "on"
    add_override(data, "2026-12-24", "10:00-12:00")

    assert admin_client.post(url, data).status_code == 302
    assert stored_overrides(assignment) == [(dt.date(2026, 12, 24), False, [{"start": "10:00", "end": "12:00"}])]


def test_a_new_assignment_with_hours_and_overrides(admin_client, world, other_brand):
    instructor = world["instructor"]
    response = admin_client.post(
        admin_url("instructorbrand", "add"),
        {
            "instructor": instructor.pk,
            "brand": other_brand.pk,
            "timezone": "Asia/Tokyo",
            "buffer_minutes": 5,
            "advance_booking_days": 30,
            "cancellation_cutoff_hours": 24,
            "minimum_notice_minutes": 60,
            "hours_5": "10:00-14:00",
            "overrides-TOTAL_FORMS": 1,
            "overrides-INITIAL_FORMS": 0,
            "overrides-0-date": "2027-01-01",
            "overrides-0-unavailable": "on",
            "overrides-0-ranges": "",
        },
    )

    assert response.status_code == 302
    assignment = InstructorBrand.objects.get(instructor=instructor, brand=other_brand)
    assert (assignment.timezone, assignment.minimum_notice_minutes) == ("Asia/Tokyo", 60)
    assert stored_weekly(assignment) == [(5, "10:00", "14:00")]
    assert stored_overrides(assignment) == [(dt.date(2027, 1, 1), True, [])]


def test_an_assignment_for_an_existing_pair_is_a_form_error(admin_client, world, brand):
    response = admin_client.post(
        admin_url("instructorbrand", "add"),
        {
            "instructor": world["instructor"].pk,
            "brand": brand.pk,
            "timezone": "UTC",
            "buffer_minutes": 0,
            "advance_booking_days": 90,
            "cancellation_cutoff_hours": 24,
            "minimum_notice_minutes": 0,
            "overrides-TOTAL_FORMS": 0,
            "overrides-INITIAL_FORMS": 0,
        },
    )

    assert response.status_code == 200
    assert "already exists" in str(response.context["adminform"].form.errors)
    assert InstructorBrand.objects.filter(instructor=world["instructor"]).count() == 1


def test_a_refusal_while_saving_is_a_message_not_an_error_page(admin_client, world):
    url, data = assignment_page(admin_client, world["assignment"])
    data["hours_3"] = "10:00-11:00"
    refusal = ValidationError({"weekly": ["Weekday 3: changed by someone else meanwhile."]})

    with mock.patch("scheduling.services.availability_replace", side_effect=refusal):
        response = admin_client.post(url, data, follow=True)

    assert response.status_code == 200
    assert any("Nothing was saved" in str(m) for m in response.context["messages"])
    assert stored_weekly(world["assignment"]) == [(0, "09:00", "12:00")]


# --- Brands through the services ------------------------------------------------------------------------


def test_a_brand_is_created_by_the_service_with_its_staff(admin_client, django_user_model):
    alice = django_user_model.objects.create_user("alice-staff", is_staff=True)
    data = {"name": "Zen", "slug": "zen", "embed_origins": '["https://zen.example"]', "staff": [alice.pk]}
    data.update({"assignments-TOTAL_FORMS": 0, "assignments-INITIAL_FORMS": 0})

    with mock.patch("scheduling.services.brand_create", wraps=services.brand_create) as create:
        response = admin_client.post(admin_url("brand", "add"), data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert create.call_count == 1
    brand = Brand.objects.get(slug="zen")
    assert list(brand.staff.all()) == [alice]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("slug", "admin", "reserved"), ("embed_origins", '["https://zen.example/page"]', "is not an origin")],
)
def test_a_bad_brand_is_refused_on_the_field(admin_client, field, value, message):
    data = {"name": "Zen", "slug": "zen", "embed_origins": "[]", field: value}
    data.update({"assignments-TOTAL_FORMS": 0, "assignments-INITIAL_FORMS": 0})

    response = admin_client.post(admin_url("brand", "add"), data)

    assert response.status_code == 200
    assert message in " ".join(response.context["adminform"].form.errors[field])
    assert not Brand.objects.filter(name="Zen").exists()


def test_assignment_settings_changed_on_the_brand_page_go_through_the_service(admin_client, world, brand):
    url = admin_url("brand", "change", brand.pk)
    data = changeform_data(admin_client.get(url))
    index = next(
        i for i in range(int(data["assignments-TOTAL_FORMS"])) if data[f"assignments-{i}-id"] == world["assignment"].pk
    )
    data[f"assignments-{index}-minimum_notice_minutes"] = 45

    with mock.patch("scheduling.services.availability_replace", wraps=services.availability_replace) as replace:
        assert admin_client.post(url, data).status_code == 302

    assert replace.call_args.kwargs["weekly"] is None  # the brand page keeps the hours
    world["assignment"].refresh_from_db()
    assert world["assignment"].minimum_notice_minutes == 45
    assert stored_weekly(world["assignment"]) == [(0, "09:00", "12:00")]


def test_removing_an_assignment_on_the_instructor_page_unassigns_through_the_service(admin_client, world):
    shared = world["shared_instructor"]
    url, data = instructor_page(admin_client, shared)
    index = next(
        i for i in range(int(data["assignments-TOTAL_FORMS"])) if data[f"assignments-{i}-id"] == world["shared_own"].pk
    )
    data[f"assignments-{index}-DELETE"] = "on"

    with mock.patch("scheduling.services.instructor_unassign", wraps=services.instructor_unassign) as unassign:
        assert admin_client.post(url, data).status_code == 302

    assert unassign.call_count == 1
    assert list(shared.assignments.all()) == [world["shared_other"]]


# --- Session types: friendly inputs -----------------------------------------------------------------------


def event_type_data(brand, **overrides) -> dict[str, Any]:
    data = {
        "brand": brand.pk,
        "name": "Intro",
        "slug": "intro",
        "duration_minutes": 45,
        "slot_interval_minutes": 15,
        "currency": "EUR",
        "requires_confirmation": "on",
        "send_email_confirmation": "on",
        "booking_notification_emails": "host@example.com\nteam@example.com",
        "reminder_minutes_before": ["1440", "60"],
        "other_reminder_minutes": "90",
        "reminder_channels": ["email", "sms"],
        "is_active": "on",
    }
    data.update(overrides)
    return data


def test_a_session_type_from_checkboxes_and_lines(admin_client, brand):
    with mock.patch("scheduling.services.event_type_create", wraps=services.event_type_create) as create:
        response = admin_client.post(admin_url("eventtype", "add"), event_type_data(brand))

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert create.call_count == 1
    event_type = EventType.objects.get(brand=brand, slug="intro")
    assert event_type.booking_notification_emails == ["host@example.com", "team@example.com"]
    assert event_type.reminder_minutes_before == [1440, 90, 60]
    assert event_type.reminder_channels == ["email", "sms"]
    assert event_type.slot_interval_minutes == 15
    assert LogEntry.objects.get().object_id == str(event_type.pk)


def test_the_add_page_offers_the_defaults_as_ticked_boxes(admin_client):
    form = admin_client.get(admin_url("eventtype", "add")).context["adminform"].form

    assert form["reminder_minutes_before"].value() == [1440]
    assert form["reminder_channels"].value() == ["email"]
    assert "slot_interval_minutes" in form.fields
    labels = dict(form.fields["reminder_minutes_before"].choices)
    assert (labels[1440], labels[60]) == ("1 day", "1 hour")


def test_an_offset_without_a_box_is_kept_in_the_other_field(admin_client, world):
    event_type = world["event_type"]
    event_type.reminder_minutes_before = [1440, 90]
    event_type.save()
    url = admin_url("eventtype", "change", event_type.pk)

    data = changeform_data(admin_client.get(url))
    assert (data["reminder_minutes_before"], data["other_reminder_minutes"]) == (["1440"], "90")
    data["name"] = "Renamed"
    assert admin_client.post(url, data).status_code == 302

    event_type.refresh_from_db()
    assert (event_type.name, event_type.reminder_minutes_before) == ("Renamed", [1440, 90])


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"other_reminder_minutes": "43201"}, "other_reminder_minutes", "out of range"),
        ({"other_reminder_minutes": "0"}, "other_reminder_minutes", "out of range"),
        ({"other_reminder_minutes": "an hour"}, "other_reminder_minutes", "not a whole number"),
        ({"other_reminder_minutes": "90, 90"}, "other_reminder_minutes", "appears twice"),
        ({"reminder_minutes_before": ["99"]}, "reminder_minutes_before", "valid choice"),
        ({"reminder_channels": ["fax"]}, "reminder_channels", "valid choice"),
        (
            {"booking_notification_emails": "host@example.com\nnot-an-address"},
            "booking_notification_emails",
            "not a valid",
        ),
        ({"slot_interval_minutes": "4"}, "slot_interval_minutes", "greater than or equal to 5"),
        ({"currency": "EURO"}, "currency", ""),
    ],
)
def test_bad_session_type_input_is_refused_on_its_field_and_nothing_is_written(
    admin_client, brand, overrides, field, message
):
    response = admin_client.post(admin_url("eventtype", "add"), event_type_data(brand, **overrides))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors and message in " ".join(errors[field])
    assert not EventType.objects.filter(slug="intro").exists()


def test_unticking_everything_stores_empty_lists(admin_client, world):
    event_type = world["event_type"]
    url = admin_url("eventtype", "change", event_type.pk)
    data = changeform_data(admin_client.get(url))
    data.update(booking_notification_emails="", other_reminder_minutes="")
    data.pop("reminder_minutes_before", None)

    assert admin_client.post(url, data).status_code == 302
    event_type.refresh_from_db()
    assert (event_type.booking_notification_emails, event_type.reminder_minutes_before) == ([], [])


# --- API keys: last use, read-only revocation, made by the service -------------------------------------------


def test_a_key_is_made_by_the_service_and_lists_its_last_use(admin_client, brand):
    with mock.patch("scheduling.services.api_key_create", wraps=services.api_key_create) as create:
        response = admin_client.post(
            admin_url("apikey", "add"),
            {"brand": brand.pk, "scope": "secret", "name": "crm", "expiry_date_0": "", "expiry_date_1": ""},
            follow=True,
        )

    assert create.call_count == 1
    (message,) = [str(m) for m in get_messages(response.wsgi_request) if " is: " in str(m)]
    key = re.search(r"is: (\S+)\. ", message).group(1)
    api_key = ApiKey.objects.get_from_key(key)
    assert "never" in admin_client.get(admin_url("apikey")).content.decode()
    services.api_key_record_use(api_key=api_key, now=dt.datetime(2026, 12, 1, 8, 30, tzinfo=dt.UTC))
    assert "Tue 1 Dec 2026, 08:30" in admin_client.get(admin_url("apikey")).content.decode()


def test_a_revoked_key_cannot_be_unrevoked_in_the_form(admin_client, world):
    api_key = world["api_key"]
    services.api_key_revoke(api_key=api_key)
    url = admin_url("apikey", "change", api_key.pk)
    data = changeform_data(admin_client.get(url))
    assert "revoked" not in data
    data.update(revoked="", name="renamed")

    assert admin_client.post(url, data).status_code == 302
    api_key.refresh_from_db()
    assert (api_key.revoked, api_key.name) == (True, "renamed")


# --- The week calendar is linked from the instructor's and the assignment's page ------------------------------


def test_the_instructor_and_assignment_pages_link_to_the_week_calendar(staff_client, world):
    instructor_page_html = staff_client.get(admin_url("instructor", "change", world["instructor"].pk))
    assignment_page_html = staff_client.get(admin_url("instructorbrand", "change", world["assignment"].pk))

    week = reverse("admin:bookings_booking_week")
    assert f"{week}?instructor={world['instructor'].pk}" in instructor_page_html.content.decode()
    assert f"{week}?instructor={world['instructor'].pk}&amp;brand=" in assignment_page_html.content.decode()


# --- Booking limits: set on the assignment page, through the service -------------------------------------


def test_booking_limits_are_set_on_the_assignment_page(staff_client, world):
    assignment = world["assignment"]
    url, data = assignment_page(staff_client, assignment)
    data.update(max_bookings_per_day="5", max_bookings_per_week="20")

    response = staff_client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assignment.refresh_from_db()
    assert (assignment.max_bookings_per_day, assignment.max_bookings_per_week) == (5, 20)
    assert stored_weekly(assignment) == [(0, "09:00", "12:00")]


@pytest.mark.parametrize("field", ["max_bookings_per_day", "max_bookings_per_week"])
def test_a_negative_limit_is_refused_on_its_field_and_nothing_is_written(admin_client, world, field):
    assignment = world["assignment"]
    before = assignment.buffer_minutes
    url, data = assignment_page(admin_client, assignment)
    data.update({field: "-1", "buffer_minutes": str(before + 30)})

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == [field]
    assignment.refresh_from_db()
    assert (getattr(assignment, field), assignment.buffer_minutes) == (None, before)
