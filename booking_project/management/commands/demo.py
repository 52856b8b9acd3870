"""``manage.py demo``: idempotent demo data for ``make run``.

It shows the whole product, so it lives in the project package, the one
place allowed to know every app (the apps themselves only depend one way).

A brand, two instructors in different timezones with weekly availability, two
session types and a few bookings (made through the booking services, like any
other door), a superuser for the admin, a secret API key, and a webhook
subscription for ``make run``'s local receiver (made before the bookings, so
their events are delivered). Running it again changes nothing and prints the
same credentials.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from bookings import services as booking_services
from bookings.errors import BookingConflict
from bookings.models import Booking
from scheduling import services
from scheduling.models import ApiKey, EventType, Instructor, InstructorBrand
from webhooks.demo import demo_subscription_ensure

BRAND_SLUG = "demo"
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "demo-admin-password"  # noqa: S105 - printed on purpose, local demo only
INSTRUCTORS = [
    {
        "name": "Clara Berg",
        "email": "clara@example.com",
        "phone": "+4915112345678",
        "slug": "clara",
        "timezone": "Europe/Berlin",
        "hours": (dt.time(9), dt.time(17)),
    },
    {
        "name": "Sam Rivera",
        "email": "sam@example.com",
        "phone": "+12025550123",
        "slug": "sam",
        "timezone": "America/New_York",
        "hours": (dt.time(10), dt.time(18)),
    },
]
EVENT_TYPES = [
    {
        "slug": "intro-call",
        "name": "Intro call",
        "duration_minutes": 30,
        "requires_confirmation": False,
        "description": "A free 30-minute first conversation.",
        "reminder_minutes_before": [1440, 60],
    },
    {
        "slug": "coaching-session",
        "name": "Coaching session",
        "duration_minutes": 60,
        "price_amount": Decimal("80.00"),
        "currency": "EUR",
        "requires_confirmation": True,
        "description": "A full one-to-one session, also bookable weekly.",
        "booking_notification_emails": ["team@example.com"],
        "allow_recurring": True,
        "max_occurrences": 12,
    },
]
STUDENTS = [
    ("Ada Lovelace", "ada@example.com"),
    ("Alan Turing", "alan@example.com"),
    ("Grace Hopper", "grace@example.com"),
]


class Command(BaseCommand):
    help = "Create the demo brand, instructors, session types, bookings, admin user and API key (idempotent)."

    def handle(self, *args, **options):
        with transaction.atomic():
            brand, _ = services.brand_get_or_create(slug=BRAND_SLUG, name="Demo Coaching")
            instructors = [self._instructor(brand, spec) for spec in INSTRUCTORS]
            event_types = [self._event_type(brand, spec) for spec in EVENT_TYPES]
            self._admin_user()
        webhooks = self._webhook_subscription(brand)
        self._bookings(brand, instructors, event_types)
        key = self._api_key(brand)
        site = settings.SITE_URL
        self.stdout.write(
            "\n".join(
                [
                    "",
                    f"Demo data is ready (site {site}; set SITE_URL, or PORT with make run, to change it).",
                    f"  Book a session (student pages): {site}/{BRAND_SLUG}/",
                    f"  Admin:        {site}/admin/   user '{ADMIN_USERNAME}', password '{ADMIN_PASSWORD}'",
                    f"  API docs:     {site}/api/docs/",
                    f"  Instructors:  curl -H 'Authorization: Bearer {key}' {site}/api/bookings/instructors",
                    webhooks,
                    f"  Demo API key (secret scope): {key}",
                ]
            )
        )

    def _instructor(self, brand, spec) -> Instructor:
        instructor = Instructor.objects.filter(slug=spec["slug"]).first()
        if instructor is None:
            instructor = services.instructor_create(
                brand=brand,
                name=spec["name"],
                email=spec["email"],
                phone=spec["phone"],
                slug=spec["slug"],
                timezone=spec["timezone"],
            )
        assignment = InstructorBrand.objects.get(instructor=instructor, brand=brand)
        if not assignment.weekly_ranges.exists():
            start, end = spec["hours"]
            services.availability_replace(
                assignment=assignment,
                settings={"timezone": spec["timezone"]},
                weekly=[{"weekday": day, "start": start, "end": end} for day in range(5)],
                overrides=[],
            )
        return instructor

    def _event_type(self, brand, spec) -> EventType:
        existing = EventType.objects.filter(brand=brand, slug=spec["slug"]).first()
        return existing or services.event_type_create(brand=brand, **spec)

    def _admin_user(self) -> None:
        user_model = get_user_model()
        if not user_model.objects.filter(username=ADMIN_USERNAME).exists():
            user_model.objects.create_superuser(ADMIN_USERNAME, "admin@example.com", ADMIN_PASSWORD)

    def _webhook_subscription(self, brand) -> str:
        return demo_subscription_ensure(brand=brand, var_dir=settings.VAR_DIR)

    def _bookings(self, brand, instructors, event_types) -> None:
        if Booking.objects.filter(brand=brand).exists():
            return
        tomorrow = timezone.now().date() + dt.timedelta(days=1)
        for index, (name, email) in enumerate(STUDENTS):
            instructor = instructors[index % len(instructors)]
            event_type = event_types[index % len(event_types)]
            spec = INSTRUCTORS[index % len(INSTRUCTORS)]
            day = tomorrow + dt.timedelta(days=index)
            while day.weekday() >= 5:
                day += dt.timedelta(days=1)
            start = dt.datetime.combine(day, spec["hours"][0], ZoneInfo(spec["timezone"])) + dt.timedelta(hours=2)
            try:
                booking_services.booking_create(
                    brand=brand,
                    instructor=instructor,
                    event_type=event_type,
                    start_at=start,
                    attendee_name=name,
                    attendee_email=email,
                    student_timezone="Europe/London",
                )
            except BookingConflict as error:
                self.stderr.write(f"Skipped a demo booking: {error.message}")

    def _api_key(self, brand) -> str:
        """The demo key is kept in var/ so every run prints the same, still valid, key."""
        path = settings.VAR_DIR / "demo-api-key.txt"
        if path.exists():
            key = path.read_text().strip()
            if ApiKey.objects.is_valid(key):
                return key
        _, key = services.api_key_create(brand=brand, scope=ApiKey.Scope.SECRET, name="demo")
        path.write_text(key + "\n")
        return key
