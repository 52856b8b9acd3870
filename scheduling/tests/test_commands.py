"""The set-up commands: createbrand, assigninstructor, createstaff."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from scheduling.models import ApiKey, Brand, InstructorBrand
from scheduling.tests.factories import AssignmentFactory, BrandFactory, InstructorFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    stdout = StringIO()
    call_command(*args, stdout=stdout)
    return stdout.getvalue()


def last_line(output: str) -> str:
    return output.rstrip("\n").splitlines()[-1]


# --- createbrand ----------------------------------------------------------------------


def test_createbrand_creates_brand_and_prints_a_working_secret_key_last():
    output = run("createbrand", "acme", "--name", "Acme")

    brand = Brand.objects.get(slug="acme")
    assert brand.name == "Acme"
    key = last_line(output)
    assert key == key.strip() and " " not in key
    api_key = ApiKey.objects.get_from_key(key)
    assert api_key.brand == brand
    assert api_key.scope == ApiKey.Scope.SECRET
    assert api_key.is_secret


def test_createbrand_twice_keeps_one_brand_and_issues_two_keys():
    first = last_line(run("createbrand", "acme", "--name", "Acme"))
    second = last_line(run("createbrand", "acme", "--name", "Acme"))

    assert Brand.objects.filter(slug="acme").count() == 1
    assert ApiKey.objects.filter(brand__slug="acme").count() == 2
    assert first != second
    assert ApiKey.objects.get_from_key(first) != ApiKey.objects.get_from_key(second)


def test_createbrand_public_scope():
    key = last_line(run("createbrand", "acme", "--scope", "public"))

    api_key = ApiKey.objects.get_from_key(key)
    assert api_key.scope == ApiKey.Scope.PUBLIC
    assert api_key.brand.name == "Acme"  # derived from the slug when --name is not given


def test_createbrand_keeps_the_name_of_an_existing_brand():
    BrandFactory(slug="acme", name="Acme Coaching")
    run("createbrand", "acme", "--name", "Something Else")
    assert Brand.objects.get(slug="acme").name == "Acme Coaching"


def test_createbrand_refuses_unknown_scope():
    with pytest.raises(CommandError):
        run("createbrand", "acme", "--scope", "admin")
    assert not Brand.objects.exists()


def test_createbrand_refuses_invalid_slug_and_creates_nothing():
    with pytest.raises(CommandError):
        run("createbrand", "not a slug!")
    assert not Brand.objects.exists()
    assert not ApiKey.objects.exists()


# --- assigninstructor -----------------------------------------------------------------


def test_assigninstructor_assigns_with_default_settings():
    instructor = InstructorFactory()
    brand = BrandFactory(slug="acme")

    run("assigninstructor", "--instructor", str(instructor.pk), "--brand", "acme")

    assignment = InstructorBrand.objects.get(instructor=instructor, brand=brand)
    assert assignment.buffer_minutes == 15
    assert assignment.advance_booking_days == 90
    assert assignment.cancellation_cutoff_hours == 24
    assert assignment.minimum_notice_minutes == 0
    assert assignment.timezone == "UTC"


def test_assigninstructor_is_idempotent_and_keeps_existing_settings():
    assignment = AssignmentFactory(brand=BrandFactory(slug="acme"), buffer_minutes=30, timezone="Europe/Berlin")

    for _ in range(2):
        run("assigninstructor", "--instructor", str(assignment.instructor_id), "--brand", "acme")

    assert InstructorBrand.objects.filter(instructor=assignment.instructor).count() == 1
    assignment.refresh_from_db()
    assert (assignment.buffer_minutes, assignment.timezone) == (30, "Europe/Berlin")


def test_assigninstructor_adds_a_second_brand():
    assignment = AssignmentFactory(brand=BrandFactory(slug="acme"))
    BrandFactory(slug="globex")

    run("assigninstructor", "--instructor", str(assignment.instructor_id), "--brand", "globex")

    assert set(assignment.instructor.brands.values_list("slug", flat=True)) == {"acme", "globex"}


def test_assigninstructor_unknown_instructor():
    BrandFactory(slug="acme")
    with pytest.raises(CommandError, match="No instructor with id 999999"):
        run("assigninstructor", "--instructor", "999999", "--brand", "acme")
    assert not InstructorBrand.objects.exists()


def test_assigninstructor_unknown_brand():
    instructor = InstructorFactory()
    with pytest.raises(CommandError, match="No brand with slug 'nope'"):
        run("assigninstructor", "--instructor", str(instructor.pk), "--brand", "nope")
    assert not InstructorBrand.objects.exists()


# --- createstaff ----------------------------------------------------------------------


def test_createstaff_creates_a_staff_user_in_every_brand():
    acme, globex = BrandFactory(slug="acme"), BrandFactory(slug="globex")
    BrandFactory(slug="initech")

    output = run("createstaff", "bob", "--brand", "acme", "--brand", "globex", "--password", "x")

    user = User.objects.get(username="bob")
    assert user.is_staff
    assert not user.is_superuser
    assert user.check_password("x")
    assert set(user.brands.all()) == {acme, globex}
    assert user in acme.staff.all() and user in globex.staff.all()
    assert user.has_perm("bookings.view_booking")
    assert "acme" in output and "globex" in output


def test_createstaff_unknown_brand_creates_nothing():
    BrandFactory(slug="acme")
    with pytest.raises(CommandError, match="nope"):
        run("createstaff", "bob", "--brand", "acme", "--brand", "nope", "--password", "x")
    assert not User.objects.filter(username="bob").exists()
    assert not Brand.objects.get(slug="acme").staff.exists()
