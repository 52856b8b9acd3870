"""factory_boy factories for bookings (rows only: tests of behaviour go through services)."""

import datetime as dt

import factory

from bookings.models import Booking, BookingStatus
from scheduling.tests.factories import BrandFactory, EventTypeFactory, InstructorFactory


class BookingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Booking

    brand = factory.SubFactory(BrandFactory)
    instructor = factory.SubFactory(InstructorFactory)
    event_type = factory.SubFactory(EventTypeFactory, brand=factory.SelfAttribute("..brand"))
    start_at = dt.datetime(2026, 12, 2, 10, tzinfo=dt.UTC)
    end_at = factory.LazyAttribute(lambda o: o.start_at + dt.timedelta(minutes=60))
    status = BookingStatus.CONFIRMED
    attendee_name = "Ada Student"
    attendee_email = factory.Sequence(lambda n: f"student{n}@example.com")
    student_timezone = "UTC"
    instructor_timezone = "UTC"
