"""factory_boy factories for the scheduling models."""

import datetime as dt

import factory

from scheduling.models import Brand, DateOverride, EventType, Instructor, InstructorBrand, WeeklyAvailability


class BrandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Brand
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Brand {n}")
    slug = factory.Sequence(lambda n: f"brand-{n}")


class InstructorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Instructor

    name = factory.Sequence(lambda n: f"Instructor {n}")
    email = factory.Sequence(lambda n: f"instructor{n}@example.com")
    phone = "+4915112345678"
    slug = factory.Sequence(lambda n: f"instructor-{n}")


class AssignmentFactory(factory.django.DjangoModelFactory):
    """An instructor assigned to a brand; buffer 0 so examples stay simple unless set."""

    class Meta:
        model = InstructorBrand

    instructor = factory.SubFactory(InstructorFactory)
    brand = factory.SubFactory(BrandFactory)
    timezone = "Europe/Berlin"
    buffer_minutes = 0


class WeeklyAvailabilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WeeklyAvailability

    assignment = factory.SubFactory(AssignmentFactory)
    weekday = 0
    start_time = dt.time(9, 0)
    end_time = dt.time(17, 0)


class DateOverrideFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DateOverride

    assignment = factory.SubFactory(AssignmentFactory)
    date = dt.date(2026, 12, 24)
    unavailable = True
    ranges = factory.LazyFunction(list)


class EventTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EventType

    brand = factory.SubFactory(BrandFactory)
    name = factory.Sequence(lambda n: f"Session {n}")
    slug = factory.Sequence(lambda n: f"session-{n}")
    duration_minutes = 60
    requires_confirmation = True


def available_every_day(assignment, start=dt.time(9, 0), end=dt.time(17, 0)):
    """Give ``assignment`` the same range on all seven weekdays."""
    return [
        WeeklyAvailabilityFactory(assignment=assignment, weekday=day, start_time=start, end_time=end)
        for day in range(7)
    ]
